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

Checked reads (``checkpoint_reader.py``): ``load`` reads every member to its end (so its
CRC-32 is compared), checks each ``.npy`` header's shape against its member's size before
allocating (``npy.py``) and each manifest node's fields, and raises one ``ValueError``
(``CheckpointError``) naming the file and what is wrong when it is truncated, corrupt, or
not a minicnn checkpoint: a damaged file never loads as something else.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import stat
import sys
import zipfile

import numpy as np

from .atomic_write import fspath_of, temporary_name
from .atomic_write import write_atomically
from .autograd import Tensor
from .backend import get_array_module, to_device
from .checkpoint_reader import (_MEMBER_ERRORS, CheckpointError, _DeviceError, _Reader,
                                what_file_is)
from .npy import short_repr

FORMAT = "minicnn-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
_KEY_TYPES = (str, int, float, bool, type(None))
_temporary_name = temporary_name   # the name tests and older code use


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


def _checked_text(text: str, where) -> str:
    """``text`` if it can be written as UTF-8; a lone surrogate (``"\\ud800"``, e.g. from
    ``os.fsdecode`` of an undecodable file name) cannot, so ``TypeError`` naming it
    (``where()``: where it sits, worked out only then)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TypeError(f"save: {where()} is a string holding the lone surrogate "
                        f"{text[error.start]!r} at index {error.start}, which UTF-8 cannot "
                        "store; only valid Unicode text can be saved") from None
    return text


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
            return {"type": "str", "value": _checked_text(value, lambda: _describe(path))}
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
                            _checked_text(key, lambda: f"the key {key!r} of "
                                               f"{_describe(path)}")
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


def _write_archive(stream, manifest: str, arrays: dict) -> None:
    """The checkpoint's ZIP archive (stored, not compressed) into ``stream``."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, manifest)
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=True) as member:
                _write_array(member, array)


MAX_DEPTH = 4000   # levels of nesting save and load handle (torch.save's pickle: ~1000)


@contextlib.contextmanager
def _deep_recursion():
    """Room for ``MAX_DEPTH`` levels of nesting: encoding, JSON and decoding recurse a few
    frames per level, which Python's default limit (1000) allows only ~300 of."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * MAX_DEPTH + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def save(obj, path, pickle_module=None, pickle_protocol=2,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Save ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, bools,
    None) to ``path`` in minicnn's pickle-free checkpoint format, atomically.

    The name is used as given (no extension is added); ``.ckpt`` or ``.npz`` are good
    choices. ``path`` may also be a binary file object open for writing (``io.BytesIO()``,
    as with ``torch.save``): the checkpoint is written into it at its position, not
    atomically (the stream is the caller's). Raises ``TypeError`` naming the first value
    that cannot be stored (an unsupported type, an object array, a string with a lone
    surrogate), before anything is written. ``torch.save``'s other arguments
    (``pickle_module``, ``pickle_protocol``...) are accepted and change nothing: nothing
    is pickled.
    """
    encoder = _Encoder()
    try:
        with _deep_recursion():
            tree = encoder.encode(obj, [])
            manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree},
                                  ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise ValueError(f"save: obj is nested more deeply than minicnn can save (more than "
                         f"about {MAX_DEPTH} levels of dicts, lists and tuples)") from None
    if hasattr(path, "write"):
        if isinstance(path, io.TextIOBase):
            raise TypeError(f"save: f: {getattr(path, 'name', 'the stream')} is a text "
                            "stream; open the file in binary mode (open(path, 'wb'))")
        writable = getattr(path, "writable", None)
        if callable(writable) and not writable():
            raise TypeError(f"save: f: {getattr(path, 'name', 'the stream')} is not open "
                            "for writing")
        _write_archive(path, manifest, encoder.arrays)
        return
    write_atomically(path, lambda stream: _write_archive(stream, manifest, encoder.arrays),
                     "save")


# ---------------------------------------------------------------------------------------
# Reading: the checks are in checkpoint_reader.py
# ---------------------------------------------------------------------------------------

def _stream_size(stream) -> int:
    """Bytes from the stream's position to its end (a file's size when read from 0)."""
    start = stream.tell()
    end = stream.seek(0, os.SEEK_END)
    stream.seek(start)
    return end - start


def _read(stream, path: str, device):
    file_size = _stream_size(stream)
    start = stream.tell()
    try:
        archive = zipfile.ZipFile(stream)
    except _MEMBER_ERRORS as error:
        stream.seek(start)
        head = stream.read(16)
        if head[:2] != b"PK":   # not even the start of a ZIP archive: say what it is
            what = what_file_is(head, file_size)
            if what is not None:
                raise CheckpointError(f"load: {path} is not a minicnn checkpoint: it is "
                                      f"{what}") from error
        raise CheckpointError(f"load: {path} is not a minicnn checkpoint, or it is truncated "
                              f"(not a complete ZIP archive: {error})") from error
    with archive:
        reader = _Reader(archive, path, file_size, device)
        reader.check_directory()
        if MANIFEST not in archive.NameToInfo:
            if any(name.endswith("data.pkl") for name in archive.NameToInfo):
                raise CheckpointError(
                    f"load: {path} is a PyTorch checkpoint (torch.save's pickle format), which "
                    "minicnn does not read: unpickling a file can run any code in it. In "
                    "PyTorch, write the tensors as safetensors (safetensors.torch.save_file("
                    "state_dict, 'model.safetensors')) and read that file with "
                    "minicnn.safetensors.load_file")
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


