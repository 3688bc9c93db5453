"""Reading a checkpoint (``minicnn.load``): every byte checked, every failure one
``ValueError`` (``CheckpointError``) naming the file.

``_Reader`` walks one opened ZIP archive: its directory, each member read to its end (so
that zipfile compares the CRC-32), each ``.npy`` header against its member's size, and each
manifest node's fields. The format itself is described in ``serialization.py``.
"""
from __future__ import annotations

import struct
import zipfile
import zlib

import numpy as np

from .autograd import Tensor
from .npy import CHUNK, NpyError, short_repr, read_npy

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


def what_file_is(head: bytes, size: int) -> str | None:
    """What a file that is not a ZIP archive holds, from its first bytes (``head``, at
    least 16 when the file has them) and its size: a phrase for ``load``'s error, with the
    way to read it, or None when nothing is recognised."""
    if size == 0:
        return "an empty file (0 bytes: truncated, or never written)"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy file (numpy.load reads it)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("a pickle file (torch.save's legacy format, or pickle.dump), which minicnn "
                "never reads: unpickling can run any code in the file. In PyTorch, save the "
                "tensors with safetensors.torch.save_file and read them with "
                "minicnn.safetensors.load_file")
    if len(head) >= 9 and head[8:9] == b"{" and \
            8 < struct.unpack("<Q", head[:8])[0] + 8 <= size:
        return "a safetensors file (minicnn.safetensors.load_file reads it)"
    if head[:2] == b"\x1f\x8b":
        return "a gzip-compressed file"
    if head.lstrip()[:1] in (b"{", b"["):
        return "a JSON or text file"
    return None


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
        """``device``: None (tensors stay on the CPU) or ``place(array, saved_device)``,
        which returns the array where it should live (``serialization.placement``)."""
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
                array = self.device(array, node.get("device", "cpu"))
            except Exception as error:  # the device argument's fault, not the file's
                raise _DeviceError(error) from error
        return Tensor._wrap(array, requires_grad=requires_grad)


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)
