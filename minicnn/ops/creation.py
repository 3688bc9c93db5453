"""Making new tensors: constants and random draws (float32 unless told otherwise)."""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..backend import DEFAULT_DTYPE, scalar_dtype, to_device
from .torch_errors import RuntimeValueError


def _shape(size):
    """``zeros(2, 3)`` and ``zeros((2, 3))`` -> (2, 3); ints >= 0 only, as PyTorch."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = []
    for dim in size:
        if isinstance(dim, Tensor) and dim.ndim == 0 and dim.dtype.kind in "iu":
            dim = int(dim.item())
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
            raise TypeError(f"size: expected a sequence of ints, but found an element of type "
                            f"{type(dim).__name__} ({dim!r}) in {tuple(size)!r}")
        if dim < 0:
            raise RuntimeValueError(f"size: trying to create a tensor with negative dimension "
                                    f"{dim}: {list(size)}")
        shape.append(int(dim))
    return tuple(shape)


def allocate(maker, shape, dtype, op: str = "tensor", **kwargs):
    """``maker(shape, dtype=dtype)`` (np.zeros, np.empty, np.full ...) in the target dtype at
    once; a shape too big for memory is one RuntimeError naming the shape and the bytes (as
    PyTorch's "can't allocate memory"), not NumPy's MemoryError or "array is too big"."""
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    try:
        return maker(shape, dtype=dtype, **kwargs)
    except (MemoryError, ValueError) as error:
        if isinstance(error, ValueError) and "too big" not in str(error):
            raise
        count = 1
        for dim in shape:
            count *= dim
        raise RuntimeError(f"{op}: cannot allocate a tensor of shape {tuple(shape)} "
                           f"({count * dtype.itemsize} bytes of {dtype}): not enough memory "
                           f"(PyTorch raises 'can't allocate memory' too)") from None


def _make(array, dtype, requires_grad, device):
    array = array.astype(dtype or DEFAULT_DTYPE, copy=False)
    if device is not None:
        array = to_device(array, device)
    return Tensor._wrap(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(allocate(np.zeros, _shape(size), dtype, "zeros"), dtype, requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(allocate(np.ones, _shape(size), dtype, "ones"), dtype, requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``. Without ``dtype``, the value's kind
    decides, as in PyTorch: full((2, 3), 4) is int64, 4.0 float32, True bool."""
    if dtype is None:
        dtype = (fill_value.dtype if isinstance(fill_value, Tensor)
                 else scalar_dtype(fill_value))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, (str, bytes)) or fill_value is None:
        raise TypeError(f"full: fill_value: expected a number, got {fill_value!r} "
                        f"({type(fill_value).__name__})")
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else tuple(size))
    if np.dtype(dtype).kind in "iu" and not isinstance(fill_value, (bool, np.bool_)):
        from .setitem import _check_fits

        _check_fits(fill_value, np.dtype(dtype))  # full((2,), nan, dtype=int64) refuses
        fill_value = np.asarray(fill_value).astype(dtype)  # -1 in uint8 is 255
    return _make(allocate(np.full, shape, dtype, "full", fill_value=fill_value), dtype,
                 requires_grad, device)


def arange(start=None, end=None, step=1, dtype=None, device=None) -> Tensor:
    """start, start + step, ... up to (not including) end; ``arange(n)`` and ``arange(end=n)``
    are 0 .. n - 1. int64 when start, end and step are all integers, else float32 (PyTorch's
    rule)."""
    if start is None and end is None:
        raise TypeError("arange: expected end (arange(end), arange(start, end[, step]))")
    if start is None:
        start = 0
    elif end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise TypeError(f"arange: {name}: expected a number, got {type(value).__name__}")
        if not np.isfinite(value):
            raise RuntimeValueError(f"arange: {name}: expected a finite number, got {value}")
    if step == 0:
        raise RuntimeValueError("arange: step must be nonzero, got step=0")
    if (end - start) * step < 0:
        raise RuntimeValueError(f"arange: end ({end}) lies on the wrong side of start ({start}) "
                                f"for step {step}: the bounds are inconsistent with the step's "
                                f"sign")
    values = np.arange(start, end, step)
    dtype = dtype or (np.int64 if values.dtype.kind in "iu" else DEFAULT_DTYPE)
    return _make(values, dtype, False, device)


def randn(*size, dtype=None, requires_grad=False, device=None, generator=None) -> Tensor:
    """Samples of N(0, 1)."""
    rng = _random.numpy_generator(generator)
    return _make(rng.standard_normal(_shape(size)), dtype, requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None, generator=None) -> Tensor:
    """Samples of U[0, 1)."""
    rng = _random.numpy_generator(generator)
    return _make(rng.random(_shape(size)), dtype, requires_grad, device)


def randint(low, high=None, size=None, device=None, generator=None, *, dtype=None,
            requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high); ``randint(high, size)`` has low 0, as in
    PyTorch. int64 unless told."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size: expected a tuple of ints, as in "
                            "randint(low, high, (2, 3)) or randint(high, (2, 3))")
        low, high, size = 0, low, high
    for name, value in (("low", low), ("high", high)):
        if not hasattr(type(value), "__index__") or isinstance(value, bool):
            raise TypeError(f"randint: {name}: expected an int, got {value!r} "
                            f"({type(value).__name__})")
    if low >= high:
        raise RuntimeValueError(f"randint: expected low < high, got low={low} and high={high} "
                                f"(PyTorch: random_ expects 'from' to be less than 'to')")
    rng = _random.numpy_generator(generator)
    draws = rng.integers(int(low), int(high), size=_shape(tuple(size)))
    return _make(draws, dtype or np.int64, requires_grad, device)


def _like(x: Tensor, maker, dtype, requires_grad):
    if not isinstance(x, Tensor):
        raise TypeError(f"{maker.__name__}_like(): argument 'input' must be a Tensor, not "
                        f"{type(x).__name__}")
    return maker(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=x.device)


def zeros_like(x, dtype=None, requires_grad=False):
    return _like(x, zeros, dtype, requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return _like(x, ones, dtype, requires_grad)


def randn_like(x, dtype=None, requires_grad=False):
    return _like(x, randn, dtype, requires_grad)


def rand_like(x, dtype=None, requires_grad=False):
    return _like(x, rand, dtype, requires_grad)
