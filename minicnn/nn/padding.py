"""Padding layers: ``ZeroPad1d/2d``, ``ConstantPad1d/2d``, ``ReflectionPad1d/2d``,
``ReplicationPad1d/2d``, as ``torch.nn``'s.

Each calls ``F.pad(input, padding, mode, value)`` (``minicnn/functional.py``; the reflect
and replicate modes are in ``minicnn/ops/pad_modes.py``). ``padding`` is an int (every
side) or a tuple ``(left, right)`` for 1-D, ``(left, right, top, bottom)`` for 2-D.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module


class _PadNd(Module):
    sides = 2
    mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding,) * self.sides
        padding = tuple(padding)
        if len(padding) != self.sides or not all(isinstance(p, int) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding: expected an int or "
                             f"{self.sides} ints, got {padding!r}")
        self.padding, self.value = padding, value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return F.pad(input, self.padding, mode="constant", value=self.value)
        return F.pad(input, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        if self.mode == "constant" and type(self).__name__.startswith("Constant"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``."""

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``."""
    sides = 4


class ZeroPad1d(_PadNd):
    """Pad the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dims with zeros."""
    sides = 4


class ReflectionPad1d(ZeroPad1d):
    """Mirror the signal at its ends (the border element is not repeated)."""
    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    sides = 4


class ReplicationPad1d(ZeroPad1d):
    """Repeat the border element."""
    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    sides = 4
