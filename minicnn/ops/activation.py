r"""Activations: relu, leaky_relu, sigmoid, tanh, softplus, elu, softmax, log_softmax.

Every function here is elementwise except softmax and log_softmax (which normalise along
one ``dim``). Each states its formula, its derivative, and the way it is computed so that
no ``exp`` overflows.

Second derivatives: the piecewise-linear ones (relu, leaky_relu) multiply by a constant
mask, so their curvature is zero (the kink itself has measure zero). The smooth ones
(softplus, elu, softmax, log_softmax) write their backward with Tensor ops of the
input or the output, so ``create_graph=True`` gives their exact second derivatives.

leaky_relu's array functions are registered in ``minicnn.registry`` (``leaky_relu``,
``leaky_relu_backward``), so a fused kernel can replace them by name.
"""
from __future__ import annotations

from .. import registry
from ..autograd import Function, Tensor
from ..backend import get_array_module
from .math import MaskMul, connected, exp, where
from .promotion import to_floating as _floating
from .shape import _normalize_dim
from .torch_errors import NotImplementedTypeError, RuntimeTypeError


def _in_place(input, function, name):
    """``function(input)`` written into ``input`` (``inplace=True``, PyTorch's rules)."""
    from .inplace import apply_in_place

    return apply_in_place(input, function, name)


def _not_a_tensor(op, input):
    """The TypeError for ``F.relu(None)`` (raised once the fast path failed)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}") from None


def _need_floating(op, x):
    """PyTorch has no integer kernel for these (NotImplementedError); one dtype test."""
    if x.dtype.kind != "f":
        raise NotImplementedTypeError(f"{op}: not implemented for dtype {x.dtype} (as "
                                      "PyTorch); convert the input first (x.float())")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""y = max(x, 0) = x * [x > 0];  dy/dx = [x > 0] (0 at x = 0, as PyTorch).

    The mask is a constant of the backward graph (``MaskMul``), so the second derivative
    is 0. ``inplace=True`` writes the result into the input, as PyTorch's. This one
    function is ``mc.relu``, ``F.relu`` and ``Tensor.relu``.
    """
    if inplace:
        return _in_place(input, relu, "relu_")
    try:
        x = input.array
    except AttributeError:
        _not_a_tensor("relu", input)
        raise
    if x.dtype.kind == "b":
        raise RuntimeTypeError("relu: Boolean inputs not supported for relu (as PyTorch)")
    # a boolean mask: a quarter of the memory of a float one, and x * mask is as fast
    # max(x, 0) exactly: relu(-inf) = 0 (x * mask would be NaN), relu(NaN) = NaN, as PyTorch
    return MaskMul.apply(input, mask=x > 0, rule=("relu",),
                         value=get_array_module(x).maximum(x, x.dtype.type(0)))


# Array functions (NumPy reference), registered in ``minicnn.registry`` under the
# signatures the fused kernels (kernels/) implement too:
#   leaky_relu(x, negative_slope) -> y
#   leaky_relu_backward(grad_output, x, negative_slope) -> grad_input
def leaky_relu_reference(x, negative_slope: float = 0.01):
    """y = x where x > 0, negative_slope * x elsewhere (x's dtype)."""
    xp = get_array_module(x)
    return xp.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward_reference(grad_output, x, negative_slope: float = 0.01):
    """dL/dx = g where x > 0, negative_slope * g elsewhere (the mask is read from the sign
    of ``x``; for a slope >= 0 the output has the same sign, so kernels may pass either)."""
    xp = get_array_module(grad_output)
    return xp.where(x > 0, grad_output, grad_output * grad_output.dtype.type(negative_slope))


for _op, _function in (("leaky_relu", leaky_relu_reference),
                       ("leaky_relu_backward", leaky_relu_backward_reference)):
    registry.register(_op, "reference", _function, device="cpu")
    registry.register(_op, "reference", _function, device="cuda")
# The fused kernels (Numba CPU and CUDA: one pass over memory instead of NumPy's four)
# register from kernels/registrations.py. Their backward may be handed the output instead
# of the input (same sign for a slope >= 0), so they support slopes >= 0 only; the
# registry runs the reference for the rest.


