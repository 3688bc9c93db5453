r"""Splits, promotions of rank, block matrices and small tests, as PyTorch's top-level
names: tensor_split, hsplit, vsplit, dsplit, atleast_1d/2d/3d, block_diag, cartesian_prod,
logspace, renorm, is_nonzero, is_same_size, broadcast_shapes, scalar_tensor; and the
Tensor method ``x.unfold(dimension, size, step)`` with the properties ``nbytes`` and
``itemsize``.

All are compositions of differentiable ops (slicing, reshape, pad, cat, stack) except
``unfold``, a pair of linear Functions adjoint to each other:

    unfold:  y[..., w, ..., k] = x[..., w step + k, ...]   (windows of ``size`` along dim,
             a new last dim of length size, (n - size) // step + 1 windows)
    its backward folds g back: dL/dx[j] = sum of g over the (window, k) with w step + k = j;
    the backward of the fold is the unfold again, so every derivative exists.

    renorm(x, p, dim, maxnorm): each slice x[i] along dim with ||x[i]||_p > maxnorm is
    scaled by maxnorm / (||x[i]||_p + 1e-7) (PyTorch's formula; the factor is part of the
    graph, so the gradient goes through the norm too).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, tensor
from ..backend import DEFAULT_DTYPE, get_array_module
from .math import _normalize_dim, where
from .shape import cat, pad, reshape, stack
from .torch_errors import RuntimeValueError


def _check(op: str, input, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(input).__name__}")
    return input


def _promoted(dtypes):
    """cat's promotion: a floating dtype beats integers (int64 with float32 is float32),
    otherwise NumPy's rule within the category."""
    floats = [d for d in dtypes if d.kind in "fc"]
    return np.result_type(*(floats or dtypes))


def _narrow(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    return x[(slice(None),) * dim + (slice(start, stop),)]


# -- splitting ----------------------------------------------------------------------------
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0):
    """A tuple of views along ``dim``: ``n`` sections (the first size % n one longer), or
    cut before each index of a list (a tensor: 0-D = sections, 1-D = indices)."""
    _check("tensor_split", input)
    if input.ndim == 0:
        raise ValueError("tensor_split: input: expected at least 1 dimension, got a 0-D "
                         "tensor")
    dim = _normalize_dim(dim, input.ndim)
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu" or spec.ndim > 1:
            raise TypeError(f"tensor_split: indices_or_sections: expected a 0-D or 1-D int64 "
                            f"tensor, got dtype {spec.dtype} and shape {spec.shape}")
        spec = spec.item() if spec.ndim == 0 else [int(i) for i in spec.tolist()]
    size = input.shape[dim]
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec <= 0:
            raise ValueError(f"tensor_split: indices_or_sections: number of sections must be "
                             f"larger than 0, got {spec}")
        base, extra = divmod(size, int(spec))
        lengths = [base + 1] * extra + [base] * (int(spec) - extra)
        cuts = list(np.cumsum([0] + lengths))
    else:
        cuts = [0] + [int(i) for i in spec] + [size]
    bounds = [(min(max(a if a >= 0 else a + size, 0), size),
               min(max(b if b >= 0 else b + size, 0), size)) for a, b in zip(cuts, cuts[1:])]
    return tuple(_narrow(input, dim, a, max(a, b)) for a, b in bounds)


def _directional_split(op: str, input: Tensor, spec, dim: int, min_dims: int):
    _check(op, input)
    if input.ndim < min_dims:
        raise ValueError(f"{op}: input: expected at least {min_dims} dims, got shape "
                         f"{input.shape} (torch.{op} requires a tensor with at least "
                         f"{min_dims} dimension{'s' if min_dims > 1 else ''})")
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec <= 0 or input.shape[dim] % spec:
            raise ValueError(f"{op}: indices_or_sections: attempted to split along dimension "
                             f"{dim}, but the size of the dimension {input.shape[dim]} is not "
                             f"divisible by the split_size {spec}!")
    return tensor_split(input, spec, dim)


def hsplit(input: Tensor, indices_or_sections):
    """Split along dim 1 (dim 0 for a 1-D tensor), as ``np.hsplit``."""
    dim = 1 if getattr(input, "ndim", 1) >= 2 else 0
    return _directional_split("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input: Tensor, indices_or_sections):
    """Split along dim 0 of a tensor of at least 2 dims."""
    return _directional_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections):
    """Split along dim 2 of a tensor of at least 3 dims."""
    return _directional_split("dsplit", input, indices_or_sections, 2, 3)


