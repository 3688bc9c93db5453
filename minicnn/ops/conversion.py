"""Casting between dtypes and moving between devices, both differentiable."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..backend import device_of, to_device


class Cast(Function):
    """y = x as another float dtype;  dL/dx = g cast back to x's dtype."""

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return cast(g, self.input_dtype)


class Move(Function):
    """y = x copied to another device;  dL/dx = g copied back."""

    def forward(self, x, device):
        self.input_device = device_of(x)
        return to_device(x, device)

    def backward(self, g):
        return move(g, self.input_device)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":
        return Tensor._wrap(x.array.astype(dtype))  # integer/bool results carry no gradient
    return Cast.apply(x, dtype=dtype)


def move(x: Tensor, device) -> Tensor:
    from ..backend import normalize_device

    device = normalize_device(device)
    return x if x.device == device else Move.apply(x, device=device)