class LeakyReLUFunction(Function):
    """y = x (x > 0) or a x;  dL/dx = g * mask with mask = 1 or a, read from the sign of x:
    a constant, so the backward (``LeakyReLUBackward``) is linear in g."""

    def forward(self, x, negative_slope):
        _need_floating("leaky_relu", x)
        self.negative_slope = negative_slope
        return registry.run("leaky_relu", x, negative_slope)

    def backward(self, g):
        grad = LeakyReLUBackward.apply(g, x=self.inputs[0].array,
                                       negative_slope=self.negative_slope)
        return connected(grad, self.inputs[0])  # a function of x too, as PyTorch's


class LeakyReLUBackward(Function):
    """dx = g * mask(x) with x a constant: linear in g, so its backward is itself."""

    def forward(self, g, x, negative_slope):
        self.x, self.negative_slope = x, negative_slope
        return registry.run("leaky_relu_backward", g, x, negative_slope)

    def backward(self, gg):
        return LeakyReLUBackward.apply(gg, x=self.x, negative_slope=self.negative_slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    r"""y = x for x > 0, a x otherwise (a = ``negative_slope``);  dy/dx = 1 or a
    (a at x = 0, as PyTorch); second derivative 0. ``inplace=True`` writes into the input."""
    if inplace:
        return _in_place(input, lambda x: leaky_relu(x, negative_slope), "leaky_relu_")
    return LeakyReLUFunction.apply(input, negative_slope=float(negative_slope))


class SigmoidFunction(Function):
    """y = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2 so that no exp overflows;
    dL/dx = g y (1 - y)."""

    def forward(self, x):
        xp = get_array_module(x)
        return (0.5 + 0.5 * xp.tanh(0.5 * x)).astype(x.dtype, copy=False)

    def backward(self, g):
        y = self.output
        return g * y * (1 - y)


def sigmoid(input: Tensor) -> Tensor:
    r"""y = 1 / (1 + e^{-x}), computed as (1 + tanh(x / 2)) / 2 (no overflow for any x);
    dy/dx = y (1 - y). An integer input is promoted to float (PyTorch's rule)."""
    return SigmoidFunction.apply(_floating(input))


class TanhFunction(Function):
    """y = tanh x;  dL/dx = g (1 - y^2)."""

    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, g):
        y = self.output
        return g * (1 - y * y)


def tanh(input: Tensor) -> Tensor:
    r"""y = tanh x;  dy/dx = 1 - y^2. An integer input is promoted to float."""
    return TanhFunction.apply(_floating(input))


class SoftplusFunction(Function):
    r"""y = log(1 + e^{\beta x}) / \beta, and y = x where \beta x > threshold.

    Stable form: log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}) (the exponent is never positive).
    dL/dx = g sigmoid(\beta x) (g in the linear region): a Tensor expression, so the
    second derivative \beta sigmoid (1 - sigmoid) comes out of autograd.
    """

    def forward(self, x, beta, threshold):
        _need_floating("softplus", x)
        xp = get_array_module(x)
        self.beta = beta
        z = x * x.dtype.type(beta)
        self.linear = z > threshold
        smooth = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / x.dtype.type(beta)
        return xp.where(self.linear, x, smooth).astype(x.dtype, copy=False)

    def backward(self, g):
        if self.linear.all():
            return g
        slope = sigmoid(self.inputs[0] * self.beta)
        return where(self.linear, g, g * slope)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""y = \frac{1}{\beta} \log(1 + e^{\beta x}), linear (y = x) once \beta x > threshold.

    Computed stably as (max(z, 0) + log1p(e^{-|z|})) / \beta with z = \beta x.
    dy/dx = sigmoid(\beta x);  d^2y/dx^2 = \beta sigmoid(\beta x)(1 - sigmoid(\beta x)).
    ``threshold=float('inf')`` never switches to the linear branch (used by the losses).
    """
    if beta == 0:
        raise ValueError("softplus: beta: expected a non-zero number, got 0")
    return SoftplusFunction.apply(input, beta=float(beta), threshold=float(threshold))


class ELUFunction(Function):
    r"""y = x for x > 0, \alpha (e^x - 1) otherwise (computed with expm1 for accuracy);
    dL/dx = g for x > 0, g \alpha e^x otherwise (PyTorch uses the second branch at x = 0).
    """

    def forward(self, x, alpha):
        _need_floating("elu", x)
        xp = get_array_module(x)
        self.positive, self.alpha = x > 0, alpha
        negative_part = x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0))
        return xp.where(self.positive, x, negative_part)

    def backward(self, g):
        x = self.inputs[0]
        # e^x only where x <= 0 (x is masked to 0 elsewhere, so no overflow can leak a
        # NaN into the second derivative through 0 * inf).
        x_negative = MaskMul.apply(x, mask=(~self.positive).astype(x.dtype))
        return where(self.positive, g, g * (exp(x_negative) * self.alpha))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""y = x for x > 0, \alpha (e^x - 1) otherwise;  dy/dx = 1 or \alpha e^x;
    d^2y/dx^2 = 0 or \alpha e^x. ``inplace=True`` writes into the input."""
    if inplace:
        return _in_place(input, lambda x: elu(x, alpha), "elu_")
    return ELUFunction.apply(input, alpha=float(alpha))


