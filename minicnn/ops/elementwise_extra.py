r"""More elementwise math: sin, cos, rsqrt, log2, erf; the rounding family (floor, ceil,
round, trunc, sign, whose gradient is 0 almost everywhere); the tests isnan, isinf,
isfinite; and the integer-style binary ops ``//`` (floor_divide) and ``%`` (remainder).

Derivatives (written with Tensor ops, so they differentiate again):

* sin' = cos, cos' = -sin
* rsqrt(x) = x^{-1/2}:  d/dx = -y^3 / 2
* log2' = 1 / (x ln 2)
* erf'(x) = 2 / sqrt(pi) e^{-x^2}
* remainder(a, b) = a - floor(a / b) b:  d/da = 1, d/db = -floor(a / b)
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor
from ..backend import DEFAULT_DTYPE, get_array_module
from .math import _check_broadcast, exp
from .promotion import operands as promoted
from .torch_errors import NotImplementedTypeError, RuntimeZeroDivisionError

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _check(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    return input


def _floating(input: Tensor) -> Tensor:
    """Integer and bool inputs of sin, log2 ... are promoted to float32, as PyTorch does."""
    if input.dtype.kind in "fc":
        return input
    return Tensor._wrap(input.array.astype(DEFAULT_DTYPE))


# -- smooth functions ---------------------------------------------------------------------
class Sin(Function):
    """y = sin x;  dL/dx = g cos x."""

    def forward(self, x):
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * cos(self.inputs[0])


class Cos(Function):
    """y = cos x;  dL/dx = -g sin x."""

    def forward(self, x):
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -(g * sin(self.inputs[0]))


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dL/dx = -g y^3 / 2 (y is the output, itself differentiable)."""

    def forward(self, x):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (1 / xp.sqrt(x)).astype(x.dtype, copy=False)

    def backward(self, g):
        y = self.output
        return g * (y * y * y) * -0.5


class Log2(Function):
    """y = log2 x;  dL/dx = g / (x ln 2)."""

    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return get_array_module(x).log2(x)

    def backward(self, g):
        return g / (self.inputs[0] * _LN2)


def erf_array(x):
    """erf on a raw array: SciPy on the CPU, cupyx.scipy on the GPU."""
    xp = get_array_module(x)
    if xp is np:
        from scipy.special import erf as _erf
    else:  # pragma: no cover - needs a GPU
        from cupyx.scipy.special import erf as _erf
    return _erf(x).astype(x.dtype, copy=False)


class Erf(Function):
    r"""y = erf x = \frac{2}{\sqrt\pi} \int_0^x e^{-t^2} dt;
    dL/dx = g \frac{2}{\sqrt\pi} e^{-x^2}."""

    def forward(self, x):
        return erf_array(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * exp(-(x * x)) * _TWO_OVER_SQRT_PI


def sin(input: Tensor) -> Tensor:
    return Sin.apply(_floating(_check("sin", input)))


def cos(input: Tensor) -> Tensor:
    return Cos.apply(_floating(_check("cos", input)))


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(x) (inf at 0, NaN below 0, as PyTorch)."""
    return Rsqrt.apply(_floating(_check("rsqrt", input)))


def log2(input: Tensor) -> Tensor:
    return Log2.apply(_floating(_check("log2", input)))


def erf(input: Tensor) -> Tensor:
    """The error function; GELU's exact form is x (1 + erf(x / sqrt 2)) / 2."""
    return Erf.apply(_floating(_check("erf", input)))


# -- rounding: piecewise constant, gradient 0 ---------------------------------------------
class Rounding(Function):
    """y = floor / ceil / round / trunc / sign of x. The function is piecewise constant, so
    dL/dx = 0 (PyTorch's convention, also at the jumps)."""

    def forward(self, x, kind, decimals=0):
        xp = get_array_module(x)
        if kind == "round":
            return xp.round(x, decimals)
        if kind == "sign" and x.dtype.kind == "f":   # sign(NaN) is 0 in PyTorch (NumPy: NaN)
            return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype))
        return getattr(xp, kind)(x)

    def backward(self, g):
        return Tensor._wrap(get_array_module(g.array).zeros(g.shape, dtype=g.dtype))


