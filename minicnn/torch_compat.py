"""PyTorch's top-level names that are not ops: dtype aliases (``mc.float``, ``mc.long`` ...),
``mc.from_numpy``, ``mc.is_tensor``, and the legacy typed constructors
(``mc.FloatTensor(2, 3)``, ``mc.LongTensor([1, 2])``) that older scripts use.

A dtype here is a ``numpy.dtype`` (``mc.float32 == np.float32``, ``x.dtype == mc.float``),
because minicnn's arrays are NumPy (or CuPy) arrays.
"""
from __future__ import annotations

import builtins

import numpy as np

from . import random as _random
from .autograd import Tensor, set_grad_enabled
from .tensor_data import _legacy_constructor_array
from .backend import get_array_module

# -- dtypes (PyTorch's names and aliases) -----------------------------------------------
float32 = float = np.dtype(np.float32)  # noqa: A001 - PyTorch's names
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)  # noqa: A001
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)

DTYPES = ["float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32",
          "int", "int16", "short", "int8", "uint8", "bool", "complex64", "cfloat",
          "complex128", "cdouble"]


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (``torch.from_numpy``): writing one
    changes the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__} "
                        "(for lists or numbers use mc.tensor(data))")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {array.dtype}: tensors "
                        f"hold bool, integer, float or complex numbers (PyTorch refuses too)")
    if any(stride < 0 for stride in array.strides):
        raise ValueError("from_numpy: at least one stride in the given numpy array is "
                         "negative (a reversed view, a[::-1]); PyTorch refuses these too: "
                         "pass a copy (array.copy())")
    return Tensor._wrap(array)


def is_tensor(obj) -> bool:
    """True for a minicnn Tensor (Parameters included), as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def _need_tensor(op: str, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(value).__name__}")


def is_floating_point(input: Tensor) -> bool:
    _need_tensor("is_floating_point", input)
    return input.dtype.kind == "f"


def numel(input: Tensor) -> int:
    _need_tensor("numel", input)
    return input.numel()


def get_default_dtype() -> np.dtype:
    """float32: what lists, numbers and ``mc.zeros(...)`` become (fixed in minicnn)."""
    return float32


class Size(tuple):
    """``torch.Size``: a tuple of sizes (``mc.Size([2, 3]) == (2, 3)``) with ``numel()``."""

    def numel(self) -> int:
        return builtins.int(np.prod(self, dtype=np.int64))  # `int` here is mc.int (int32)


def inference_mode(mode: bool = True):
    """``with mc.inference_mode():`` is ``with mc.no_grad():`` (minicnn has no separate
    inference tensors); also a decorator."""
    return set_grad_enabled(not mode)


def _make(array, dtype, device, requires_grad) -> Tensor:
    out = Tensor._wrap(array.astype(float32 if dtype is None else np.dtype(dtype), copy=False))
    out = out if device is None else out.to(device)
    return out.requires_grad_(True) if requires_grad else out


def _sizes(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised memory of that size (float32 unless told)."""
    from .ops.creation import _shape, allocate

    return _make(allocate(np.empty, _shape(size), float32 if dtype is None else dtype, "empty"),
                 dtype, device, requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _need_tensor("empty_like", input)
    xp = get_array_module(input.array)
    return _make(xp.empty(input.shape, dtype=input.dtype if dtype is None else dtype),
                 input.dtype if dtype is None else dtype, device, requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    """``input``'s shape (and dtype, device, unless told) filled with ``fill_value``."""
    _need_tensor("full_like", input)
    xp = get_array_module(input.array)
    dtype = input.dtype if dtype is None else dtype
    return _make(xp.full(input.shape, fill_value, dtype=dtype), dtype, device, requires_grad)


def randperm(n: int, dtype=None, device=None, generator=None, requires_grad=False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64), from minicnn's generator."""
    if not hasattr(type(n), "__index__") or isinstance(n, builtins.bool):
        raise TypeError(f"randperm: n: expected an int, got {n!r} ({type(n).__name__})")
    if n < 0:
        raise ValueError(f"randperm: n: trying to create a tensor with negative dimension "
                         f"{n}: [{n}]")
    rng = _random.numpy_generator(generator)
    return _make(rng.permutation(builtins.int(n)), int64 if dtype is None else dtype, device,
                 requires_grad)


def bernoulli(input: Tensor, p=None, generator=None) -> Tensor:
    """0/1 draws, 1 with probability ``input`` (elementwise; or ``p`` for all), in input's
    dtype. Not differentiable (PyTorch's has no gradient either)."""
    _need_tensor("bernoulli", input)
    if p is not None and not (isinstance(p, (builtins.int, builtins.float)) and 0 <= p <= 1):
        raise ValueError(f"bernoulli: p: expected a probability in [0, 1], got {p!r}")
    rng = _random.numpy_generator(generator)
    probability = input.numpy() if p is None else np.full(input.shape, p)
    if probability.size and (probability.min() < 0 or probability.max() > 1):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    draws = (rng.random(input.shape) < probability).astype(input.dtype)
    return Tensor._wrap(draws).to(input.device)


# -- legacy typed constructors ----------------------------------------------------------
class _TypedTensorMeta(type):
    """``isinstance(x, mc.FloatTensor)``: a Tensor of that dtype (as PyTorch)."""

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor) and instance.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'minicnn.{cls.__name__}'>"


class _TypedTensor(metaclass=_TypedTensorMeta):
    """``FloatTensor(2, 3)``: uninitialised, of that shape; ``FloatTensor(data)``: ``data``
    (a list, an array, a Tensor) cast to the type's dtype (a float64 array becomes
    float32, as in PyTorch); ``FloatTensor()``: empty. ``x.type(mc.FloatTensor)`` casts."""

    dtype = float32

    def __new__(cls, *args, requires_grad: bool = False, device=None):
        if len(args) == 1 and isinstance(args[0], (np.ndarray, Tensor)):
            source = args[0].array if isinstance(args[0], Tensor) else args[0]
            array = source.astype(cls.dtype, copy=False)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            array = np.asarray(args[0], dtype=cls.dtype)
        else:
            array = _legacy_constructor_array(args[0] if args else None,
                                              tuple(args[1:])).astype(cls.dtype, copy=False)
        out = Tensor._wrap(array)
        if device is not None:
            out = out.to(device)
        return out.requires_grad_(True) if requires_grad else out


def _typed(name: str, dtype) -> type:
    return _TypedTensorMeta(name, (_TypedTensor,), {"dtype": dtype, "__doc__":
                                                    f"Legacy constructor of {dtype} tensors "
                                                    "(see ``_TypedTensor``)."})


FloatTensor = _typed("FloatTensor", float32)
DoubleTensor = _typed("DoubleTensor", float64)
HalfTensor = _typed("HalfTensor", float16)
LongTensor = _typed("LongTensor", int64)
IntTensor = _typed("IntTensor", int32)
ShortTensor = _typed("ShortTensor", int16)
CharTensor = _typed("CharTensor", int8)
ByteTensor = _typed("ByteTensor", uint8)
BoolTensor = _typed("BoolTensor", bool)

TYPED_TENSORS = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                 "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]
