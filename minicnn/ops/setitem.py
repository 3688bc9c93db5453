r"""Item assignment, ``x[index] = value``, with PyTorch's rules and gradients.

``x[index] = value`` is an in-place op (``inplace.apply_in_place``: the version counter, the
leaf rule, the rebased history). Its out-of-place twin is ``index_put(x, index, value)``:

.. math::  y_i = v_{p^{-1}(i)} \text{ if } i \in P \text{ else } x_i

where P is the set of positions ``x[index]`` reads (in x's flattened order). The gradients:
:math:`\partial L/\partial x = g` outside P, 0 inside (those values were overwritten);
:math:`\partial L/\partial v` is ``g[index]``, summed over the dims ``value`` was
broadcast along.

How it is built: the positions come from indexing a constant ``arange(x.numel())`` laid out
as x with the same ``getitem`` (so integers, slices, None, Ellipsis, masks and index arrays
follow exactly the rules of ``x[index]``, PyTorch's where NumPy's differ). ``value`` is cast
to x's dtype (as PyTorch: ``int_tensor[0] = 2.7`` stores 2) and broadcast to the shape of
``x[index]``. When an index repeats a position, the last value written wins, as NumPy's
assignment (PyTorch leaves the order unspecified).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import get_array_module
from .conversion import cast
from .math import where
from .shape import IndexAdd, broadcast_to, getitem, reshape

__all__ = ["index_put", "setitem"]


def _positions(x: Tensor, index) -> np.ndarray:
    """The flat positions of x that ``x[index]`` reads, shaped as ``x[index]``."""
    xp = get_array_module(x.array)
    layout = Tensor._wrap(xp.arange(x.array.size, dtype=np.int64).reshape(x.shape))
    return getitem(layout, index).array


class OverflowValueError(OverflowError, ValueError):
    """A Python int beyond int64 (PyTorch's ValueError or OverflowError, by the op)."""


def _check_fits(value, dtype) -> None:
    """A Python number stored in an integer tensor must fit its dtype (NaN, infinity and
    300 in an int8 tensor are PyTorch's RuntimeError, never a wrapped-around value)."""
    from .torch_errors import RuntimeValueError

    if isinstance(value, int) and not -2**63 <= value < 2**63:
        raise OverflowValueError(f"Overflow when unpacking long long: {value} is outside "
                                 f"int64's range (PyTorch raises too)")
    info = np.iinfo(dtype)
    low = info.min if info.min < 0 else -2**63  # an unsigned tensor wraps negatives (-1: 255)
    if not (np.isfinite(value) and low <= value <= info.max):
        raise RuntimeValueError(f"value cannot be converted to type {dtype} without overflow: "
                                f"{value!r} (the tensor holds {dtype} in [{info.min}, "
                                f"{info.max}])")


def index_put(x: Tensor, index, value) -> Tensor:
    """A copy of ``x`` with ``x[index]`` replaced by ``value`` (see the module docstring)."""
    xp = get_array_module(x.array)
    positions = _positions(x, index)
    if x.dtype.kind in "iu" and isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, (bool, np.bool_)):
        _check_fits(value, x.dtype)
        value = Tensor._wrap(xp.asarray(np.asarray(value).astype(x.dtype)))  # wraps as C++
    value = as_tensor(value, like=x)
    if value.dtype != x.dtype:
        value = cast(value, x.dtype)
    try:
        value = broadcast_to(value, positions.shape)
    except ValueError:
        raise ValueError(f"x[index] = value: value of shape {tuple(value.shape)} cannot be "
                         f"broadcast to the indexed shape {tuple(positions.shape)}") from None
    flat_positions = positions.reshape(-1)
    # last write wins: keep each position's last occurrence (and the value written there)
    reversed_unique, first_in_reversed = xp.unique(flat_positions[::-1], return_index=True)
    last = flat_positions.size - 1 - first_in_reversed
    flat_value = reshape(value, (-1,))
    # the values in the order of the sorted unique positions (unless they are that already)
    if last.size != flat_positions.size or (last != xp.arange(last.size)).any():
        flat_value = getitem(flat_value, last)
    written = IndexAdd.apply(flat_value, index=reversed_unique, shape=(x.array.size,))
    mask = xp.zeros(x.array.size, dtype=bool)
    mask[reversed_unique] = True
    return reshape(where(mask, written, reshape(x, (-1,))), x.shape)


def setitem(self: Tensor, index, value) -> None:
    """``Tensor.__setitem__``: ``self[index] = value`` in place (``index_put``)."""
    from .inplace import apply_in_place

    apply_in_place(self, lambda x: index_put(x, index, value), "__setitem__")
