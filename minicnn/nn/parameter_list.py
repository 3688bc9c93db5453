"""``ParameterList``: a list of Parameters that the parent module trains and saves.

A plain Python list of Parameters would hide them from ``parameters()`` and
``state_dict()``; ``ParameterList`` registers each under its position ("0", "1", ...), so
the keys are "scales.0", "scales.1", ... as PyTorch's. A Tensor that is not a Parameter
is made one (sharing its data), as in PyTorch.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ..autograd import Tensor
from .module import Module, Parameter


class ParameterList(Module):
    def __init__(self, values: Iterable | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index: int) -> int:
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of range for a ParameterList of length "
                             f"{size}")
        return index % size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(list(self._parameters.values())[index])
        return self._parameters[str(self._index(index))]

    def __setitem__(self, index: int, value) -> None:
        self.register_parameter(str(self._index(index)), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{_type(p)} of size "
                         f"{'x'.join(str(s) for s in p.shape)}]"
                         for i, p in enumerate(self))


def _as_parameter(value) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if not isinstance(value, Tensor):
        raise TypeError(f"ParameterList: expected Parameters or Tensors, got "
                        f"{type(value).__name__}")
    return Parameter(value)


def _type(p) -> str:
    return f"minicnn.{p.dtype}"
