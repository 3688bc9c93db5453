"""Random test configurations for ``minicnn gradcheck OP``: one recipe per op.

Each recipe draws, from a seeded generator, one configuration of its op (shapes, strides,
padding, dims, modes...) and float64 inputs that require grad, and returns the function
to check. ``run_case`` runs ``gradcheck`` (first derivatives) and ``gradgradcheck``
(second derivatives) on a few of them and reports each in one line.

Values are drawn so that finite differences are meaningful: away from kinks (0 for relu
and abs, the clamp bounds, ties in max and max pooling) and inside the domain (positive
for log and sqrt). A recipe that draws a configuration its op rejects (a kernel larger
than the padded input...) draws again.

To check your own op, call ``minicnn.gradcheck.gradcheck(fn, inputs)`` directly, or add a
recipe here: a function ``(rng) -> (fn, inputs, description)`` registered with ``@case``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import functional as F
from .autograd import Tensor
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import math as _math
from .ops import shape as _shape
from .random import manual_seed


@dataclass
class Case:
    name: str
    about: str
    make: Callable  # rng -> (fn, inputs, description)


CASES: dict[str, Case] = {}


def case(name: str, about: str):
    """Register the decorated recipe under ``name`` (skipped when its op is missing)."""
    def register(make):
        CASES[name] = Case(name, about, make)
        return make
    return register


# ---------------------------------------------------------------------------------------
# Drawing inputs
# ---------------------------------------------------------------------------------------
def _leaf(array) -> Tensor:
    return Tensor._wrap(np.asarray(array, dtype=np.float64), requires_grad=True)


def uniform(rng, shape, low=-1.0, high=1.0) -> Tensor:
    return _leaf(rng.uniform(low, high, shape))


def away_from_zero(rng, shape, margin=0.2) -> Tensor:
    """Values in [-1, -margin] U [margin, 1]: no kink at 0 within reach of eps."""
    return _leaf(rng.uniform(margin, 1.0, shape) * rng.choice([-1.0, 1.0], shape))


def distinct(rng, shape, spacing=0.05) -> Tensor:
    """All values different by at least ``spacing``: max and argmax are unambiguous."""
    n = int(np.prod(shape))
    return _leaf(((rng.permutation(n) - n / 2) * spacing).reshape(shape))


def random_shape(rng, ndim_low=1, ndim_high=3, size_high=4) -> tuple:
    ndim = int(rng.integers(ndim_low, ndim_high + 1))
    return tuple(int(s) for s in rng.integers(1, size_high + 1, ndim))


def broadcast_partner(rng, shape) -> tuple:
    """A shape that broadcasts with ``shape``: some dims set to 1, leading dims dropped."""
    other = [1 if rng.random() < 0.3 else s for s in shape]
    drop = int(rng.integers(0, len(other)))
    return tuple(other[drop:]) or (1,)


def describe(**named) -> str:
    parts = []
    for key, value in named.items():
        parts.append(f"{key}{tuple(value.shape)}" if isinstance(value, Tensor) else
                     f"{key}={value}")
    return " ".join(parts)


def _first_valid(rng, draw, tries=100):
    """Call ``draw(rng)`` until the op accepts the configuration (a forward pass works);
    ``draw`` may also return None for a configuration it knows to be invalid."""
    error = None
    for _ in range(tries):
        drawn = draw(rng)
        if drawn is None:
            continue
        fn, inputs, text = drawn
        try:
            fn(*inputs)
            return fn, inputs, text
        except ValueError as problem:
            error = problem
    raise RuntimeError(f"could not draw a valid configuration ({error})")


# ---------------------------------------------------------------------------------------
# Elementwise and reductions (minicnn/ops/math.py)
# ---------------------------------------------------------------------------------------
def _binary(name, op, symbol, positive_b=False, positive_a=False):
    @case(name, f"a {symbol} b with broadcasting")
    def make(rng):
        shape = random_shape(rng)
        a = uniform(rng, shape, 0.5, 1.5) if positive_a else uniform(rng, shape)
        other = broadcast_partner(rng, shape)
        b = (away_from_zero(rng, other, 0.3) if positive_b == "nonzero" else
             uniform(rng, other, 0.5, 1.5) if positive_b else uniform(rng, other))
        if rng.random() < 0.5:
            a, b = b, a  # broadcasting on either side
            if positive_a or positive_b:
                a, b = b, a
        return op, (a, b), describe(a=a, b=b)


_binary("add", _math.add, "+")
_binary("sub", _math.sub, "-")
_binary("mul", _math.mul, "*")
_binary("div", _math.div, "/", positive_b="nonzero")
_binary("pow", _math.power, "**", positive_a=True, positive_b=True)


def _unary(name, op, draw=uniform, about=None):
    @case(name, about or f"{name}(x)")
    def make(rng):
        x = draw(rng, random_shape(rng))
        return op, (x,), describe(x=x)


_unary("neg", _math.neg)
_unary("exp", _math.exp)
_unary("log", _math.log, lambda rng, s: uniform(rng, s, 0.2, 2.0), "log(x), x > 0")
_unary("sqrt", _math.sqrt, lambda rng, s: uniform(rng, s, 0.2, 2.0), "sqrt(x), x > 0")
_unary("tanh", F.tanh, lambda rng, s: uniform(rng, s, -2, 2))
_unary("sigmoid", F.sigmoid, lambda rng, s: uniform(rng, s, -3, 3))
_unary("relu", F.relu, away_from_zero, "relu(x), x away from the kink at 0")
_unary("abs", _math.abs, away_from_zero, "|x|, x away from the kink at 0")


@case("clamp", "clamp(x, min, max), x away from the bounds")
def _clamp(rng):
    low, high = -0.5, 0.5
    values = rng.uniform(-1, 1, random_shape(rng))
    for bound in (low, high):  # move values off the kinks
        near = np.abs(values - bound) < 0.05
        values[near] += 0.1
    x = _leaf(values)
    return (lambda x: _math.clamp(x, low, high)), (x,), describe(x=x, min=low, max=high)


@case("where", "where(condition, a, b)")
def _where(rng):
    shape = random_shape(rng)
    condition = Tensor._wrap(rng.random(shape) < 0.5)
    a, b = uniform(rng, shape), uniform(rng, broadcast_partner(rng, shape))
    return (lambda a, b: _math.where(condition, a, b)), (a, b), describe(a=a, b=b)


def _extremum_pair(name, op):
    @case(name, f"{name}(a, b), no ties")
    def make(rng):
        shape = random_shape(rng)
        a = uniform(rng, shape)
        gap = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
        b = _leaf(a.array + gap)
        return op, (a, b), describe(a=a, b=b)


_extremum_pair("maximum", _math.maximum)
_extremum_pair("minimum", _math.minimum)


def _reduction(name, op, draw=uniform, variance=False):
    @case(name, f"{name}(x, dim, keepdim)")
    def make(rng):
        shape = random_shape(rng, 1, 3)
        if variance:
            shape = tuple(max(s, 2) for s in shape)  # unbiased variance needs 2 values
        x = draw(rng, shape)
        choice = rng.integers(0, 3)
        dim = (None if choice == 0 else int(rng.integers(-len(shape), len(shape))) if choice == 1
               else tuple(sorted(rng.choice(len(shape), size=min(2, len(shape)), replace=False)
                                 .tolist())))
        keepdim = bool(rng.random() < 0.5)
        return (lambda x: op(x, dim=dim, keepdim=keepdim)), (x,), describe(
            x=x, dim=dim, keepdim=keepdim)


_reduction("sum", _math.sum)
_reduction("mean", _math.mean)
_reduction("var", _math.var, variance=True)
_reduction("std", _math.std, variance=True)
_reduction("amax", _math.amax, distinct)
_reduction("amin", _math.amin, distinct)


@case("matmul", "a @ b: matrices, batches and vectors")
def _matmul(rng):
    n, k, m, batch = (int(v) for v in rng.integers(1, 5, 4))
    kind = int(rng.integers(0, 4))
    shapes = [((n, k), (k, m)), ((batch, n, k), (k, m)), ((k,), (k, m)),
              ((batch, n, k), (batch, k, m))][kind]
    a, b = uniform(rng, shapes[0]), uniform(rng, shapes[1])
    return _math.matmul, (a, b), describe(a=a, b=b)


# ---------------------------------------------------------------------------------------
# Shapes and indexing (minicnn/ops/shape.py)
# ---------------------------------------------------------------------------------------
@case("reshape", "reshape to a random compatible shape")
def _reshape(rng):
    x = uniform(rng, (2, 3, 4))
    target = [(4, 6), (24,), (3, -1), (2, 2, 6)][int(rng.integers(0, 4))]
    return (lambda x: _shape.reshape(x, *target)), (x,), describe(x=x, shape=target)


@case("permute", "permute dimensions")
def _permute(rng):
    x = uniform(rng, (2, 3, 4))
    dims = tuple(int(d) for d in rng.permutation(3))
    return (lambda x: _shape.permute(x, *dims)), (x,), describe(x=x, dims=dims)


@case("transpose", "swap two dimensions")
def _transpose(rng):
    x = uniform(rng, random_shape(rng, 2, 3))
    d0, d1 = (int(d) for d in rng.choice(x.ndim, 2, replace=False))
    return (lambda x: _shape.transpose(x, d0, d1)), (x,), describe(x=x, dim0=d0, dim1=d1)


@case("flatten", "flatten(x, start_dim, end_dim)")
def _flatten(rng):
    x = uniform(rng, random_shape(rng, 2, 4, 3))
    start = int(rng.integers(0, x.ndim))
    end = int(rng.integers(start, x.ndim))
    return (lambda x: _shape.flatten(x, start, end)), (x,), describe(x=x, start=start, end=end)


@case("squeeze", "remove a size-1 dimension")
def _squeeze(rng):
    x = uniform(rng, (2, 1, 3))
    dim = [1, None][int(rng.integers(0, 2))]
    return (lambda x: _shape.squeeze(x, dim)), (x,), describe(x=x, dim=dim)


@case("unsqueeze", "insert a size-1 dimension")
def _unsqueeze(rng):
    x = uniform(rng, random_shape(rng))
    dim = int(rng.integers(-x.ndim - 1, x.ndim + 1))
    return (lambda x: _shape.unsqueeze(x, dim)), (x,), describe(x=x, dim=dim)


@case("broadcast_to", "broadcast to a larger shape (gradient: sum back)")
def _broadcast_to(rng):
    x = uniform(rng, (3, 1))
    target = [(2, 3, 4), (3, 5)][int(rng.integers(0, 2))]
    return (lambda x: _shape.broadcast_to(x, target)), (x,), describe(x=x, shape=target)


@case("getitem", "x[index]: slices, steps, repeated integer indices")
def _getitem(rng):
    x = uniform(rng, (4, 5))
    index = [(slice(1, None), slice(None, None, 2)), (np.array([0, 2, 0, 3]),),
             (slice(None), 3), (np.array([1, 1]), np.array([0, 4]))][int(rng.integers(0, 4))]
    return (lambda x: _shape.getitem(x, index)), (x,), describe(x=x, index=index)


@case("cat", "concatenate along a dimension")
def _cat(rng):
    dim = int(rng.integers(0, 2))
    shapes = [(2, 3), (2, 3)]
    shapes[1] = (4, 3) if dim == 0 else (2, 1)
    a, b = uniform(rng, shapes[0]), uniform(rng, shapes[1])
    return (lambda a, b: _shape.cat([a, b], dim)), (a, b), describe(a=a, b=b, dim=dim)


@case("stack", "stack along a new dimension")
def _stack(rng):
    dim = int(rng.integers(0, 3))
    a, b = uniform(rng, (2, 3)), uniform(rng, (2, 3))
    return (lambda a, b: _shape.stack([a, b], dim)), (a, b), describe(a=a, b=b, dim=dim)


@case("pad", "constant padding of the last dimensions")
def _pad(rng):
    x = uniform(rng, (2, 3, 3))
    widths = tuple(int(w) for w in rng.integers(0, 3, 4))
    return (lambda x: _shape.pad(x, widths)), (x,), describe(x=x, pad=widths)


# ---------------------------------------------------------------------------------------
# Convolution and pooling
# ---------------------------------------------------------------------------------------
def _conv_settings(rng):
    return dict(stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 3)),
                dilation=int(rng.integers(1, 3)), groups=int(rng.choice([1, 2])))


@case("conv2d", "conv2d: random stride, padding, dilation, groups, bias")
def _conv2d(rng):
    def draw(rng):
        s = _conv_settings(rng)
        n, g = int(rng.integers(1, 3)), s["groups"]
        c, k = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        r, q = (int(v) for v in rng.integers(1, 4, 2))
        h, w = (int(v) for v in rng.integers(3, 7, 2))
        x, weight, bias = uniform(rng, (n, c, h, w)), uniform(rng, (k, c // g, r, q)), \
            uniform(rng, (k,))
        return ((lambda x, weight, bias: F.conv2d(x, weight, bias, **s)), (x, weight, bias),
                describe(x=x, weight=weight, **s))
    return _first_valid(rng, draw)


@case("conv_transpose2d", "conv_transpose2d: stride, padding, output_padding, dilation")
def _conv_transpose2d(rng):
    def draw(rng):
        s = _conv_settings(rng)
        s["output_padding"] = int(rng.integers(0, max(s["stride"], s["dilation"])))
        n, g = int(rng.integers(1, 3)), s["groups"]
        c_in, c_out = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        r, q = (int(v) for v in rng.integers(1, 4, 2))
        h, w = (int(v) for v in rng.integers(2, 5, 2))
        x, weight, bias = (uniform(rng, (n, c_in, h, w)), uniform(rng, (c_in, c_out // g, r, q)),
                           uniform(rng, (c_out,)))
        return ((lambda x, weight, bias: F.conv_transpose2d(x, weight, bias, **s)),
                (x, weight, bias), describe(x=x, weight=weight, **s))
    return _first_valid(rng, draw)


@case("conv2d_weight", "the weight gradient of conv2d as an op of (x, grad_output)")
def _conv2d_weight(rng):
    from .ops.conv import conv2d_output_hw, conv2d_weight

    def draw(rng):
        s = _conv_settings(rng)
        s["groups"] = 1
        n, c, k = (int(v) for v in rng.integers(1, 3, 3))
        r, q = (int(v) for v in rng.integers(1, 4, 2))
        h, w = (int(v) for v in rng.integers(3, 7, 2))
        p, d, st = s["padding"], s["dilation"], s["stride"]
        out_h, out_w = conv2d_output_hw((h, w), (r, q), (st, st), (p, p, p, p), (d, d))
        if out_h < 1 or out_w < 1:  # the kernel does not fit: draw again
            return None
        x, grad_output = uniform(rng, (n, c, h, w)), uniform(rng, (n, k, out_h, out_w))
        size = (k, c, r, q)
        return ((lambda x, g: conv2d_weight(x, size, g, st, p, d)), (x, grad_output),
                describe(x=x, grad_output=grad_output, weight_size=size, stride=st,
                         padding=p, dilation=d))
    return _first_valid(rng, draw)


@case("max_pool2d", "max pooling, tie-free values: kernel, stride, padding, dilation, ceil")
def _max_pool2d(rng):
    def draw(rng):
        kernel, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        s = dict(kernel_size=kernel, stride=stride, padding=int(rng.integers(0, kernel // 2 + 1)),
                 dilation=int(rng.integers(1, 3)), ceil_mode=bool(rng.random() < 0.5))
        x = distinct(rng, (int(rng.integers(1, 3)), 2) + tuple(int(v) for v in
                                                               rng.integers(3, 7, 2)))
        return (lambda x: F.max_pool2d(x, **s)), (x,), describe(x=x, **s)
    return _first_valid(rng, draw)


@case("avg_pool2d", "average pooling: kernel, stride, padding, ceil, count_include_pad")
def _avg_pool2d(rng):
    def draw(rng):
        kernel = int(rng.integers(1, 4))
        s = dict(kernel_size=kernel, stride=int(rng.integers(1, 4)),
                 padding=int(rng.integers(0, kernel // 2 + 1)),
                 ceil_mode=bool(rng.random() < 0.5),
                 count_include_pad=bool(rng.random() < 0.5))
        x = uniform(rng, (2, 2) + tuple(int(v) for v in rng.integers(3, 7, 2)))
        return (lambda x: F.avg_pool2d(x, **s)), (x,), describe(x=x, **s)
    return _first_valid(rng, draw)


@case("adaptive_avg_pool2d", "adaptive average pooling to a random output size")
def _adaptive_avg_pool2d(rng):
    x = uniform(rng, (1, 2) + tuple(int(v) for v in rng.integers(3, 8, 2)))
    size = tuple(int(v) for v in rng.integers(1, 4, 2))
    return (lambda x: F.adaptive_avg_pool2d(x, size)), (x,), describe(x=x, output_size=size)


@case("interpolate", "resize: nearest or bilinear (align_corners either way)")
def _interpolate(rng):
    x = uniform(rng, (1, 2, 3, 4))
    mode = str(rng.choice(["nearest", "bilinear"]))
    settings = {"scale_factor": 2} if rng.random() < 0.5 else {"size": (5, 7)}
    if mode == "bilinear":
        settings["align_corners"] = bool(rng.random() < 0.5)
    return (lambda x: F.interpolate(x, mode=mode, **settings)), (x,), describe(
        x=x, mode=mode, **settings)


# ---------------------------------------------------------------------------------------
# Activations, normalisation, dropout, losses, linear
# ---------------------------------------------------------------------------------------
@case("leaky_relu", "leaky_relu(x, slope), x away from 0")
def _leaky_relu(rng):
    x, slope = away_from_zero(rng, random_shape(rng)), float(rng.choice([0.01, 0.2]))
    return (lambda x: F.leaky_relu(x, slope)), (x,), describe(x=x, negative_slope=slope)


_unary("softplus", F.softplus, lambda rng, s: uniform(rng, s, -3, 3))
_unary("elu", F.elu, away_from_zero, "elu(x), x away from 0 (where the curvature jumps)")


def _softmax_case(name, op):
    @case(name, f"{name}(x, dim)")
    def make(rng):
        x = uniform(rng, random_shape(rng, 1, 3), -2, 2)
        dim = int(rng.integers(-x.ndim, x.ndim))
        return (lambda x: op(x, dim=dim)), (x,), describe(x=x, dim=dim)


_softmax_case("softmax", F.softmax)
_softmax_case("log_softmax", F.log_softmax)


@case("batch_norm", "batch_norm in training mode, with weight and bias")
def _batch_norm(rng):
    x = uniform(rng, (3, 2, 2, 2) if rng.random() < 0.5 else (4, 3))
    c = x.shape[1]
    weight, bias = uniform(rng, (c,), 0.5, 1.5), uniform(rng, (c,))
    return ((lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
            (x, weight, bias), describe(x=x, weight=weight))


@case("layer_norm", "layer_norm over the last dims, with weight and bias")
def _layer_norm(rng):
    x = uniform(rng, (2, 3, 4))
    shape = (4,) if rng.random() < 0.5 else (3, 4)
    weight, bias = uniform(rng, shape, 0.5, 1.5), uniform(rng, shape)
    return ((lambda x, w, b: F.layer_norm(x, shape, w, b)), (x, weight, bias),
            describe(x=x, normalized_shape=shape))


@case("group_norm", "group_norm with 1, 2 or 4 groups")
def _group_norm(rng):
    x = uniform(rng, (2, 4, 2, 2))
    groups = int(rng.choice([1, 2, 4]))
    weight, bias = uniform(rng, (4,), 0.5, 1.5), uniform(rng, (4,))
    return ((lambda x, w, b: F.group_norm(x, groups, w, b)), (x, weight, bias),
            describe(x=x, num_groups=groups))


@case("instance_norm", "instance_norm with weight and bias")
def _instance_norm(rng):
    x = uniform(rng, (2, 3, 3, 2))
    weight, bias = uniform(rng, (3,), 0.5, 1.5), uniform(rng, (3,))
    return ((lambda x, w, b: F.instance_norm(x, weight=w, bias=b)), (x, weight, bias),
            describe(x=x))


@case("dropout", "dropout (the mask is re-drawn from the same seed at every evaluation)")
def _dropout(rng):
    x, p, seed = uniform(rng, random_shape(rng)), float(rng.choice([0.2, 0.5])), int(rng.integers(1000))

    def fn(x):
        manual_seed(seed)  # the same mask each time the checker evaluates fn
        return F.dropout(x, p, training=True)
    return fn, (x,), describe(x=x, p=p)


@case("linear", "y = x W^T + b")
def _linear(rng):
    n, i, o = (int(v) for v in rng.integers(1, 5, 3))
    x, w, b = uniform(rng, (n, i)), uniform(rng, (o, i)), uniform(rng, (o,))
    return F.linear, (x, w, b), describe(x=x, weight=w, bias=b)


def _regression_loss(name, op, about, separated=None):
    @case(name, about)
    def make(rng):
        shape = random_shape(rng)
        x = uniform(rng, shape)
        gap = (rng.uniform(0.1, 0.6, shape) * rng.choice([-1, 1], shape) if separated is None
               else separated(rng, shape))
        target = _leaf(x.array + gap)
        reduction = str(rng.choice(["mean", "sum", "none"]))
        return ((lambda x, t: op(x, t, reduction=reduction)), (x, target),
                describe(input=x, target=target, reduction=reduction))


_regression_loss("mse_loss", F.mse_loss, "mean squared error, input and target")
_regression_loss("l1_loss", F.l1_loss, "mean absolute error, |input - target| >= 0.1")
_regression_loss("huber_loss", F.huber_loss, "Huber loss (delta 1), away from |d| = 1",
                 lambda rng, s: rng.choice([0.3, 1.6], s) * rng.choice([-1, 1], s))


@case("cross_entropy", "cross_entropy from logits: class labels (optionally smoothed) "
                       "or probabilities")
def _cross_entropy(rng):
    n, c = int(rng.integers(1, 5)), int(rng.integers(2, 5))
    x = uniform(rng, (n, c), -2, 2)
    if rng.random() < 0.3:
        probabilities = rng.random((n, c))
        target = Tensor._wrap(probabilities / probabilities.sum(axis=1, keepdims=True))
        return ((lambda x: F.cross_entropy(x, target)), (x,),
                describe(input=x, target="probabilities"))
    labels = Tensor._wrap(rng.integers(0, c, n))
    smoothing = float(rng.choice([0.0, 0.1]))
    return ((lambda x: F.cross_entropy(x, labels, label_smoothing=smoothing)), (x,),
            describe(input=x, label_smoothing=smoothing))


@case("binary_cross_entropy_with_logits", "BCE from logits; gradient for logits and targets")
def _bce_logits(rng):
    shape = random_shape(rng)
    x, target = uniform(rng, shape, -3, 3), uniform(rng, shape, 0.05, 0.95)
    return F.binary_cross_entropy_with_logits, (x, target), describe(input=x, target=target)


@case("nll_loss", "negative log likelihood of log-probabilities")
def _nll_loss(rng):
    n, c = int(rng.integers(1, 5)), int(rng.integers(2, 5))
    x, labels = uniform(rng, (n, c), -3, 0), Tensor._wrap(rng.integers(0, c, n))
    return (lambda x: F.nll_loss(x, labels)), (x,), describe(input=x)


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------
def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def run_case(recipe: Case, trials: int = 3, seed: int = 0, write=print) -> int:
    """Run gradcheck and gradgradcheck on ``trials`` random configurations of ``case``;
    write one line per configuration (and the report of any failure); return how many
    configurations failed."""
    failures = 0
    name_code = sum(ord(ch) * (i + 1) for i, ch in enumerate(recipe.name))  # stable per op
    write(f"{recipe.name}: {recipe.about}")
    for trial in range(trials):
        rng = np.random.default_rng([seed, name_code, trial])
        text, stage = "(drawing a configuration)", "gradcheck"
        try:
            fn, inputs, text = recipe.make(rng)
            gradcheck(fn, inputs)
            stage = "gradgradcheck"
            gradgradcheck(fn, inputs)
            write(f"  [{trial + 1}/{trials}] {text}: gradcheck ok, gradgradcheck ok")
        except GradcheckError as error:
            failures += 1
            write(f"  [{trial + 1}/{trials}] {text}: {stage} FAILED\n{_indent(str(error))}")
        except Exception as error:  # an op that crashes is a failure too, reported as such
            failures += 1
            write(f"  [{trial + 1}/{trials}] {text}: {stage} ERROR {type(error).__name__}: "
                  f"{error}")
    return failures
