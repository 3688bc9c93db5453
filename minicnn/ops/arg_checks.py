"""One check for the tensor arguments of public functions: ``need_tensor(op, input=x)``
raises ``TypeError("mm(): argument 'mat2' must be a Tensor, not int")`` (PyTorch's words)
instead of an AttributeError from inside (``'NoneType' object has no attribute 'ndim'``)."""
from __future__ import annotations

from ..autograd import Tensor


def need_tensor(op: str, **arguments) -> None:
    for name, value in arguments.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not "
                            f"{type(value).__name__}")


def other_tensor(op: str, other) -> Tensor:
    """``x.view_as(other)``'s ``other``: a Tensor (TypeError naming it otherwise)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' must be a Tensor, not {type(other).__name__}")
    return other
