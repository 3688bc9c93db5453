"""Matrix multiplication and comparisons (split from ``ops/math.py``, which re-exports
them)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, as_tensor
from .shape import squeeze, transpose, unsqueeze
from .torch_errors import RuntimeValueError


# -- matrix multiplication ----------------------------------------------------------------
class MatMul(Function):
    """Y = A @ B for A (..., n, k) and B (..., k, m), batch dims broadcast;
    dL/dA = G @ B^T, dL/dB = A^T @ G (the walk sums broadcast batch dims back)."""

    def forward(self, a, b):
        if a.shape[-1] == 1:  # an outer product: no sums, one multiply per number; the
            return a * b      # same bits as BLAS, which is slow here (0.9 ms for 64 x 6272)
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        grad_a = matmul(g, transpose(b, -1, -2)) if self.needs_input_grad[0] else None
        grad_b = matmul(transpose(a, -1, -2), g) if self.needs_input_grad[1] else None
        return grad_a, grad_b


def matmul(a, b) -> Tensor:
    """``a @ b`` with NumPy/PyTorch rules: 1-D operands become a row (left) or a column
    (right) vector and that dimension is removed from the result."""
    a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    b = as_tensor(b, like=a)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: mat1 and mat2 must have the same dtype, got {a.dtype} and "
                        f"{b.dtype} (PyTorch does not promote here either); convert one "
                        "(.float(), .double())")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise RuntimeValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: "
                         f"a's last dim ({a.shape[-1]}) must equal b's "
                         f"{'second-to-last' if b.ndim > 1 else 'only'} dim "
                         f"({b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim == 1:
        return squeeze(matmul(unsqueeze(a, 0), b), -2 if b.ndim > 1 else 0)
    if b.ndim == 1:
        return squeeze(matmul(a, unsqueeze(b, -1)), -1)
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeValueError(f"matmul: batch dims of shapes {a.shape} and {b.shape} cannot be "
                         "broadcast together") from None
    return MatMul.apply(a, b)


# -- comparisons (no gradient) ------------------------------------------------------------
def _comparison(name, compare):
    def op(a, b) -> Tensor:
        a_data = a.array if isinstance(a, Tensor) else a
        b_data = b.array if isinstance(b, Tensor) else b
        return Tensor._wrap(compare(a_data, b_data))

    op.__name__ = name
    return op


eq = _comparison("eq", lambda a, b: a == b)
ne = _comparison("ne", lambda a, b: a != b)
lt = _comparison("lt", lambda a, b: a < b)
le = _comparison("le", lambda a, b: a <= b)
gt = _comparison("gt", lambda a, b: a > b)
ge = _comparison("ge", lambda a, b: a >= b)
