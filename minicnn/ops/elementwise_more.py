r"""Still more elementwise math, PyTorch's names: the trigonometric and hyperbolic family
(tan, asin ... atanh, and their ``arc`` aliases), expm1, log1p, log10, exp2, reciprocal,
frac, deg2rad, rad2deg, nan_to_num; the binary atan2, hypot, fmod, lerp, logaddexp(2),
xlogy, float_power, addcmul, addcdiv, clamp_min, clamp_max; the named spellings divide,
true_divide, multiply, subtract, negative, absolute, clip; the logical ops and the tests
isclose, allclose, equal (no gradient); and the in-place twins (``x.lerp_(...)``).

Derivatives (written with Tensor ops, so they differentiate again; y is the output):

* tan' = 1 + y^2;  asin' = 1 / sqrt(1 - x^2);  acos' = -1 / sqrt(1 - x^2);
  atan' = 1 / (1 + x^2)
* sinh' = cosh, cosh' = sinh;  asinh' = 1 / sqrt(x^2 + 1);  acosh' = 1 / sqrt(x^2 - 1);
  atanh' = 1 / (1 - x^2)
* expm1' = y + 1;  log1p' = 1 / (1 + x);  log10' = 1 / (x ln 10);  exp2' = y ln 2
* reciprocal' = -y^2;  frac(x) = x - trunc(x): frac' = 1;  deg2rad' = pi / 180
* nan_to_num' = 1 where x is finite, else 0
* atan2(a, b):  d/da = b / (a^2 + b^2),  d/db = -a / (a^2 + b^2)
* hypot(a, b) = sqrt(a^2 + b^2):  d/da = a / y,  d/db = b / y
* fmod(a, b) = a - trunc(a / b) b (the sign of a, C's fmod):  d/da = 1, d/db = -trunc(a / b)
* logaddexp(a, b) = log(e^a + e^b):  d/da = e^(a - y);  logaddexp2: d/da = 2^(a - y)
* xlogy(x, y) = x log y (0 where x = 0):  d/dx = log y (0 where x = 0),  d/dy = x / y
* lerp, float_power, addcmul, addcdiv, clamp_min, clamp_max are compositions of
  differentiable ops (lerp(a, b, w) = a + w (b - a); float_power is pow in float64).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from . import math as _m
from .elementwise_extra import Remainder, _check, _floating, rsqrt
from .inplace import apply_in_place
from .math import MaskMul, _check_broadcast, exp, where
from .promotion import operands
from .tensor_methods import div as _div, mul as _mul, sub as _sub
from .torch_errors import RuntimeTypeError

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _other(op: str, name: str, value) -> Tensor:
    """PyTorch's ``atan2(x, 2.0)`` raises: 'argument 'other' must be Tensor'."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    return value


def _pair(op: str, a, b, floating: bool = False):
    a, b = operands(a, b, floating)
    if a.shape != b.shape:
        _check_broadcast(op, a, b)
    return a, b


# -- unary functions: one Function, a table of (NumPy name, derivative) -------------------
_UNARY = {
    "tan": ("tan", lambda x, y: 1 + y * y),
    "asin": ("arcsin", lambda x, y: rsqrt(1 - x * x)),
    "acos": ("arccos", lambda x, y: -rsqrt(1 - x * x)),
    "atan": ("arctan", lambda x, y: 1 / (1 + x * x)),
    "sinh": ("sinh", lambda x, y: cosh(x)),
    "cosh": ("cosh", lambda x, y: sinh(x)),
    "asinh": ("arcsinh", lambda x, y: rsqrt(x * x + 1)),
    "acosh": ("arccosh", lambda x, y: rsqrt(x * x - 1)),
    "atanh": ("arctanh", lambda x, y: 1 / (1 - x * x)),
    "expm1": ("expm1", lambda x, y: y + 1),
    "log1p": ("log1p", lambda x, y: 1 / (x + 1)),
    "log10": ("log10", lambda x, y: 1 / (x * _LN10)),
    "exp2": ("exp2", lambda x, y: y * _LN2),
    "reciprocal": ("reciprocal", lambda x, y: -(y * y)),
    "frac": (None, None),                                  # derivative 1
    "deg2rad": ("deg2rad", lambda x, y: math.pi / 180),
    "rad2deg": ("rad2deg", lambda x, y: 180 / math.pi),
}
_ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
            "arccosh": "acosh", "arctanh": "atanh"}