def _device_name(name: str) -> str:
    """'cpu' or 'cuda' for a device name ``torch.load`` takes ('cpu', 'cpu:0', 'cuda',
    'cuda:0', an ``mc.device``), checked now (not at the first tensor, nor only when the
    file holds one): a ``ValueError`` naming ``map_location`` otherwise."""
    from .backend import normalize_device
    from .devices import device as make_device

    try:
        return normalize_device(make_device(name))
    except (TypeError, ValueError) as error:
        raise ValueError(f"load: map_location: {error}") from None


def placement(device=None, map_location=None):
    """Where ``load`` puts each tensor: None (on the CPU, as read) or a function
    ``place(array, saved_device) -> array``.

    ``device`` / ``map_location`` as ``torch.load``'s: a device name or ``mc.device``
    ('cpu', 'cuda', 'cuda:0'); a dict from the device a tensor was saved on to where it
    goes (``{'cuda:0': 'cpu'}``; devices it does not name stay on the CPU); or a function
    ``f(tensor, saved_device)`` returning the tensor where it should be (PyTorch's
    ``lambda storage, loc: storage`` keeps everything on the CPU).
    """
    if device is not None and map_location is not None:
        raise TypeError("load: give device or map_location, not both (they are the same "
                        "argument; map_location is PyTorch's name)")
    target = map_location if device is None else device
    if target is None:
        return None
    if isinstance(target, str):
        name = _device_name(target)
        return lambda array, saved: to_device(array, name)
    if isinstance(target, dict):
        for key, value in target.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"load: map_location: a dict maps device names to device "
                                f"names, got {key!r}: {value!r}")
        names = {key: _device_name(value) for key, value in target.items()}
        return lambda array, saved: to_device(array, names.get(saved, "cpu"))
    if callable(target):
        def place(array, saved):
            moved = target(Tensor._wrap(array), saved)
            return moved.array if isinstance(moved, Tensor) else array
        return place
    raise TypeError(f"load: map_location: expected a device name, a dict of device names "
                    f"or a function (storage, location), got {type(target).__name__}")


def load(path, device=None, *, map_location=None, weights_only=None, mmap=None,
         pickle_module=None, **pickle_load_args):
    """Load what ``save`` wrote: Tensors come back as Tensors (dtype and requires_grad
    kept, on the CPU unless ``device`` / ``map_location`` says otherwise, see
    ``placement``), arrays as NumPy arrays, and the rest as the same Python values,
    containers and dict key order.

    ``weights_only`` is accepted for ``torch.load`` scripts and changes nothing: a minicnn
    checkpoint is JSON and ``.npy`` arrays read without pickle, so loading never runs code
    from the file (PyTorch's ``weights_only=True`` guarantee always holds). ``mmap``,
    ``pickle_module`` and ``encoding`` (``torch.load``'s other arguments) are accepted and
    change nothing either: the arrays are read into memory, and nothing is unpickled.

    Every member of the archive is read to its end and checked against its CRC-32, and
    every ``.npy`` header against the size of its member, so a damaged file raises rather
    than loading as something else. ``path`` may also be a binary file object open for
    reading (``io.BytesIO``, as with ``torch.load``), read from its position.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: from opening ``path``.
        ValueError (``CheckpointError``): the file is truncated, corrupt, not a minicnn
            checkpoint, or from a newer format version; the message names the file and
            what is wrong.
    """
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only: expected True, False or None, got "
                        f"{weights_only!r}")
    if mmap not in (None, True, False):
        raise TypeError(f"load: mmap: expected True, False or None, got {mmap!r}")
    unknown = sorted(set(pickle_load_args) - {"encoding"})
    if unknown:
        raise TypeError(f"load() got an unexpected keyword argument {unknown[0]!r}")
    place = placement(device, map_location)
    if hasattr(path, "read"):
        return _load_stream(_readable(path), getattr(path, "name", "<stream>"), place)
    path = fspath_of(path, "load")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a folder; expected a checkpoint file")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        # a device (/dev/zero never ends), a FIFO (opening it waits for a writer)...
        raise CheckpointError(f"load: {path} is not a regular file (a device, FIFO or "
                              "socket); expected a checkpoint file")
    with open(path, "rb") as stream:
        return _load_stream(stream, path, place)


def _readable(stream):
    """A seekable binary stream to read a checkpoint from (``zipfile`` seeks): the stream
    itself, or what a non-seekable one (a pipe) holds from here on, read into memory."""
    name = getattr(stream, "name", "<stream>")
    if isinstance(stream, io.TextIOBase):
        raise TypeError(f"load: f: {name} is a text stream; open the file in binary mode "
                        "(open(path, 'rb'))")
    readable = getattr(stream, "readable", None)
    if callable(readable) and not readable():
        raise TypeError(f"load: f: {name} is not open for reading")
    seekable = getattr(stream, "seekable", None)
    if callable(seekable) and not seekable():
        return io.BytesIO(stream.read())
    return stream


def _load_stream(stream, path: str, device):
    try:
        with _deep_recursion():
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
