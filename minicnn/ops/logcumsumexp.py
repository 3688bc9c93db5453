r"""``logcumsumexp`` computed as a running ``logaddexp``, so no prefix underflows.

y_i = log sum_{j <= i} e^{x_j} = logaddexp(y_{i-1}, x_i): each step shifts by its own
maximum, so [0, 100] gives [0, 100] (a single shift by the row's max would turn e^{0-100}
into a float32 denormal and y_0 into garbage).

dL/dx_j = sum_{i >= j} g_i e^{x_j - y_i}, done in log space as PyTorch (and TensorFlow)
do, splitting g by sign so every log is of a positive number:

    dL/dx = exp(x + rev_lcse(log g+ - y)) - exp(x + rev_lcse(log g- - y))

with rev_lcse the logcumsumexp from the end (flip, logcumsumexp, flip) and log g+ the
log of g where g > 0 (the dtype's lowest value elsewhere). The backward is built from
Tensor ops, this op included, so it differentiates again.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .index_ops import flip
from .math import abs as _abs, exp, log, where


class LogCumSumExp(Function):
    """y = logcumsumexp(x) along ``dim`` (a running logaddexp)."""

    def forward(self, x, dim):
        self.dim = dim
        xp = get_array_module(x)
        with np.errstate(invalid="ignore"):
            return xp.logaddexp.accumulate(x, axis=dim)

    def backward(self, g):
        (x,) = self.inputs
        y, dim = self.output, self.dim
        xp = get_array_module(g.array)
        lowest = Tensor._wrap(xp.asarray(np.finfo(g.dtype).min, dtype=g.dtype))
        one = Tensor._wrap(xp.ones((), dtype=g.dtype))
        log_abs = log(where(g != 0, _abs(g), one))

        def from_the_end(t):
            return flip(LogCumSumExp.apply(flip(t, dim), dim=dim), dim)

        positive = from_the_end(where(g > 0, log_abs, lowest) - y)
        negative = from_the_end(where(g < 0, log_abs, lowest) - y)
        return exp(positive + x) - exp(negative + x)


def logcumsumexp_along(input: Tensor, dim: int) -> Tensor:
    """logcumsumexp of a float tensor along a normalized ``dim`` (NumPy arrays; CuPy, which
    has no ``logaddexp.accumulate``, gets None and the caller's shifted formula)."""
    if get_array_module(input.array) is not np:
        return None
    return LogCumSumExp.apply(input, dim=dim)