class Unary(Function):
    """y = f(x) for f in ``_UNARY``;  dL/dx = g f'(x), f' written with Tensor ops."""

    def forward(self, x, name):
        self.name = name
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if name == "frac":
                return x - xp.trunc(x)
            return getattr(xp, _UNARY[name][0])(x).astype(x.dtype, copy=False)

    def backward(self, g):
        derivative = _UNARY[self.name][1]
        return g if derivative is None else g * derivative(self.inputs[0], self.output)


def _unary(name: str):
    def op(input: Tensor) -> Tensor:
        _check(name, input)
        if name == "frac" and input.dtype.kind in "biu":
            raise TypeError(f"frac: input: not implemented for {input.dtype} (PyTorch: "
                            "'frac_cpu' not implemented for integers); integers have no "
                            "fractional part")
        return Unary.apply(_floating(input), name=name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.{name}``; integer inputs compute in float32, as PyTorch."
    return op


tan, asin, acos, atan = (_unary(n) for n in ("tan", "asin", "acos", "atan"))
sinh, cosh, asinh, acosh, atanh = (_unary(n) for n in ("sinh", "cosh", "asinh", "acosh",
                                                        "atanh"))
expm1, log1p, log10, exp2 = (_unary(n) for n in ("expm1", "log1p", "log10", "exp2"))
reciprocal, frac, deg2rad, rad2deg = (_unary(n) for n in ("reciprocal", "frac", "deg2rad",
                                                          "rad2deg"))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = (
    globals()[_ALIASES[n]] for n in ("arcsin", "arccos", "arctan", "arcsinh", "arccosh",
                                     "arctanh"))


class NanToNum(Function):
    """NaN, +inf, -inf replaced by numbers;  dL/dx = g where x is finite, else 0."""

    def forward(self, x, nan, posinf, neginf):
        xp = get_array_module(x)
        self.finite = xp.isfinite(x).astype(x.dtype)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return MaskMul.apply(g, mask=self.finite.astype(g.dtype, copy=False), rule=("mask",))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN -> ``nan``, inf -> ``posinf`` (default: the dtype's largest number), -inf ->
    ``neginf`` (default: the most negative). Integer tensors come back as a copy."""
    _check("nan_to_num", input)
    if input.dtype.kind in "biu":
        return Tensor._wrap(input.array.copy())
    info = np.finfo(input.dtype)
    return NanToNum.apply(input, nan=float(nan),
                          posinf=float(info.max if posinf is None else posinf),
                          neginf=float(info.min if neginf is None else neginf))


# -- named spellings of existing ops ------------------------------------------------------
def neg(input: Tensor) -> Tensor:
    """-input (bool raises, as PyTorch: invert a mask with ~mask or logical_not)."""
    if _check("neg", input).dtype == np.bool_:
        raise RuntimeTypeError("neg: input: negation of a bool tensor is not supported (as in "
                               "PyTorch); to invert a mask use ~mask or mask.logical_not()")
    return _m.neg(input)


negative = neg


def absolute(input: Tensor) -> Tensor:
    return _m.abs(_check("absolute", input))


clip = _m.clamp
divide, multiply, subtract = _div, _mul, _sub


def true_divide(dividend, divisor) -> Tensor:
    """dividend / divisor, true division (``torch.true_divide``, ``divide`` without a
    rounding mode): integers divide into float32."""
    return _div(dividend, divisor)


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(input, min): a number (``clamp(input, min=min)``) or a tensor, broadcast; the
    gradient goes to input where input >= min, to min elsewhere (PyTorch's rule); NaN
    stays NaN."""
    _check("clamp_min", input)
    if not isinstance(min, Tensor):
        return _m.clamp(input, min=min)
    input, min = _pair("clamp_min", input, min)
    return where((input.array >= min.array) | (input.array != input.array), input, min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002 - PyTorch's name
    """min(input, max), the mirror of ``clamp_min``."""
    _check("clamp_max", input)
    if not isinstance(max, Tensor):
        return _m.clamp(input, max=max)
    input, max = _pair("clamp_max", input, max)
    return where((input.array <= max.array) | (input.array != input.array), input, max)


# -- binary functions ---------------------------------------------------------------------
class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a);
    dL/da = g b / (a^2 + b^2), dL/db = -g a / (a^2 + b^2), both 0 where a^2 + b^2 is 0
    (the origin, or an underflow: PyTorch's rule)."""

    def forward(self, a, b):
        return get_array_module(a).arctan2(a, b)

    def backward(self, g):
        a, b = self.inputs
        r2 = a * a + b * b
        zero = r2.array == 0
        recip = where(zero, 0.0, 1.0 / where(zero, 1.0, r2))
        return (g * b * recip if self.needs_input_grad[0] else None,
                -(g * a) * recip if self.needs_input_grad[1] else None)


class Hypot(Function):
    """y = sqrt(a^2 + b^2) (without overflow);  dL/da = g a / y, dL/db = g b / y."""

    def forward(self, a, b):
        return get_array_module(a).hypot(a, b)

    def backward(self, g):
        a, b = self.inputs
        y = self.output
        return (g * a / y if self.needs_input_grad[0] else None,
                g * b / y if self.needs_input_grad[1] else None)


class Fmod(Remainder):
    """y = a - trunc(a / b) b (the sign of a);  dL/da = g, dL/db = -g trunc(a / b)."""

    _op, _values, _quotient_rounding = "fmod", "fmod", "trunc"


class LogAddExp(Function):
    """y = log(e^a + e^b) (base 2 with ``base2``);  dL/da = g / (1 + e^(b - a)), dL/db =
    g / (1 + e^(a - b)) (2^(b - a) ...): the weights of a softmax of two, written as
    PyTorch does so that a = inf, b finite gives 1 and 0 (e^(a - y) would be e^(inf - inf))."""

    def forward(self, a, b, base2=False):
        self.base2 = base2
        xp = get_array_module(a)
        return xp.logaddexp2(a, b) if base2 else xp.logaddexp(a, b)

    def backward(self, g):
        a, b = self.inputs
        scale = _LN2 if self.base2 else 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            return (g / (exp((b - a) * scale) + 1.0) if self.needs_input_grad[0] else None,
                    g / (exp((a - b) * scale) + 1.0) if self.needs_input_grad[1] else None)


class Xlogy(Function):
    """y = x log(other), 0 where x = 0 (unless other is NaN);
    dL/dx = g log(other), 0 where x = 0 and other <= 0 (PyTorch's rule: at x = 0 and
    other > 0 it is log(other)), dL/dother = g x / other."""

    def forward(self, x, other):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * xp.log(other)
        return xp.where((x == 0) & ~xp.isnan(other), out.dtype.type(0), out)

    def backward(self, g):
        x, other = self.inputs
        grad_x = grad_other = None
        if self.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_x = g * where((x.array == 0) & (other.array <= 0), 0, _m.log(other))
        if self.needs_input_grad[1]:
            grad_other = g * x / other
        return grad_x, grad_other


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of (other, input) in (-pi, pi]; integers compute in float32."""
    _check("atan2", input)
    _other("atan2", "other", other)
    return Atan2.apply(*_pair("atan2", input, other, floating=True))


arctan2 = atan2


def hypot(input: Tensor, other: Tensor) -> Tensor:
    _check("hypot", input)
    _other("hypot", "other", other)
    return Hypot.apply(*_pair("hypot", input, other, floating=True))


def fmod(input: Tensor, other) -> Tensor:
    """C's fmod: the result has the sign of ``input`` (``remainder``/% takes other's)."""
    return Fmod.apply(*_pair("fmod", _check("fmod", input), other))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(e^input + e^other), without overflow."""
    _check("logaddexp", input)
    _other("logaddexp", "other", other)
    return LogAddExp.apply(*_pair("logaddexp", input, other, floating=True))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log2(2^input + 2^other)."""
    _check("logaddexp2", input)
    _other("logaddexp2", "other", other)
    return LogAddExp.apply(*_pair("logaddexp2", input, other, floating=True), base2=True)


def xlogy(input, other) -> Tensor:
    """input * log(other), 0 where input == 0 (the entropy convention 0 log 0 = 0). Either
    may be a number; integers compute in float32."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"xlogy: input or other must be a Tensor, got "
                        f"{type(input).__name__} and {type(other).__name__}")
    return Xlogy.apply(*_pair("xlogy", input, other, floating=True))


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64 (the result is float64, as PyTorch)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"float_power: input or exponent must be a Tensor, got "
                        f"{type(input).__name__} and {type(exponent).__name__}")
    a, b = (v.to(np.float64) if isinstance(v, Tensor) else float(v) for v in (input, exponent))
    return _m.power(a, b)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight (end - input); ``weight`` a number or a tensor (broadcast). end and a
    tensor weight must have input's dtype, a floating one (PyTorch's rule)."""
    _check("lerp", input)
    _other("lerp", "end", end)
    if input.dtype.kind not in "fc":
        raise TypeError(f"lerp: input: expected a floating dtype, got {input.dtype} (PyTorch: "
                        "'lerp_kernel' not implemented for integers)")
    for name, value in (("end", end), ("weight", weight)):
        if isinstance(value, Tensor) and value.dtype != input.dtype:
            raise RuntimeTypeError(f"lerp: {name}: expected dtype {input.dtype}, got {value.dtype} "
                                   f"(PyTorch requires input's dtype); convert with .to()")
    return input + weight * (end - input)


def addcmul(input: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2 (Adam's second moment: v.addcmul_(g, g, value=...))."""
    _check("addcmul", input)
    product = tensor1 * tensor2
    return input + (product if value == 1 else value * product)


