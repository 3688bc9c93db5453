"""``save(obj, path)`` / ``load(path)``: checkpoints without pickle, written atomically.

What can be saved: nested dicts, lists and tuples whose leaves are minicnn Tensors, NumPy
(or CuPy) arrays, NumPy scalars, Python ints, floats, strings, bools and None. That covers
model and optimizer ``state_dict()``s, RNG states (``generator.bit_generator.state``),
step counters and configs. Dict keys may be strings, ints, floats, bools or None (an
optimizer's state is keyed by parameter index, as in PyTorch).

The file format (version 1) is a ZIP archive, uncompressed like NumPy's ``.npz``::

    manifest.json                  {"format": "minicnn-checkpoint", "version": 1,
                                    "tree": <node>}
    arrays/<path>.npy              one standard .npy file per array, named after where it
                                   sits in the object, e.g. arrays/model/conv1.weight.npy

Nodes of the tree (JSON)::

    {"type": "none"}   {"type": "bool", "value": true}   {"type": "int", "value": 3}
    {"type": "float", "value": 0.1}          (non-finite: "nan", "inf", "-inf")
    {"type": "str", "value": "adam"}
    {"type": "list", "items": [node, ...]}   {"type": "tuple", "items": [node, ...]}
    {"type": "dict", "items": [[key node, value node], ...]}      (order kept)
    {"type": "ndarray", "file": "arrays/....npy"}
    {"type": "numpy_scalar", "file": "arrays/....npy"}           (a 0-d array)
    {"type": "tensor", "file": "arrays/....npy", "requires_grad": false, "device": "cpu"}

Why not pickle: unpickling runs arbitrary code, so a downloaded checkpoint could take over
your machine; this format holds only numbers and text. ``unzip -p ckpt manifest.json``
shows what is inside, and ``numpy.load(path)["arrays/model/conv1.weight"]`` reads one
array without minicnn.

Atomic writes: ``save`` writes a temporary file in the target's folder, flushes it to disk
(``fsync``) and renames it over the target (``os.replace``, atomic on POSIX and Windows).
A crash at any moment leaves either the old checkpoint or the new one, never half of one.
The temporary name is cut to be no longer than the target's, so any name the folder
accepts saves.

Checked reads: ``load`` reads every member to its end (so its CRC-32 is compared), checks
each ``.npy`` header's shape against its member's size before allocating (``npy.py``) and
each manifest node's fields, and raises one ``ValueError`` (``CheckpointError``) naming the
file and what is wrong when it is truncated, corrupt, or not a minicnn checkpoint: a
damaged file never loads as something else.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import struct
import zipfile
import zlib

import numpy as np

from .autograd import Tensor
from .backend import get_array_module, to_device
from .npy import CHUNK, NpyError, short_repr, read_npy

FORMAT = "minicnn-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
_KEY_TYPES = (str, int, float, bool, type(None))


# ---------------------------------------------------------------------------------------
# Encoding: object -> (tree of JSON nodes, {file name: array})
# ---------------------------------------------------------------------------------------
def _host_array(array) -> np.ndarray:
    """A NumPy array (copied from the GPU when needed)."""
    if get_array_module(array) is not np:
        array = to_device(array, "cpu")
    return np.asarray(array)


def _describe(path: list) -> str:
    """``obj['model']['conv1.weight']``: where a value sits, for error messages."""
    return "obj" + "".join(f"[{part!r}]" for part in path)


def _checked_text(text: str, where: str) -> str:
    """``text`` if it can be written as UTF-8; a lone surrogate (``"\\ud800"``, e.g. from
    ``os.fsdecode`` of an undecodable file name) cannot, so ``TypeError`` naming it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TypeError(f"save: {where} is a string holding the lone surrogate "
                        f"{text[error.start]!r} at index {error.start}, which UTF-8 cannot "
                        "store; only valid Unicode text can be saved") from None
    return text


