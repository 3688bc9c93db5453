"""Arrays from what a user hands a tensor constructor, with PyTorch's dtypes.

* ``_to_array(data, dtype)``: ``mc.tensor``'s rules: Python floats float32 (the default
  dtype), Python ints int64, bools bool, NumPy arrays keep theirs; never an object or
  string array (a ``TypeError`` naming what came).
* ``_float32_constructor_array(args)``: ``torch.Tensor(*args)``'s rules: sizes, a list or
  an array of any dtype, always float32.

Arrays in, arrays out: ``minicnn.autograd`` wraps the results in Tensors.
"""
from __future__ import annotations

import numpy as np

from .backend import DEFAULT_DTYPE, get_array_module


def _float32_constructor_array(args: tuple):
    """The array of ``torch.Tensor(*args)``: sizes, a list or an array (of any dtype, on any
    device; a Tensor's is unwrapped by the caller), as float32 data."""
    if len(args) == 1 and hasattr(args[0], "__array_interface__") or \
            len(args) == 1 and hasattr(args[0], "__cuda_array_interface__"):
        array = args[0]
        if isinstance(array, np.generic):
            array = np.asarray(array)
        return array.astype(DEFAULT_DTYPE, copy=False)
    return _legacy_constructor_array(args[0] if args else None, tuple(args[1:]))


def _legacy_constructor_array(data, sizes):
    """PyTorch's legacy ``torch.Tensor(...)``: ``Tensor(2, 3)`` is an uninitialised float32
    tensor of shape (2, 3), ``Tensor([1, 2])`` float32 data, ``Tensor()`` empty.
    (``Tensor._wrap(array)`` wraps an array as it is: minicnn builds every result that way.)"""
    if data is None and not sizes:
        return np.empty(0, dtype=DEFAULT_DTYPE)
    dims = (data,) + sizes
    if all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        if any(d < 0 for d in dims):
            raise ValueError(f"Tensor{dims}: sizes must be non-negative")
        return np.empty(dims, dtype=DEFAULT_DTYPE)
    if isinstance(data, (list, tuple)) and not sizes:
        return np.asarray(data, dtype=DEFAULT_DTYPE)
    raise TypeError(f"Tensor(): expected sizes (Tensor(2, 3)), a list of numbers "
                    f"(Tensor([1.0, 2.0])) or an array, got {data!r}"
                    + (f" and sizes {sizes}" if sizes else "")
                    + "; for one number write mc.tensor(x) (PyTorch raises here too)")


def _to_array(data, dtype=None):
    """Array from user data, with PyTorch's dtypes: Python floats (and lists holding any)
    become float32 (the default dtype), Python ints int64, bools bool; a NumPy array keeps
    its dtype (a Tensor's array is unwrapped by the caller)."""
    xp = get_array_module(data)
    if xp is np and not isinstance(data, np.ndarray):
        if isinstance(data, np.generic):
            data = np.asarray(data)
        else:
            try:
                array = np.asarray(data)
            except ValueError as error:  # ragged nesting
                raise ValueError(f"tensor: expected a number or equally long nested lists of "
                                 f"numbers, got ragged data {_preview(data)} ({error})") from None
            if array.dtype.kind in "uOf" and not isinstance(data, np.ndarray):
                array = _python_ints(array, data, dtype)
            _check_numeric(array, data)
            if dtype is not None and np.dtype(dtype).kind in "iu" and array.dtype.kind in "iuf":
                _check_fits(array, np.dtype(dtype), data)
            if dtype is None and array.dtype.kind == "f":
                array = array.astype(DEFAULT_DTYPE)
            elif dtype is None and array.dtype.kind in "iu":
                array = array.astype(np.int64)
            data = array
    _check_numeric(data, data)
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    return data


_INT64_MIN, _INT64_MAX = -2**63, 2**63 - 1


def _scan_numbers(data, whole: bool = False) -> str | None:
    """``"other"`` if the nested lists hold something that is not a number (looked for only
    when ``whole``), else ``"float"`` if they hold a float (the first float ends the walk
    unless ``whole``), else ``"big"`` if they hold an int outside int64, else None."""
    stack, found = [data], None
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (float, complex, np.floating, np.complexfloating)):
            if not whole:
                return "float"
            found = "float"
        elif isinstance(item, (int, np.integer, np.bool_)):
            if (isinstance(item, int) and not _INT64_MIN <= item <= _INT64_MAX
                    and found is None):
                found = "big"
        elif whole:
            return "other"
    return found


def _python_ints(array, data, dtype):
    """Python ints beyond int64: NumPy makes them uint64, float64 (mixed with small ones) or
    object; PyTorch infers int64 for all-int data and raises. A float among them, or a
    floating ``dtype``, makes the data floating instead (``tensor([1.0, 2**70])`` works)."""
    if array.dtype.kind == "f" and (array.dtype != np.float64
                                    or not isinstance(data, (list, tuple))):
        return array
    kind = _scan_numbers(data, whole=array.dtype.kind == "O")
    if kind == "other":
        return array  # not numbers: _check_numeric names what came
    floating = dtype is not None and np.dtype(dtype).kind in "fc"
    if kind == "big" and not floating:
        raise ValueError(f"tensor: {_preview(data)} holds an integer outside int64's range "
                         f"[{_INT64_MIN}, {_INT64_MAX}] (PyTorch raises 'Overflow when "
                         f"unpacking long long'); pass floats, or dtype=mc.float64")
    if array.dtype.kind == "O" and (kind == "float" or floating):
        return np.asarray(data, dtype=np.float64)
    return array


def _check_fits(array, dtype, data) -> None:
    """Python numbers made into an integer dtype must fit it (NaN, inf, 300 for int8 are
    PyTorch's RuntimeError); negatives wrap into unsigned dtypes, floats truncate, as there."""
    if not array.size:
        return
    info = np.iinfo(dtype)
    low = info.min if info.min < 0 else _INT64_MIN
    bad = ~np.isfinite(array) if array.dtype.kind == "f" else np.zeros(array.shape, bool)
    with np.errstate(invalid="ignore"):
        bad |= (array < low) | (array > info.max)
    if bad.any():
        from .ops.torch_errors import RuntimeValueError

        raise RuntimeValueError(f"tensor: value cannot be converted to type {dtype} without "
                                f"overflow: {array[bad].ravel()[0].item()!r} in {_preview(data)} "
                                f"({dtype} holds [{info.min}, {info.max}])")


def _preview(data) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_numeric(array, data) -> None:
    """No tensor ever holds Python objects or strings (PyTorch has no such dtype): None, a
    string, a list with a None in it ... raise a TypeError naming what came."""
    if array.dtype.kind in "OUSVMm":
        raise TypeError(f"tensor: expected numbers (bool, int, float), got {_preview(data)} "
                        f"of type {type(data).__name__}, which would make a NumPy array of "
                        f"dtype {array.dtype}; tensors hold only numbers, as in PyTorch")
