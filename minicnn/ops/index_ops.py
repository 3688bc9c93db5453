r"""Index ops: gather, scatter, scatter_add, masked_fill, flip, roll, repeat,
repeat_interleave, split, chunk, tril, triu.

Two primitives carry them all: ``Take`` (y = x[index]) and ``Put`` (y = zeros; y[index] += g),
each the other's backward, so every op built on them is differentiable to any order. The
``index`` is a NumPy/CuPy index tuple (slices, or integer arrays that broadcast together):
for gather along ``dim`` it is

    index_tuple[d] = index           (d = dim)
    index_tuple[d] = arange(index.shape[d]) shaped to broadcast along d   (d != dim)

so that y[i_0, ..., i_n] = x[i_0, ..., index[i_0, ..., i_n], ..., i_n] (PyTorch's gather).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module, to_device
from .math import MaskMul, where
from .shape import _normalize_dim, broadcast_to, reshape, unsqueeze
from .torch_errors import RuntimeIndexError, RuntimeTypeError, RuntimeValueError


# -- the two primitives -------------------------------------------------------------------
class Take(Function):
    """y = x[index] (any NumPy index tuple). Backward: Put (scatter-add into zeros)."""

    def forward(self, x, index):
        self.index, self.input_shape = index, x.shape
        return x[index]

    def backward(self, g):
        return Put.apply(g, index=self.index, shape=self.input_shape)


class Put(Function):
    """y = zeros(shape); y[index] += g (repeated positions add up). Backward: Take."""

    def forward(self, g, index, shape):
        self.index = index
        xp = get_array_module(g)
        y = xp.zeros(shape, dtype=g.dtype)
        (np.add.at if xp is np else xp.add.at)(y, index, g)
        return y

    def backward(self, gg):
        return Take.apply(gg, index=self.index)


def take(x: Tensor, index) -> Tensor:
    """x[index] for a raw index tuple (slices and integer arrays), differentiable."""
    return Take.apply(x, index=index)


def _check_tensor(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    return value


# -- gather / scatter ---------------------------------------------------------------------
def _gather_index(op: str, x: Tensor, dim: int, index: Tensor):
    """The index tuple of ``x.gather(dim, index)``, after PyTorch's checks."""
    index = _check_tensor(op, "index", index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index: expected an integer (int64) tensor, got dtype {index.dtype}")
    if index.ndim != x.ndim:
        raise RuntimeValueError(f"{op}: index: expected {x.ndim} dims (as the input), got shape "
                                f"{index.shape}")
    dim = _normalize_dim(dim, x.ndim)
    xp = get_array_module(x.array)
    for d in range(x.ndim):
        if d != dim and index.shape[d] > x.shape[d]:
            raise RuntimeValueError(f"{op}: index: size {index.shape[d]} in dim {d} exceeds the "
                                    f"input's {x.shape[d]} (index shape {index.shape}, input shape "
                                    f"{x.shape})")
    idx = index.array
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= x.shape[dim]):
        raise RuntimeIndexError(f"{op}: index: values must be in [0, {x.shape[dim] - 1}] for dim "
                                f"{dim} of size {x.shape[dim]}, got values in [{int(idx.min())}, "
                                f"{int(idx.max())}]")
    parts = []
    for d in range(x.ndim):
        if d == dim:
            parts.append(idx.astype(np.int64, copy=False))
        else:
            shape = [1] * x.ndim
            shape[d] = index.shape[d]
            parts.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(parts)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    r"""y[i_0..i_n] = x[i_0, .., index[i_0..i_n], .., i_n] (index replaces the ``dim`` coordinate).

    Shapes: index has x's number of dims and is no bigger than x outside ``dim``; y has
    index's shape. dL/dx = scatter_add of g at the same positions (repeats add up).
    """
    _check_tensor("gather", "input", input)
    if input.ndim == 0:
        return reshape(gather(reshape(input, (1,)), 0, _as_1d(index)), ())
    parts = _gather_index("gather", input, dim, index)
    return Take.apply(input, index=parts)


