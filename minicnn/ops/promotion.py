"""PyTorch's type promotion applied to an op's operands (the rules: ``backend.result_type``).

``operands(a, b)`` turns the two operands of an elementwise op (Tensors or Python numbers)
into Tensors of the result dtype; ``to_floating(x)`` is x in a floating dtype (exp, log ...).
A tensor whose dtype changes goes through ``cast``, a differentiable op, so its gradient
comes back in its own dtype (float32 + float64 -> float64; the float32 input's gradient
is float32, as in PyTorch).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import DEFAULT_DTYPE, float_type, get_array_module, result_type
from .conversion import cast

_NUMBERS = (bool, int, float, complex, np.generic)


def operands(a, b, floating: bool = False):
    """``a`` and ``b`` as Tensors of one dtype, PyTorch's promotion (``backend.result_type``):
    int64 tensor + 0.5 is float32, float32 + float64 tensors is float64, a float32 tensor
    times a Python float stays float32. ``floating``: an integer result becomes the default
    float dtype (true division). A tensor whose dtype changes goes through ``cast``, so its
    gradient comes back in its own dtype. Same-dtype tensors (the hot path) pass untouched."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            a_dtype, b_dtype = a.array.dtype, b.array.dtype
            if (a_dtype is b_dtype or a_dtype == b_dtype) and (
                    not floating or a_dtype.kind in "fc"):
                return a, b
        elif type(b) in (float, int) and a.array.dtype.kind in "fc":  # x * 0.5: x's dtype
            return a, Tensor._wrap(get_array_module(a.array).asarray(b, dtype=a.array.dtype))
    elif isinstance(b, Tensor) and type(a) in (float, int) and b.array.dtype.kind in "fc":
        return Tensor._wrap(get_array_module(b.array).asarray(a, dtype=b.array.dtype)), b  # 1 - x
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if not isinstance(a, (Tensor,) + _NUMBERS):
        a = as_tensor(a, like=like)
    if not isinstance(b, (Tensor,) + _NUMBERS):
        b = as_tensor(b, like=like)
    dtype = result_type(a, b)
    if floating:
        dtype = float_type(dtype)
    xp = get_array_module(like.array) if like is not None else np
    return as_dtype(a, dtype, xp), as_dtype(b, dtype, xp)


def as_dtype(value, dtype, xp) -> Tensor:
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else cast(value, dtype)
    # a Python number: astype wraps around as PyTorch does (uint8 tensor + 1000 -> + 232)
    return Tensor._wrap(xp.asarray(np.asarray(value).astype(dtype)))


def to_floating(x: Tensor) -> Tensor:
    """exp, log, sqrt ... of an integer or bool tensor compute in the default float dtype."""
    return x if x.dtype.kind in "fc" else cast(x, DEFAULT_DTYPE)