def _temporary_name(target: str) -> str:
    """``.<target>.<random>.tmp`` in the target's folder, with the target's name cut so
    that the temporary name is never longer, in bytes, than the target's own (or than 32
    bytes, for shorter targets): whatever name the folder accepts for the checkpoint, it
    accepts for its temporary too (a 250-byte name saves, as with ``torch.save``)."""
    token = secrets.token_hex(6)
    budget = max(len(os.fsencode(target)), 32) - len(f"..{token}.tmp")
    while len(os.fsencode(target)) > budget:
        target = target[:-1]
    return f".{target}.{token}.tmp"


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._open: set[int] = set()  # containers on the current path (cycle check)

    def _file_name(self, path: list) -> str:
        parts = [re.sub(r"[^A-Za-z0-9_.\-]", "_", str(part)) or "_" for part in path]
        parts = ["_" + part if set(part) == {"."} else part for part in parts]
        stem = "arrays/" + ("/".join(parts) if parts else "_root")
        name, copy = stem + ".npy", 1
        while name in self.arrays:  # two keys sanitised to the same name
            copy += 1
            name = f"{stem}~{copy}.npy"
        return name

    def _array(self, array, path: list) -> str:
        array = _host_array(array)
        if array.dtype.hasobject:
            raise TypeError(f"save: {_describe(path)} is an array of Python objects (dtype "
                            f"{array.dtype}); only numeric, bool and string arrays can be "
                            "saved without pickle")
        name = self._file_name(path)
        self.arrays[name] = array
        return name

    def encode(self, value, path: list):
        if value is None:
            return {"type": "none"}
        if isinstance(value, bool):
            return {"type": "bool", "value": value}
        if isinstance(value, np.generic):  # before float: np.float64 subclasses float
            return {"type": "numpy_scalar", "file": self._array(np.asarray(value), path)}
        if isinstance(value, int):
            return {"type": "int", "value": int(value)}
        if isinstance(value, float):
            number = float(value)
            return {"type": "float", "value": number if math.isfinite(number) else repr(number)}
        if isinstance(value, str):
            return {"type": "str", "value": _checked_text(value, _describe(path))}
        if isinstance(value, Tensor):
            return {"type": "tensor", "file": self._array(value.array, path),
                    "requires_grad": bool(value.requires_grad), "device": value.device}
        if isinstance(value, np.ndarray) or type(value).__module__.startswith("cupy"):
            return {"type": "ndarray", "file": self._array(value, path)}
        if isinstance(value, (dict, list, tuple)):
            if id(value) in self._open:
                raise ValueError(f"save: {_describe(path)} contains itself (a cycle)")
            self._open.add(id(value))
            try:
                if isinstance(value, dict):
                    items = []
                    for key, item in value.items():
                        if not isinstance(key, _KEY_TYPES) or isinstance(key, np.generic):
                            raise TypeError(f"save: {_describe(path)} has a key of type "
                                            f"{type(key).__name__}; keys must be str, int, "
                                            "float, bool or None")
                        if isinstance(key, str):
                            _checked_text(key, f"the key {key!r} of {_describe(path)}")
                        items.append([self.encode(key, path + ["<key>"]),
                                      self.encode(item, path + [key])])
                    return {"type": "dict", "items": items}
                kind = "list" if isinstance(value, list) else "tuple"
                return {"type": kind,
                        "items": [self.encode(item, path + [i]) for i, item in enumerate(value)]}
            finally:
                self._open.discard(id(value))
        raise TypeError(f"save: cannot store {_describe(path)} of type {type(value).__name__}; "
                        "expected a Tensor, array, number, str, bool, None, or a dict/list/"
                        "tuple of those")


# ---------------------------------------------------------------------------------------
# Writing, atomically
# ---------------------------------------------------------------------------------------
def _write_array(stream, array: np.ndarray) -> None:
    np.lib.format.write_array(stream, array, allow_pickle=False)


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


