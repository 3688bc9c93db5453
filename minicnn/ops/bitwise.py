"""Bitwise ops on bool and integer tensors, as PyTorch's: ``&``, ``|``, ``^``, ``~``, ``<<``,
``>>`` and their names (``bitwise_and`` ...), reflected (``True & mask``) and in place
(``mask &= other``, ``x.bitwise_and_(y)``).

The everyday use is combining masks: ``(x > 0) & (x < 1)``, ``~mask``. There is no gradient
(the results are bools or integers, which never require grad). A float operand raises, as
in PyTorch (``1.5 & x`` has no meaning); a Python bool or int is taken as a scalar of the
tensor's kind (``mask & True`` stays bool, ``ints & 3`` stays int64).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .torch_errors import RuntimeTypeError

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift"]


def _array(op: str, name: str, value, like=None):
    """``value``'s array, checked to be bool or integer."""
    if isinstance(value, Tensor):
        array = value.array
    elif isinstance(value, (bool, np.bool_, int, np.integer)):
        xp = get_array_module(like.array) if like is not None else np
        kind_of_like = like.dtype if like is not None else None
        dtype = (kind_of_like if kind_of_like is not None
                 and (kind_of_like.kind != "b" or isinstance(value, (bool, np.bool_)))
                 else np.result_type(type(value)))
        return xp.asarray(value, dtype=dtype)
    else:
        raise TypeError(f"{op}: {name}: expected a bool or integer Tensor (or a Python bool/"
                        f"int), got {type(value).__name__}")
    if array.dtype.kind not in "biu":
        raise RuntimeTypeError(f"{op}: {name}: bitwise ops take bool or integer tensors, got "
                               f"dtype {array.dtype} (PyTorch raises too); compare first "
                               f"(x > 0) or convert (.long(), .bool())")
    return array


def _binary(op: str, compute):
    def function(input, other) -> Tensor:
        like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
        a = _array(op, "input", input, like)
        b = _array(op, "other", other, like)
        try:
            return Tensor._wrap(compute(get_array_module(a), a, b))
        except ValueError as error:
            raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast "
                             f"together") from error

    function.__name__ = op
    function.__doc__ = f"``{op}(input, other)``: elementwise, bool or integer tensors."
    return function


bitwise_and = _binary("bitwise_and", lambda xp, a, b: xp.bitwise_and(a, b))
bitwise_or = _binary("bitwise_or", lambda xp, a, b: xp.bitwise_or(a, b))
bitwise_xor = _binary("bitwise_xor", lambda xp, a, b: xp.bitwise_xor(a, b))
bitwise_left_shift = _binary("bitwise_left_shift", lambda xp, a, b: xp.left_shift(a, b))
bitwise_right_shift = _binary("bitwise_right_shift", lambda xp, a, b: xp.right_shift(a, b))


def bitwise_not(input: Tensor) -> Tensor:
    """``~x``: logical not of a bool tensor, two's-complement not of an integer one."""
    array = _array("bitwise_not", "input", input)
    return Tensor._wrap(get_array_module(array).invert(array))


def _reflected(op):
    return lambda self, other: op(other, self)


def _in_place(name: str, op):
    def method(self, other):
        from .inplace import apply_in_place

        return apply_in_place(self, lambda x: op(x, other), name)

    method.__name__ = name
    return method


def methods() -> dict:
    """The operators and method names, for ``minicnn/ops/__init__.py``."""
    table = {"bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
             "bitwise_not": bitwise_not, "bitwise_left_shift": bitwise_left_shift,
             "bitwise_right_shift": bitwise_right_shift,
             "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
             "__invert__": bitwise_not, "__lshift__": bitwise_left_shift,
             "__rshift__": bitwise_right_shift,
             "__rand__": _reflected(bitwise_and), "__ror__": _reflected(bitwise_or),
             "__rxor__": _reflected(bitwise_xor),
             "__rlshift__": _reflected(bitwise_left_shift),
             "__rrshift__": _reflected(bitwise_right_shift)}
    for name, op in [("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                     ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)]:
        table[f"__i{name}__"] = _in_place(f"__i{name}__", op)
    for name, op in [("bitwise_and_", bitwise_and), ("bitwise_or_", bitwise_or),
                     ("bitwise_xor_", bitwise_xor)]:
        table[name] = _in_place(name, op)
    table["bitwise_not_"] = lambda self: _in_place("bitwise_not_", lambda x, _: bitwise_not(x))(
        self, None)
    return table
