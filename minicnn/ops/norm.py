r"""Normalisation: batch_norm, layer_norm, group_norm, instance_norm.

All four compute the same thing over different sets of numbers:

.. math::

    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta

with \mu and \sigma^2 the mean and the *biased* variance (divide by n) of:

==============  =====================================  ==========================
function        statistics over                         \gamma, \beta per
==============  =====================================  ==========================
batch_norm      N and all spatial dims, per channel     channel (C,)
instance_norm   the spatial dims, per sample & channel  channel (C,)
group_norm      C/G channels and spatial dims, per      channel (C,)
                sample and group
layer_norm      the last dims (``normalized_shape``)    element of normalized_shape
==============  =====================================  ==========================

Shapes: input (N, C, *) (``*`` = any spatial dims, e.g. H, W), except layer_norm (any).

They are built from differentiable Tensor ops (mean, multiply, power ...), not a fused
backward formula: autograd derives the textbook gradient
dL/dx = (\gamma / \sigma)(g - mean(g) - \hat x mean(g \hat x)) by itself, and
differentiating that again (``create_graph=True``) gives exact second derivatives, which
a WGAN-GP critic with GroupNorm(1, C) needs for its gradient penalty.

Running statistics (batch_norm, instance_norm in training) follow PyTorch:
``running = (1 - momentum) running + momentum batch_stat`` with the *unbiased* variance
(n / (n - 1) times the biased one), written in place into the arrays (or Tensors) given.
"""
from __future__ import annotations

import math

import numpy as np

from .. import registry
from ..autograd import Function, Tensor, is_grad_enabled, no_grad
from ..backend import get_array_module
from .math import mean
from .math import sum as sum_
from .shape import reshape
from .torch_errors import NotImplementedTypeError, RuntimeTypeError, RuntimeValueError


def _array_of(stat):
    """The array behind a running-statistic argument (a Tensor or an array), or None."""
    if stat is None:
        return None
    return stat.array if isinstance(stat, Tensor) else stat


def _check_vector(op, name, value, size):
    if value is None:
        return
    try:
        shape = tuple(value.shape)
    except AttributeError:
        raise TypeError(f"{op}: {name}: expected a Tensor or None, got "
                        f"{type(value).__name__}") from None
    if shape != (size,):
        raise RuntimeValueError(f"{op}: {name}: expected shape ({size},) (one value per channel), "
                                f"got {tuple(value.shape)}")


def _check_dtypes(op, input, *params):
    """PyTorch's "mixed dtype" refusal: gamma, beta and the running statistics share the
    input's dtype, except float32 ones with a float16 input (its mixed precision); an
    integer input has no kernel. A few dtype comparisons per call."""
    dtype = input.dtype
    if dtype.kind != "f":
        raise NotImplementedTypeError(f"{op}: not implemented for dtype {dtype} (as PyTorch); "
                                      "convert the input first (x.float())")
    for value in params:
        if value is not None and value.dtype != dtype and not (
                dtype == np.float16 and value.dtype == np.float32):
            raise RuntimeTypeError(f"{op}: mixed dtype: all inputs must share the same dtype "
                                   f"(as PyTorch), got input {dtype} and a parameter or "
                                   f"running statistic {value.dtype}; convert one "
                                   "(x.float(), module.double())")


def _update_running(stat, batch_value, momentum):
    """stat <- (1 - momentum) stat + momentum batch_value, in place (no graph)."""
    array = _array_of(stat)
    xp = get_array_module(array)
    array[...] = (1 - momentum) * array + momentum * xp.asarray(batch_value, dtype=array.dtype)


def _constant(stat, like: Tensor, shape) -> Tensor:
    """A running statistic as a graph constant of ``like``'s dtype, reshaped to broadcast."""
    array = _array_of(stat)
    xp = get_array_module(like.array)
    return Tensor._wrap(xp.asarray(array, dtype=like.dtype).reshape(shape))


