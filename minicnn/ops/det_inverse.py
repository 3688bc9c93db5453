r"""The determinant and the inverse of (batches of) square matrices, with gradients
written as Tensor ops so that they differentiate again (create_graph):

* det: d det(A) / dA = det(A) A^{-T}.
* inverse: Y = A^{-1};  dL/dA = -Y^T G Y^T.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .math import matmul
from .shape import transpose, unsqueeze

__all__ = ["det", "inverse"]


def _square(op: str, input: Tensor) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise ValueError(f"{op}: input: expected square matrices (..., n, n), got shape "
                         f"{input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input: expected a floating-point tensor, got {input.dtype}")
    return input


class Det(Function):
    """y = det(A) (batched);  dL/dA = g det(A) A^{-T}."""

    def forward(self, a):
        return get_array_module(a).linalg.det(a).astype(a.dtype, copy=False)

    def backward(self, g):
        scale = unsqueeze(unsqueeze(g * self.output, -1), -1)
        return scale * transpose(inverse(self.inputs[0]), -1, -2)


class Inverse(Function):
    """Y = A^{-1} (batched);  dL/dA = -Y^T G Y^T."""

    def forward(self, a):
        xp = get_array_module(a)
        try:
            return xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("inverse: input: the matrix is singular (not invertible)") \
                from None

    def backward(self, g):
        y_t = transpose(self.output, -1, -2)
        return -matmul(matmul(y_t, g), y_t)


def det(input: Tensor) -> Tensor:
    """The determinant of each matrix in the last two dims. The gradient needs A^{-1}:
    at a singular matrix backward raises (PyTorch's is defined there)."""
    return Det.apply(_square("det", input))


def inverse(input: Tensor) -> Tensor:
    """The inverse of each matrix in the last two dims (singular: RuntimeError)."""
    return Inverse.apply(_square("inverse", input))
