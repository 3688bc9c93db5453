r"""More reductions and linear algebra, as PyTorch's: cumprod, nansum, nanmean, median,
mode, quantile, count_nonzero, std_mean, var_mean, diff, trapezoid; dot, vdot, inner, mv,
addmm, addmv, baddbmm, tensordot, kron, cross, cdist, dist, det, inverse.

Most are compositions of existing differentiable ops (sort + gather for median and
quantile, matmul + reshape for tensordot ...). Three have their own backward, each
written with Tensor ops so that differentiating it again works (create_graph):

* cumprod: y_i = \prod_{j <= i} x_j;  dL/dx_j = \sum_{i >= j} g_i y_i / x_j
  = flip(cumsum(flip(g y))) / x_j. That divides by x: when an x is 0 the op is built
  instead as a product over a table T_{ik} = x_k (k <= i) else 1, whose gradient
  (prod's) needs no division. (Near 0 but not at it, the second derivative of the
  division formula loses precision, about eps / |x|, as PyTorch's does.)
* det and inverse: in ``det_inverse.py``.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module, to_device
from .index_ops import flip, gather
from .math import _axes, matmul, mean, sum as _sum, var, where
from .shape import (_normalize_dim, broadcast_to, broadcasts_to, cat, getitem, permute,
                    reshape, squeeze, stack, transpose, unsqueeze)
from .sort_scan import Prod, argsort, cumsum, sort
from .tensor_methods import norm
from .det_inverse import det, inverse  # noqa: F401 - exported from here too

__all__ = ["cumprod", "nansum", "nanmean", "median", "mode", "quantile", "count_nonzero",
           "std_mean", "var_mean", "diff", "trapezoid", "trapz", "dot", "vdot", "inner",
           "mv", "addmm", "addmv", "baddbmm", "tensordot", "kron", "cross", "cdist", "dist",
           "det", "inverse"]

MedianResult = namedtuple("median", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])


def _check(op: str, ndim=None, **values) -> None:
    """Each value must be a Tensor (with ``ndim`` dims when given)."""
    for name, value in values.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
        if ndim is not None and value.ndim != ndim:
            raise ValueError(f"{op}: {name}: expected a {ndim}-d tensor, got shape "
                             f"{value.shape}")


def _const(like: Tensor, value) -> Tensor:
    return Tensor._wrap(get_array_module(like.array).asarray(value, dtype=like.dtype))


# -- cumprod ------------------------------------------------------------------------------
class CumProd(Function):
    """y = cumprod(x) along ``dim`` for an x without zeros; dL/dx = revcumsum(g y) / x."""

    def forward(self, x, dim):
        self.dim = dim
        return get_array_module(x).cumprod(x, axis=dim)

    def backward(self, g):
        d = self.dim
        return flip(cumsum(flip(g * self.output, d), d), d) / self.inputs[0]


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``. Integer and bool inputs give int64 (as PyTorch)."""
    _check("cumprod", input=input)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = Tensor._wrap(input.array.astype(np.int64))
    if input.ndim == 0 or input.shape[_normalize_dim(dim, input.ndim)] <= 1:
        _normalize_dim(dim, input.ndim)            # a 0-d tensor takes dim 0 or -1 only
        return input * 1                           # the identity (as PyTorch: no division)
    dim = _normalize_dim(dim, input.ndim)
    if input.dtype.kind not in "fc" or (input.array != 0).all():
        return CumProd.apply(input, dim=dim)
    last = transpose(input, dim, -1)                       # (..., n)
    n = last.shape[-1]
    table = broadcast_to(unsqueeze(last, -2), last.shape[:-1] + (n, n))   # [.., i, k] = x_k
    xp = get_array_module(input.array)
    table = where(xp.tril(xp.ones((n, n), dtype=bool)), table, _const(input, 1))
    return transpose(Prod.apply(table, dim=table.ndim - 1, keepdim=False), dim, -1)


