r"""Special functions and sign games, as PyTorch's top-level names: lgamma, digamma,
polygamma, erfinv, erfc, logit, sinc; sgn, signbit, copysign, fmax, fmin, heaviside.

The values come from ``scipy.special`` (already a dependency; ``cupyx.scipy.special`` on
the GPU). The derivatives are Tensor expressions, so they differentiate again:

* lgamma(x) = log |Gamma(x)|:   d/dx = digamma(x) = psi(x)
* digamma(x) = Gamma'(x) / Gamma(x):   d/dx = polygamma(1, x) (the trigamma function)
* polygamma(n, x) = d^n/dx^n digamma(x):   d/dx = polygamma(n + 1, x)
* erfinv(x), the inverse of erf on (-1, 1):   d/dx = sqrt(pi) / 2 exp(erfinv(x)^2)
* erfc(x) = 1 - erf(x):   d/dx = -2 / sqrt(pi) exp(-x^2)
* logit(x) = log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given:
  d/dx = 1 / (x (1 - x)) inside the clamp, 0 outside (PyTorch's rule)
* sinc(x) = sin(pi x) / (pi x), 1 at 0:   d/dx = (cos(pi x) - sinc(x)) / x, 0 at x = 0
* copysign(a, b) = |a| with b's sign bit:   d/da = copysign(a, b) / a (0 where a = 0),
  d/db = 0
* fmax(a, b) = max ignoring NaN (NaN only where both are): the gradient goes to a where
  a >= b or b is NaN, else to b (ties go to a, as PyTorch's; ``maximum`` splits them)
* sgn = sign for real tensors (gradient 0); signbit and heaviside have no gradient.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .elementwise_extra import _check, _floating, sign
from .math import _check_broadcast, clamp, exp, log, where
from .promotion import operands

_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _scipy_special(xp):
    """scipy.special for NumPy arrays, cupyx.scipy.special for CuPy ones."""
    if xp is np:
        import scipy.special

        return scipy.special
    import cupyx.scipy.special

    return cupyx.scipy.special


class Special(Function):
    """y = f(x) for f a special function of ``_SPECIAL``;  dL/dx = g f'(x)."""

    def forward(self, x, name, order=0):
        self.name, self.order = name, order
        xp = get_array_module(x)
        special = _scipy_special(xp)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if name == "polygamma":
                y = special.polygamma(order, x) if order else special.psi(x)
            elif name == "digamma":
                y = special.psi(x)
            else:
                y = getattr(special, {"lgamma": "gammaln"}.get(name, name))(x)
        return xp.asarray(y).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        if self.name == "lgamma":
            return g * digamma(x)
        if self.name == "digamma":
            return g * polygamma(1, x)
        if self.name == "polygamma":
            return g * polygamma(self.order + 1, x)
        if self.name == "erfinv":
            y = self.output
            return g * (exp(y * y) * _SQRT_PI_OVER_2)
        return g * (exp(-(x * x)) * -_TWO_OVER_SQRT_PI)  # erfc


def lgamma(input: Tensor) -> Tensor:
    """log |Gamma(x)| (inf at 0 and the negative integers); integers compute in float32."""
    return Special.apply(_floating(_check("lgamma", input)), name="lgamma")


