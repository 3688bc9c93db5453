r"""``torch.linalg``'s norms and its three basic matrix functions: ``vector_norm``,
``matrix_norm``, ``norm``, ``inv``, ``det``, ``solve``. Batched over leading dims, as
PyTorch's; every one differentiable twice (each backward is written with Tensor ops).

Norms (``ord``)::

    vector_norm   ||x||_p = (sum |x_i|^p)^(1/p);  inf: max |x_i|;  -inf: min;  0: count x_i != 0
    matrix_norm   'fro': sqrt(sum a_ij^2);  1: max column sum of |a_ij|;  -1: min column sum;
                  inf: max row sum;  -inf: min row sum   (2, -2, 'nuc' need an SVD: not here)

Matrix functions, for square A (n, n) and their gradients (G = dL/d output)::

    Y = inv(A)       dL/dA = -Y^T G Y^T
    d = det(A)       dL/dA = G d inv(A)^T            (A must be invertible for the gradient)
    X = solve(A, B)  dL/dB = solve(A^T, G),  dL/dA = -(dL/dB) X^T      (A X = B)

``solve``'s B is a matrix (..., n, k) or a vector (..., n) (then X is a vector too).
"""
from __future__ import annotations

import numpy as np

from .autograd import Function, Tensor
from .backend import get_array_module
from .ops import amax, amin, matmul
from .ops import sum as _sum
from .ops.math import abs as _abs
from .ops.tensor_methods import norm as _norm

__all__ = ["vector_norm", "matrix_norm", "norm", "inv", "det", "solve"]


def _floating(op: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"linalg.{op}: expected a floating-point tensor, got dtype {x.dtype} "
                        "(PyTorch raises too; write x.float())")


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (every element when None), see above."""
    if dtype is not None:
        x = x.to(dtype)
    _floating("vector_norm", x)
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord: expected a number, got {ord!r} (matrix "
                         "norms such as 'fro' are linalg.matrix_norm's)")
    return _norm(x, p=ord, dim=dim, keepdim=keepdim)


def _matrix_dims(op: str, x: Tensor, dim) -> tuple[int, int]:
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{op}: expected a tensor with 2 or more dimensions, got "
                           f"shape {tuple(x.shape)}")
    rows, cols = (d % x.ndim for d in dim)
    if len(dim) != 2 or rows == cols:
        raise ValueError(f"linalg.{op}: dim: expected two different dimensions, got {dim}")
    return rows, cols


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The ``ord``-norm of the matrices in ``A`` (rows, columns = ``dim``), see above."""
    if dtype is not None:
        A = A.to(dtype)
    _floating("matrix_norm", A)
    rows, cols = _matrix_dims("matrix_norm", A, tuple(dim))
    if ord == "fro":
        return _norm(A, p="fro", dim=(rows, cols), keepdim=keepdim)
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values "
                                  "(an SVD), which minicnn does not have; 'fro', 1, -1, inf "
                                  "and -inf are supported")
    if ord not in (1, -1, float("inf"), float("-inf")):
        raise ValueError(f"linalg.matrix_norm: ord: expected 'fro', 'nuc', 1, -1, 2, -2, inf "
                         f"or -inf, got {ord!r}")
    # 1 / -1: sum over rows (a column sum), then max/min over columns; inf: the other way
    summed, other = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = _sum(_abs(A), dim=summed, keepdim=True)
    result = (amax if ord > 0 else amin)(sums, other, True)
    if not keepdim:
        result = result.squeeze(max(rows, cols)).squeeze(min(rows, cols))
    return result


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or ``A`` is 1-D), a matrix
    norm when ``dim`` is a pair (or ``A`` is 2-D); ``ord=None``: the 2-norm of the flattened
    tensor when ``dim`` is None, else the vector 2-norm / Frobenius norm."""
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if isinstance(dim, int) or (dim is None and A.ndim == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and A.ndim != 2:
        raise RuntimeError(f"linalg.norm: ord={ord!r} with dim=None needs a 1-D or 2-D input, "
                           f"got shape {tuple(A.shape)}")
    return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim,
                       keepdim, dtype=dtype)


def _square(op: str, A: Tensor) -> None:
    _floating(op, A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{tuple(A.shape[-2:])} matrices" if A.ndim >= 2 else
                           f"linalg.{op}: A must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}")


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-1, -2)


def _singular_error(op: str, error) -> RuntimeError:
    return RuntimeError(f"linalg.{op}: the matrix is singular (not invertible): {error}")


class Inv(Function):
    """``Y = A^-1`` (batched); backward ``-Y^T G Y^T``."""

    def forward(self, a):
        xp = get_array_module(a)
        try:
            return xp.linalg.inv(a)
        except np.linalg.LinAlgError as error:
            raise _singular_error("inv", error) from None

    def backward(self, grad_output):
        y_t = _mT(self.output)
        return -matmul(matmul(y_t, grad_output), y_t)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A`` (..., n, n)."""
    _square("inv", A)
    return Inv.apply(A)


class Det(Function):
    """``d = det(A)`` (batched); backward ``G d A^-T``."""

    def forward(self, a):
        return get_array_module(a).linalg.det(a)

    def backward(self, grad_output):
        scale = (grad_output * self.output).unsqueeze(-1).unsqueeze(-1)
        return scale * _mT(inv(self.inputs[0]))


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in ``A`` (..., n, n) -> (...)."""
    _square("det", A)
    return Det.apply(A)


class Solve(Function):
    """``X`` with ``A X = B`` (B: (..., n, k)); backward ``gB = solve(A^T, G)``,
    ``gA = -gB X^T``."""

    def forward(self, a, b):
        xp = get_array_module(a)
        try:
            return xp.linalg.solve(a, b)
        except np.linalg.LinAlgError as error:
            raise _singular_error("solve", error) from None

    def backward(self, grad_output):
        a, _ = self.inputs
        grad_b = Solve.apply(_mT(a), grad_output)
        grad_a = -matmul(grad_b, _mT(self.output)) if self.needs_input_grad[0] else None
        return grad_a, grad_b


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` for square ``A`` (..., n, n); ``B`` (..., n, k) or a vector
    (..., n). ``left=False`` solves ``X A = B`` instead (as ``solve(A^T, B^T)^T``)."""
    _square("solve", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve: B: expected a Tensor, got {type(B).__name__}")
    if not left:
        return _mT(solve(_mT(A), _mT(B)))
    vector = B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    if vector:
        B = B.unsqueeze(-1)
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: A is {tuple(A.shape[-2:])} but B has "
                           f"{B.shape[-2]} rows (expected {A.shape[-1]})")
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    A = A.expand(*batch, *A.shape[-2:]) if tuple(A.shape[:-2]) != batch else A
    B = B.expand(*batch, *B.shape[-2:]) if tuple(B.shape[:-2]) != batch else B
    X = Solve.apply(A, B)
    return X.squeeze(-1) if vector else X