def _as_1d(index):
    return reshape(index, (1,)) if isinstance(index, Tensor) and index.ndim == 0 else index


class Scatter(Function):
    """y = x with y[positions] = s (s already cut to index's shape).

    dL/dx = g with the written positions zeroed; dL/ds = g[positions] (PyTorch's rule,
    also for repeated positions)."""

    def forward(self, x, s, index):
        self.index = index
        xp = get_array_module(x)
        keep = xp.ones(x.shape, dtype=x.dtype)
        keep[index] = 0
        self.keep = keep
        y = x.copy()
        y[index] = s
        return y

    def backward(self, g):
        grad_x = MaskMul.apply(g, mask=self.keep) if self.needs_input_grad[0] else None
        grad_s = Take.apply(g, index=self.index) if self.needs_input_grad[1] else None
        return grad_x, grad_s


def _source(op: str, input: Tensor, index: Tensor, src, value):
    """``src`` cut to index's shape (src may be bigger), or ``value`` broadcast to it."""
    if src is None and value is None:
        raise TypeError(f"{op}: expected src (a Tensor) or value (a number)")
    if src is None or not isinstance(src, Tensor):
        filler = value if src is None else src
        xp = get_array_module(input.array)
        return Tensor._wrap(xp.full(index.shape, filler, dtype=input.dtype))
    if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise RuntimeValueError(f"{op}: src: expected at least index's size in every dim (index "
                                f"shape {index.shape}), got shape {src.shape}")
    if src.dtype != input.dtype:
        raise RuntimeTypeError(f"{op}: src: expected dtype {input.dtype} (the input's), got "
                               f"{src.dtype}")
    if src.shape == index.shape:
        return src
    return Take.apply(src, index=tuple(slice(0, n) for n in index.shape))


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce=None) -> Tensor:
    r"""y = x, then y[.., index[i], ..] = src[i] along ``dim`` (the inverse of gather).

    ``src`` may be a Tensor (at least index's size in every dim) or a number (``value``).
    Repeated positions: one of the writes wins (PyTorch leaves which one unspecified).
    dL/dx = g, 0 at the written positions; dL/dsrc = g.gather(dim, index).
    """
    _check_tensor("scatter", "input", input)
    if reduce is not None:
        from .scatter_reduce import scatter_with_reduce

        return scatter_with_reduce(input, dim, index, src, value, reduce)
    if input.ndim == 0:
        src = reshape(src, (1,)) if isinstance(src, Tensor) and src.ndim == 0 else src
        return reshape(scatter(reshape(input, (1,)), 0, _as_1d(index), src, value=value), ())
    parts = _gather_index("scatter", input, dim, index)
    source = _source("scatter", input, index, src, value)
    return Scatter.apply(input, source, index=parts)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    r"""y = x, then y[.., index[i], ..] += src[i] along ``dim`` (repeats add up).

    dL/dx = g;  dL/dsrc = g.gather(dim, index)."""
    _check_tensor("scatter_add", "input", input)
    _check_tensor("scatter_add", "src", src)
    if input.ndim == 0:
        src = reshape(src, (1,)) if src.ndim == 0 else src
        return reshape(scatter_add(reshape(input, (1,)), 0, _as_1d(index), src), ())
    parts = _gather_index("scatter_add", input, dim, index)
    source = _source("scatter_add", input, index, src, None)
    return input + Put.apply(source, index=parts, shape=input.shape)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    r"""y = value where mask else x (mask: bool, broadcastable to x's shape).

    dL/dx = g where not mask; a 0-d Tensor ``value`` gets the sum of g over the mask."""
    _check_tensor("masked_fill", "input", input)
    mask = mask.array if isinstance(mask, Tensor) else mask
    if getattr(mask, "dtype", None) is None or mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask: expected a bool tensor, got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}")
    try:
        shape = np.broadcast_shapes(mask.shape, input.shape)
    except ValueError:
        raise RuntimeValueError(f"masked_fill: mask of shape {mask.shape} cannot be broadcast to "
                                f"the input's shape {input.shape}") from None
    if shape != input.shape:
        raise RuntimeValueError(f"masked_fill: mask of shape {mask.shape} cannot be broadcast to "
                                f"the input's shape {input.shape}")
    return where(mask, fill_value("masked_fill", value, input), input)


