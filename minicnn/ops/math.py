"""Elementwise math, reductions and matrix multiplication.

Each op is a ``Function`` whose ``forward`` uses the array module (``xp``: NumPy or CuPy)
and whose ``backward`` uses Tensor ops only. Gradients of broadcast inputs are returned in
the broadcast shape: the autograd walk sums them back (``sum_to``).

Masks (clamp, abs's sign, max's argmax; relu's, in activation.py) are constants of the
backward graph: the second derivative of a piecewise-linear op is zero almost everywhere.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor, is_grad_enabled, zero_gradient
from ..backend import get_array_module, result_type
from .conversion import cast
from .torch_errors import RuntimeIndexError, RuntimeTypeError, RuntimeValueError
from .promotion import operands as _operands, to_floating as _floating
from .shape import _normalize_dim, broadcast_to, reshape


def _check_broadcast(name: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                                f"together "
                                "(each dimension, aligned from the right, must be equal or 1)"
                                ) from None


def _binary(function, name, floating=False):
    def op(a, b) -> Tensor:
        a, b = _operands(a, b, floating)
        if a.array.shape != b.array.shape and a.array.ndim and b.array.ndim:  # 0-d: always
            _check_broadcast(name, a, b)
        return function.apply(a, b)

    op.__name__ = name
    return op


# -- arithmetic ---------------------------------------------------------------------------
class Add(Function):
    """y = a + b;  dL/da = g, dL/db = g."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  dL/da = g, dL/db = -g."""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g if self.needs_input_grad[1] else None


class Mul(Function):
    """y = a * b;  dL/da = g b, dL/db = g a."""

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return (g * b if self.needs_input_grad[0] else None,
                g * a if self.needs_input_grad[1] else None)


class Div(Function):
    """y = a / b;  dL/da = g / b, dL/db = -g a / b^2 = -g y / b."""

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        grad_a = g / b if self.needs_input_grad[0] else None
        grad_b = -(g * a) / (b * b) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Function):
    """y = a ** b;  dL/da = g b a^(b-1), dL/db = g y log(a), with PyTorch's two exceptions:

    * where b = 0, dL/da = 0 (y = 1 for every a; the formula would give 0 * a^-1, NaN at 0);
    * where a = 0 and b >= 0, dL/db = 0 (y * log a would be 0 * -inf = NaN).

    Both are ``where``s with constant masks, so second derivatives follow PyTorch's too.
    """

    def forward(self, a, b):
        return a ** b

    def backward(self, g):
        a, b = self.inputs
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            zero_exponent = b.array == 0
            if not self.needs_input_grad[1] and b.ndim == 0 and zero_exponent:
                # a ** 0 is the constant 1: its gradient is a constant 0 (PyTorch's zeros_like)
                grad_a = Tensor._wrap(get_array_module(g.array).zeros(g.shape, dtype=g.dtype))
            else:
                grad_a = g * (b * a ** (b - 1))
                if zero_exponent.any():
                    grad_a = where(zero_exponent, 0, grad_a)
        if self.needs_input_grad[1]:
            zero_base = (a.array == 0) & (b.array >= 0)
            dy_db = self.output * log(a)
            if zero_base.any():
                dy_db = where(zero_base, 0, dy_db)
            grad_b = g * dy_db
        return grad_a, grad_b


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


add, mul = _binary(Add, "add"), _binary(Mul, "mul")
div = _binary(Div, "div", floating=True)
div.__doc__ = "a / b, true division: integer tensors divide into the default float dtype."
_sub, _power = _binary(Sub, "sub"), _binary(Pow, "pow")


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or (
        isinstance(value, Tensor) and value.dtype.kind == "b")


def sub(a, b) -> Tensor:
    """a - b (bool operands raise, as in PyTorch)."""
    if _is_bool(a) or _is_bool(b):
        raise TypeError("sub: subtraction with a bool tensor or bool is not supported (as in "
                        "PyTorch); to invert a mask use ~mask or mask.logical_not()")
    return _sub(a, b)