def _parameter(value, like: Tensor) -> Tensor:
    """gamma or beta as a Tensor (an array becomes a constant of ``like``'s dtype)."""
    if isinstance(value, Tensor):
        return value
    return Tensor._wrap(get_array_module(like.array).asarray(value, dtype=like.dtype))


def _affine(x_hat: Tensor, weight, bias, shape) -> Tensor:
    """gamma x_hat + beta, with gamma and beta reshaped to broadcast over ``shape``."""
    y = x_hat
    if weight is not None:
        y = y * reshape(_parameter(weight, x_hat), shape)
    if bias is not None:
        y = y + reshape(_parameter(bias, x_hat), shape)
    return y


def _normalize(x: Tensor, axes: tuple, eps: float):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance).

    Returns (x_hat, mean, biased variance); mean and variance keep their dims. The
    division by the standard deviation happens on the small statistics tensor
    ((var + eps)^(-1/2), one number per group), then one multiply over x.
    """
    mu = mean(x, axes, keepdim=True)
    centered = x - mu
    variance = mean(centered * centered, axes, keepdim=True)
    return centered * (variance + eps) ** -0.5, mu, variance


def _normalize_with_running(op, when, input, running_mean, running_var, shape, eps):
    """(x - running_mean) / sqrt(running_var + eps): evaluation mode, statistics constant."""
    if running_mean is None or running_var is None:
        raise RuntimeValueError(f"{op}: running_mean and running_var are needed when {when}")
    mu = _constant(running_mean, input, shape)
    variance = _constant(running_var, input, shape)
    return (input - mu) * (variance + eps) ** -0.5


def _check_input(op, input, min_dims=2):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.ndim < min_dims:
        raise RuntimeValueError(f"{op}: input: expected at least {min_dims} dims (N, C, ...), "
                                f"got shape {input.shape}")


def batch_norm(input: Tensor, running_mean, running_var, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation (PyTorch's ``F.batch_norm``), per channel over N and space.

    Training: \mu, \sigma^2 of this batch (biased variance) normalise x; the running
    statistics, when given, are updated in place with momentum, the running variance from
    the unbiased batch variance. Evaluation (``training=False``): the running statistics
    normalise x (they are constants of the graph).

    Args:
        input: (N, C) or (N, C, *).
        running_mean, running_var: (C,) arrays or Tensors, or None (training only).
        weight, bias: \gamma, \beta of shape (C,), or None.
        momentum: a float in [0, 1] (cumulative averaging is the module's job).
    """
    op = "batch_norm"
    _check_input(op, input)
    C = input.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, C)
    _check_dtypes(op, input, weight, bias, running_mean, running_var)
    shape = (1, C) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // C if C else 0
        if not count:  # an empty batch: an empty result, statistics unchanged (PyTorch's)
            return _affine(input, weight, bias, shape)
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input of shape {input.shape}")
        weight = _parameter(weight, input) if weight is not None else _filled(input, C, 1.0)
        bias = _parameter(bias, input) if bias is not None else _filled(input, C, 0.0)
        return BatchNormTraining.apply(input, weight, bias, eps=eps, running_mean=running_mean,
                                       running_var=running_var, momentum=momentum)
    x_hat = _normalize_with_running(op, "training=False", input, running_mean, running_var,
                                    shape, eps)
    return _affine(x_hat, weight, bias, shape)


def _filled(like: Tensor, size: int, value: float) -> Tensor:
    return Tensor._wrap(get_array_module(like.array).full(size, value, dtype=like.dtype))


# -- training-mode batch norm as one op ------------------------------------------------------
def _as_nchw(x):
    """(N, C) or (N, C, *) as a 4-D (N, C, L, 1) view (or copy) for the channel kernels."""
    return x.reshape(x.shape[0], x.shape[1], -1, 1)


def _stats_reference(x):
    """Per-channel mean and biased variance over (N, H, W) of x (N, C, H, W)."""
    return x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))


def _affine_reference(x, scale, shift):
    """y = x scale_c + shift_c."""
    return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