def _softmax_dim(op, input, dim):
    if dim is None:
        raise ValueError(f"{op}: dim: give the dimension to normalise over (PyTorch's implicit "
                         "choice is deprecated)")
    dim = _normalize_dim(dim, input.ndim)
    return dim if input.ndim else None  # a 0-d tensor takes dim 0 or -1: its only element


class SoftmaxFunction(Function):
    r"""y_i = e^{x_i - m} / \sum_j e^{x_j - m} with m = max_j x_j (no exponent is positive,
    so nothing overflows; subtracting m changes nothing since it cancels).

    dL/dx = y * (g - \sum_j g_j y_j): written with Tensor ops of the output, so it is
    differentiable again.
    """

    def forward(self, x, dim):
        xp = get_array_module(x)
        self.dim = dim
        try:
            shifted = xp.exp(x - x.max(axis=dim, keepdims=True))
        except ValueError:  # NumPy: max of a zero-size array
            if x.size:
                raise
            return x.copy()  # empty in, empty out, as PyTorch
        return shifted / shifted.sum(axis=dim, keepdims=True)

    def backward(self, g):
        y = self.output
        return y * (g - (g * y).sum(dim=self.dim, keepdim=True))


class LogSoftmaxFunction(Function):
    r"""y_i = x_i - m - \log \sum_j e^{x_j - m}, m = max_j x_j (the log-sum-exp trick: every
    exponent is <= 0 and one of them is 0, so the sum is in [1, n] and its log is safe).

    dL/dx = g - softmax(x) \sum_j g_j, with softmax(x) = e^y written as a Tensor op.
    """

    def forward(self, x, dim):
        xp = get_array_module(x)
        self.dim = dim
        try:
            shifted = x - x.max(axis=dim, keepdims=True)
        except ValueError:  # NumPy: max of a zero-size array
            if x.size:
                raise
            return x.copy()  # empty in, empty out, as PyTorch
        return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(self, g):
        return g - exp(self.output) * g.sum(dim=self.dim, keepdim=True)


def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    r"""softmax(x)_i = e^{x_i} / \sum_j e^{x_j} along ``dim``, computed stably as
    e^{x_i - max x} / \sum_j e^{x_j - max x}.  Jacobian: diag(y) - y y^T."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind != "f":
        _need_floating("softmax", input)
    return SoftmaxFunction.apply(input, dim=_softmax_dim("softmax", input, dim))


def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    r"""log softmax(x)_i = x_i - log \sum_j e^{x_j} along ``dim``, computed stably as
    (x_i - m) - log \sum_j e^{x_j - m} with m = max x.  Use it (not log(softmax(x))) for
    losses: softmax can round to 0 and its log to -inf."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind != "f":
        _need_floating("log_softmax", input)
    return LogSoftmaxFunction.apply(input, dim=_softmax_dim("log_softmax", input, dim))


__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu", "softmax",
           "log_softmax", "leaky_relu_reference", "leaky_relu_backward_reference"]