def _rounding(kind: str, input: Tensor, decimals: int = 0) -> Tensor:
    _check(kind, input)
    if input.dtype.kind in "iub" and kind != "sign":
        return Tensor._wrap(input.array.copy())  # integers are already whole numbers
    if input.dtype == np.bool_:
        return Tensor._wrap(input.array.copy())
    return Rounding.apply(input, kind=kind, decimals=int(decimals))


def floor(input: Tensor) -> Tensor:
    return _rounding("floor", input)


def ceil(input: Tensor) -> Tensor:
    return _rounding("ceil", input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even (0.5 -> 0, 1.5 -> 2, as PyTorch), to ``decimals`` places."""
    return _rounding("round", input, decimals)


def trunc(input: Tensor) -> Tensor:
    return _rounding("trunc", input)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 (the input's dtype)."""
    return _rounding("sign", input)


# -- tests (bool, no gradient) ------------------------------------------------------------
def isnan(input: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(_check("isnan", input).array).isnan(input.array))


def isinf(input: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(_check("isinf", input).array).isinf(input.array))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(_check("isfinite", input).array).isfinite(input.array))


# -- // and % -----------------------------------------------------------------------------
def _operands(op: str, a, b):
    """PyTorch's promotion (ops/promotion.py): a bool tensor // 2 is int64 (NumPy would cast
    the 2 to True), int32 % 2.5 is float32; bool with bool is refused, as PyTorch."""
    a, b = promoted(a, b)
    if a.shape != b.shape:
        _check_broadcast(op, a, b)
    if a.dtype == np.bool_:
        raise NotImplementedTypeError(f"{op}: not implemented for two bool operands (PyTorch "
                                      f"neither); convert one first (x.long())")
    return a, b


def _check_integer_divisor(op: str, b) -> None:
    if b.dtype.kind in "iu" and (b == 0).any():
        raise RuntimeZeroDivisionError(f"{op}: integer division by zero (PyTorch raises "
                                       "RuntimeError: ZeroDivisionError)")


class FloorDivide(Function):
    """y = floor(a / b) (Python's //). Not differentiable, as in PyTorch."""

    def forward(self, a, b):
        _check_integer_divisor("floor_divide", b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return get_array_module(a).floor_divide(a, b)

    def backward(self, g):
        raise RuntimeError("floor_divide: the derivative is not implemented (PyTorch: "
                           "'derivative for aten::floor_divide is not implemented'); "
                           "use torch.floor(a / b), whose gradient is 0")


class Remainder(Function):
    """y = a - floor(a / b) b (the sign of b, Python's %);  dL/da = g, dL/db = -g floor(a/b).

    ``Fmod`` is the same with trunc for floor: the class names its array functions."""

    _op, _values, _quotient_rounding = "remainder", "remainder", "floor"

    def forward(self, a, b):
        _check_integer_divisor(self._op, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return getattr(get_array_module(a), self._values)(a, b)

    def backward(self, g):
        a, b = self.inputs
        grad_b = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                rounding = getattr(get_array_module(a.array), self._quotient_rounding)
                quotient = rounding(a.array / b.array)
            grad_b = -(g * Tensor._wrap(quotient.astype(g.dtype, copy=False)))
        return g, grad_b


def floor_divide(input, other) -> Tensor:
    """``input // other`` with Python's (and PyTorch's) floor rounding."""
    return FloorDivide.apply(*_operands("floor_divide", input, other))


def remainder(input, other) -> Tensor:
    """``input % other``: the result has the sign of ``other`` (Python's and PyTorch's)."""
    return Remainder.apply(*_operands("remainder", input, other))


__all__ = ["sin", "cos", "rsqrt", "log2", "erf", "erf_array", "floor", "ceil", "round",
           "trunc", "sign", "isnan", "isinf", "isfinite", "floor_divide",
           "remainder"]