def save(obj, path) -> None:
    """Save ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, bools,
    None) to ``path`` in minicnn's pickle-free checkpoint format, atomically.

    The name is used as given (no extension is added); ``.ckpt`` or ``.npz`` are good
    choices. Raises ``TypeError`` naming the first value that cannot be stored (an
    unsupported type, an object array, a string with a lone surrogate), before anything is
    written.
    """
    path = os.fspath(path)
    encoder = _Encoder()
    tree = encoder.encode(obj, [])
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree},
                          ensure_ascii=False, allow_nan=False)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, _temporary_name(os.path.basename(path)))
    # O_EXCL: never write into someone else's file; 0o666: the umask decides, as for open()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(MANIFEST, manifest)
                for name, array in encoder.arrays.items():
                    with archive.open(name, "w", force_zip64=True) as member:
                        _write_array(member, array)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temporary behind
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


# ---------------------------------------------------------------------------------------
# Reading: every byte checked, every failure one ValueError naming the file
# ---------------------------------------------------------------------------------------
class CheckpointError(ValueError):
    """``load`` cannot read a file as a minicnn checkpoint: truncated, corrupt, foreign, or
    from a newer format version. A ``ValueError`` whose message starts ``load: <path>``."""


class _DeviceError(Exception):
    """Carries an error of moving a loaded tensor to ``device`` (the user's argument, not
    the file's fault) through the catch-all in ``load``."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


_DEFLATE_MAX_RATIO = 1032   # deflate cannot turn one byte into more than about 1032
# What zipfile, zlib and the file raise on damaged bytes (wrapped with the member's name)
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                  RuntimeError, struct.error, ValueError, OverflowError)
_NODE_TYPES = ("none", "bool", "int", "float", "str", "list", "tuple", "dict", "ndarray",
               "numpy_scalar", "tensor")
_KEY_NODE_TYPES = ("none", "bool", "int", "float", "str")


class _Reader:
    """Reads one opened archive. Each check raises ``CheckpointError("load: <path>: ...")``.

    What is verified, so that no damaged file loads as something else:

    * the ZIP directory: no duplicate names, no encryption or exotic features, stored (or
      deflated) members whose sizes fit inside the file;
    * every member is read to its end, which makes ``zipfile`` compare its CRC-32 (a
      member read short is never checked: that is how a damaged ``.npy`` header could
      once load a (100, 10) weight out of a (100, 100) one);
    * each ``.npy`` header is parsed without pickle, and its shape times its item size
      must equal the bytes the member holds, *before* anything is allocated (``npy.py``);
    * every manifest node has the documented fields with the documented types.
    """

    def __init__(self, archive: zipfile.ZipFile, path: str, file_size: int, device):
        self.archive, self.path, self.file_size, self.device = archive, path, file_size, device
        self.verified: set[str] = set()

    def fail(self, message: str) -> CheckpointError:
        return CheckpointError(f"load: {self.path}: {message}")

    # -- the ZIP level -----------------------------------------------------------------
    def check_directory(self) -> None:
        seen: set[str] = set()
        for info in self.archive.infolist():
            name = info.filename
            if name in seen:
                raise self.fail(f"the archive holds two members named {name!r} (corrupt)")
            seen.add(name)
            if info.flag_bits & 0x1:
                raise self.fail(f"{name} is marked encrypted; minicnn checkpoints never are "
                                "(corrupt file?)")
            if info.flag_bits & 0x60:
                raise self.fail(f"{name} uses ZIP features minicnn does not read (flag bits "
                                f"{info.flag_bits:#06x}; corrupt file?)")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.fail(f"{name} uses ZIP compression method {info.compress_type}; "
                                "minicnn reads stored (0) and deflated (8) members (corrupt "
                                "file?)")
            if info.header_offset + info.compress_size > self.file_size:
                raise self.fail(f"{name} would end past the end of the file ({self.file_size} "
                                "bytes): truncated or corrupt")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.file_size != info.compress_size:
                    raise self.fail(f"{name} is stored uncompressed but its ZIP entry gives "
                                    f"two sizes ({info.compress_size} and {info.file_size}): "
                                    "corrupt")
            elif info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 64:
                raise self.fail(f"{name} declares {info.file_size} bytes, more than deflate "
                                f"can make of {info.compress_size}: corrupt")

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.archive.getinfo(name)
        except KeyError:
            raise self.fail(f"the manifest names {name}, which is not in the archive "
                            "(truncated or corrupt checkpoint)") from None

    def read_bytes(self, name: str) -> bytes:
        """A whole member (its CRC-32 checked)."""
        info = self.info(name)
        try:
            with self.archive.open(info) as stream:
                data = stream.read()
        except _MEMBER_ERRORS as error:
            raise self.fail(f"{name} is corrupt ({type(error).__name__}: {error})") from error
        if len(data) != info.file_size:
            raise self.fail(f"{name} holds {len(data)} bytes, its ZIP entry says "
                            f"{info.file_size}: corrupt")
        self.verified.add(name)
        return data

    def read_array(self, name: str) -> np.ndarray:
        info = self.info(name)
        try:
            with self.archive.open(info) as stream:
                array = read_npy(stream, info.file_size)
                if stream.read(1):  # sizes were checked; this only confirms the end
                    raise self.fail(f"{name} has bytes after its array data: corrupt")
        except CheckpointError:
            raise
        except NpyError as error:
            raise self.fail(f"{name} {error}") from error
        except _MEMBER_ERRORS as error:
            raise self.fail(f"{name} is corrupt ({type(error).__name__}: {error})") from error
        self.verified.add(name)
        return array

    def verify_the_rest(self) -> None:
        """Read members the manifest does not name to their ends too (CRC-32 checked)."""
        for info in self.archive.infolist():
            if info.filename not in self.verified:
                try:
                    with self.archive.open(info) as stream:
                        while stream.read(CHUNK):
                            pass
                except _MEMBER_ERRORS as error:
                    raise self.fail(f"{info.filename} is corrupt ({type(error).__name__}: "
                                    f"{error})") from error

    # -- the manifest's tree -----------------------------------------------------------
    def decode(self, node):
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(f"malformed manifest: expected a node with a 'type', got "
                            f"{short_repr(node)}")
        kind = node["type"]
        if kind not in _NODE_TYPES:
            raise self.fail(f"malformed manifest: unknown node type {kind!r}")

        def field(key, types, what):
            if key not in node:
                raise self.fail(f"malformed manifest: {kind} node {short_repr(node)} has no "
                                f"{key!r}")
            value = node[key]
            if not isinstance(value, types) or (bool not in _as_tuple(types)
                                                and isinstance(value, bool)):
                raise self.fail(f"malformed manifest: the {key!r} of {kind} node "
                                f"{short_repr(node)} should be {what}")
            return value

        if kind == "none":
            return None
        if kind == "bool":
            return field("value", bool, "true or false")
        if kind == "int":
            return field("value", int, "an integer")
        if kind == "str":
            return field("value", str, "a string")
        if kind == "float":
            value = field("value", (int, float, str), "a number or 'nan', 'inf', '-inf'")
            if isinstance(value, str) and value not in ("nan", "inf", "-inf"):
                raise self.fail(f"malformed manifest: float node {short_repr(node)} holds "
                                f"{value!r}, expected a number or 'nan', 'inf', '-inf'")
            return float(value)
        if kind in ("list", "tuple"):
            items = [self.decode(item) for item in field("items", list, "a list")]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            result = {}
            for pair in field("items", list, "a list of [key, value] pairs"):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail(f"malformed manifest: dict item {short_repr(pair)} is not a "
                                    "[key, value] pair")
                key_node = pair[0]
                if not isinstance(key_node, dict) or key_node.get("type") not in _KEY_NODE_TYPES:
                    raise self.fail(f"malformed manifest: dict key {short_repr(key_node)} is not "
                                    "a str, int, float, bool or None node")
                result[self.decode(key_node)] = self.decode(pair[1])
            return result
        file = field("file", str, "a member name")
        array = self.read_array(file)
        if kind == "ndarray":
            return array
        if kind == "numpy_scalar":
            if array.ndim != 0:
                raise self.fail(f"{file} should hold a 0-d array (a NumPy scalar), it holds "
                                f"shape {array.shape}")
            return array[()]
        requires_grad = node.get("requires_grad", False)
        if not isinstance(requires_grad, bool):
            raise self.fail(f"malformed manifest: requires_grad of {file} is "
                            f"{short_repr(requires_grad)}, not true or false")
        if requires_grad and array.dtype.kind not in "fc":
            raise self.fail(f"malformed manifest: {file} holds {array.dtype}, which cannot "
                            "require gradients")
        if self.device is not None:
            try:
                array = to_device(array, self.device)
            except Exception as error:  # the device argument's fault, not the file's
                raise _DeviceError(error) from error
        return Tensor._wrap(array, requires_grad=requires_grad)


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _read(stream, path: str, device):
    file_size = os.fstat(stream.fileno()).st_size
    try:
        archive = zipfile.ZipFile(stream)
    except _MEMBER_ERRORS as error:
        raise CheckpointError(f"load: {path} is not a minicnn checkpoint, or it is truncated "
                              f"(not a complete ZIP archive: {error})") from error
    with archive:
        reader = _Reader(archive, path, file_size, device)
        reader.check_directory()
        if MANIFEST not in archive.NameToInfo:
            raise CheckpointError(f"load: {path} is a ZIP archive but not a minicnn checkpoint "
                                  f"(no {MANIFEST}); plain .npz files load with numpy.load")
        try:
            manifest = json.loads(reader.read_bytes(MANIFEST).decode("utf-8"))
        except (ValueError, RecursionError) as error:  # includes UnicodeDecodeError
            if isinstance(error, CheckpointError):
                raise
            raise reader.fail(f"{MANIFEST} is not valid JSON ({error})") from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise CheckpointError(f"load: {path} is not a minicnn checkpoint (format "
                                  f"{short_repr(found)}, expected {FORMAT!r})")
        version = manifest.get("version")
        if type(version) is not int or not 1 <= version <= VERSION:
            raise CheckpointError(f"load: {path} has format version {short_repr(version)}; this "
                                  f"minicnn reads versions 1 to {VERSION} (upgrade minicnn?)")
        if "tree" not in manifest:
            raise reader.fail("malformed manifest (no 'tree')")
        try:
            result = reader.decode(manifest["tree"])
        except RecursionError as error:
            raise reader.fail(f"the manifest is nested too deeply ({error})") from error
        reader.verify_the_rest()
        return result


def load(path, device=None):
    """Load what ``save`` wrote: Tensors come back as Tensors (dtype and requires_grad
    kept, on the CPU unless ``device`` is given), arrays as NumPy arrays, and the rest as
    the same Python values, containers and dict key order.

    Every member of the archive is read to its end and checked against its CRC-32, and
    every ``.npy`` header against the size of its member, so a damaged file raises rather
    than loading as something else.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: from opening ``path``.
        ValueError (``CheckpointError``): the file is truncated, corrupt, not a minicnn
            checkpoint, or from a newer format version; the message names the file and
            what is wrong.
    """
    path = os.fspath(path)
    with open(path, "rb") as stream:
        try:
            return _read(stream, path, device)
        except CheckpointError:
            raise
        except _DeviceError as wrapped:
            raise wrapped.error from None
        except MemoryError:  # a real checkpoint too big for this machine: say so as is
            raise
        except Exception as error:  # a failure the checks above did not foresee
            raise CheckpointError(f"load: {path} is corrupt or not a minicnn checkpoint "
                                  f"({type(error).__name__}: {error})") from error
