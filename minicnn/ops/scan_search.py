r"""Running extremes, counting and searching, as PyTorch: cummax, cummin, logcumsumexp,
aminmax, take_along_dim (differentiable); bincount, histc, bucketize, searchsorted (no
gradient: their outputs are counts and positions).

* cummax(x, dim) = (values, indices): values_i = max_{j <= i} x_j, indices_i the position
  of that max (the latest one at ties; a NaN wins and stays, as PyTorch). values is
  ``gather(x, dim, indices)``, so dL/dx = scatter_add of g at the indices.
* logcumsumexp(x, dim)_i = log sum_{j <= i} e^{x_j}: a running logaddexp on NumPy
  (ops/logcumsumexp.py: no prefix underflows); on CuPy m + log cumsum(e^{x - m}) with
  m = max x along dim held constant, where a prefix lying further below the row's max
  than the dtype's exp range (about 700 in float64, 87 in float32) underflows to -inf.
  dL/dx_j = sum_{i >= j} g_i e^{x_j - y_i}.
* aminmax(x) = (amin(x), amax(x)) (ties share the gradient, as amin / amax).
* take_along_dim(x, indices, dim) = gather after broadcasting x and indices outside dim
  (dim None: on the flattened tensors).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .index_ops import gather
from .math import _normalize_dim, amax, amin, exp, log
from .shape import broadcast_to, reshape
from .sort_scan import cumsum

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])


def _check(op: str, input, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(input).__name__}")
    return input


def _running_index(x, dim: int, greater: bool):
    """Positions of the running max (min) along ``dim``: x_i replaces the best so far where
    x_i >= best (<=) or x_i is NaN (PyTorch's loop)."""
    xp = get_array_module(x)
    moved = xp.moveaxis(x, dim, -1)
    best, index = moved[..., 0].copy(), xp.zeros(moved.shape[:-1], dtype=np.int64)
    out = xp.empty(moved.shape, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for i in range(moved.shape[-1]):
            value = moved[..., i]
            wins = ((value >= best) if greater else (value <= best)) | (value != value)
            best = xp.where(wins, value, best)
            index = xp.where(wins, i, index)
            out[..., i] = index
    return xp.moveaxis(out, -1, dim)


def _cumulative_extreme(op: str, input: Tensor, dim: int, greater: bool, result):
    _check(op, input)
    if input.ndim == 0:
        _normalize_dim(dim, 1)
        return result(input * 1, Tensor._wrap(get_array_module(input.array).zeros((), np.int64)))
    dim = _normalize_dim(dim, input.ndim)
    if input.shape[dim] == 0:
        return result(input * 1, Tensor._wrap(np.zeros(input.shape, np.int64)))
    indices = Tensor._wrap(_running_index(input.array, dim, greater))
    return result(gather(input, dim, indices), indices)


def cummax(input: Tensor, dim: int):
    """``(values, indices)``: the running maximum along ``dim`` and where it was found."""
    return _cumulative_extreme("cummax", input, dim, True, CummaxResult)


def cummin(input: Tensor, dim: int):
    """``(values, indices)``: the running minimum along ``dim`` and where it was found."""
    return _cumulative_extreme("cummin", input, dim, False, CumminResult)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log of the running sum of exponentials along ``dim`` (see the module docstring)."""
    _check("logcumsumexp", input)
    if input.dtype.kind not in "fc":
        raise TypeError(f"logcumsumexp: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype} (PyTorch: 'logcumsumexp_out_cpu' not implemented)")
    if input.ndim == 0:
        _normalize_dim(dim, 1)
        return input * 1
    dim = _normalize_dim(dim, input.ndim)
    if input.numel() == 0:
        return input * 1
    from .logcumsumexp import logcumsumexp_along

    running = logcumsumexp_along(input, dim)
    if running is not None:
        return running
    xp = get_array_module(input.array)
    m = xp.max(input.array, axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(input.dtype)  # all -inf rows: shift by 0
    shift = Tensor._wrap(m)
    with np.errstate(divide="ignore"):
        return log(cumsum(exp(input - shift), dim)) + shift


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over all elements or along ``dim``, as two reductions."""
    _check("aminmax", input)
    if input.numel() == 0:
        raise RuntimeError("aminmax: input: cannot compute aminmax over an empty tensor "
                           "(expected at least one element)")
    return AminmaxResult(amin(input, dim, keepdim), amax(input, dim, keepdim))


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """Pick values by ``indices`` along ``dim`` (``np.take_along_axis``); the shapes
    broadcast outside dim. dim None: indices into the flattened input."""
    _check("take_along_dim", input)
    _check("take_along_dim", indices, "indices")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_dim: indices: expected an integer tensor (int64), got "
                        f"dtype {indices.dtype}")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    if input.ndim != indices.ndim:
        raise ValueError(f"take_along_dim: indices: expected {input.ndim} dims (input's), got "
                         f"shape {indices.shape}")
    dim = _normalize_dim(dim, input.ndim)
    outer_in = list(input.shape)
    outer_ix = list(indices.shape)
    outer_in[dim] = outer_ix[dim] = 1
    try:
        common = np.broadcast_shapes(tuple(outer_in), tuple(outer_ix))
    except ValueError:
        raise ValueError(f"take_along_dim: indices: shape {indices.shape} does not broadcast "
                         f"with input's {input.shape} outside dim {dim}") from None
    in_shape = common[:dim] + (input.shape[dim],) + common[dim + 1:]
    ix_shape = common[:dim] + (indices.shape[dim],) + common[dim + 1:]
    if tuple(input.shape) != in_shape:
        input = broadcast_to(input, in_shape)
    if tuple(indices.shape) != ix_shape:
        indices = Tensor._wrap(get_array_module(indices.array).broadcast_to(indices.array,
                                                                           ix_shape))
    return gather(input, dim, indices)


# -- counting and searching (no gradient) -------------------------------------------------
def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """Counts of each value of a 1-D non-negative integer tensor (length max + 1, at least
    ``minlength``); with ``weights``, sums of the weights instead (float32 weights give
    float32, other weights float64, as PyTorch)."""
    _check("bincount", input)
    if input.ndim != 1 or input.dtype.kind not in "iub":
        raise ValueError(f"bincount: input: expected a 1-D integer tensor, got shape "
                         f"{input.shape} and dtype {input.dtype}")
    x = input.array
    if x.size and int(x.min()) < 0:
        raise ValueError(f"bincount: input: expected non-negative values, got minimum "
                         f"{int(x.min())}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength: expected a non-negative int, got {minlength}")
    xp = get_array_module(x)
    if weights is None or x.size == 0:  # PyTorch: an empty input gives int64 zeros
        if weights is not None:
            _check("bincount", weights, "weights")
        return Tensor._wrap(xp.bincount(x, minlength=minlength).astype(np.int64))
    _check("bincount", weights, "weights")
    if tuple(weights.shape) != tuple(input.shape):
        raise ValueError(f"bincount: weights: expected shape {input.shape} (input's), got "
                         f"{weights.shape}")
    dtype = np.float32 if weights.dtype == np.float32 else np.float64
    return Tensor._wrap(xp.bincount(x, weights=weights.array.astype(np.float64),
                                    minlength=minlength).astype(dtype))


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002
    """Histogram of ``bins`` equal bins over [min, max] (both 0: the data's range; equal
    bounds are widened by 1 each way); values outside are ignored, max falls in the last
    bin. Input's dtype, no gradient."""
    _check("histc", input)
    if input.dtype.kind not in "f":
        raise TypeError(f"histc: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype} (PyTorch: 'histogram_cpu' not implemented)")
    if not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise ValueError(f"histc: bins: expected a positive int, got {bins!r}")
    x = input.array.ravel()
    xp = get_array_module(x)
    low, high = float(min), float(max)
    if low == high and x.size:
        low, high = float(x.min()), float(x.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise ValueError(f"histc: max: expected max >= min, got min={min} and max={max}")
    t = x.dtype.type                      # PyTorch's arithmetic, in input's dtype
    inside = x[(x >= t(low)) & (x <= t(high))]
    which = ((inside - t(low)) * t(bins) / (t(high) - t(low))).astype(np.int64)
    which = xp.minimum(which, bins - 1)
    return Tensor._wrap(xp.bincount(which, minlength=bins).astype(input.dtype))


def _positions(op, sequence, values, right, side, out_int32):
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"{op}: side: expected 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError(f"{op}: side: side='left' and right=True contradict each other")
        right = side == "right"
    return ("right" if right else "left"), (np.int32 if out_int32 else np.int64)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value: i with boundaries[i-1] < x <= boundaries[i]
    (``right=True``: boundaries[i-1] <= x < boundaries[i]); boundaries 1-D, increasing."""
    _check("bucketize", boundaries, "boundaries")
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries: expected a 1-D tensor, got shape "
                         f"{boundaries.shape}")
    side, dtype = _positions("bucketize", boundaries, input, right, None, out_int32)
    xp = get_array_module(boundaries.array)
    x = input.array if isinstance(input, Tensor) else xp.asarray(input)
    return Tensor._wrap(xp.asarray(xp.searchsorted(boundaries.array, x, side=side))
                        .astype(dtype))


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side=None, sorter=None) -> Tensor:
    """Where each value would go to keep ``sorted_sequence`` sorted along its last dim: a
    1-D sequence serves every value; an N-D one serves the row of input with the same
    leading indices. ``sorter``: indices that sort the sequence (as argsort's)."""
    op = "searchsorted"
    _check(op, sorted_sequence, "sorted_sequence")
    side, dtype = _positions(op, sorted_sequence, input, right, side, out_int32)
    xp = get_array_module(sorted_sequence.array)
    seq = sorted_sequence.array
    if sorter is not None:
        _check(op, sorter, "sorter")
        if tuple(sorter.shape) != tuple(seq.shape):
            raise ValueError(f"{op}: sorter: expected shape {seq.shape} (sorted_sequence's), "
                             f"got {sorter.shape}")
        seq = xp.take_along_axis(seq, sorter.array, axis=-1)
    scalar = not isinstance(input, Tensor)
    x = xp.asarray(input) if scalar else input.array
    if seq.ndim == 1:
        return Tensor._wrap(xp.asarray(xp.searchsorted(seq, x, side=side)).astype(dtype))
    if scalar or x.ndim != seq.ndim or x.shape[:-1] != seq.shape[:-1]:
        raise ValueError(f"{op}: input: expected leading dims {seq.shape[:-1]} "
                         f"(sorted_sequence's, all but the last), got shape "
                         f"{tuple(x.shape)}")
    rows_seq, rows_x = seq.reshape(-1, seq.shape[-1]), x.reshape(-1, x.shape[-1])
    out = xp.stack([xp.searchsorted(s, v, side=side) for s, v in zip(rows_seq, rows_x)]) \
        if rows_seq.shape[0] else xp.zeros(rows_x.shape, np.int64)
    return Tensor._wrap(out.reshape(x.shape).astype(dtype))


__all__ = ["cummax", "cummin", "logcumsumexp", "aminmax", "take_along_dim", "bincount",
           "histc", "bucketize", "searchsorted"]


def methods() -> dict:
    """{Tensor method name: function} (PyTorch's Tensor lacks bucketize and searchsorted)."""
    return {name: globals()[name] for name in __all__ if name not in ("bucketize",
                                                                      "searchsorted")}
