"""``slice_scatter``, ``select_scatter``, ``diagonal_scatter`` (a copy of input with one
view replaced by src, PyTorch's functional forms of ``x[...] = src``), ``unique_consecutive``
and ``histogram``.

The scatters go through ``index_put`` (ops/setitem.py), so the gradient reaches input
(zero where src was written) and src (the gradient at those places).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import DEFAULT_DTYPE, get_array_module
from .setitem import index_put
from .shape import _normalize_dim
from .torch_errors import RuntimeValueError


def _slices(dim: int, item) -> tuple:
    return (slice(None),) * dim + (item,)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """input with ``input[..., start:end:step, ...]`` (along dim) replaced by src."""
    dim = _normalize_dim(dim, input.ndim)
    index = _slices(dim, slice(start, end, step))
    view_shape = np.empty(input.shape, dtype=np.bool_)[index].shape
    if tuple(src.shape) != view_shape:
        raise RuntimeValueError(f"slice_scatter: src: expected shape {view_shape} (the slice's), "
                                f"got {tuple(src.shape)}")
    return index_put(input, index, src)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """input with ``input.select(dim, index)`` replaced by src."""
    dim = _normalize_dim(dim, input.ndim)
    size = input.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select_scatter: index {index} out of range for dim {dim} of size "
                         f"{size}")
    view_shape = input.shape[:dim] + input.shape[dim + 1:]
    if tuple(src.shape) != tuple(view_shape):
        raise RuntimeValueError(f"select_scatter: src: expected shape {tuple(view_shape)}, got "
                                f"{tuple(src.shape)}")
    return index_put(input, _slices(dim, int(index)), src)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """input with ``input.diagonal(offset, dim1, dim2)`` replaced by src (the diagonal
    last, as ``diagonal`` returns it)."""
    xp = get_array_module(input.array)
    d1, d2 = _normalize_dim(dim1, input.ndim), _normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeValueError(f"diagonal_scatter: dim1 and dim2 must differ, got {dim1}, "
                                f"{dim2}")
    n1, n2 = input.shape[d1], input.shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    i = xp.arange(length)
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    rest = [d for d in range(input.ndim) if d not in (d1, d2)]
    expected = tuple(input.shape[d] for d in rest) + (length,)
    if tuple(src.shape) != expected:
        raise RuntimeValueError(f"diagonal_scatter: src: expected shape {expected}, got "
                                f"{tuple(src.shape)}")
    index = [slice(None)] * input.ndim
    index[d1], index[d2] = rows, cols
    from .shape import permute

    if abs(d1 - d2) != 1:  # advanced indices apart put their dim first (NumPy, PyTorch) ...
        src = permute(src, (src.ndim - 1,) + tuple(range(src.ndim - 1)))
    elif min(d1, d2) < src.ndim - 1:  # ... adjacent ones stay where they are
        k = min(d1, d2)
        src = permute(src, tuple(range(k)) + (src.ndim - 1,) + tuple(range(k, src.ndim - 1)))
    return index_put(input, tuple(index), src)


UniqueConsecutive = namedtuple("unique_consecutive", ["values", "inverse", "counts"])


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim=None):
    """The values with consecutive repeats collapsed (of the flattened input), and
    optionally the inverse indices and the run lengths."""
    if dim is not None:
        raise RuntimeValueError("unique_consecutive: dim is not supported here; use dim=None")
    flat = np.asarray(input.numpy()).reshape(-1)
    if flat.size == 0:
        starts = np.zeros(0, dtype=np.int64)
    else:
        starts = np.concatenate([[0], np.nonzero(flat[1:] != flat[:-1])[0] + 1])
    values = Tensor._wrap(flat[starts])
    out = [values]
    if return_inverse:
        inverse = np.cumsum(np.isin(np.arange(flat.size), starts)) - 1
        out.append(Tensor._wrap(inverse.reshape(input.shape).astype(np.int64)))
    if return_counts:
        counts = np.diff(np.concatenate([starts, [flat.size]])).astype(np.int64)
        out.append(Tensor._wrap(counts))
    return out[0] if len(out) == 1 else tuple(out)


HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])


def histogram(input: Tensor, bins=100, *, range=None, weight=None,  # noqa: A002
              density: bool = False):
    """``(hist, bin_edges)`` of a floating-point input (``bins`` a count or the edges)."""
    if input.dtype.kind != "f":
        raise RuntimeValueError(f"histogram: input: expected a floating-point tensor, got "
                                f"{input.dtype}")
    edges = bins.numpy() if isinstance(bins, Tensor) else int(bins)
    hist, bin_edges = np.histogram(np.asarray(input.numpy()).reshape(-1), bins=edges,
                                   range=range, density=density,
                                   weights=None if weight is None else
                                   np.asarray(as_tensor(weight).numpy()).reshape(-1))
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(DEFAULT_DTYPE)
    return HistogramResult(Tensor._wrap(hist.astype(dtype)), Tensor._wrap(bin_edges.astype(dtype)))


__all__ = ["slice_scatter", "select_scatter", "diagonal_scatter", "unique_consecutive",
           "histogram"]


def methods() -> dict:
    """{Tensor method name: function}."""
    return {name: globals()[name] for name in __all__}
