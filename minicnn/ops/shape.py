"""Shape and indexing ops: they move numbers around without changing them.

Their backward passes move the gradient back: reshape's backward reshapes, permute's
permutes with the inverse order, broadcasting's sums, indexing's scatter-adds. Each
backward is itself made of ops in this file, so second derivatives come for free.
"""
from __future__ import annotations

import math
import operator
import weakref

import numpy as np

from .. import grad_mode as _grad_mode
from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module, promote_types
from .torch_errors import RuntimeValueError


def _not_a_tensor(op: str, value):
    raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(value).__name__}")


def _normalize_dim(dim: int, ndim: int, name: str = "dim") -> int:
    if isinstance(dim, (bool, np.bool_)) or not hasattr(type(dim), "__index__"):
        raise TypeError(f"{name}: expected an int, got {dim!r} ({type(dim).__name__})")
    dim = operator.index(dim)
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{name}: expected a dimension in [{-max(ndim, 1)}, {max(ndim, 1) - 1}] "
                         f"for a {ndim}-d tensor, got {dim}")
    return dim % max(ndim, 1)


# -- broadcasting and its inverse ---------------------------------------------------------
class BroadcastTo(Function):
    """y = x repeated along new leading dims and size-1 dims. Backward: sum back (SumTo)."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, grad_output):
        return sum_to(grad_output, self.input_shape)


class SumTo(Function):
    """y = x summed down to ``shape`` (the inverse of broadcasting). Backward: broadcast."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, size in enumerate(shape) if size == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    def backward(self, grad_output):
        return broadcast_to(grad_output, self.input_shape)


def broadcasts_to(shape, target) -> bool:
    """True when an array of ``shape`` broadcasts to exactly ``target`` (a mask, a bias)."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def broadcast_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        fits = np.broadcast_shapes(x.shape, shape) == shape  # (3,) to (1,) is no broadcast
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


def sum_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


def expand(x: Tensor, *sizes) -> Tensor:
    """PyTorch's expand: -1 keeps a dimension's size."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeValueError(f"expand: expected at least {x.ndim} sizes, got {len(sizes)}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


# -- reshaping ----------------------------------------------------------------------------
class Reshape(Function):
    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad_output):
        return reshape(grad_output, self.input_shape)


def _int_sizes(op: str, shape) -> tuple:
    """``shape`` as a tuple of Python ints (NumPy ints and integer 0-d tensors pass; floats,
    bools and strings are a TypeError, as in PyTorch)."""
    sizes = []
    for s in shape:
        try:
            if isinstance(s, (bool, np.bool_)):
                raise TypeError
            if isinstance(s, Tensor) and s.ndim == 0 and s.dtype.kind in "iu":
                s = int(s.item())
            sizes.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{op}: shape: expected a sequence of ints, got {s!r} "
                            f"({type(s).__name__}) in {tuple(shape)}") from None
    return tuple(sizes)