def power(a, b) -> Tensor:
    """a ** b (bool ** bool raises, as in PyTorch; integers to negative integer powers too)."""
    if _is_bool(a) and _is_bool(b):
        raise TypeError("pow: not implemented for two bool operands (as in PyTorch); "
                        "convert one (.int(), .float())")
    return _power(a, b)


def neg(x: Tensor) -> Tensor:
    try:
        return Neg.apply(x)
    except TypeError:  # NumPy refuses -bool: PyTorch's RuntimeError (checked only on failure)
        if isinstance(x, Tensor) and x.dtype == np.bool_:
            raise RuntimeTypeError("neg: negation, the `-` operator, on a bool tensor is not "
                                   "supported (as in PyTorch); to invert a mask use ~mask or "
                                   "mask.logical_not()") from None
        raise


def _need_tensor(name, x):
    """The clear TypeError for ``exp(None)`` (called only once the fast path failed)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}") from None


# -- elementwise functions ----------------------------------------------------------------
class Exp(Function):
    """y = e^x;  dL/dx = g y."""

    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, g):
        return g * self.output


class Log(Function):
    """y = ln x;  dL/dx = g / x."""

    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x);  dL/dx = g / (2 y)."""

    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, g):
        return g / (2 * self.output)


class MaskMul(Function):
    """y = x * mask with a constant mask (relu, abs, clamp use it);  dL/dx = g * mask.

    ``rule`` names the function the mask came from (``("relu",)``, ``("abs",)``,
    ``("clamp", min, max)``); it changes nothing in the values, but an exporter
    (``minicnn.onnx``) needs it, since the mask itself depends on this call's data. For
    relu and abs the gradient also stays connected to x (``connected``), as PyTorch's."""

    def forward(self, x, mask, rule=None, value=None):
        """``value``: the output when the caller computed it exactly (``x * mask`` makes
        NaN of an infinite x where the mask is 0: relu(-inf) must be 0, not NaN)."""
        self.mask, self.rule = mask, rule
        return x * mask if value is None else value

    def backward(self, g):
        grad = MaskMul.apply(g, mask=self.mask, rule=("mask",))
        if self.rule is not None and self.rule[0] in ("relu", "abs"):
            grad = connected(grad, self.inputs[0])
        return grad


class Connected(Function):
    """y = g, as a function of g and of x with dy/dx = 0.

    PyTorch's first-order gradient of relu, abs, leaky_relu, max and average pooling is a
    function of the input x too (``threshold_backward(g, x)``...), with a zero derivative
    in x almost everywhere. So, with ``create_graph=True``, the gradient requires grad and
    a second ``grad`` of a piecewise-linear network returns zeros instead of raising "does
    not require grad". minicnn's masks are constants, so this op adds the link to x.
    """

    def forward(self, g, x):
        return g

    def backward(self, gg):
        return gg, (zero_gradient(self.inputs[1]) if self.needs_input_grad[1] else None)


def connected(grad: Tensor, x: Tensor) -> Tensor:
    """``grad`` linked to ``x`` with zero derivative (see ``Connected``) while a graph of the
    backward pass is being recorded (``create_graph=True``); else ``grad`` itself."""
    if is_grad_enabled() and x.requires_grad:
        return Connected.apply(grad, x)
    return grad


def exp(x):
    try:
        return Exp.apply(_floating(x))
    except AttributeError:
        _need_tensor("exp", x)
        raise


def log(x):
    try:
        return Log.apply(_floating(x))
    except AttributeError:
        _need_tensor("log", x)
        raise


def sqrt(x):
    try:
        return Sqrt.apply(_floating(x))
    except AttributeError:
        _need_tensor("sqrt", x)
        raise