def digamma(input: Tensor) -> Tensor:
    """psi(x) = d/dx log Gamma(x) (-inf at 0, NaN at the negative integers, as PyTorch)."""
    return Special.apply(_floating(_check("digamma", input)), name="digamma")


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma (``torch.polygamma(n, input)``; n = 0 is digamma)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"polygamma: n: expected a non-negative integer, got {n!r} "
                         "(PyTorch: 'polygamma(n, x) does not support negative n')")
    return Special.apply(_floating(_check("polygamma", input)), name="polygamma", order=int(n))


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function: erf(erfinv(x)) = x on (-1, 1); +-inf at +-1, NaN
    outside."""
    return Special.apply(_floating(_check("erfinv", input)), name="erfinv")


def erfc(input: Tensor) -> Tensor:
    """1 - erf(x), accurate where erf(x) is close to 1 (large x)."""
    return Special.apply(_floating(_check("erfc", input)), name="erfc")


def logit(input: Tensor, eps=None) -> Tensor:
    """log(x / (1 - x)), the inverse of sigmoid; with ``eps``, x is clamped to
    [eps, 1 - eps] first (so 0 and 1 give finite numbers and zero gradient outside)."""
    x = _floating(_check("logit", input))
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 and 1 give -inf and inf
        y = log(x) - log(1 - x)
        if eps is None:  # outside [0, 1]: NaN, and a NaN gradient (PyTorch's)
            outside = (x.array < 0) | (x.array > 1)
            if outside.any():
                y = y + x * Tensor._wrap(np.where(outside, np.nan, 0.0).astype(x.dtype))
        return y


class Sinc(Function):
    """y = sin(pi x) / (pi x), 1 at 0;  dL/dx = g (cos(pi x) - y) / x, 0 at x = 0."""

    def forward(self, x):
        with np.errstate(invalid="ignore"):
            return get_array_module(x).sinc(x).astype(x.dtype, copy=False)

    def backward(self, g):
        from .elementwise_extra import cos

        x = self.inputs[0]
        nonzero = x.array != 0
        safe = where(nonzero, x, 1.0)  # no 0/0 in the branch where() leaves out
        return g * where(nonzero, (cos(safe * math.pi) - sinc(safe)) / safe, 0.0)


def sinc(input: Tensor) -> Tensor:
    """The normalised sinc, sin(pi x) / (pi x), 1 at x = 0."""
    return Sinc.apply(_floating(_check("sinc", input)))


def sgn(input: Tensor) -> Tensor:
    """sign(x) for real tensors, 0 at NaN as PyTorch's (its sgn is x / |x| for complex
    ones); gradient 0."""
    x = sign(_check("sgn", input))
    if x.dtype.kind not in "fc" or not get_array_module(x.array).isnan(x.array).any():
        return x
    return where(x.array != x.array, 0.0, x)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (so -0.0 is True, 0.0 False): bool, no gradient."""
    x = _check("signbit", input).array
    return Tensor._wrap(get_array_module(x).signbit(x))


class CopySign(Function):
    """y = |a| with the sign bit of b;  dL/da = g y / a (0 where a = 0), dL/db = 0."""

    def forward(self, a, b):
        xp = get_array_module(a)
        y = xp.copysign(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.factor = xp.where(a != 0, y / xp.where(a != 0, a, 1), 0).astype(y.dtype)
        return y

    def backward(self, g):
        from .math import MaskMul

        grad_a = (MaskMul.apply(g, mask=self.factor, rule=("mask",))
                  if self.needs_input_grad[0] else None)
        return grad_a, (g * 0 if self.needs_input_grad[1] else None)


def copysign(input: Tensor, other) -> Tensor:
    """|input| with other's sign (a tensor, broadcast, or a number); integers give float32."""
    _check("copysign", input)
    a, b = operands(input, other, True)
    if a.shape != b.shape:
        _check_broadcast("copysign", a, b)
    return CopySign.apply(a, b)


def _nan_ignoring(op: str, input: Tensor, other: Tensor, greater: bool) -> Tensor:
    _check(op, input)
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}: other: expected a Tensor, got {type(other).__name__}")
    a, b = operands(input, other, False)
    if a.shape != b.shape:
        _check_broadcast(op, a, b)
    x, y = a.array, b.array
    take_a = ((x >= y) if greater else (x <= y)) | (y != y)
    return where(take_a, a, b)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise max where a NaN loses to a number (``maximum`` propagates NaN)."""
    return _nan_ignoring("fmax", input, other, True)


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise min where a NaN loses to a number (``minimum`` propagates NaN)."""
    return _nan_ignoring("fmin", input, other, False)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (NaN gives 0, as PyTorch's
    ``x == 0 ? values : x > 0``). input and values need one dtype; no gradient."""
    _check("heaviside", input)
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside: values: expected a Tensor, got {type(values).__name__}")
    if input.dtype != values.dtype:
        raise TypeError(f"heaviside: values: expected dtype {input.dtype} (input's), got "
                        f"{values.dtype} (PyTorch: 'heaviside is not yet implemented for "
                        "tensors with different dtypes')")
    _check_broadcast("heaviside", input, values)
    x, v = input.array, values.array
    xp = get_array_module(x)
    return Tensor._wrap(xp.where(x == 0, v, (x > 0).astype(x.dtype)).astype(x.dtype))


__all__ = ["lgamma", "digamma", "polygamma", "erfinv", "erfc", "logit", "sinc", "sgn",
           "signbit", "copysign", "fmax", "fmin", "heaviside"]


def methods() -> dict:
    """{Tensor method name: function}; ``x.polygamma(n)`` takes n after the tensor."""
    table = {name: globals()[name] for name in __all__ if name != "polygamma"}
    table["polygamma"] = lambda self, n: polygamma(n, self)
    return table
