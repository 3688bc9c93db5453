"""``minicnn gradcheck`` recipes for the nn ops: convolution, pooling, resizing,
activations, normalisation, dropout, linear and the losses (the elementwise and shape
ops' recipes are in ``gradcheck_cases.py``, the shared draws in ``gradcheck_draws.py``).
"""
from __future__ import annotations

from . import functional as F
from .autograd import Tensor
from .gradcheck_draws import (_first_valid, _leaf, away_from_zero, case, describe, distinct,
                              random_shape, unary_case, uniform)
from .random import manual_seed

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


unary_case("softplus", F.softplus, lambda rng, s: uniform(rng, s, -3, 3))
unary_case("elu", F.elu, away_from_zero, "elu(x), x away from 0 (where the curvature jumps)")


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
    x, p = uniform(rng, random_shape(rng)), float(rng.choice([0.2, 0.5]))
    seed = int(rng.integers(1000))

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
        probabilities = rng.uniform(0.05, 1.0, (n, c))   # no all-zero row
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


from . import gradcheck_cases_3d  # noqa: E402  (importing it registers the volumetric recipes)
del gradcheck_cases_3d
