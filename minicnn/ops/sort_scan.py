r"""Sorting, scans and the reductions math.py lacks: sort, argsort, topk, cumsum, prod,
logsumexp, any, all.

* sort / topk return ``(values, indices)`` (also as ``.values`` / ``.indices``, like
  ``torch.return_types``); the values are ``gather(x, dim, indices)``, so their gradient
  is a scatter of g back to where each value came from, differentiable again.
* cumsum: y_i = \sum_{j <= i} x_j;  dL/dx_j = \sum_{i >= j} g_i = flip(cumsum(flip(g))).
* prod: y = \prod_i x_i;  dL/dx_i = g \prod_{j != i} x_j (= g y / x_i when no x is 0).
* logsumexp: y = m + \log \sum_i e^{x_i - m}, m = max x;  dL/dx_i = g e^{x_i - y}.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, Tensor
from ..backend import DEFAULT_DTYPE, get_array_module
from .index_ops import flip, gather
from .math import _axes, _keepdim_shape, exp, where
from .shape import _normalize_dim, broadcast_to, reshape, transpose, unsqueeze
from .torch_errors import RuntimeValueError

SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


def _check(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    return input


# -- sorting ------------------------------------------------------------------------------
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """int64 indices that sort ``input`` along ``dim`` (NaN counts as the largest value).

    Always stable: equal values keep their order (descending too)."""
    _check("argsort", input)
    if input.ndim == 0:
        _normalize_dim(dim, 0)  # a 0-d tensor takes dim 0 or -1, as PyTorch
        return Tensor._wrap(get_array_module(input.array).zeros((), dtype=np.int64))
    dim = _normalize_dim(dim, input.ndim)
    xp = get_array_module(input.array)
    x = input.array
    kind = "stable" if xp is np else None  # CuPy's sort is always stable (kind=None only)
    if descending:
        # sort the reversed array ascending, then reverse: ties keep their original order
        n = x.shape[dim]
        order = xp.flip(xp.argsort(xp.flip(x, axis=dim), axis=dim, kind=kind), axis=dim)
        order = (n - 1) - order
    else:
        order = xp.argsort(x, axis=dim, kind=kind)
    return Tensor._wrap(order.astype(np.int64, copy=False))


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``; values = gather(input, dim, indices)."""
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return SortResult(input, indices)
    return SortResult(gather(input, dim, indices), indices)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the k largest (``largest=False``: smallest) along ``dim``,
    in sorted order."""
    _check("topk", input)
    size = input.shape[_normalize_dim(dim, input.ndim)] if input.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise RuntimeValueError(f"topk: k: expected an int in [0, {size}] (the size of dim "
                                f"{dim}), got {k!r}")
    if input.ndim == 0:
        zero = get_array_module(input.array).zeros((), dtype=np.int64)
        return TopKResult(input, Tensor._wrap(zero))
    dim = _normalize_dim(dim, input.ndim)
    order = argsort(input, dim, descending=largest).array
    indices = Tensor._wrap(order[(slice(None),) * dim + (slice(0, int(k)),)])
    return TopKResult(gather(input, dim, indices), indices)


# -- cumsum -------------------------------------------------------------------------------
class CumSum(Function):
    """y_i = sum_{j <= i} x_j along ``dim``;  dL/dx = flip(cumsum(flip(g)))."""

    def forward(self, x, dim):
        self.dim = dim
        return get_array_module(x).cumsum(x, axis=dim)

    def backward(self, g):
        return flip(CumSum.apply(flip(g, self.dim), dim=self.dim), self.dim)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``. Integer and bool inputs give int64 (as PyTorch)."""
    _check("cumsum", input)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = Tensor._wrap(input.array.astype(np.int64))
    if input.ndim == 0:
        _normalize_dim(dim, 0)
        return input if input.requires_grad else Tensor._wrap(input.array.copy())
    return CumSum.apply(input, dim=_normalize_dim(dim, input.ndim))