# -- nan-aware and counting reductions ----------------------------------------------------
def _not_nan(input: Tensor) -> Tensor:
    if input.dtype.kind not in "fc":
        return input
    return where(get_array_module(input.array).isnan(input.array), _const(input, 0), input)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """sum, with NaN counted as 0 (its gradient is 0 there)."""
    _check("nansum", input=input)
    if dtype is not None:
        input = input.to(dtype)
    return _sum(_not_nan(input), dim, keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """mean of the non-NaN values (NaN when a slice has none)."""
    _check("nanmean", input=input)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind not in "fc":
        raise TypeError(f"nanmean: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype} (PyTorch raises too)")
    xp = get_array_module(input.array)
    counts = (~xp.isnan(input.array)).sum(axis=_axes(dim, input.ndim), keepdims=keepdim)
    return nansum(input, dim, keepdim) / Tensor._wrap(counts.astype(input.dtype))


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements (over ``dim``: an int or a tuple), int64."""
    _check("count_nonzero", input=input)
    axes = _axes(dim, input.ndim)
    return Tensor._wrap(get_array_module(input.array).asarray(
        (input.array != 0).sum(axis=axes)).astype(np.int64))


def _correction(op: str, dim, unbiased, correction):
    if isinstance(dim, bool):          # the legacy form std_mean(x, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: give unbiased or correction, not both")
    return dim, (0 if unbiased is False else 1) if correction is None else correction


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(std, mean) over ``dim`` in one call; correction=1 (Bessel's) by default."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v ** 0.5, m


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(var, mean) over ``dim`` in one call; correction=1 (Bessel's) by default."""
    _check("var_mean", input=input)
    dim, correction = _correction("var_mean", dim, unbiased, correction)
    return var(input, dim, keepdim=keepdim, correction=correction), mean(input, dim, keepdim)


# -- order statistics ---------------------------------------------------------------------
class _SharedPick(Function):
    """y = value (one of x's elements); dL/dx = g * share (share: 1/k at its k copies)."""

    def forward(self, x, value, share):
        self.share = share
        return value

    def backward(self, g):
        return g * Tensor._wrap(self.share)


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median m = sorted(x)[(n - 1) // 2] (NaN if any value is NaN). No dim: of
    all elements, a 0-d tensor, its gradient shared equally by the elements equal to m.
    With dim: ``(values, indices)`` along dim, the gradient to the element at indices (as
    PyTorch's)."""
    _check("median", input=input)
    if dim is None:  # the gradient is shared by every element equal to it, as PyTorch
        flat = reshape(input, (-1,))
        if flat.numel() == 0:
            return _const(input, np.nan)
        m = median(flat, 0).values.array
        xp = get_array_module(m)
        ties = (input.array == m) | (xp.isnan(input.array) & xp.isnan(m))
        return _SharedPick.apply(input, value=m, share=(ties / ties.sum()).astype(input.dtype))
    dim = _normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        zero = get_array_module(input.array).zeros((), dtype=np.int64)
        return MedianResult(input, Tensor._wrap(zero))
    n = input.shape[dim]
    if n == 0:
        raise IndexError(f"median: input: dim {dim} is empty (shape {input.shape})")
    order = argsort(input, dim).array
    xp = get_array_module(order)
    nan_count = xp.isnan(input.array).sum(axis=dim, keepdims=True) if (
        input.dtype.kind == "f") else xp.zeros(order.shape[:dim] + (1,) + order.shape[dim + 1:],
                                               dtype=np.int64)
    k = xp.where(nan_count > 0, n - nan_count, (n - 1) // 2)   # the first NaN, if any
    indices = xp.take_along_axis(order, k.astype(np.int64), axis=dim)
    values = gather(input, dim, Tensor._wrap(indices))
    if not keepdim:
        values, indices = squeeze(values, dim), indices.squeeze(dim)
    return MedianResult(values, Tensor._wrap(indices))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the most frequent value along ``dim`` (ties: the smallest
    value) and the index of its last occurrence, as PyTorch's."""
    _check("mode", input=input)
    if input.ndim == 0:
        _normalize_dim(dim, 0)
        zero = get_array_module(input.array).zeros((), dtype=np.int64)
        return ModeResult(input * 1, Tensor._wrap(zero))
    dim = _normalize_dim(dim, input.ndim)
    if input.shape[dim] == 0:
        raise IndexError(f"mode(): Expected reduction dim {dim} to have non-zero size, got "
                         f"shape {input.shape}")
    rows = np.moveaxis(np.asarray(input.numpy()), dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    found = np.zeros(flat.shape[0], dtype=np.int64)
    for r, row in enumerate(flat):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]          # argmax: the first (smallest) of the ties
        found[r] = len(row) - 1 - np.argmax(row[::-1] == best)
    indices = np.expand_dims(found.reshape(rows.shape[:-1]), dim)
    indices = Tensor._wrap(to_device(indices, input.device))
    values = gather(input, dim, indices)
    if not keepdim:
        values, indices = squeeze(values, dim), squeeze(indices, dim)
    return ModeResult(values, indices)


_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    r"""The q-quantile along ``dim`` (None: of all elements): with the sorted values s and
    position p = q (n - 1), linear gives s_{\lfloor p \rfloor} + (p - \lfloor p \rfloor)
    (s_{\lceil p \rceil} - s_{\lfloor p \rfloor}). A 1-d ``q`` puts its dim first. NaN in
    a slice gives NaN. Differentiable through sort (a gather)."""
    _check("quantile", input=input)
    if input.dtype.kind != "f":
        raise TypeError(f"quantile: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile: interpolation: expected one of {_INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    qs = np.asarray(q.numpy() if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1:
        raise ValueError(f"quantile: q: expected a number or a 0-d or 1-d tensor, got shape "
                         f"{qs.shape}")
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise ValueError(f"quantile: q: values must be in [0, 1], got {qs.tolist()}")
    x, d = (reshape(input, (-1,)), 0) if dim is None else (input, dim)
    d = _normalize_dim(d, x.ndim)
    if x.ndim == 0:
        x, d = reshape(x, (1,)), 0
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"quantile: input: dim {d} is empty (shape {input.shape})")
    s = sort(x, d).values
    nan = get_array_module(x.array).isnan(x.array).any(axis=d)
    out = []
    for value in qs.reshape(-1):
        p = value * (n - 1)
        lo, hi = int(np.floor(p)), int(np.ceil(p))
        pick = {"lower": lo, "higher": hi, "nearest": int(np.round(p))}.get(interpolation)
        at = [getitem(s, (slice(None),) * d + (i,)) for i in (lo, hi, pick) if i is not None]
        if interpolation == "linear":
            y = at[0] + (at[1] - at[0]) * (p - lo)
        elif interpolation == "midpoint":
            y = (at[0] + at[1]) * 0.5
        else:
            y = at[2]
        out.append(where(nan, _const(x, np.nan), y) if nan.any() else y)
    result = stack(out, 0)
    if keepdim:
        shape = (1,) * input.ndim if dim is None else input.shape[:d] + (1,) + input.shape[d + 1:]
        result = reshape(result, (result.shape[0],) + shape)
    return squeeze(result, 0) if qs.ndim == 0 else result


# -- differences and integrals ------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """n-th forward difference along ``dim``: y_i = x_{i+1} - x_i, n times (bool: x_{i+1}
    != x_i); ``prepend``/``append`` are joined on first."""
    _check("diff", input=input)
    if input.ndim == 0:
        raise ValueError("diff: input: expected at least 1 dim, got a 0-d tensor")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"diff: n: expected an int >= 0, got {n!r}")
    dim = _normalize_dim(dim, input.ndim)
    if n == 0:                                     # PyTorch: prepend/append ignored too
        return input
    parts = [p for p in (prepend, input, append) if p is not None]
    x = cat([as_tensor(p) for p in parts], dim) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[dim]
        if size == 0:
            break
        later = getitem(x, (slice(None),) * dim + (slice(1, size),))
        earlier = getitem(x, (slice(None),) * dim + (slice(0, size - 1),))
        x = Tensor._wrap(later.array != earlier.array) if x.dtype == np.bool_ else later - earlier
    return x


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    r"""\sum_i (y_i + y_{i+1}) / 2 \cdot \Delta x_i along ``dim``: ``x`` the sample points
    (1-d along dim, or y's shape), else a constant spacing ``dx`` (default 1)."""
    _check("trapezoid", y=y)
    if x is not None and dx is not None:
        raise ValueError("trapezoid: give x or dx, not both")
    dim = _normalize_dim(dim, y.ndim)
    size = y.shape[dim]
    if size == 0:
        return _sum(y, dim)
    sides = getitem(y, (slice(None),) * dim + (slice(1, size),)) + getitem(
        y, (slice(None),) * dim + (slice(0, size - 1),))
    if x is None:
        return _sum(sides, dim) * (0.5 * (1 if dx is None else dx))
    x = as_tensor(x, like=y)
    if x.ndim == 1:
        if x.shape[0] != size:
            raise ValueError(f"trapezoid: x: expected {size} points (y's dim {dim}), got "
                             f"{x.shape[0]}")
        steps = reshape(diff(x), (size - 1,) + (1,) * (y.ndim - 1 - dim))
    else:
        steps = diff(x, dim=dim - y.ndim)
    return _sum(sides * steps, dim) * 0.5


trapz = trapezoid


# -- products -----------------------------------------------------------------------------
def dot(input: Tensor, other: Tensor) -> Tensor:
    """sum_i u_i v_i of two 1-d tensors of the same size and dtype."""
    _check("dot", 1, input=input, other=other)
    if input.shape != other.shape:
        raise ValueError(f"dot: input and other must have the same size, got {input.shape[0]} "
                         f"and {other.shape[0]}")
    if input.dtype != other.dtype:
        raise TypeError(f"dot: expected both of dtype {input.dtype}, got {other.dtype}")
    return _sum(input * other)


vdot = dot   # the same for real tensors (no complex conjugate to take)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """sum over the last dims of both; a 0-d operand multiplies."""
    _check("inner", input=input, other=other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ValueError(f"inner: the last dims must match, got shapes {input.shape} and "
                         f"{other.shape}")
    return tensordot(input, other, ([-1], [-1]))


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,)."""
    _check("mv", 2, input=input)
    _check("mv", 1, vec=vec)
    return matmul(input, vec)


def _scaled_sum(op: str, input, product: Tensor, beta, alpha) -> Tensor:
    """beta * input + alpha * product (input broadcast to product's shape; beta = 0
    ignores input, NaN included, as PyTorch)."""
    product = product * alpha if alpha != 1 else product
    if beta == 0:
        return product
    input = as_tensor(input, like=product)
    if not broadcasts_to(input.shape, product.shape):
        raise ValueError(f"{op}: input: shape {input.shape} cannot be broadcast to the "
                         f"product's shape {product.shape}")
    return (input * beta if beta != 1 else input) + product


def addmm(input, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), mat1 (n, k), mat2 (k, m)."""
    _check("addmm", 2, mat1=mat1, mat2=mat2)
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), (b, n, k) @ (b, k, m)."""
    _check("baddbmm", 3, batch1=batch1, batch2=batch2)
    if batch1.shape[0] != batch2.shape[0]:
        raise ValueError(f"baddbmm: batch1 and batch2 must have the same batch size, got "
                         f"{batch1.shape} and {batch2.shape}")
    return _scaled_sum("baddbmm", input, matmul(batch1, batch2), beta, alpha)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract a's dims ``dims[0]`` with b's ``dims[1]`` (an int k: a's last k with b's
    first k). Built as permute + reshape + one matmul."""
    _check("tensordot", a=a, b=b)
    if isinstance(dims, int):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims: expected an int in [0, {min(a.ndim, b.ndim)}], "
                             f"got {dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise ValueError(f"tensordot: dims: expected as many dims of a as of b, got {dims}")
    dims_a = [_normalize_dim(d, a.ndim, "dims") for d in dims_a]
    dims_b = [_normalize_dim(d, b.ndim, "dims") for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ValueError(f"tensordot: dims: a's dim {da} (size {a.shape[da]}) does not "
                             f"match b's dim {db} (size {b.shape[db]})")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    size = lambda x, dims: int(np.prod([x.shape[d] for d in dims]))  # noqa: E731
    left = reshape(permute(a, free_a + dims_a), (size(a, free_a), size(a, dims_a)))
    right = reshape(permute(b, dims_b + free_b), (size(b, dims_b), size(b, free_b)))
    shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    return reshape(matmul(left, right), shape)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: y[i p + k, j q + l] = a[i, j] b[k, l] (any number of dims)."""
    _check("kron", input=input, other=other)
    nd = max(input.ndim, other.ndim)
    sa = (1,) * (nd - input.ndim) + tuple(input.shape)
    sb = (1,) * (nd - other.ndim) + tuple(other.shape)
    a = reshape(input, tuple(v for s in sa for v in (s, 1)))
    b = reshape(other, tuple(v for s in sb for v in (1, s)))
    return reshape(a * b, tuple(x * y for x, y in zip(sa, sb)))


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (None: the first dim of size 3, as
    torch.cross); input and other broadcast together."""
    _check("cross", input=input, other=other)
    try:
        shape = np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise ValueError(f"cross: shapes {input.shape} and {other.shape} do not broadcast "
                         "together") from None
    a, b = broadcast_to(input, shape), broadcast_to(other, shape)
    if dim is None:
        dim = next((d for d, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise ValueError(f"cross: no dim of size 3 in shape {shape}")
    dim = _normalize_dim(dim, len(shape))
    if shape[dim] != 3:
        raise ValueError(f"cross: dim: expected size 3 in dim {dim}, got shape {shape}")
    ax = [getitem(a, (slice(None),) * dim + (i,)) for i in range(3)]
    bx = [getitem(b, (slice(None),) * dim + (i,)) for i in range(3)]
    parts = [ax[(i + 1) % 3] * bx[(i + 2) % 3] - ax[(i + 2) % 3] * bx[(i + 1) % 3]
             for i in range(3)]
    return stack(parts, dim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The p-norm distances between the rows: x1 (..., P, M), x2 (..., R, M) ->
    (..., P, R) (batch dims broadcast). The gradient at a zero distance is 0 (p = 2)."""
    _check("cdist", x1=x1, x2=x2)
    for name, v in (("x1", x1), ("x2", x2)):
        if v.ndim < 2:
            raise ValueError(f"cdist: {name}: expected at least 2 dims, got shape {v.shape}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: x1 and x2 must have the same number of columns, got "
                         f"{x1.shape[-1]} and {x2.shape[-1]}")
    if p < 0:
        raise ValueError(f"cdist: p: expected a value >= 0, got {p}")
    difference = unsqueeze(x1, -2) - unsqueeze(x2, -3)        # (..., P, R, M)
    return norm(difference, p, dim=-1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcast), over all elements."""
    _check("dist", input=input, other=other)
    return norm(input - other, p)


def methods() -> dict:
    """{Tensor method name: function}, bound to Tensor by minicnn/ops/__init__.py."""
    return {
        "cumprod": cumprod, "nansum": nansum, "nanmean": nanmean, "median": median,
        "mode": mode, "quantile": quantile, "count_nonzero": count_nonzero, "diff": diff,
        "dot": dot, "vdot": vdot, "inner": inner, "mv": mv, "addmm": addmm, "addmv": addmv,
        "baddbmm": baddbmm, "kron": kron, "cross": cross, "dist": dist, "det": det,
        "inverse": inverse,
    }
