"""``write_atomically(path, write, op)``: the one way minicnn writes a file it must never
leave half-written (checkpoints, safetensors, ONNX and exported ``.pt`` files).

The bytes go to a temporary file in the target's folder, are flushed to disk (``fsync``),
and the temporary is renamed over the target (``os.replace``, atomic on POSIX and
Windows); the folder is then synced so the rename itself is durable. A crash at any
moment leaves the old file or the new one, never half of one, and a failure (or Ctrl-C)
removes the temporary again.

Errors name the file the caller asked for, never the temporary: a missing folder is a
``FileNotFoundError``, a folder given as the target an ``IsADirectoryError``, a name the
file system refuses (too long, a read-only file system...) an ``OSError`` of the errno the
system gave, each ``"<op>: cannot write <path>: <why>"``.
"""
from __future__ import annotations

import errno
import os
import secrets


def temporary_name(target: str) -> str:
    """``.<target>.<random>.tmp``, with the target's name cut so that the temporary name is
    never longer, in bytes, than the target's own (or than 32 bytes, for shorter targets):
    whatever name the folder accepts for the file, it accepts for its temporary too (a
    250-byte name saves, as with ``torch.save``)."""
    token = secrets.token_hex(6)
    budget = max(len(os.fsencode(target)), 32) - len(f"..{token}.tmp")
    while len(os.fsencode(target)) > budget:
        target = target[:-1]
    return f".{target}.{token}.tmp"


def fspath_of(path, op: str, argument: str = "f") -> str:
    """``path`` (str, bytes or ``os.PathLike``) as a str, or a ``TypeError`` naming the
    argument (``open()``'s message names neither the function nor the argument)."""
    if isinstance(path, bytes):
        return os.fsdecode(path)
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{op}: {argument}: expected a file name (str or os.PathLike) or a "
                        f"binary file object, got {type(path).__name__}") from None
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); not possible (nor needed) on Windows."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _error(kind: type, code: int, message: str) -> OSError:
    """An ``OSError`` subclass whose text is ``message`` alone (one line, no ``[Errno]``
    prefix nor repeated file name), with ``errno`` set for code that checks it."""
    error = kind(message)
    error.errno = code
    return error


def _failure(error: OSError, op: str, path: str, folder: str) -> OSError:
    """``error`` re-raised as the same OSError type, naming ``path`` (not the temporary)."""
    if isinstance(error, FileNotFoundError) and not os.path.isdir(folder):
        why = f"the folder {folder} does not exist"
    elif error.errno == errno.ENOTDIR:
        why = "a part of its folder is a file, not a folder"
    else:
        why = error.strerror or str(error)
    return _error(type(error), error.errno, f"{op}: cannot write {path}: {why}")


def write_atomically(path, write, op: str = "save") -> None:
    """Call ``write(stream)`` on a binary stream, then put what it wrote at ``path``
    atomically (see the module docstring). ``path``: str, bytes or ``os.PathLike``."""
    path = fspath_of(path, op)
    if not path:
        raise _error(FileNotFoundError, errno.ENOENT, f"{op}: expected a file name, got ''")
    if os.path.isdir(path):
        raise _error(IsADirectoryError, errno.EISDIR, f"{op}: {path} is a folder; expected a "
                     "file name")
    if path.endswith(("/", os.sep)) or (os.altsep and path.endswith(os.altsep)):
        raise _error(IsADirectoryError, errno.EISDIR, f"{op}: {path} names a folder (it ends "
                     f"with {path[-1]!r}); expected a file name")
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, temporary_name(os.path.basename(path)))
    try:   # O_EXCL: never write into someone else's file; 0o666: the umask decides
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _failure(error, op, path, folder) from None
    try:
        try:
            with os.fdopen(descriptor, "wb") as stream:
                write(stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except OSError as error:   # a full disk, a quota, a file system gone read-only...
            raise _failure(error, op, path, folder) from error
    except BaseException:  # includes KeyboardInterrupt: never leave the temporary behind
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)