def fill_value(op: str, value, input: Tensor) -> Tensor:
    """The ``value`` of masked_fill / index_fill as a 0-d Tensor of input's dtype (a 0-d
    Tensor value keeps its graph: it gets the sum of g over the filled places)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeValueError(f"{op}: value: expected a 0-d tensor or a number, got shape "
                                    f"{value.shape}")
        return value if value.dtype == input.dtype else value.to(input.dtype)
    return Tensor._wrap(as_tensor(value, like=input).array.astype(input.dtype))


# -- flip, roll ---------------------------------------------------------------------------
def _dims(op: str, dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(_normalize_dim(d, ndim, "dims") for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeValueError(f"{op}: dims: each dim may appear once, got {dims}")
    return out


class Flip(Function):
    """y = x reversed along ``dims``. Backward: flip g along the same dims."""

    def forward(self, x, dims):
        self.dims = dims
        return get_array_module(x).flip(x, axis=dims) if dims and x.ndim else x

    def backward(self, g):
        return Flip.apply(g, dims=self.dims)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (an int or a sequence)."""
    _check_tensor("flip", "input", input)
    return Flip.apply(input, dims=_dims("flip", dims, input.ndim))


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims``. Backward: roll by -shifts."""

    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return get_array_module(x).roll(x, shifts, axis=dims)

    def backward(self, g):
        return Roll.apply(g, shifts=tuple(-s for s in self.shifts), dims=self.dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically: y[(i + s) mod n] = x[i] along each dim (dims None: the
    flattened tensor, then its shape restored)."""
    _check_tensor("roll", "input", input)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeValueError(f"roll: shifts: expected one shift when dims is None, got "
                                    f"{shifts}")
        return reshape(roll(reshape(input, -1), shifts, 0), input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(dims) != len(shifts):
        raise RuntimeValueError(f"roll: shifts and dims must have the same length, got {shifts} "
                                f"and {dims}")
    dims = tuple(_normalize_dim(d, input.ndim, "dims") for d in dims)
    return Roll.apply(input, shifts=shifts, dims=dims)


# -- repeat, repeat_interleave ------------------------------------------------------------
def repeat(input: Tensor, *sizes) -> Tensor:
    r"""Tile x: ``x.repeat(r_0, .., r_k)`` has shape (r_0 s_0, .., r_k s_k) (x gets leading
    1-dims when k+1 > x.ndim). Built as reshape to (1, s_0, 1, s_1, ..), broadcast to
    (r_0, s_0, r_1, s_1, ..) and reshape: the gradient sums the copies."""
    _check_tensor("repeat", "input", input)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < input.ndim:
        raise RuntimeValueError(f"repeat: expected at least {input.ndim} sizes (the input's number "
                                f"of dims), got {sizes}")
    if any(s < 0 for s in sizes):
        raise RuntimeValueError(f"repeat: sizes must be >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    x = reshape(input, tuple(v for s in shape for v in (1, s)))
    x = broadcast_to(x, tuple(v for r, s in zip(sizes, shape) for v in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(sizes, shape)))


def repeat_interleave(input: Tensor, repeats, dim=None, *, output_size=None) -> Tensor:
    r"""Repeat each element ``repeats`` times along ``dim`` (None: the flattened tensor):
    [a, b].repeat_interleave(2) = [a, a, b, b]. ``repeats`` is an int or a 1-d int tensor
    with one count per element of ``dim``. The gradient sums over each element's copies."""
    _check_tensor("repeat_interleave", "input", input)
    if dim is None:
        input, dim = reshape(input, -1), 0
    dim = _normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        input = reshape(input, (1,))
    size = input.shape[dim]
    if isinstance(repeats, int) or (isinstance(repeats, Tensor) and repeats.numel() == 1
                                    and repeats.ndim <= 1 and size != 1):
        count = int(repeats if isinstance(repeats, int) else repeats.item())
        if count < 0:
            raise RuntimeValueError(f"repeat_interleave: repeats must be >= 0, got {count}")
        x = unsqueeze(input, dim + 1)
        shape = list(x.shape)
        shape[dim + 1] = count
        x = broadcast_to(x, tuple(shape))
        merged = input.shape[:dim] + (size * count,) + input.shape[dim + 1:]
        return reshape(x, merged)
    counts = repeats.numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim != 1 or counts.shape[0] != size:
        raise ValueError(f"repeat_interleave: repeats: expected an int or a 1-d integer tensor "
                         f"of {size} counts (the size of dim {dim}), got shape {counts.shape} "
                         f"dtype {counts.dtype}")
    if counts.size and int(counts.min()) < 0:
        raise RuntimeValueError("repeat_interleave: repeats must be >= 0")
    positions = to_device(np.repeat(np.arange(size), counts), input.device)
    return Take.apply(input, index=(slice(None),) * dim + (positions,))


# -- split, chunk -------------------------------------------------------------------------
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces along ``dim``: an int gives pieces of that size (the last may be smaller); a
    list gives pieces of those sizes (they must add up to the dim's size)."""
    _check_tensor("split", "tensor", tensor)
    dim = _normalize_dim(dim, tensor.ndim)
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeValueError(f"split: split_size: expected a positive int, got {step}")
        sections = [min(step, size - start) for start in range(0, size, step)] if size else [0]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != size or any(s < 0 for s in sections):
            raise RuntimeValueError(f"split: split_sizes {sections} must be >= 0 and add up to "
                                    f"{size} (the size of dim {dim})")
    pieces, start = [], 0
    for length in sections:
        pieces.append(Take.apply(tensor, index=(slice(None),) * dim
                                 + (slice(start, start + length),)))
        start += length
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunks`` pieces (or fewer) of size ceil(n / chunks) along ``dim``, as torch.chunk."""
    _check_tensor("chunk", "input", input)
    if not isinstance(chunks, int) or chunks <= 0:
        raise RuntimeValueError(f"chunk: chunks: expected a positive int, got {chunks!r}")
    size = input.shape[_normalize_dim(dim, input.ndim)]
    if size == 0:  # PyTorch: ``chunks`` empty pieces
        return tuple(split(input, [0] * chunks, dim))
    return split(input, -(-size // chunks), dim)


# -- tril, triu ---------------------------------------------------------------------------
def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    _check_tensor(op, "input", input)
    if input.ndim < 2:
        raise RuntimeValueError(f"{op}: input: expected at least 2 dims, got shape {input.shape}")
    xp = get_array_module(input.array)
    rows, cols = input.shape[-2:]
    ones = xp.ones((rows, cols), dtype=bool)
    keep = xp.tril(ones, diagonal) if lower else xp.triu(ones, diagonal)
    if input.dtype.kind not in "fc":
        return Tensor._wrap(xp.where(keep, input.array, input.array.dtype.type(0)))
    return MaskMul.apply(input, mask=keep.astype(input.dtype), rule=(op, diagonal),
                         value=xp.where(keep, input.array, input.array.dtype.type(0)))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Keep the lower triangle of the last two dims: y[i, j] = x[i, j] if j - i <= diagonal
    else 0. The gradient is masked the same way."""
    return _triangle("tril", input, diagonal, lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Keep the upper triangle of the last two dims: y[i, j] = x[i, j] if j - i >= diagonal
    else 0."""
    return _triangle("triu", input, diagonal, lower=False)


__all__ = ["take", "gather", "scatter", "scatter_add", "masked_fill", "flip", "roll",
           "repeat", "repeat_interleave", "split", "chunk", "tril", "triu"]
