"""A few more ``torch.*`` functions, built from differentiable ops: ``frexp``, ``ldexp``,
``vander``, ``combinations``, ``chain_matmul``, ``logdet``, and ``Tensor.ravel``.

* frexp(x) = (mantissa, exponent) with x = mantissa * 2^exponent, |mantissa| in [0.5, 1)
  (exponent int32, as PyTorch); the mantissa is x times the constant 2^-exponent, so its
  gradient is g / 2^exponent (PyTorch's rule).
* ldexp(x, e) = x * 2^e (PyTorch computes it so: the result is floating-point).
* vander(x, N, increasing) = the columns x^(N-1), ..., x, 1 (x^0 first when increasing),
  as running products (exact for integers; integer and bool inputs give int64).
* combinations(x, r, with_replacement) = the r-element combinations of a 1-D x, in
  itertools' order, gathered (so the gradient scatters back).
* chain_matmul(*matrices) = their product left to right (PyTorch's deprecated name).
* kthvalue(x, k, dim, keepdim) = (values, indices) of the k-th smallest along dim (a
  stable sort picks among ties); the gradient goes to the element at indices.
* logdet(x) = log det(x): -inf for a singular matrix, NaN for a negative determinant
  (PyTorch's values); the gradient is inverse(x)^T through det's own.
"""
from __future__ import annotations

import itertools
from collections import namedtuple
from functools import reduce

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .index_ops import Take, gather
from .math import log, matmul, power
from .shape import _normalize_dim, reshape, squeeze, stack
from .torch_errors import RuntimeIndexError, RuntimeTypeError, RuntimeValueError


def _check(op: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(value).__name__}")
    return value


def frexp(input: Tensor):
    """``(mantissa, exponent)``: input = mantissa * 2**exponent, 0.5 <= |mantissa| < 1."""
    _check("frexp", input)
    if input.dtype.kind != "f":
        raise RuntimeTypeError(f"frexp: input: only floating-point dtypes are supported, got "
                               f"{input.dtype} (as PyTorch)")
    xp = get_array_module(input.array)
    _, exponent = xp.frexp(input.array)
    scale = xp.ldexp(xp.ones((), dtype=input.dtype), -exponent).astype(input.dtype)
    return input * Tensor._wrap(scale), Tensor._wrap(exponent.astype(np.int32))


def ldexp(input: Tensor, other) -> Tensor:
    """input * 2**other (floating-point, as PyTorch's ``torch.ldexp``)."""
    _check("ldexp", input)
    return input * power(2.0, other)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:  # noqa: N803 (PyTorch's name)
    """The Vandermonde matrix of a 1-D x: column j is x^(N-1-j) (x^j when increasing)."""
    _check("vander", x)
    if x.ndim != 1:
        raise RuntimeValueError(f"vander: x: expected a 1-D tensor, got shape {x.shape}")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeValueError(f"vander: N: expected a non-negative int, got {N}")
    if x.dtype.kind in "biu":
        x = x.long()
    xp = get_array_module(x.array)
    columns = [Tensor._wrap(xp.ones(x.shape, dtype=x.dtype))] if n else []
    for _ in range(1, n):
        columns.append(columns[-1] * x)
    if not columns:
        return Tensor._wrap(xp.zeros((x.shape[0], 0), dtype=x.dtype))
    out = stack(columns if increasing else columns[::-1], dim=1)
    return out


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Rows of r elements of a 1-D input, one per combination (itertools' order)."""
    _check("combinations", input)
    if input.ndim != 1:
        raise RuntimeValueError(f"combinations: input: expected a 1-D tensor, got shape "
                                f"{input.shape}")
    if r < 0:
        raise RuntimeValueError(f"combinations: r: expected a non-negative int, got {r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if r == 0 or not rows:
        return Tensor._wrap(get_array_module(input.array).zeros((0,) if r == 0 else (0, r),
                                                                dtype=input.dtype))
    index = np.asarray(rows, dtype=np.int64)
    return Take.apply(input, index=(get_array_module(input.array).asarray(index),))


def chain_matmul(*matrices) -> Tensor:
    """The product of the matrices, left to right (``torch.chain_matmul``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeValueError("chain_matmul: expected one matrix or more, got none")
    for i, m in enumerate(matrices):
        if not isinstance(m, Tensor) or m.ndim != 2:
            raise RuntimeValueError(f"chain_matmul: matrices[{i}]: expected a 2-D tensor, got "
                                    f"{getattr(m, 'shape', type(m).__name__)}")
    return reduce(matmul, matrices)


def logdet(input: Tensor) -> Tensor:
    """log det(input) for square matrices (batched): -inf where singular, NaN where the
    determinant is negative, as PyTorch."""
    from ..linalg import det

    _check("logdet", input)
    with np.errstate(invalid="ignore", divide="ignore"):
        return log(det(input))


KthvalueResult = namedtuple("kthvalue", ["values", "indices"])


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the k-th smallest element along ``dim`` (k from 1)."""
    _check("kthvalue", input)
    if input.ndim == 0:
        _normalize_dim(dim, 0)
        if k != 1:
            raise RuntimeIndexError(f"kthvalue: k: expected 1 for a 0-d tensor, got {k}")
        return KthvalueResult(input * 1, Tensor._wrap(np.zeros((), dtype=np.int64)))
    dim = _normalize_dim(dim, input.ndim)
    size = input.shape[dim]
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= size:
        raise RuntimeIndexError(f"kthvalue: k: expected an int in [1, {size}] (the size of dim "
                                f"{dim}), got {k!r}")
    xp = get_array_module(input.array)
    order = xp.argsort(input.array, axis=dim, kind="stable")
    indices = xp.take(order, [int(k) - 1], axis=dim)
    values = gather(input, dim, Tensor._wrap(indices))
    if not keepdim:
        values, indices = squeeze(values, dim), indices.squeeze(dim)
    return KthvalueResult(values, Tensor._wrap(indices.astype(np.int64)))


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (``Tensor.ravel`` / ``torch.ravel``)."""
    return reshape(input, (-1,))


__all__ = ["frexp", "ldexp", "vander", "combinations", "chain_matmul", "logdet", "ravel",
           "kthvalue"]


def methods() -> dict:
    """{Tensor method name: function}."""
    return {"frexp": frexp, "ldexp": ldexp, "logdet": logdet, "ravel": ravel,
            "kthvalue": kthvalue}
