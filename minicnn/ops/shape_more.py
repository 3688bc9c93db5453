r"""More shape and indexing ops, as PyTorch's: stacking (hstack, vstack, dstack,
column_stack), moving dims (movedim, swapaxes, t, rot90, fliplr, flipud), tiling,
selecting (select, take, masked_select), the index_* family, and the ops whose result
is indices (nonzero, argwhere, unique, tril_indices, triu_indices).

Almost all are compositions of shape.py and index_ops.py ops, so their gradients (and
second derivatives) are those ops': a selection's gradient is g scattered back to where
each value came from; a stack's is each input's slice of g. Two rules to remember:

    take(x, i)[k]         = x.flatten()[i_k]                 dL/dx = scatter_add of g
    index_add(x, d, i, s) = x + (s placed at i along d)      dL/ds = g.index_select(d, i)
    index_copy(x, d, i, s): x with slices i along d replaced by s
                                                dL/dx = g, 0 at i;  dL/ds = g.index_select(d, i)

The index results (nonzero, unique ...) are int64 constants: no gradient, as PyTorch.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import get_array_module
from .index_ops import Put, Scatter, Take, fill_value, flip, repeat
from .inplace import apply_in_place
from .math import where
from .setitem import index_put
from .shape import (_normalize_dim, broadcast_to, broadcasts_to, cat, getitem, permute,
                    reshape, transpose)
from .torch_errors import RuntimeValueError
from .arg_checks import other_tensor

__all__ = ["hstack", "vstack", "dstack", "column_stack", "concat", "concatenate",
           "movedim", "moveaxis", "swapaxes", "swapdims", "t", "tile", "rot90", "fliplr",
           "flipud", "select", "take", "masked_select", "nonzero", "argwhere", "unique",
           "meshgrid", "broadcast_tensors", "tril_indices", "triu_indices", "unflatten",
           "index_add", "index_fill", "index_copy", "masked_scatter"]


def _check(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    return value


def _tensors(op: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{op}: tensors: expected a non-empty sequence of tensors")
    return [as_tensor(t) for t in tensors]


def _wrap(array) -> Tensor:
    return Tensor._wrap(array)


# -- stacking -----------------------------------------------------------------------------
def _at_least(x: Tensor, ndim: int) -> Tensor:
    """numpy's atleast_1d/2d/3d: (n,) -> (1, n) -> (1, n, 1); (m, n) -> (m, n, 1)."""
    if x.ndim >= ndim:
        return x
    shape = {0: (1,) * ndim, 1: (1, x.numel(), 1)[:ndim], 2: tuple(x.shape) + (1,)}[x.ndim]
    return reshape(x, shape)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 when every input is 1-d); 0-d inputs become (1,)."""
    tensors = [_at_least(t, 1) for t in _tensors("hstack", tensors)]
    return cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0 after making every input at least 2-d ((n,) -> (1, n))."""
    return cat([_at_least(t, 2) for t in _tensors("vstack", tensors)], 0)


