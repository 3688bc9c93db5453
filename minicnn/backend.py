"""Array-module choice (NumPy or CuPy), devices and dtype rules.

Every op asks this module for the array module of its input (``xp``), so one code
path serves the CPU (NumPy) and the GPU (CuPy), as in DeZero and Chainer.
CuPy is never imported unless a CuPy array or the ``"cuda"`` device is asked for.
"""
from __future__ import annotations

import sys

import numpy as np

DEFAULT_DTYPE = np.float32
_DEFAULT = np.dtype(DEFAULT_DTYPE)
_BOOL, _INT64, _COMPLEX = np.dtype(np.bool_), np.dtype(np.int64), np.dtype(np.complex64)


# -- dtype rules (PyTorch's type promotion) -----------------------------------------------
def promote_types(a, b) -> np.dtype:
    """The smallest dtype both ``a`` and ``b`` fit in, PyTorch's table (``torch.promote_types``).

    Where it differs from NumPy's: an integer with a float is that float (int64 + float16
    is float16; NumPy says float64), and bool joins anything as the other dtype.
    """
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    if a.kind == "b":
        return b
    if b.kind == "b":
        return a
    if a.kind in "iu" and b.kind in "fc":
        return b
    if b.kind in "iu" and a.kind in "fc":
        return a
    return np.promote_types(a, b)


def _combine(higher, lower):
    """PyTorch's combine_categories: ``lower`` (0-d tensors, then Python numbers) decides
    the dtype only when it is of a higher category (bool < integer < float < complex)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if lower.kind == "c":
        return np.promote_types(higher if higher.kind == "f" else _DEFAULT, lower)
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value) -> np.dtype:
    """The dtype a Python (or NumPy) number takes in an op with tensors: bool, int64, the
    default float dtype (float32) or complex64, whatever its own precision."""
    if isinstance(value, (bool, np.bool_)):
        return _BOOL
    if isinstance(value, (int, np.integer)):
        return _INT64
    if isinstance(value, (float, np.floating)):
        return _DEFAULT
    if isinstance(value, (complex, np.complexfloating)):
        return _COMPLEX
    raise TypeError(f"expected a number or a tensor, got {type(value).__name__}")


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op on ``operands`` (tensors, arrays or Python numbers),
    PyTorch's rule (``torch.result_type``), which is not NumPy's:

    * operands with dims decide, promoted among themselves (float32 + float64 -> float64);
    * 0-d tensors, then Python numbers, count only when their category (bool < integer <
      float < complex) is higher: float32 tensor + 0-d float64 tensor -> float32, int64
      tensor + 0.5 -> float32 (a Python float is the default dtype), int8 tensor + 1000 -> int8.
    """
    dims = zeros = numbers = None
    for operand in operands:
        dtype = getattr(operand, "dtype", None)
        if dtype is None or isinstance(operand, np.generic):
            dtype = scalar_dtype(operand)
            numbers = dtype if numbers is None else promote_types(numbers, dtype)
        elif operand.ndim:
            dims = dtype if dims is None else promote_types(dims, dtype)
        else:
            zeros = dtype if zeros is None else promote_types(zeros, dtype)
    return _combine(dims, _combine(zeros, numbers))


def float_type(dtype) -> np.dtype:
    """The dtype of a floating op (exp, log, sqrt, true division ...) on ``dtype``: itself if
    it is a float (or complex), else the default float dtype, as in PyTorch (exp of an
    int64 tensor is float32)."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else _DEFAULT


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
    """'cpu' or 'cuda' from 'cpu', 'cpu:0', 'cuda', 'cuda:0' (device index 0 only)."""
    name = str(device)
    if name in ("cpu", "cpu:0"):
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
