"""PyTorch's top-level names that are not ops: dtype aliases (``mc.float``, ``mc.long`` ...),
``mc.from_numpy``, ``mc.is_tensor``, and the legacy typed constructors
(``mc.FloatTensor(2, 3)``, ``mc.LongTensor([1, 2])``) that older scripts use.

A dtype here is a ``numpy.dtype`` (``mc.float32 == np.float32``, ``x.dtype == mc.float``),
because minicnn's arrays are NumPy (or CuPy) arrays.
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, _legacy_constructor_array

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
    return Tensor(array)


def is_tensor(obj) -> bool:
    """True for a minicnn Tensor (Parameters included), as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.dtype.kind == "f"


def numel(input: Tensor) -> int:
    return input.numel()


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
        out = Tensor(array)
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