# -- rank and blocks ----------------------------------------------------------------------
def _at_least(op: str, tensors, shape_of):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
        many = True
    else:
        many = len(tensors) != 1
    out = []
    for t in tensors:
        _check(op, t, "tensors")
        new = shape_of(tuple(t.shape))
        out.append(t if new == tuple(t.shape) else reshape(t, new))
    return tuple(out) if many else out[0]


def atleast_1d(*tensors):
    """0-D tensors become (1,); others are returned as they are. Several in, a tuple out."""
    return _at_least("atleast_1d", tensors, lambda s: s or (1,))


def atleast_2d(*tensors):
    """0-D -> (1, 1); (n,) -> (1, n)."""
    return _at_least("atleast_2d", tensors, lambda s: (1,) * (2 - len(s)) + s
                     if len(s) < 2 else s)


def atleast_3d(*tensors):
    """0-D -> (1, 1, 1); (n,) -> (1, n, 1); (m, n) -> (m, n, 1) (NumPy's rule)."""
    def shape_of(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
    return _at_least("atleast_3d", tensors, shape_of)


def block_diag(*tensors) -> Tensor:
    """The blocks on the diagonal of one matrix, zeros elsewhere; 0-D and 1-D blocks count
    as (1, 1) and (1, n); dtypes promote as in cat."""
    blocks = [reshape(_check("block_diag", t, "tensors"),
                      (1, -1) if t.ndim < 2 else t.shape) for t in tensors]
    for t in blocks:
        if t.ndim != 2:
            raise ValueError(f"block_diag: tensors: expected 0, 1 or 2 dims, got shape "
                             f"{t.shape}")
    if not blocks:
        return Tensor._wrap(np.zeros((1, 0), dtype=DEFAULT_DTYPE))
    dtype = _promoted([t.dtype for t in blocks])
    width = sum(t.shape[1] for t in blocks)
    rows, column = [], 0
    for t in blocks:
        t = t if t.dtype == dtype else t.to(dtype)
        rows.append(pad(t, (column, width - column - t.shape[1])))
        column += t.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of the elements of the 1-D tensors, one per row (itertools.product
    order); one tensor in, that tensor out."""
    for t in tensors:
        _check("cartesian_prod", t, "tensors")
        if t.ndim != 1:
            raise ValueError(f"cartesian_prod: tensors: expected 1-D tensors, got shape "
                             f"{t.shape}")
    if len(tensors) == 1:
        return tensors[0]
    sizes = tuple(t.shape[0] for t in tensors)
    columns = []
    for i, t in enumerate(tensors):
        view = (1,) * i + (sizes[i],) + (1,) * (len(sizes) - i - 1)
        columns.append(reshape(reshape(t, view).expand(*sizes), (-1,)))
    dtype = _promoted([c.dtype for c in columns])
    return stack([c if c.dtype == dtype else c.to(dtype) for c in columns], 1)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False, **_) -> Tensor:
    """``steps`` numbers base^t for t evenly spaced from start to end (float32 default)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"logspace: steps: expected a non-negative int, got {steps!r}")
    values = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    out = tensor(values.astype(np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE))
    out = out.to(device) if device is not None else out
    return out.requires_grad_(requires_grad) if requires_grad else out


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` is scaled down to it."""
    from .functional_more import _norm

    _check("renorm", input)
    if input.dtype.kind not in "fc":
        raise TypeError(f"renorm: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    if not p > 0:
        raise ValueError(f"renorm: p: expected a positive number, got {p!r}")
    if maxnorm < 0:
        raise ValueError(f"renorm: maxnorm: expected a non-negative number, got {maxnorm!r}")
    if input.ndim < 2:
        raise ValueError(f"renorm: input: expected at least 2 dims (PyTorch's rule), got "
                         f"shape {input.shape}")
    dim = _normalize_dim(dim, input.ndim)
    others = tuple(d for d in range(input.ndim) if d != dim)
    norm = _norm(input, float(p), others, keepdim=True)
    factor = where(norm.array > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return input * factor


# -- small tests and constructors ---------------------------------------------------------
def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (more or fewer elements raise, as PyTorch)."""
    _check("is_nonzero", input)
    if input.numel() == 0:
        raise RuntimeError("is_nonzero: input: Boolean value of Tensor with no values is "
                           "ambiguous")
    if input.numel() > 1:
        raise RuntimeError(f"is_nonzero: input: Boolean value of Tensor with more than one "
                           f"value is ambiguous (got shape {input.shape})")
    return bool(input.array.reshape(()) != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape."""
    _check("is_same_size", input)
    _check("is_same_size", other, "other")
    return tuple(input.shape) == tuple(other.shape)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to (ints count as 1-D shapes)."""
    from ..torch_compat import Size

    as_tuples = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    for s in as_tuples:
        if any(int(n) < 0 for n in s):
            raise ValueError(f"broadcast_shapes: shapes: expected non-negative sizes, got {s}")
    try:
        return Size(np.broadcast_shapes(*as_tuples))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes: {as_tuples} do not broadcast (sizes "
                         f"must match or be 1 in each dim, counted from the last)") from None


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
    """A 0-D tensor holding the number ``s`` (float32 unless ``dtype``; bools and ints too
    become float32, as PyTorch's)."""
    out = tensor(np.asarray(s, dtype=np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE))
    out = out.to(device) if device is not None else out
    return out.requires_grad_(requires_grad) if requires_grad else out


# -- Tensor.unfold ------------------------------------------------------------------------
def _window_index(n: int, size: int, step: int):
    """(windows, size) positions along the dim: w step + k."""
    count = (n - size) // step + 1
    return np.arange(count)[:, None] * step + np.arange(size)[None, :]


class UnfoldWindows(Function):
    """y = the windows of x along ``dim`` (a new last dim);  dL/dx = FoldWindows(g)."""

    def forward(self, x, dim, size, step):
        self.dim, self.size, self.step, self.length = dim, size, step, x.shape[dim]
        xp = get_array_module(x)
        index = xp.asarray(_window_index(x.shape[dim], size, step))
        moved = xp.moveaxis(x, dim, -1)[..., index]          # (..., windows, size)
        return xp.moveaxis(moved, -2, dim)

    def backward(self, g):
        return FoldWindows.apply(g, dim=self.dim, size=self.size, step=self.step,
                                 length=self.length)


class FoldWindows(Function):
    """The adjoint of UnfoldWindows: add every window back at its positions."""

    def forward(self, g, dim, size, step, length):
        self.dim, self.size, self.step = dim, size, step
        xp = get_array_module(g)
        moved = xp.moveaxis(g, dim, -2)                       # (..., windows, size)
        out = xp.zeros(moved.shape[:-2] + (length,), dtype=g.dtype)
        index = _window_index(length, size, step)
        for k in range(size):                                 # one add per offset in a window
            out[..., index[:, k]] += moved[..., k]
        return xp.moveaxis(out, -1, dim)

    def backward(self, g):
        return UnfoldWindows.apply(g, dim=self.dim, size=self.size, step=self.step)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of length ``size`` along ``dimension``, ``step`` apart: that dim becomes
    the window count (n - size) // step + 1 and a last dim of length ``size`` is added."""
    _check("unfold", self)
    if self.ndim == 0:
        if dimension not in (0, -1) or size > 1:
            raise RuntimeValueError(f"unfold: size: a 0-D tensor has windows of size 1 only, got "
                             f"dimension={dimension} and size={size}")
        return reshape(self, (1,))
    dim = _normalize_dim(dimension, self.ndim)
    if not isinstance(step, (int, np.integer)) or step <= 0:
        raise RuntimeValueError(f"unfold: step: expected a positive int, got {step!r}")
    if not isinstance(size, (int, np.integer)) or not 0 <= size <= self.shape[dim]:
        raise RuntimeValueError(f"unfold: size: expected an int in [0, {self.shape[dim]}] "
                                f"(the size of dim {dim}), got {size!r}")
    return UnfoldWindows.apply(self, dim=dim, size=int(size), step=int(step))


__all__ = ["tensor_split", "hsplit", "vsplit", "dsplit", "atleast_1d", "atleast_2d",
           "atleast_3d", "block_diag", "cartesian_prod", "logspace", "renorm", "is_nonzero",
           "is_same_size", "broadcast_shapes", "scalar_tensor"]


def methods() -> dict:
    """{Tensor method name: function or property}."""
    table = {name: globals()[name] for name in ("tensor_split", "hsplit", "vsplit", "dsplit",
                                                "renorm", "is_nonzero", "is_same_size")}
    table["unfold"] = unfold
    table["nbytes"] = property(lambda self: int(self.array.nbytes))
    table["itemsize"] = property(lambda self: int(self.array.itemsize))
    return table