# -- prod ---------------------------------------------------------------------------------
class Prod(Function):
    r"""y = \prod x along ``dim`` (keepdim shape inside). The gradient of x_i is
    g \prod_{j != i} x_j: g y / x_i when no factor is 0, else the product of the others
    computed directly (an n x n table with ones on its diagonal)."""

    def forward(self, x, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim
        return x.prod(axis=dim, keepdims=keepdim)

    def backward(self, g):
        x = self.inputs[0]
        if not self.keepdim:
            g = unsqueeze(g, self.dim)
        if (x.array != 0).all():
            y = self.output if self.keepdim else unsqueeze(self.output, self.dim)
            return g * y / x
        return g * _product_of_others(x, self.dim)


def _product_of_others(x: Tensor, dim: int) -> Tensor:
    """others[i] = prod_{j != i} x_j along ``dim``, without dividing (zeros are fine)."""
    last = transpose(x, dim, -1) if dim != x.ndim - 1 else x
    n = last.shape[-1]
    table = broadcast_to(unsqueeze(last, -2), last.shape[:-1] + (n, n))
    xp = get_array_module(x.array)
    eye = xp.eye(n, dtype=bool)
    table = where(eye, Tensor._wrap(xp.ones((), dtype=x.dtype)), table)
    others = Prod.apply(table, dim=table.ndim - 1, keepdim=False)
    return transpose(others, dim, -1) if dim != x.ndim - 1 else others


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of the elements (all of them, or along one ``dim``). Integer and bool
    inputs give int64 (as PyTorch)."""
    _check("prod", input)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = Tensor._wrap(input.array.astype(np.int64))
    if dim is None:
        flat = reshape(input, (-1,))
        return Prod.apply(flat, dim=0, keepdim=False)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod: dim: expected an int or None, got {dim!r}")
    if input.ndim == 0:
        _normalize_dim(dim, 0)
        return input
    return Prod.apply(input, dim=_normalize_dim(dim, input.ndim), keepdim=keepdim)


# -- logsumexp ----------------------------------------------------------------------------
class LogSumExp(Function):
    r"""y = m + log sum_i e^{x_i - m} over ``axes`` with m = max x (finite m only; an
    all -inf slice gives -inf, and +inf gives +inf, as PyTorch).
    dL/dx = g e^{x - y}: Tensor ops, so differentiable again."""

    def forward(self, x, axes, keepdim):
        xp = get_array_module(x)
        self.axes, self.keepdim = axes, keepdim
        m = x.max(axis=axes, keepdims=True) if x.size else xp.zeros(
            _keepdim_shape(x.shape, axes), dtype=x.dtype)
        m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            y = m + xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
        return y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    def backward(self, g):
        x = self.inputs[0]
        shape = _keepdim_shape(x.shape, self.axes)
        y, g = self.output, g
        if not self.keepdim:
            y, g = reshape(y, shape), reshape(g, shape)
        return g * exp(x - y)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple), computed without overflow.
    Integer inputs are promoted to the default float dtype (float32)."""
    _check("logsumexp", input)
    if input.dtype.kind not in "fc":
        input = Tensor._wrap(input.array.astype(DEFAULT_DTYPE))
    if input.ndim == 0:
        for d in ((dim,) if isinstance(dim, int) else tuple(dim)):
            _normalize_dim(d, 0)
        return LogSumExp.apply(input, axes=(), keepdim=True)
    return LogSumExp.apply(input, axes=_axes(dim, input.ndim), keepdim=keepdim)


# -- any / all ----------------------------------------------------------------------------
def _logical(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    _check(op, input)
    x = input.array
    reduce = x.any if op == "any" else x.all
    # bool, except for uint8 input, which stays uint8 (PyTorch's legacy rule)
    dtype = np.uint8 if x.dtype == np.uint8 else np.bool_
    if dim is None or input.ndim == 0:
        if dim is not None:
            _axes(dim, input.ndim)
        return Tensor._wrap(get_array_module(x).asarray(reduce(), dtype=dtype))
    axes = _axes(dim, input.ndim)
    return Tensor._wrap(get_array_module(x).asarray(reduce(axis=axes, keepdims=keepdim),
                                                    dtype=dtype))


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where any element (over ``dim``, or all of them) is non-zero (bool, no grad)."""
    return _logical("any", input, dim, keepdim)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``, or all of them) is non-zero (bool, no grad)."""
    return _logical("all", input, dim, keepdim)


__all__ = ["sort", "argsort", "topk", "cumsum", "prod", "logsumexp", "any", "all",
           "SortResult", "TopKResult"]
