r"""The Tensor methods PyTorch code uses every day that are not one op of their own:
``norm``, ``max``/``min`` with a dim (values and indices), ``argmin``, ``clone``,
``contiguous``, ``eq``/``ne``/``lt``/``le``/``gt``/``ge``, ``new_zeros``/``new_ones``/
``new_full``/``new_empty``/``new_tensor``, ``type(...)``, ``long()``/``int()``/``bool()``
..., ``is_cuda``, ``grad_fn``, ``stride``, ``is_contiguous``, ``data_ptr``; and
``__getattr__``, which says what to write instead of the PyTorch attributes minicnn leaves
out on purpose (``storage``, ``pin_memory`` ...).

``tensor_methods()`` returns them by name; ``minicnn/ops/__init__.py`` binds them to
``Tensor`` with the rest of the table.

* ``norm(p=2, dim)``: :math:`\|x\|_2 = \sqrt{\sum x^2}`, with
  :math:`\partial \|x\|_2 / \partial x = x / \|x\|_2` (0 where the norm is 0, as
  PyTorch: no NaN for an all-zero row); other p as :math:`(\sum |x|^p)^{1/p}`,
  p = inf as max |x|, p = 0 as the count of non-zeros (no gradient).
* ``max(dim)``: the gradient goes to the element ``indices`` points at (the first maximum
  on ties, as PyTorch), because the values are *gathered* at those indices (the gather's
  backward is a scatter-add, whose backward is the gather again). ``max()`` over
  everything is ``amax`` (the gradient is shared among ties, also as PyTorch).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, Tensor, tensor as _tensor
from ..backend import DEFAULT_DTYPE, get_array_module
from .math import abs as _abs, amax, amin, eq, ge, gt, le, lt, maximum, minimum, ne
from .math import sum as _sum
from .shape import GetItem, reshape, squeeze
from .torch_errors import RuntimeIndexError, RuntimeTypeError, RuntimeValueError
from .arg_checks import need_tensor

# What max/min with a dim return, as ``torch.return_types.max``: ``values, indices = ...``,
# ``result.values``, ``result[0]``.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def _dim(dim: int, ndim: int, op: str) -> int:
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}: dim: expected a dim in [{-size}, {size - 1}] for a tensor "
                         f"with {ndim} dims, got {dim}")
    return dim % size


def _dims(dim, ndim: int, op: str) -> tuple:
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    return tuple(sorted({_dim(int(d), ndim, op) for d in dims}))


# ---------------------------------------------------------------------------------------
# norm
# ---------------------------------------------------------------------------------------
class Norm(Function):
    r"""y = \sqrt{\sum_{axes} x^2};  dL/dx = g x / y, and 0 where y = 0.

    The backward reads ``self.output`` (y), so differentiating it again goes through
    this Function once more: second derivatives (WGAN-GP's penalty) come out right.
    """

    def forward(self, x, axes, keepdim):
        self.axes, self.input_ndim = axes, x.ndim
        xp = get_array_module(x)
        return xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))

    def backward(self, g):
        (x,) = self.inputs
        y = self.output
        keep = tuple(1 if i in self.axes else s for i, s in enumerate(x.shape))
        y, g = reshape(y, keep), reshape(g, keep)
        zero = (y.array == 0).astype(y.dtype)
        return x * (g / (y + Tensor._wrap(zero)))  # y = 0 only where x = 0 on the whole slice


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    r"""``torch.norm`` / ``Tensor.norm``: the p-norm over ``dim`` (all elements when None).

    p: 'fro' or 2 (Euclidean), 1, any positive number, ``inf`` / ``-inf`` (max / min of
    |x|), or 0 (number of non-zeros). ``dtype`` casts the input first.
    """
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind not in "fc":
        raise TypeError(f"norm: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype} (PyTorch raises too; write x.float().norm(...))")
    axes = _dims(dim, input.ndim, "norm")
    if p == "fro" or p is None or p == 2:
        return Norm.apply(input, axes=axes, keepdim=keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm: p: expected 'fro' or a number, got {p!r} (the nuclear norm "
                         "'nuc' needs an SVD, which minicnn does not have)")
    if p == float("inf"):
        return amax(_abs(input), axes, keepdim)
    if p == float("-inf"):
        return amin(_abs(input), axes, keepdim)
    if p == 0:
        count = (input.array != 0).sum(axis=axes, keepdims=keepdim)
        return Tensor._wrap(count.astype(input.dtype))
    if p == 1:
        return _sum(_abs(input), axes, keepdim)
    return _sum(_abs(input) ** p, axes, keepdim) ** (1.0 / p)


# ---------------------------------------------------------------------------------------
# max / min / argmin
# ---------------------------------------------------------------------------------------
def _gather_extremes(x: Tensor, dim: int, keepdim: bool, largest: bool):
    """(values, indices) of the max (or min) along ``dim``: indices by argmax/argmin, the
    values gathered at them (differentiable through GetItem)."""
    xp = get_array_module(x.array)
    if x.ndim == 0:
        return x, Tensor._wrap(xp.zeros((), dtype=np.int64))
    find = xp.argmax if largest else xp.argmin
    try:
        indices = xp.expand_dims(find(x.array, axis=dim), dim).astype(np.int64)
    except ValueError:  # NumPy: "attempt to get argmax of an empty sequence"
        if x.shape[dim]:
            raise
        raise IndexError(f"{'max' if largest else 'min'}(): expected reduction dim {dim} to "
                         f"have non-zero size, got shape {x.shape} (as PyTorch)") from None
    index = tuple(indices if axis == dim else
                  xp.arange(size).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
                  for axis, size in enumerate(x.shape))
    values = GetItem.apply(x, index=index)
    if not keepdim:
        values, indices = squeeze(values, dim), indices.squeeze(dim)
    return values, Tensor._wrap(indices)


def _extreme(name, largest, result_type, pairwise, reduce_all):
    def op(input: Tensor, dim=None, keepdim: bool = False):
        need_tensor(name, input=input)
        if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
            return pairwise(input, dim)
        if dim is None:
            if keepdim:
                raise TypeError(f"{name}(): keepdim needs a dim, as in PyTorch "
                                f"(x.{name}(dim=1, keepdim=True))")
            return reduce_all(input)
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}(): dim: expected one int, got {dim!r} (PyTorch takes one "
                            f"dim too; for several, use x.a{name}(dim=(...)))")
        values, indices = _gather_extremes(input, _dim(dim, input.ndim, name), keepdim, largest)
        return result_type(values, indices)

    op.__name__ = name
    op.__doc__ = (f"``x.{name}()``: the {name}imum (a 0-d tensor); ``x.{name}(dim, keepdim)``: "
                  f"a named pair (values, indices) along dim; ``x.{name}(other)``: the "
                  f"elementwise {name}imum.")
    return op


tensor_max = _extreme("max", True, max_result, maximum, amax)
tensor_min = _extreme("min", False, min_result, minimum, amin)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Indices of the minima (int64, no gradient); over the flattened tensor when dim is
    None."""
    xp = get_array_module(input.array)
    if not input.array.size:
        raise IndexError(f"argmin(): expected a non-empty reduction dim, got shape "
                         f"{input.shape} (as PyTorch refuses)")
    if dim is None:
        return Tensor._wrap(xp.asarray(input.array.argmin(), dtype=np.int64))
    dim = _dim(dim, input.ndim, "argmin")
    return Tensor._wrap(xp.argmin(input.array, axis=dim, keepdims=keepdim).astype(np.int64))


# ---------------------------------------------------------------------------------------
# clone and contiguous
# ---------------------------------------------------------------------------------------
class Clone(Function):
    """y = a copy of x (its own memory);  dL/dx = g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(input: Tensor, memory_format=None) -> Tensor:
    """A copy with its own memory that stays in the graph (``x.clone()``; use
    ``x.detach().clone()`` for a copy outside it)."""
    need_tensor("clone", input=input)
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its array is C-contiguous, else a contiguous copy (in the graph)."""
    return input if input.array.flags.c_contiguous else Clone.apply(input)


# ---------------------------------------------------------------------------------------
# new_* and dtype conversions
# ---------------------------------------------------------------------------------------
def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _new(self: Tensor, array, dtype, device, requires_grad) -> Tensor:
    from .conversion import move

    out = Tensor._wrap(array.astype(self.dtype if dtype is None else np.dtype(dtype), copy=False))
    out = out if device is None else move(out, device)
    return out.requires_grad_(True) if requires_grad else out


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    return _new(self, get_array_module(self.array).zeros(_size(size)), dtype, device,
                requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(self, get_array_module(self.array).ones(_size(size)), dtype, device,
                requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(self, get_array_module(self.array).empty(_size(size), dtype=self.dtype), dtype,
                device, requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if isinstance(fill_value, (str, bytes)) or fill_value is None or \
            not hasattr(fill_value, "__float__"):
        raise TypeError(f"new_full(): fill_value: expected a number, got {fill_value!r} "
                        f"({type(fill_value).__name__})")
    return _new(self, get_array_module(self.array).full(tuple(size), fill_value), dtype, device,
                requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    copied = _tensor(data, dtype=self.dtype if dtype is None else dtype)
    return _new(self, copied.array, None, device if device is not None else self.device,
                requires_grad)


# PyTorch's legacy type names, as ``x.type()`` prints them.
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_DTYPES_BY_NAME = {name: dtype for dtype, name in _TYPE_NAMES.items()}


def type_name(dtype) -> str:
    """'torch.FloatTensor' for float32 ... (PyTorch's string, so scripts comparing
    ``x.type() == 'torch.FloatTensor'`` behave the same)."""
    return "torch." + _TYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def tensor_type(self, dtype=None, non_blocking: bool = False):
    """``x.type()``: the type name ('torch.FloatTensor'); ``x.type(mc.float64)``,
    ``x.type(mc.LongTensor)`` or ``x.type('torch.LongTensor')``: the cast tensor."""
    if dtype is None:
        return type_name(self.dtype)
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _DTYPES_BY_NAME:
        dtype = _DTYPES_BY_NAME[dtype.rsplit(".", 1)[-1]]
    if dtype is Tensor:  # ``x.type(torch.Tensor)``: the default float type, as PyTorch
        return self.to(np.dtype(DEFAULT_DTYPE))
    dtype = getattr(dtype, "dtype", dtype)  # mc.FloatTensor and friends carry their dtype
    return self.to(np.dtype(dtype))


def _caster(dtype):
    return lambda self, memory_format=None: self.to(dtype)


# ---------------------------------------------------------------------------------------
# Named spellings of operators and a few compositions (all differentiable through the ops
# they are made of)
# ---------------------------------------------------------------------------------------
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` (``torch.add``, ``x.add(y, alpha=2)``)."""
    return input + (other if alpha == 1 else alpha * other)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``."""
    return input - (other if alpha == 1 else alpha * other)


def mul(input, other) -> Tensor:
    return input * other


def div(input, other, *, rounding_mode=None) -> Tensor:
    """``input / other``; ``rounding_mode='floor'`` is ``//``, ``'trunc'`` rounds toward 0
    (and keeps an integer dtype when both operands are integers, as PyTorch)."""
    if rounding_mode is None:
        return input / other
    if rounding_mode == "floor":
        return input // other
    if rounding_mode == "trunc":
        from .elementwise_extra import trunc

        result = trunc(input / other)
        kinds = {getattr(v, "dtype", np.asarray(v).dtype).kind for v in (input, other)}
        return result.to(input.dtype) if kinds <= set("iu") else result
    from .torch_errors import RuntimeValueError

    raise RuntimeValueError(f"div: rounding_mode: expected None, 'trunc' or 'floor', got "
                            f"{rounding_mode!r}")


def square(input: Tensor) -> Tensor:
    """input * input; a bool input gives int64, as PyTorch's (square is pow(input, 2))."""
    need_tensor("square", input=input)
    if input.dtype == np.bool_:
        input = input.long()
    return input * input


def positive(input: Tensor) -> Tensor:
    """``+input``: the input itself (bool refused, as PyTorch)."""
    need_tensor("positive", input=input)
    if input.dtype == np.bool_:
        raise RuntimeTypeError("positive: input: not supported for bool tensors (as PyTorch)")
    return input


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors (``torch.mm``; ``matmul`` also broadcasts)."""
    need_tensor("mm", input=input, mat2=mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeValueError(f"mm: expected two 2-D tensors, got shapes {input.shape} and "
                                f"{mat2.shape} (torch.matmul / @ handles other ranks)")
    return input @ mat2


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (B, n, k) and (B, k, m) (``torch.bmm``)."""
    need_tensor("bmm", input=input, mat2=mat2)
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeValueError(f"bmm: expected (B, n, k) and (B, k, m) with the same B, got "
                                f"{input.shape} and {mat2.shape}")
    return input @ mat2


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices ``index`` (1-D integers) along ``dim``, in that order (repeats allowed)."""
    indices = index.array if isinstance(index, Tensor) else np.asarray(index)
    if indices.ndim > 1 or indices.dtype.kind not in "iu":
        raise RuntimeValueError(f"index_select: index: expected a 1-D integer tensor, got dtype "
                                f"{indices.dtype} and shape {tuple(indices.shape)}")
    dim = _dim(dim, input.ndim, "index_select")
    xp = get_array_module(input.array)
    key = (slice(None),) * dim + (xp.asarray(indices.reshape(-1)),)
    return GetItem.apply(input, index=key)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements start .. start + length - 1 along ``dim`` (a view in PyTorch)."""
    dim = _dim(dim, input.ndim, "narrow")
    size = input.shape[dim]
    start = start + size if start < 0 else start
    if not (0 <= start and length >= 0 and start + length <= size):
        raise RuntimeIndexError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of "
                                f"size {size}")
    return GetItem.apply(input, index=(slice(None),) * dim + (slice(start, start + length),))


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` with that dim removed: ``x.unbind(0) == tuple(x)``."""
    dim = _dim(dim, input.ndim, "unbind")
    return tuple(GetItem.apply(input, index=(slice(None),) * dim + (i,))
                 for i in range(input.shape[dim]))


def _softmax_method(name):
    def method(self, dim=None, dtype=None):
        from . import activation

        return getattr(activation, name)(self, dim=dim, dtype=dtype)

    method.__name__ = name
    return method


# ---------------------------------------------------------------------------------------
# Memory layout, and the PyTorch attributes minicnn does not have on purpose
# ---------------------------------------------------------------------------------------
def stride(self, dim=None):
    """Steps between neighbours, in elements (PyTorch's unit; NumPy's strides are bytes)."""
    steps = tuple(step // self.array.itemsize for step in self.array.strides)
    return steps if dim is None else steps[_dim(dim, self.ndim, "stride")]


def data_ptr(self) -> int:
    """The address of the first element (to check whether two tensors share memory)."""
    if self.device == "cpu":
        return int(self.array.__array_interface__["data"][0])
    return int(self.array.data.ptr)


_SAME_MEMORY = "a minicnn Tensor wraps one NumPy (or CuPy) array: use x.array"
_ABSENT = {
    "storage": _SAME_MEMORY, "untyped_storage": _SAME_MEMORY, "storage_offset": _SAME_MEMORY,
    "pin_memory": "minicnn has no pinned memory (CPU arrays are NumPy's): leave "
                  ".pin_memory() out", "is_pinned": "minicnn has no pinned memory",
    "share_memory_": "minicnn has no shared-memory tensors; processes exchange arrays "
                     "through minicnn.distributed",
    "bfloat16": "NumPy has no bfloat16: use .half() (float16) or .float()",
    "to_sparse": "minicnn has dense tensors only",
}


def iterate(self):
    """``for row in x``: the slices along dim 0 (differentiable, as ``x[i]``); a 0-d tensor
    raises as in PyTorch (without this, Python's fallback would silently yield nothing)."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor (PyTorch raises too; use x.item() for "
                        "its value)")
    return (GetItem.apply(self, index=i) for i in range(self.shape[0]))


def missing_attribute(self, name: str):
    """``Tensor.__getattr__`` (runs only when normal lookup fails): the usual
    AttributeError, plus what to write instead for PyTorch attributes minicnn leaves out
    on purpose."""
    message = f"'{self.__class__.__name__}' object has no attribute '{name}'"
    advice = None if name.startswith("_") else _ABSENT.get(name)
    if advice is not None:
        message += f" (PyTorch's Tensor has it; {advice})"
    raise AttributeError(message)


def tensor_methods() -> dict:
    """name -> function, for ``setattr(Tensor, name, function)``."""
    return {
        "norm": norm, "max": tensor_max, "min": tensor_min, "argmin": argmin,
        "clone": clone, "contiguous": contiguous,
        "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
        "greater": gt, "less": lt, "greater_equal": ge, "less_equal": le, "not_equal": ne,
        "new_zeros": new_zeros, "new_ones": new_ones, "new_full": new_full,
        "new_empty": new_empty, "new_tensor": new_tensor, "type": tensor_type,
        "long": _caster(np.int64), "int": _caster(np.int32), "short": _caster(np.int16),
        "byte": _caster(np.uint8), "char": _caster(np.int8), "bool": _caster(np.bool_),
        "half": _caster(np.float16), "float": _caster(DEFAULT_DTYPE),
        "double": _caster(np.float64),
        "is_cuda": property(lambda self: self.device != "cpu"),
        "grad_fn": property(lambda self: self.creator),
        "is_floating_point": lambda self: self.dtype.kind == "f",
        "element_size": lambda self: int(self.array.itemsize),
        "nelement": lambda self: int(self.array.size),
        "ndimension": lambda self: self.ndim,
        "is_contiguous": lambda self, memory_format=None: bool(self.array.flags.c_contiguous),
        "stride": stride, "data_ptr": data_ptr,
        "get_device": lambda self: -1 if self.device == "cpu" else 0,
        "__getattr__": missing_attribute, "__iter__": iterate,
        "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
        "divide": div, "true_divide": lambda self, other: self / other, "square": square,
        "positive": positive,
        "mm": mm, "bmm": bmm, "index_select": index_select, "narrow": narrow,
        "unbind": unbind, "softmax": _softmax_method("softmax"),
        "log_softmax": _softmax_method("log_softmax"),
    }