def reshape(x: Tensor, *shape) -> Tensor:
    if not isinstance(x, Tensor):
        _not_a_tensor("reshape", x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = _int_sizes("reshape", shape)
    if shape == x.shape:
        return x
    if shape.count(-1) > 1:
        raise RuntimeValueError(f"reshape: only one dimension can be inferred (-1), got {shape}")
    if any(s < -1 for s in shape):
        raise RuntimeValueError(f"reshape: invalid shape dimension {min(shape)} in {shape}: sizes "
                                f"must be >= 0, or -1 for one inferred size")
    known = math.prod([s for s in shape if s != -1])
    count = x.numel()
    if (-1 in shape and (known == 0 or count % known)) or (-1 not in shape and known != count):
        raise RuntimeValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({count} "
                                f"elements) into {shape}")
    if -1 in shape:
        shape = tuple(count // known if s == -1 else s for s in shape)
    shape = tuple(int(s) for s in shape)
    return _note_reshape(x, Reshape.apply(x, shape=shape), shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one (PyTorch's flatten); a 0-d tensor
    becomes shape (1,). start_dim after end_dim raises, as in PyTorch."""
    if not isinstance(x, Tensor):
        _not_a_tensor("flatten", x)
    start = _normalize_dim(start_dim, x.ndim, "start_dim")
    end = _normalize_dim(end_dim, x.ndim, "end_dim")
    if start > end:
        raise RuntimeValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                                f"({end_dim}) for a {x.ndim}-d tensor of shape {x.shape}")
    if x.ndim == 0:
        return reshape(x, (1,))
    size = math.prod(x.shape[start:end + 1])
    return reshape(x, x.shape[:start] + (size,) + x.shape[end + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    if not isinstance(x, Tensor):
        _not_a_tensor("squeeze", x)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = {_normalize_dim(d, x.ndim) for d in dims}
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    if not isinstance(x, Tensor):
        _not_a_tensor("unsqueeze", x)
    dim = _normalize_dim(dim, x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


class Permute(Function):
    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, grad_output):
        return permute(grad_output, tuple(np.argsort(self.dims)))


def permute(x: Tensor, *dims) -> Tensor:
    if not isinstance(x, Tensor):
        _not_a_tensor("permute", x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise RuntimeValueError(f"permute: expected a permutation of {x.ndim} dims, got {dims}")
    dims = tuple(d % x.ndim for d in dims)
    return _note_permute(x, Permute.apply(x, dims=dims), dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(x.ndim))
    a, b = _normalize_dim(dim0, x.ndim), _normalize_dim(dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, tuple(dims))


# -- indexing -----------------------------------------------------------------------------
class GetItem(Function):
    """y = x[index]. Backward: scatter-add into zeros (repeated indices add up)."""

    def forward(self, x, index):
        self.index, self.input_shape = index, x.shape
        return x[index]

    def backward(self, grad_output):
        return IndexAdd.apply(grad_output, index=self.index, shape=self.input_shape)


class IndexAdd(Function):
    """y = zeros(shape); y[index] += g (with repeats adding up). Backward: gather g[index]."""

    def forward(self, g, index, shape):
        self.index = index
        xp = get_array_module(g)
        y = xp.zeros(shape, dtype=g.dtype)
        xp.add.at(y, index, g)        # numpy.add.at or cupy.add.at: repeats add up
        return y

    def backward(self, grad_output):
        return GetItem.apply(grad_output, index=self.index)


def _is_integer(item) -> bool:
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _is_advanced(item) -> bool:
    """Index arrays (integer or boolean) and Python/NumPy bools are NumPy's 'advanced' indices."""
    return not (item is None or item is Ellipsis or isinstance(item, slice) or _is_integer(item))


def _pytorch_steps(index: tuple) -> list:
    """PyTorch's indexing rule as one or two NumPy indices, applied in turn.

    NumPy counts a plain integer as an advanced index as soon as an index array is
    present, so ``x[1, :, d]`` puts d's dims *first* (integer and array are "separated by a
    slice"). PyTorch first applies every integer as a ``select`` (the dim disappears), then
    the arrays index what is left, with NumPy's rule for where their dims go. So: step 1
    selects with the integers (other entries become full slices over the dims they use),
    step 2 is the index without them. Anything else is the same in NumPy and PyTorch.
    """
    if not any(_is_integer(i) for i in index) or not any(_is_advanced(i) for i in index):
        return [index]
    select, rest = [], []
    for item in index:
        if _is_integer(item) or item is Ellipsis:
            select.append(item)
        elif isinstance(item, slice):
            select.append(slice(None))
        elif item is not None and not isinstance(item, (bool, np.bool_)):
            is_mask = getattr(item, "dtype", None) == np.bool_
            select.extend([slice(None)] * (item.ndim if is_mask else 1))
        if not _is_integer(item):
            rest.append(item)
    return [tuple(select), tuple(rest)]


def _index_item(item, xp):
    """One entry of an index as NumPy takes it: a Tensor or list becomes an index array,
    a 0-d integer Tensor an int (PyTorch selects with it, as with a Python int)."""
    if isinstance(item, Tensor):
        item = item.array
        if item.ndim == 0 and item.dtype.kind in "iu":
            return int(item)
        return item
    if isinstance(item, list):
        return xp.asarray(item)
    return item


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with PyTorch's rules (integers, slices, None, Ellipsis, bool masks,
    integer index arrays; see ``_pytorch_steps`` for where PyTorch and NumPy differ)."""
    xp = get_array_module(x.array)
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, slice) and item.step == 0:
            raise ValueError("slice step cannot be zero (PyTorch raises too)")
        # a negative step (x[::-1]) is NumPy's reversed view, a minicnn extension that the
        # ONNX export knows; PyTorch raises "step must be greater than zero" (x.flip(dim))
    if not isinstance(index, tuple):
        index = _index_item(index, xp)
        if _is_integer(index) and x.ndim == 1:
            index = (index, Ellipsis)  # a 0-d view of x's memory, not a NumPy scalar copy
        return _note_view(x, GetItem.apply(x, index=index), index)
    index = tuple(_index_item(i, xp) for i in index)
    if len(index) == x.ndim and all(_is_integer(i) for i in index):
        index = index + (Ellipsis,)  # as above: x[1, 2] shares x's memory, as in PyTorch
    steps = _pytorch_steps(index)
    if len(steps) == 1:
        return _note_view(x, GetItem.apply(x, index=steps[0]), steps[0])
    for step in steps:
        x = GetItem.apply(x, index=step)
    return x


def _note_view(base: Tensor, y: Tensor, index) -> Tensor:
    """Remember that ``y`` is a view of ``base``'s memory (a basic index: ints, slices, None,
    Ellipsis), so that an in-place op on ``y`` is recorded as one on ``base``, as in
    PyTorch (``c[0:1].mul_(3)`` then changes c's gradient too; ``ops/inplace.py``)."""
    if _grad_mode._enabled and _same_memory(y.array, base.array) and all(
            item is None or item is Ellipsis or isinstance(item, slice) or _is_integer(item)
            for item in (index if isinstance(index, tuple) else (index,))):
        _record_view(base, y, lambda b: GetItem.apply(b, index=index),
                     lambda b, v: _index_put(b, index, v))
    return y


def _same_memory(array, base_array) -> bool:
    """``array`` is a NumPy view of the memory ``base_array`` uses (NumPy points a view's
    ``base`` at the array owning the memory)."""
    owner = getattr(array, "base", None)
    return owner is not None and (owner is base_array or owner is base_array.base) and \
        isinstance(array, np.ndarray)


def _index_put(base: Tensor, index, value: Tensor) -> Tensor:
    from .setitem import index_put

    return index_put(base, index, value)


def _record_view(base: Tensor, y: Tensor, make_view, put_back) -> None:
    """``y`` shares ``base``'s memory: ``make_view(b)`` makes it again from a base ``b``,
    ``put_back(b, v)`` is the base whose view is ``v`` (both differentiable), so that an
    in-place op on ``y`` is recorded on ``base`` and ``base``'s in-place ops refresh ``y``
    (``ops/inplace.py``), as PyTorch's views."""
    y.__dict__["_view_of"] = (base, make_view, put_back)
    views = base.__dict__.get("_views")
    if views is None:
        views = base.__dict__["_views"] = weakref.WeakSet()
    views.add(y)


def _note_reshape(base: Tensor, y: Tensor, shape: tuple) -> Tensor:
    """A reshape that shares ``base``'s memory is recorded as its view (see _note_view)."""
    if _grad_mode._enabled and y is not base and _same_memory(y.array, base.array):
        _record_view(base, y, lambda b: Reshape.apply(b, shape=shape),
                     lambda b, v: Reshape.apply(v, shape=b.shape))
    return y


def _note_permute(base: Tensor, y: Tensor, dims: tuple) -> Tensor:
    """A permute (always memory-sharing) is recorded as a view of ``base``."""
    if _grad_mode._enabled and _same_memory(y.array, base.array):
        _record_view(base, y, lambda b: Permute.apply(b, dims=dims),
                     lambda b, v: Permute.apply(v, dims=tuple(int(i) for i in np.argsort(dims))))
    return y


# -- joining and padding ------------------------------------------------------------------
class Cat(Function):
    """y = the inputs joined along ``dim``. Backward: each input's slice of the gradient."""

    def forward(self, *xs, dim):
        self.dim, self.sizes = dim, [x.shape[dim] for x in xs]
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    def backward(self, grad_output):
        grads, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * self.dim + (slice(start, start + size),)
            grads.append(getitem(grad_output, index))
            start += size
        return tuple(grads)


def _tensor_list(op: str, tensors) -> list:
    """``tensors`` (a list or tuple of Tensors; NumPy arrays are taken too) as Tensors of
    one dtype, PyTorch's promotion among them (int64 with float32 is float32)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a list or tuple of Tensors, not "
                        f"{type(tensors).__name__}" + (f" (to split a tensor into its rows, "
                        f"write {op}(list(x)) or {op}(x.unbind(0)))"
                        if isinstance(tensors, Tensor) else ""))
    for i, t in enumerate(tensors):
        if not isinstance(t, (Tensor, np.ndarray)):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeValueError(f"{op}: expected a non-empty sequence of tensors")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != dtype:
            dtype = promote_types(dtype, t.dtype)
    if any(t.dtype != dtype for t in tensors):
        from .conversion import cast

        tensors = [cast(t, dtype) for t in tensors]
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """Join ``tensors`` along ``dim``. As in PyTorch, dtypes are promoted and a 1-D empty
    tensor (shape (0,)) is skipped whatever the others' shapes (its legacy rule)."""
    tensors = _tensor_list("cat", tensors)
    kept = [t for t in tensors if t.shape != (0,)]
    if not kept:
        return tensors[0] if len(tensors) == 1 else Cat.apply(*tensors, dim=0)
    tensors = kept
    if tensors[0].ndim == 0:
        raise RuntimeValueError("cat: zero-dimensional tensor (at position 0) cannot be "
                                "concatenated; use mc.stack, or unsqueeze it first")
    dim = _normalize_dim(dim, tensors[0].ndim)
    for i, t in enumerate(tensors):
        if t.ndim != tensors[0].ndim or any(
                a != b for d, (a, b) in enumerate(zip(t.shape, tensors[0].shape)) if d != dim):
            raise RuntimeValueError(f"cat: tensors[{i}] has shape {t.shape}, expected "
                                    f"{tensors[0].shape} except in dim {dim}")
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list("stack", tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeValueError(f"stack: tensors[{i}] has shape {t.shape}, expected "
                                    f"{tensors[0].shape}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


class Pad(Function):
    """Constant padding. ``widths`` is NumPy's ((before, after), ...) per dim, all >= 0.
    Backward: the gradient's slice over the original region."""

    def forward(self, x, widths, value):
        self.widths = widths
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad_output):
        index = tuple(slice(before, grad_output.shape[d] - after)
                      for d, (before, after) in enumerate(self.widths))
        return getitem(grad_output, index)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad``: ``pad = (left, right, top, bottom, ...)`` from the last dim
    backwards. Negative widths crop."""
    if not isinstance(x, Tensor):
        _not_a_tensor("pad", x)
    if mode != "constant":
        raise ValueError(f"pad: mode must be 'constant', got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeValueError(f"pad: expected an even number of widths, at most {2 * x.ndim}, "
                                f"got {pad}")
    pad = _int_sizes("pad", pad)
    if isinstance(value, (str, bytes)) or value is None or not hasattr(value, "__float__"):
        raise TypeError(f"pad: value: expected a number, got {value!r} ({type(value).__name__})")
    widths = [[0, 0] for _ in range(x.ndim)]
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = [pad[2 * i], pad[2 * i + 1]]
        size = x.shape[x.ndim - 1 - i] + pad[2 * i] + pad[2 * i + 1]
        if size < 0:
            raise RuntimeValueError(f"pad: widths {pad[2 * i]}, {pad[2 * i + 1]} crop dim "
                                    f"{x.ndim - 1 - i} (size {x.shape[x.ndim - 1 - i]}) to a "
                                    f"negative size {size}")
    crop = tuple(slice(max(-b, 0), x.shape[d] - max(-a, 0)) for d, (b, a) in enumerate(widths))
    if any(b < 0 or a < 0 for b, a in widths):
        x = getitem(x, crop)
        widths = [[max(b, 0), max(a, 0)] for b, a in widths]
    if not any(b or a for b, a in widths):
        return x
    return Pad.apply(x, widths=tuple(tuple(w) for w in widths), value=value)