def abs(x: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """y = |x| = x * sign(x)  (gradient 0 at x = 0, as PyTorch's)."""
    return MaskMul.apply(x, mask=get_array_module(x.array).sign(x.array).astype(x.dtype),
                         rule=("abs",))


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """y = min(max(x, min), max); gradient passes where min <= x <= max (PyTorch's rule)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    dtype = result_type(x, *(v for v in (min, max) if v is not None))
    x = x if x.dtype == dtype else cast(x, dtype)  # an int tensor clamped to 0.5 is float
    xp = get_array_module(x.array)
    low = -xp.inf if min is None else min
    high = xp.inf if max is None else max
    inside = ((x.array >= low) & (x.array <= high)).astype(x.dtype)
    value = xp.clip(x.array, low, high).astype(x.dtype, copy=False)  # NaN stays NaN
    return MaskMul.apply(x, mask=inside, value=value)


def where(condition, a, b) -> Tensor:
    """y = a where condition else b;  dL/da = where(c, g, 0), dL/db = where(c, 0, g)."""
    condition = condition.array if isinstance(condition, Tensor) else condition
    a, b = _operands(a, b)  # where(c, 1, 3) is int64, where(c, x, 0) has x's dtype
    return Where.apply(a, b, condition=get_array_module(a.array).asarray(condition, dtype=bool))


class Where(Function):
    def forward(self, a, b, condition):
        self.condition = condition
        try:
            return get_array_module(a).where(condition, a, b)
        except ValueError as error:  # NumPy's broadcast error: PyTorch's RuntimeError
            raise RuntimeValueError(f"where: condition of shape {condition.shape}, input "
                                    f"{a.shape} and other {b.shape} cannot be broadcast "
                                    f"together ({error})") from None

    def backward(self, g):
        zero = Tensor._wrap(get_array_module(g.array).zeros((), dtype=g.dtype))
        grad_a = Where.apply(g, zero, condition=self.condition) if self.needs_input_grad[0] else None
        grad_b = Where.apply(zero, g, condition=self.condition) if self.needs_input_grad[1] else None
        return grad_a, grad_b


def maximum(a, b) -> Tensor:
    """Elementwise max. At ties the gradient is split in half, as in PyTorch."""
    return _extremum(a, b, greater=True)


def minimum(a, b) -> Tensor:
    """Elementwise min. At ties the gradient is split in half, as in PyTorch."""
    return _extremum(a, b, greater=False)


def _extremum(a, b, greater):
    a, b = _operands(a, b)
    _check_broadcast("maximum" if greater else "minimum", a, b)
    wins = (a.array > b.array) if greater else (a.array < b.array)
    weight_a = wins + 0.5 * (a.array == b.array)
    shape = np.broadcast_shapes(a.shape, b.shape)
    xp = get_array_module(a.array)
    weight_a = xp.broadcast_to(weight_a, shape).astype(a.dtype)
    # the values exactly (an infinite loser times its weight 0 would be NaN); NaN propagates
    value = (xp.maximum if greater else xp.minimum)(a.array, b.array).astype(
        np.result_type(a.array, b.array), copy=False)
    return (MaskMul.apply(a, mask=weight_a, value=value)
            + MaskMul.apply(b, mask=(1 - weight_a).astype(b.dtype),
                            value=xp.zeros(shape, dtype=b.dtype)))


# -- reductions ---------------------------------------------------------------------------
def _axes(dim, ndim):
    """The axes a reduction over ``dim`` removes, PyTorch's way: None or () means every
    dim; a 0-d tensor accepts dim 0 and -1 (and reduces nothing); a repeated dim raises."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    try:
        axes = [_normalize_dim(int(d), ndim) for d in dims]
    except (TypeError, ValueError):
        if all(isinstance(d, (int, np.integer)) for d in dims):
            raise
        raise TypeError(f"dim: expected an int or a tuple of ints, got {dim!r}") from None
    if len(set(axes)) != len(axes):
        raise ValueError(f"dim: dim {max(axes, key=axes.count)} appears more than once in "
                         f"{dim!r}")
    return tuple(sorted(axes)) if ndim else ()


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axes``;  dL/dx = g broadcast back to x's shape."""

    def forward(self, x, axes, keepdim):
        self.input_shape, self.axes = x.shape, axes
        # integer and bool sums are int64, as in PyTorch (NumPy: uint64 for unsigned)
        return x.sum(axis=axes, keepdims=keepdim, dtype=np.int64 if x.dtype.kind in "biu" else None)

    def backward(self, g):
        g = reshape(g, _keepdim_shape(self.input_shape, self.axes))
        return broadcast_to(g, self.input_shape)


def sum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return Sum.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim)


