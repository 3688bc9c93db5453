"""Modified Bessel functions of the first kind, ``torch.i0`` (``Tensor.i0``) and
``torch.special.i1``-style ``i1`` used for its derivative; values from ``scipy.special``.

* i0(x):  d/dx = i1(x)
* i1(x):  d/dx = i0(x) - i1(x) / x, and 1/2 at x = 0

Both derivatives are Tensor expressions, so they differentiate again.
"""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .elementwise_extra import _check, _floating
from .math import where
from .special import _scipy_special


class Bessel(Function):
    """y = i0(x) or i1(x) (``order`` 0 or 1)."""

    def forward(self, x, order):
        self.order = order
        xp = get_array_module(x)
        special = _scipy_special(xp)
        y = special.i0(x) if order == 0 else special.i1(x)
        return xp.asarray(y).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        if self.order == 0:
            return g * Bessel.apply(x, order=1)
        zero = x.array == 0
        safe = where(zero, 1.0, x)
        return g * where(zero, 0.5, Bessel.apply(x, order=0) - Bessel.apply(x, order=1) / safe)


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0 (PyTorch's ``torch.i0``);
    integer inputs give the default float dtype."""
    return Bessel.apply(_floating(_check("i0", input)), order=0)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (``torch.special.i1``)."""
    return Bessel.apply(_floating(_check("i1", input)), order=1)


__all__ = ["i0"]


def methods() -> dict:
    """{Tensor method name: function}."""
    return {"i0": i0}
