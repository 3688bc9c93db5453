"""Array-module choice (NumPy or CuPy), devices and dtype rules.

Every op asks this module for the array module of its input (``xp``), so one code
path serves the CPU (NumPy) and the GPU (CuPy), as in DeZero and Chainer.
CuPy is never imported unless a CuPy array or the ``"cuda"`` device is asked for.
"""
from __future__ import annotations

import sys

import numpy as np

DEFAULT_DTYPE = np.float32


def _cupy_or_none():
    """The cupy module if it is already imported (we never import it just to check)."""
    return sys.modules.get("cupy")


def is_cupy_array(array) -> bool:
    return type(array).__module__.startswith("cupy")


def get_array_module(array):
    """``numpy`` for NumPy arrays and scalars, ``cupy`` for CuPy arrays."""
    if is_cupy_array(array):
        return _cupy_or_none()
    return np


def import_cupy():
    """Import CuPy with an error that says what to install when it is missing."""
    try:
        import cupy  # noqa: F401
    except Exception as error:  # ImportError, or a CUDA library that fails to load
        raise RuntimeError(
            "device 'cuda' needs CuPy and a CUDA GPU: pip install 'minicnn[gpu]' "
            f"(importing cupy failed: {error})"
        ) from error
    return cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        cupy = import_cupy()
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def normalize_device(device) -> str:
    """'cpu' or 'cuda' from 'cpu', 'cuda', 'cuda:0' (device index 0 only)."""
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "cuda:0", "gpu"):
        return "cuda"
    raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")


def device_of(array) -> str:
    return "cuda" if is_cupy_array(array) else "cpu"


def to_device(array, device: str):
    """Copy ``array`` to ``device`` ('cpu' or 'cuda'); no copy when it is already there."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cpu":
        return array.get()
    cupy = import_cupy()
    if not cuda_is_available():
        raise RuntimeError("device 'cuda' asked for, but CuPy sees no CUDA GPU on this machine")
    return cupy.asarray(array)