def _need_floating(name, x, message):
    """PyTorch's refusal of an integer or bool ``x`` (the caller tested its dtype)."""
    raise RuntimeTypeError(message.format(name=name, dtype=x.dtype))


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if x.dtype.kind in "biu":
        _need_floating("mean", x, "{name}(): could not infer output dtype. Input dtype must be "
                       "either a floating point or complex dtype. Got: {dtype} (as PyTorch; "
                       "convert first: x.float().{name}())")
    axes = _axes(dim, x.ndim)
    count = math.prod([x.shape[a] for a in axes])
    return sum(x, axes, keepdim) / count


def var(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """Variance: sum((x - mean)^2) / (n - correction); correction=1 (unbiased) by default,
    as ``torch.var``."""
    if x.dtype.kind in "biu":
        _need_floating("var", x, "std and var only support floating point and complex dtypes "
                       "(as PyTorch), got {dtype}; convert first: x.float()")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(dim, x.ndim)
    count = math.prod([x.shape[a] for a in axes])
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / max(count - correction, 0)


def std(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    return _StdSqrt.apply(var(x, dim, unbiased, keepdim, correction))


class _StdSqrt(Sqrt):
    """std = sqrt(var), with PyTorch's gradient 0 where std is 0 (all-equal values; sqrt's
    g / (2 y) would make it NaN)."""

    def backward(self, g):
        y = self.output
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g / (2 * y)
        zero = y.array == 0
        return where(zero, 0, grad) if zero.any() else grad


class Extremum(Function):
    """y = max (or min) over ``axes``. The gradient goes to the extreme elements; when
    several tie, it is shared evenly among them (PyTorch's amax/amin rule)."""

    def forward(self, x, axes, keepdim, largest):
        try:
            y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        except ValueError:  # NumPy: zero-size array; PyTorch's IndexError
            if x.size:
                raise
            raise RuntimeIndexError(f"{'max' if largest else 'min'}(): expected a non-empty "
                                    f"tensor "
                             f"(reduction over an empty dim of shape {x.shape}, as PyTorch "
                             "refuses)") from None
        hits = (x == y).astype(x.dtype)
        count = hits.sum(axis=axes, keepdims=True)
        if not count.all():  # a NaN is the max (NaN != NaN): it gets the gradient, as PyTorch
            xp = get_array_module(x)
            hits = ((x == y) | (xp.isnan(x) & xp.isnan(y))).astype(x.dtype)
            count = hits.sum(axis=axes, keepdims=True)
        self.weights = hits / count
        self.keep_shape = y.shape
        return y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    def backward(self, g):
        return MaskMul.apply(reshape(g, self.keep_shape), mask=self.weights)


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim, largest=True)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim, largest=False)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Indices of the maxima (no gradient)."""
    xp = get_array_module(x.array)
    if not x.array.size:
        raise IndexError(f"argmax(): expected a non-empty reduction dim, got shape {x.shape} "
                         "(as PyTorch refuses)")
    if dim is None:
        return Tensor._wrap(xp.asarray(x.array.argmax()))
    dim = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    return Tensor._wrap(xp.argmax(x.array, axis=dim, keepdims=keepdim))


# -- matrix multiplication and comparisons: ops/matmul_ops.py (re-exported here) ----------
from . import matmul_ops as _matmul_ops  # noqa: E402

MatMul, matmul = _matmul_ops.MatMul, _matmul_ops.matmul
eq, ne, lt, le, gt, ge = (_matmul_ops.eq, _matmul_ops.ne, _matmul_ops.lt, _matmul_ops.le,
                          _matmul_ops.gt, _matmul_ops.ge)