def addcdiv(input: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (Adam's step: p.addcdiv_(m, v.sqrt() + eps, ...))."""
    _check("addcdiv", input)
    if all(isinstance(t, Tensor) and t.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeTypeError("addcdiv: integer division with addcdiv is not supported (as in "
                               "PyTorch); convert tensor1 or tensor2 to a floating dtype")
    quotient = tensor1 / tensor2
    return input + (quotient if value == 1 else value * quotient)


# -- logical ops and tests (bool or Python bool, no gradient) -----------------------------
def _logical(name: str, combine):
    def op(input: Tensor, other: Tensor) -> Tensor:
        _check(name, input)
        _other(name, "other", other)
        _check_broadcast(name, input, other)
        return Tensor._wrap(combine(get_array_module(input.array), input.array, other.array))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name[8:]} of the truth values (nonzero is True): bool."
    return op


logical_and = _logical("logical_and", lambda xp, a, b: xp.logical_and(a, b))
logical_or = _logical("logical_or", lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _logical("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))


def logical_not(input: Tensor) -> Tensor:
    """True where input is 0 (bool)."""
    return Tensor._wrap(get_array_module(_check("logical_not", input).array)
                        .logical_not(input.array))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol |other| (bool); infinities are close to themselves,
    NaN to NaN only with ``equal_nan``. Both tensors must have one dtype (PyTorch's rule)."""
    _check("isclose", input)
    _other("isclose", "other", other)
    if input.dtype != other.dtype:
        raise RuntimeTypeError(f"isclose: other: expected dtype {input.dtype}, got {other.dtype} "
                               "(PyTorch: 'Float did not match Double'); convert one with .to()")
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if tolerance < 0:
            raise ValueError(f"isclose: {name} must be greater than or equal to zero, "
                             f"got {tolerance}")
    _check_broadcast("isclose", input, other)
    xp = get_array_module(input.array)
    return Tensor._wrap(xp.isclose(input.array, other.array, rtol=rtol, atol=atol,
                                   equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """``isclose(...).all()`` as a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values (NaN equals nothing)."""
    _check("equal", input)
    _other("equal", "other", other)
    return input.shape == other.shape and bool((input.array == other.array).all())


__all__ = (list(_UNARY) + list(_ALIASES) + [
    "nan_to_num", "neg", "negative", "absolute", "clip", "divide", "true_divide", "multiply",
    "subtract", "clamp_min", "clamp_max", "atan2", "arctan2", "hypot", "fmod", "logaddexp",
    "logaddexp2", "xlogy", "float_power", "lerp", "addcmul", "addcdiv", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isclose", "allclose", "equal"])


# -- Tensor methods -----------------------------------------------------------------------
def _in_place(name, op):
    """``x.lerp_(...)`` is ``x.lerp(...)`` written into x (inplace.py's rules)."""
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: op(x, *args, **kwargs), name)

    method.__name__ = name
    return method


def _deprecated_value_first(op):
    """``v.addcmul_(0.001, g, g)``: PyTorch's deprecated (value, tensor1, tensor2) order,
    which old optimizers use, still accepted."""
    def method(self, *args, value=1):
        if len(args) == 3 and not isinstance(args[0], Tensor):
            value, args = args[0], args[1:]
        return op(self, *args, value=value)

    return method


def methods() -> dict:
    """{Tensor method name: function}, bound to Tensor by minicnn/ops/__init__.py."""
    functions = {name: globals()[name] for name in list(_UNARY) + list(_ALIASES) + [
        "nan_to_num", "negative", "absolute", "clamp_min", "clamp_max", "atan2", "arctan2",
        "hypot", "fmod", "logaddexp", "logaddexp2", "xlogy", "float_power", "lerp",
        "logical_and", "logical_or", "logical_xor", "logical_not", "isclose", "allclose",
        "equal"]}
    functions["addcmul"] = _deprecated_value_first(addcmul)
    functions["addcdiv"] = _deprecated_value_first(addcdiv)
    in_place = [name for name in functions if name not in (
        "logaddexp", "logaddexp2", "float_power", "isclose", "allclose", "equal")]
    table = dict(functions)
    table.update({f"{name}_": _in_place(f"{name}_", functions[name]) for name in in_place})
    return table
