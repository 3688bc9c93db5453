r"""Diagonals: ``diagonal``, ``diag``, ``trace``, ``outer``, as PyTorch's.

    diagonal(x, offset, dim1, dim2)[..., k] = x[..., i_k, j_k],   i_k = k + max(-offset, 0),
                                                                   j_k = k + max(offset, 0)
    diag(v, offset)      a square matrix with v on diagonal ``offset`` (v 1-d), or
    diag(x, offset)      diagonal ``offset`` of a matrix x (2-d)
    trace(x)             sum of diagonal 0 of a matrix
    outer(u, v)[i, j]    u_i v_j

All are built from indexing (``getitem``, ``index_put``), so their gradients (and second
derivatives) are those ops': the diagonal's gradient is g placed back on the diagonal.
The dims of ``diagonal`` are removed and the diagonal becomes the last dim (PyTorch's
order).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from .setitem import index_put
from .shape import _normalize_dim, getitem, permute, reshape
from .torch_errors import RuntimeValueError

__all__ = ["diagonal", "diag", "trace", "outer"]


def _check(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(x).__name__}")
    return x


def _diagonal_positions(rows: int, cols: int, offset: int):
    first_row, first_col = max(-offset, 0), max(offset, 0)
    length = max(min(rows - first_row, cols - first_col), 0)
    steps = np.arange(length)
    return steps + first_row, steps + first_col


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` (> 0 above, < 0 below) of the matrices in dims (dim1, dim2)."""
    _check("diagonal", input)
    if input.ndim < 2:
        raise ValueError(f"diagonal: input: expected at least 2 dims, got shape {input.shape}")
    dim1 = _normalize_dim(dim1, input.ndim, "dim1")
    dim2 = _normalize_dim(dim2, input.ndim, "dim2")
    if dim1 == dim2:
        raise RuntimeValueError(f"diagonal: dim1 and dim2 must differ, got both {dim1}")
    rest = [d for d in range(input.ndim) if d not in (dim1, dim2)]
    moved = permute(input, (*rest, dim1, dim2))              # (..., rows, cols)
    rows, cols = _diagonal_positions(input.shape[dim1], input.shape[dim2], int(offset))
    return getitem(moved, (Ellipsis, rows, cols))


_diagonal_of = diagonal   # ``diag``'s argument is called ``diagonal`` too (PyTorch's name)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d v: the square matrix with v on diagonal ``diagonal``; 2-d x: that diagonal of x."""
    _check("diag", input)
    if input.ndim == 2:
        return _diagonal_of(input, diagonal)
    if input.ndim != 1:
        raise RuntimeValueError(f"diag: input: expected a 1-d or 2-d tensor, got shape "
                                f"{input.shape}")
    size = input.shape[0] + abs(int(diagonal))
    zeros = Tensor._wrap(np.zeros((size, size), dtype=input.dtype))
    if input.device != "cpu":
        zeros = zeros.to(input.device)
    rows, cols = _diagonal_positions(size, size, int(diagonal))
    return index_put(zeros, (rows, cols), input)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    _check("trace", input)
    if input.ndim != 2:
        raise RuntimeValueError(f"trace: input: expected a matrix (2-d), got shape {input.shape}")
    return diagonal(input).sum()


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """u v^T of two 1-d tensors: (n,), (m,) -> (n, m)."""
    _check("outer", input)
    _check("outer", vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeValueError(f"outer: expected two 1-d tensors, got shapes {input.shape} and "
                                f"{vec2.shape}")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))
