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

from ..autograd import Function, Tensor, as_tensor, is_grad_enabled, zero_gradient
from ..backend import get_array_module, result_type
from .conversion import cast
from .promotion import operands as _operands, to_floating as _floating
from .shape import _normalize_dim, broadcast_to, reshape, transpose, unsqueeze, squeeze


def _check_broadcast(name: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together "
                         "(each dimension, aligned from the right, must be equal or 1)") from None


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
    return Neg.apply(x)


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
    return Exp.apply(_floating(x))


def log(x):
    return Log.apply(_floating(x))


def sqrt(x):
    return Sqrt.apply(_floating(x))


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
        return get_array_module(a).where(condition, a, b)

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
    axes = [_normalize_dim(int(d), ndim) for d in dims]
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


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = _axes(dim, x.ndim)
    count = math.prod([x.shape[a] for a in axes])
    return sum(x, axes, keepdim) / count


def var(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """Variance: sum((x - mean)^2) / (n - correction); correction=1 (unbiased) by default,
    as ``torch.var``."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(dim, x.ndim)
    count = math.prod([x.shape[a] for a in axes])
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / max(count - correction, 0)


def std(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    return sqrt(var(x, dim, unbiased, keepdim, correction))


class Extremum(Function):
    """y = max (or min) over ``axes``. The gradient goes to the extreme elements; when
    several tie, it is shared evenly among them (PyTorch's amax/amin rule)."""

    def forward(self, x, axes, keepdim, largest):
        y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        hits = (x == y).astype(x.dtype)
        self.weights = hits / hits.sum(axis=axes, keepdims=True)
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
    if dim is None:
        return Tensor._wrap(xp.asarray(x.array.argmax()))
    dim = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    return Tensor._wrap(xp.argmax(x.array, axis=dim, keepdims=keepdim))


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
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: mat1 and mat2 must have the same dtype, got {a.dtype} and "
                        f"{b.dtype} (PyTorch does not promote here either); convert one "
                        "(.float(), .double())")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: "
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
        raise ValueError(f"matmul: batch dims of shapes {a.shape} and {b.shape} cannot be "
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
