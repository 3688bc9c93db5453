"""Hugging Face's safetensors files, with the names of ``safetensors.torch``.

A safetensors file is a little-endian JSON header (each tensor's name, dtype, shape and byte
range, plus optional string metadata) followed by the raw bytes: no pickle, so loading
runs no code, and any framework reads it. Because minicnn's ``state_dict`` keys and weight
layouts are PyTorch's, a file written here loads into the PyTorch twin of the model::

    import minicnn.safetensors
    minicnn.safetensors.save_model(generator, "generator.safetensors")
    # elsewhere, in PyTorch:
    #   from safetensors.torch import load_file
    #   torch_generator.load_state_dict(load_file("generator.safetensors"))

and a file written by PyTorch's ``save_file(model.state_dict(), ...)`` loads back with
``load_model(minicnn_model, path)``.

Functions: ``save_file(tensors, path, metadata=None)``, ``load_file(path, device="cpu")``,
``save(tensors, metadata=None) -> bytes``, ``load(data) -> dict``,
``save_model(model, path, metadata=None)``, ``load_model(model, path, strict=True)``.
Needs the optional extra: ``pip install "minicnn[safetensors]"``.
"""
from __future__ import annotations

import os

import numpy as np

from .atomic_write import fspath_of, write_atomically

from .autograd import Tensor
from .backend import to_device


def _library():
    try:
        import safetensors.numpy as library
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError('minicnn.safetensors needs the safetensors package: pip '
                                  'install "minicnn[safetensors]"') from error
    return library


def _arrays(tensors, op: str) -> dict[str, np.ndarray]:
    """``{name: Tensor | array}`` as contiguous host arrays, checked."""
    if not isinstance(tensors, dict):
        raise TypeError(f"{op}: tensors: expected a dict of name -> Tensor, got "
                        f"{type(tensors).__name__}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"{op}: tensors: keys must be strings, got {name!r}")
        if isinstance(value, Tensor):
            value = value.array
        if not hasattr(value, "dtype"):
            raise TypeError(f"{op}: tensors[{name!r}]: expected a Tensor or an array, got "
                            f"{type(value).__name__}")
        array = np.asarray(to_device(value, "cpu"), order="C")  # keeps 0-d as 0-d
        if array.dtype.kind not in "biufc" or array.dtype.kind == "c" and \
                array.dtype.itemsize != 8:
            raise TypeError(f"{op}: tensors[{name!r}]: safetensors stores bool, integer, "
                            f"float and complex64 arrays, got dtype {array.dtype}")
        arrays[name] = array
    return arrays


def _check_metadata(metadata, op: str):
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError(f"{op}: metadata: expected a dict of str -> str, got {metadata!r}")
    return metadata


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (``{name: Tensor}``)."""
    return _library().save(_arrays(tensors, "save"), metadata=_check_metadata(metadata, "save"))


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write ``tensors`` (``{name: Tensor}``) to ``filename``, atomically (a temporary file
    in the same folder, flushed to disk, then renamed over the target)."""
    data = save(tensors, metadata)
    write_atomically(filename, lambda stream: stream.write(data), "save_file")


def _as_tensors(arrays: dict, device) -> dict[str, Tensor]:
    return {name: Tensor._wrap(to_device(np.array(array), device))
            for name, array in arrays.items()}


def load(data: bytes, device="cpu") -> dict[str, Tensor]:
    """The tensors in safetensors ``data`` (bytes)."""
    try:
        arrays = _library().load(bytes(data))
    except Exception as error:  # the Rust reader raises its own error types
        raise ValueError(f"load: not a valid safetensors file ({error})") from error
    return _as_tensors(arrays, device)


def load_file(filename, device="cpu") -> dict[str, Tensor]:
    """The tensors stored in ``filename``, as ``{name: Tensor}`` (each a copy it owns).

    Raises ``ValueError`` naming the file when it is truncated, corrupt or not a
    safetensors file, ``FileNotFoundError`` when it does not exist."""
    path = fspath_of(filename, "load_file", "filename")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_file: {path}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"load_file: {path} is a directory, not a safetensors file")
    if not os.path.isfile(path):   # /dev/zero, a FIFO: never a file of tensors
        raise ValueError(f"load_file: {path} is not a regular file (a device, FIFO or "
                         "socket), not a safetensors file")
    try:
        arrays = _library().load_file(path)
    except Exception as error:  # SafetensorError, OSError, JSON errors from the header
        raise ValueError(f"load_file: {path} is not a valid safetensors file, or it is "
                         f"truncated or corrupt ({error})") from error
    return _as_tensors(arrays, device)


def save_model(model, filename, metadata: dict | None = None) -> None:
    """Save ``model.state_dict()`` (parameters and persistent buffers) to ``filename``."""
    save_file(dict(model.state_dict()), filename, metadata)


def load_model(model, filename, strict: bool = True, device=None):
    """Load ``filename`` into ``model`` (through ``load_state_dict``).

    Returns ``(missing, unexpected)``: the model's keys the file lacks and the file's keys
    the model lacks (as ``safetensors.torch.load_model``); with ``strict=True`` either
    raises ``load_state_dict``'s ``RuntimeError`` naming them. A shape that differs
    always raises."""
    missing, unexpected = model.load_state_dict(load_file(filename, device or "cpu"),
                                                strict=strict)
    return list(missing), list(unexpected)