def dstack(tensors) -> Tensor:
    """Join along dim 2 after making every input at least 3-d ((m, n) -> (m, n, 1))."""
    return cat([_at_least(t, 3) for t in _tensors("dstack", tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Join along dim 1; 0-d and 1-d inputs become columns (n, 1)."""
    tensors = _tensors("column_stack", tensors)
    return cat([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors], 1)


def concat(tensors, dim: int = 0) -> Tensor:
    """Alias of ``cat``."""
    return cat(tensors, dim)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Alias of ``cat`` (NumPy's argument name, ``axis``)."""
    return cat(tensors, axis)


# -- moving dims --------------------------------------------------------------------------
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or sequences); the other
    dims keep their order. A permute, so the gradient permutes back."""
    _check("movedim", "input", input)
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source and destination must have the same number of "
                         f"dims, got {src} and {dst}")
    src = [_normalize_dim(d, input.ndim, "source") for d in src]
    dst = [_normalize_dim(d, input.ndim, "destination") for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise ValueError(f"movedim: {name}: repeated dim in {dims}")
    order = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, tuple(order)) if input.ndim else input


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of ``transpose`` (NumPy's name)."""
    return transpose(_check("swapaxes", "input", input), axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    return transpose(_check("swapdims", "input", input), dim0, dim1)


def t(input: Tensor) -> Tensor:
    """Transpose a matrix; a 0-d or 1-d tensor is returned as it is."""
    _check("t", "input", input)
    if input.ndim > 2:
        raise ValueError(f"t: input: expected at most 2 dims, got shape {input.shape} "
                         "(use transpose(dim0, dim1) or mT)")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with ``dims`` padded by leading 1s when shorter than input.ndim."""
    _check("tile", "input", input)
    dims = (dims,) if isinstance(dims, int) else tuple(int(d) for d in dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by k * 90 degrees in the plane ``dims``, from dims[0] towards dims[1]:
    k = 1 is flip(dims[1]) then transpose; k = 2 flips both; k = 3 is flip(dims[0]) then
    transpose."""
    _check("rot90", "input", input)
    dims = tuple(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims: expected 2 dims, got {dims}")
    if input.ndim < 2:
        raise ValueError(f"rot90: input: expected at least 2 dims, got shape {input.shape}")
    a, b = (_normalize_dim(d, input.ndim, "dims") for d in dims)
    if a == b:
        raise ValueError(f"rot90: dims: expected two different dims, got {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(input, b), a, b)
    if k == 2:
        return flip(input, (a, b))
    if k == 3:
        return transpose(flip(input, a), a, b)
    return input * 1


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (left/right); input needs at least 2 dims."""
    _check("fliplr", "input", input)
    if input.ndim < 2:
        raise ValueError(f"fliplr: input: expected at least 2 dims, got shape {input.shape}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (up/down); input needs at least 1 dim."""
    _check("flipud", "input", input)
    if input.ndim < 1:
        raise ValueError("flipud: input: expected at least 1 dim, got a 0-d tensor")
    return flip(input, 0)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of them may be -1)."""
    _check("unflatten", "input", input)
    dim = _normalize_dim(dim, input.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ValueError("unflatten: sizes: expected a non-empty sequence")
    known = math.prod([s for s in sizes if s != -1])
    size = input.shape[dim]
    if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or size % known)) or (
            -1 not in sizes and known != size):
        raise ValueError(f"unflatten: sizes: {sizes} do not multiply to {size} (the size of "
                         f"dim {dim})")
    sizes = tuple(size // known if s == -1 else s for s in sizes)
    return reshape(input, input.shape[:dim] + sizes + input.shape[dim + 1:])


# -- selecting ----------------------------------------------------------------------------
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """x[..., index, ...] at ``dim`` (that dim removed); a negative index counts back."""
    _check("select", "input", input)
    if input.ndim == 0:
        raise IndexError("select: input: cannot select from a 0-d tensor")
    dim = _normalize_dim(dim, input.ndim)
    size = input.shape[dim]
    if not -size <= int(index) < size:
        raise IndexError(f"select: index: {index} is out of range for dim {dim} of size {size}")
    return getitem(input, (slice(None),) * dim + (int(index) % size,))


def _int_index(op: str, index) -> np.ndarray:
    array = index.array if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index: expected an integer (int64) tensor, got dtype "
                        f"{array.dtype}")
    return array.astype(np.int64, copy=False)


def take(input: Tensor, index) -> Tensor:
    """y = x.flatten()[index], shaped as index (negative indices count back)."""
    _check("take", "input", input)
    idx = _int_index("take", index)
    n = input.numel()
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"take: index: values must be in [{-n}, {n - 1}] for an input of "
                         f"{n} elements, got values in [{int(idx.min())}, {int(idx.max())}]")
    xp = get_array_module(input.array)
    return Take.apply(reshape(input, (-1,)), index=(xp.asarray(idx % max(n, 1)),))


def _bool_mask(op: str, mask):
    array = mask.array if isinstance(mask, Tensor) else mask
    if getattr(array, "dtype", None) != np.bool_:
        raise TypeError(f"{op}: mask: expected a bool tensor, got "
                        f"{getattr(array, 'dtype', type(mask).__name__)}")
    return array


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of x where mask is True, as a 1-d tensor (x and mask broadcast
    together first)."""
    _check("masked_select", "input", input)
    array = _bool_mask("masked_select", mask)
    try:
        shape = np.broadcast_shapes(array.shape, input.shape)
    except ValueError:
        raise ValueError(f"masked_select: mask of shape {array.shape} cannot be broadcast "
                         f"with the input's shape {input.shape}") from None
    xp = get_array_module(input.array)
    return getitem(broadcast_to(input, shape), xp.broadcast_to(array, shape))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """int64 indices of the non-zero elements: an (n, ndim) tensor, or (as_tuple) one 1-d
    tensor per dim (a 0-d input counts as 1-d)."""
    _check("nonzero", "input", input)
    xp = get_array_module(input.array)
    array = input.array
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in xp.nonzero(array.reshape(-1)
                                                                   if array.ndim == 0
                                                                   else array))
    found = xp.nonzero(array.reshape(1) if array.ndim == 0 else array)
    out = xp.stack(found, axis=1).astype(np.int64)
    return _wrap(out[:, :array.ndim])


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an (n, ndim) int64 tensor."""
    return nonzero(input)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The distinct values, sorted (always: ``sorted=False`` sorts too, which PyTorch
    allows); optionally the inverse (x = values[inverse], x's shape) and the counts.
    No gradient, as PyTorch."""
    _check("unique", "input", input)
    if dim is not None:
        raise NotImplementedError("unique: dim: only dim=None is supported")
    xp = get_array_module(input.array)
    values, inverse, counts = xp.unique(input.array.reshape(-1), return_inverse=True,
                                        return_counts=True)
    out = [_wrap(values)]
    if return_inverse:
        out.append(_wrap(inverse.reshape(input.shape).astype(np.int64)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Grids from 1-d (or 0-d) tensors: output k varies along dim k ('ij'); 'xy' swaps the
    first two dims (NumPy's Cartesian order). Each is a broadcast, differentiable."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeValueError(f"meshgrid: indexing: expected 'ij' or 'xy', got {indexing!r}")
    tensors = _tensors("meshgrid", tensors)
    for i, x in enumerate(tensors):
        if x.ndim > 1:
            raise ValueError(f"meshgrid: tensors[{i}]: expected 0-d or 1-d, got shape {x.shape}")
    sizes = [x.numel() for x in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for k, x in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(k, k) if swap else k
        shape = [1] * len(tensors)
        shape[axis] = x.numel()
        out.append(broadcast_to(reshape(x, tuple(shape)), tuple(sizes)))
    return tuple(out)


def broadcast_tensors(*tensors) -> tuple:
    """Every tensor broadcast to their common shape."""
    tensors = [as_tensor(x) for x in tensors]
    try:
        shape = np.broadcast_shapes(*(x.shape for x in tensors))
    except ValueError:
        raise ValueError(f"broadcast_tensors: shapes {[x.shape for x in tensors]} do not "
                         "broadcast together") from None
    return tuple(broadcast_to(x, shape) for x in tensors)


def _triangle_indices(op: str, row: int, col: int, offset: int, dtype, lower: bool):
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be >= 0, got {row} and {col}")
    rows, cols = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return _wrap(np.stack([rows, cols]).astype(dtype or np.int64).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device="cpu",
                 layout=None) -> Tensor:
    """The (2, n) coordinates of the lower triangle of a row x col matrix, row by row."""
    out = _triangle_indices("tril_indices", row, col, offset, dtype, True)
    return out if device == "cpu" else out.to(device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device="cpu",
                 layout=None) -> Tensor:
    """The (2, n) coordinates of the upper triangle of a row x col matrix, row by row."""
    out = _triangle_indices("triu_indices", row, col, offset, dtype, False)
    return out if device == "cpu" else out.to(device)


# -- index_add / index_fill / index_copy / masked_scatter ---------------------------------
def _slices_index(op: str, input: Tensor, dim: int, index, source=None):
    """The NumPy index of the slices ``index`` along ``dim``, after PyTorch's checks."""
    _check(op, "input", input)
    idx = _int_index(op, index)
    if idx.ndim > 1:
        raise ValueError(f"{op}: index: expected a 0-d or 1-d tensor, got shape {idx.shape}")
    idx = idx.reshape(-1)
    dim = _normalize_dim(dim, input.ndim)
    size = input.shape[dim] if input.ndim else 1
    low = -size if op == "index_fill" else 0    # PyTorch's index_add/index_copy refuse < 0
    if idx.size and (int(idx.min()) < low or int(idx.max()) >= size):
        raise IndexError(f"{op}: index: values must be in [{low}, {size - 1}] for dim {dim} of "
                         f"size {size}, got values in [{int(idx.min())}, {int(idx.max())}]")
    if source is not None:
        _check(op, "source", source)
        want = input.shape[:dim] + (idx.size,) + input.shape[dim + 1:] if input.ndim else (
            (idx.size,) if source.ndim else ())
        if tuple(source.shape) != tuple(want):
            raise ValueError(f"{op}: source: expected shape {want} (the input's, with "
                             f"{idx.size} slices along dim {dim}), got {source.shape}")
        if source.dtype != input.dtype:
            raise TypeError(f"{op}: source: expected dtype {input.dtype} (the input's), got "
                            f"{source.dtype}")
    xp = get_array_module(input.array)
    return (slice(None),) * dim + (xp.asarray(idx % max(size, 1)),)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """y = x, then y[.., index[i], ..] += alpha * source[.., i, ..] along ``dim``
    (repeated indices add up)."""
    key = _slices_index("index_add", input, dim, index, source)
    if input.ndim == 0:
        return input + Put.apply(reshape(source, (-1,)), index=key, shape=(1,)).sum() * alpha
    source = source * alpha if alpha != 1 else source
    return input + Put.apply(source, index=key, shape=input.shape)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """y = x with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d
    tensor, which then gets the sum of g over those slices)."""
    key = _slices_index("index_fill", input, dim, index)
    xp = get_array_module(input.array)
    mask = xp.zeros(input.shape or (1,), dtype=bool)
    mask[key] = True
    mask = mask.reshape(input.shape)
    return where(mask, fill_value("index_fill", value, input), input)


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """y = x with y[.., index[i], ..] = source[.., i, ..] along ``dim`` (repeated indices:
    one write wins, unspecified as in PyTorch)."""
    key = _slices_index("index_copy", input, dim, index, source)
    if input.ndim == 0:
        return reshape(Scatter.apply(reshape(input, (1,)), reshape(source, (-1,)), index=key),
                       ())
    return Scatter.apply(input, source, index=key)


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """y = x with the positions where mask is True (mask broadcast to x) filled, in order,
    by source's first elements (source needs at least that many)."""
    _check("masked_scatter", "input", input)
    _check("masked_scatter", "source", source)
    array = _bool_mask("masked_scatter", mask)
    if not broadcasts_to(array.shape, input.shape):
        raise ValueError(f"masked_scatter: mask of shape {array.shape} cannot be broadcast "
                         f"to the input's shape {input.shape}")
    array = get_array_module(input.array).broadcast_to(array, input.shape)
    count = int(array.sum())
    if source.numel() < count:
        raise ValueError(f"masked_scatter: source: expected at least {count} elements (the "
                         f"mask's True count), got {source.numel()}")
    if source.dtype != input.dtype:
        raise TypeError(f"masked_scatter: source: expected dtype {input.dtype}, got "
                        f"{source.dtype}")
    values = getitem(reshape(source, (-1,)), slice(0, count))
    return index_put(input, array, values)


# -- Tensor methods -----------------------------------------------------------------------
def _in_place(name, op):
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: op(x, *args, **kwargs), name)

    method.__name__ = name
    return method


def _fill_diagonal(x: Tensor, fill_value, wrap: bool = False) -> Tensor:
    if x.ndim < 2:
        raise ValueError(f"fill_diagonal_: input: expected at least 2 dims, got shape {x.shape}")
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise ValueError(f"fill_diagonal_: input: all dims must have the same size when "
                         f"there are more than 2, got shape {x.shape}")
    mask = np.zeros(x.shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    xp = get_array_module(x.array)
    return where(xp.asarray(mask), _wrap(xp.asarray(fill_value, dtype=x.dtype)), x)


def _mT(self) -> Tensor:
    if self.ndim < 2:
        raise ValueError(f"mT: expected a tensor with at least 2 dims, got shape {self.shape}")
    return transpose(self, -2, -1)


def methods() -> dict:
    """{Tensor method name: function}, bound to Tensor by minicnn/ops/__init__.py.

    Not here: ``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_`` (they change the
    tensor's shape in place, which ``inplace.apply_in_place`` cannot do: it writes the
    result into the tensor's existing array)."""
    return {
        "movedim": movedim, "moveaxis": movedim, "swapaxes": swapaxes, "swapdims": swapdims,
        "tile": lambda self, *dims: tile(self, dims[0] if len(dims) == 1 else dims),
        "rot90": rot90, "fliplr": fliplr, "flipud": flipud, "unflatten": unflatten,
        "select": select, "take": take, "masked_select": masked_select,
        "nonzero": nonzero, "argwhere": argwhere, "unique": unique,
        "index_add": index_add, "index_fill": index_fill, "index_copy": index_copy,
        "masked_scatter": masked_scatter,
        "index_add_": _in_place("index_add_", index_add),
        "index_fill_": _in_place("index_fill_", index_fill),
        "index_copy_": _in_place("index_copy_", index_copy),
        "masked_scatter_": _in_place("masked_scatter_", masked_scatter),
        "fill_diagonal_": _in_place("fill_diagonal_", _fill_diagonal),
        "reshape_as": lambda self, other: reshape(self, other_tensor("reshape_as",
                                                                     other).shape),
        "type_as": lambda self, other: self if self.dtype == other_tensor(
            "type_as", other).dtype else self.to(other.dtype),
        "where": lambda self, condition, other: where(condition, self, other),
        "mT": property(_mT),
    }