def _grad_sums_reference(g, x, mean):
    """sum_g_c = sum g,  sum_gx_c = sum g (x - mean_c), over (N, H, W)."""
    return g.sum(axis=(0, 2, 3)), (g * (x - mean.reshape(1, -1, 1, 1))).sum(axis=(0, 2, 3))


def _combine_reference(g, x, a, b, d):
    """a_c g + b_c x + d_c."""
    shape = (1, -1, 1, 1)
    return a.reshape(shape) * g + b.reshape(shape) * x + d.reshape(shape)


# The fused Numba loops (kernels/cpu_elementwise.py) register from kernels/registrations.py.
for _op, _reference in (("batch_norm_stats", _stats_reference),
                        ("channel_affine", _affine_reference),
                        ("batch_norm_grad_sums", _grad_sums_reference),
                        ("batch_norm_combine", _combine_reference)):
    registry.register(_op, "reference", _reference, device="cpu")
    registry.register(_op, "reference", _reference, device="cuda")


class BatchNormTraining(Function):
    r"""Training-mode batch norm as one op: y = \gamma \hat x + eta, \hat x = (x - \mu) r,
    r = (\sigma^2 + \epsilon)^{-1/2}, with \mu, \sigma^2 this batch's per-channel statistics.

    Forward: two passes (statistics, then y = x s_c + t_c with s = \gamma r and
    t = eta - \mu s). Backward, with M = N H W numbers per channel::

        dL/deta  = sum g                 dL/d\gamma = sum g \hat x
        dL/dx      = \gamma r (g - mean(g) - \hat x mean(g \hat x))

    When the backward pass is being recorded (``create_graph=True``), that formula is
    built from Tensor ops on x, \gamma and g, so second derivatives are exact. Otherwise
    it runs as two fused passes: the sums, then dx = a_c g + b_c x + d_c.
    """

    def forward(self, x, weight, bias, eps, running_mean, running_var, momentum):
        """Also moves the running statistics (if given) towards this batch's, in place:
        the mean, and the unbiased variance (M / (M - 1) times the biased one)."""
        x4 = _as_nchw(x)
        mean, var = registry.run("batch_norm_stats", x4)
        count = x4.shape[0] * x4.shape[2]
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * count / (count - 1), momentum)
        xp = get_array_module(x)
        self.eps, self.batch_mean = eps, mean
        self.rstd = rstd = 1.0 / xp.sqrt(xp.asarray(var, xp.float64) + eps)
        scale = weight * rstd
        shift = bias - mean * scale
        return registry.run("channel_affine", x4, scale.astype(x.dtype),
                            shift.astype(x.dtype)).reshape(x.shape)

    def backward(self, g):
        x, weight, bias = self.inputs
        if is_grad_enabled():
            return self._backward_graph(g, x, weight)
        xp = get_array_module(g.array)
        x4, g4 = _as_nchw(x.array), _as_nchw(g.array)
        count = x4.shape[0] * x4.shape[2] * x4.shape[3]
        sum_g, sum_gx = registry.run("batch_norm_grad_sums", g4, x4, self.batch_mean)
        sum_g, sum_gx = xp.asarray(sum_g, xp.float64), xp.asarray(sum_gx, xp.float64)
        rstd = self.rstd
        a = weight.array * rstd
        b = -a * rstd * rstd * sum_gx / count
        d = -a * sum_g / count - b * self.batch_mean
        dtype = x.dtype
        grad_x = registry.run("batch_norm_combine", g4, x4, a.astype(dtype), b.astype(dtype),
                              d.astype(dtype)).reshape(x.shape)
        return (Tensor._wrap(grad_x),
                Tensor._wrap((sum_gx * rstd).astype(dtype)) if self.needs_input_grad[1] else None,
                Tensor._wrap(sum_g.astype(dtype)) if self.needs_input_grad[2] else None)

    def _backward_graph(self, g, x, weight):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        x_hat, _, variance = _normalize(x, axes, self.eps)
        g_scaled = g * reshape(weight, shape)
        grad_x = (variance + self.eps) ** -0.5 * (
            g_scaled - mean(g_scaled, axes, keepdim=True)
            - x_hat * mean(g_scaled * x_hat, axes, keepdim=True))
        grad_weight = sum_(g * x_hat, axes) if self.needs_input_grad[1] else None
        grad_bias = sum_(g, axes) if self.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


def instance_norm(input: Tensor, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    r"""Instance normalisation (PyTorch's ``F.instance_norm``): per sample and channel,
    over the spatial dims (the "IN" of AdaIN).

    ``use_input_stats=True``: normalise with each instance's own statistics; running
    statistics, when given, move towards the batch average of the per-instance mean and
    unbiased variance (as PyTorch's). ``use_input_stats=False``: normalise with the
    running statistics.

    Args:
        input: (N, C, *) with at least one spatial dim.
        running_mean, running_var, weight, bias: (C,) or None.
    """
    op = "instance_norm"
    _check_input(op, input, min_dims=3)
    C = input.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, C)
    _check_dtypes(op, input, weight, bias, running_mean, running_var)
    shape = (1, C) + (1,) * (input.ndim - 2)
    if not input.numel():  # empty: PyTorch's empty result
        return _affine(input, weight, bias, shape)
    if use_input_stats:
        count = math.prod(input.shape[2:])
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 spatial element when training, got "
                             f"input of shape {input.shape}")
        x_hat, mu, variance = _normalize(input, tuple(range(2, input.ndim)), eps)
        with no_grad():
            if running_mean is not None:
                _update_running(running_mean, mu.array.reshape(-1, C).mean(axis=0), momentum)
            if running_var is not None:
                unbiased = variance.array.reshape(-1, C) * count / (count - 1)
                _update_running(running_var, unbiased.mean(axis=0), momentum)
    else:
        x_hat = _normalize_with_running(op, "use_input_stats=False", input, running_mean,
                                        running_var, shape, eps)
    return _affine(x_hat, weight, bias, shape)


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    r"""Layer normalisation (PyTorch's ``F.layer_norm``): over the last
    ``len(normalized_shape)`` dims, separately for every leading index.

    Args:
        input: (*, normalized_shape...).
        normalized_shape: int or tuple: the trailing shape to normalise over.
        weight, bias: elementwise \gamma, \beta of shape ``normalized_shape``, or None.
    """
    op = "layer_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    normalized = ((int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer))
                  else tuple(int(s) for s in normalized_shape))
    k = len(normalized)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != normalized:
        raise RuntimeValueError(f"{op}: normalized_shape {normalized} must equal the last dims "
                                f"of the input, got input of shape {input.shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized:
            raise RuntimeValueError(f"{op}: {name}: expected shape {normalized}, got "
                                    f"{tuple(value.shape)}")
    _check_dtypes(op, input, weight, bias)
    x_hat, _, _ = _normalize(input, tuple(range(input.ndim - k, input.ndim)), eps)
    return _affine(x_hat, weight, bias, normalized)


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    r"""Group normalisation (PyTorch's ``F.group_norm``): the C channels are split into
    ``num_groups`` groups of C/G; each sample's group is normalised over its channels and
    spatial dims. G = 1 is layer norm over (C, *) with per-channel \gamma, \beta; G = C
    is instance norm.

    Args:
        input: (N, C, *).
        num_groups: G, dividing C.
        weight, bias: (C,) or None.
    """
    op = "group_norm"
    _check_input(op, input)
    N, C = input.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or C % num_groups:
        raise RuntimeValueError(f"{op}: expected num_groups to be a positive divisor of the "
                                f"number of channels, got num_groups={num_groups!r} and input "
                                f"of shape {input.shape} ({C} channels)")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_vector(op, name, value, C)
    _check_dtypes(op, input, weight, bias)
    grouped = reshape(input, (N, num_groups, math.prod(input.shape[1:]) // num_groups))
    x_hat, _, _ = _normalize(grouped, (2,), eps)
    x_hat = reshape(x_hat, input.shape)
    return _affine(x_hat, weight, bias, (1, C) + (1,) * (input.ndim - 2))


__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm"]
