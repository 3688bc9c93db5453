r"""More activations, as ``torch.nn.functional``: gelu, silu, selu, celu, mish, hardtanh,
relu6, logsigmoid, hardsigmoid, hardswish; and rms_norm.

Each forward works on raw arrays; each backward is a Tensor expression of the input, so
``create_graph=True`` gives exact second derivatives. The piecewise-linear ones (hardtanh,
relu6, hardsigmoid) multiply g by a constant mask: their curvature is zero (the gradient
stays linked to x, so a second ``grad`` gives zeros, as PyTorch's). Where PyTorch
picks a side at a kink, the comment says which (we pick the same).

    gelu(x)        = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2
        gelu'      = Phi(x) + x phi(x),  phi(x) = e^{-x^2/2} / sqrt(2 pi)
    gelu_tanh(x)   = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3)
        gelu_tanh' = (1 + tanh u) / 2 + x (1 - tanh^2 u) u' / 2,
                     u' = sqrt(2/pi) (1 + 3 0.044715 x^2)
    silu(x)        = x sigmoid(x);  silu' = s (1 + x (1 - s)),  s = sigmoid(x)
    selu(x)        = scale elu(x, alpha), alpha = 1.6732..., scale = 1.0507...
    mish(x)        = x tanh(softplus(x))
    logsigmoid(x)  = -softplus(-x) = min(x, 0) - log1p(e^{-|x|});  logsigmoid' = sigmoid(-x)
    hardsigmoid(x) = clip(x / 6 + 1/2, 0, 1);   hardswish(x) = x hardsigmoid(x)
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .activation import elu, sigmoid, softplus, tanh
from .elementwise_extra import erf, erf_array
from .math import MaskMul, connected, exp, mean, sqrt, where


def in_place(input, function, name: str):
    """``function(input)`` written into ``input`` (an activation's ``inplace=True``), with
    PyTorch's in-place rules (``ops/inplace.py``)."""
    from .inplace import apply_in_place

    return apply_in_place(input, function, name)

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _check(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op}: input: expected a floating-point tensor, got dtype {input.dtype}")
    return input


# -- gelu ---------------------------------------------------------------------------------
class GELUFunction(Function):
    """Exact gelu: y = x Phi(x);  dL/dx = g (Phi(x) + x phi(x))."""

    def forward(self, x):
        return (x * (1 + erf_array(x * x.dtype.type(_SQRT_HALF))) * x.dtype.type(0.5))

    def backward(self, g):
        x = self.inputs[0]
        cdf = (erf(x * _SQRT_HALF) + 1) * 0.5
        density = exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * (cdf + x * density)


class GELUTanh(Function):
    """gelu(approximate='tanh'): y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)."""

    def forward(self, x):
        xp = get_array_module(x)
        t = x.dtype.type
        u = t(_SQRT_2_OVER_PI) * (x + t(_GELU_CUBIC) * x * x * x)
        return t(0.5) * x * (1 + xp.tanh(u))

    def backward(self, g):
        x = self.inputs[0]
        th = tanh((x + x * x * x * _GELU_CUBIC) * _SQRT_2_OVER_PI)
        du = (x * x * (3 * _GELU_CUBIC) + 1) * _SQRT_2_OVER_PI
        return g * ((th + 1) * 0.5 + x * (1 - th * th) * du * 0.5)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit: x Phi(x) (``approximate='none'``), or its tanh form
    (``'tanh'``, the one GPT-2 and BERT used)."""
    _check("gelu", input)
    if approximate == "none":
        return GELUFunction.apply(input)
    if approximate == "tanh":
        return GELUTanh.apply(input)
    raise ValueError(f"gelu: approximate: expected 'none' or 'tanh', got {approximate!r}")


# -- silu, mish, selu, celu ---------------------------------------------------------------
class SiLUFunction(Function):
    """y = x sigmoid(x) (swish);  dL/dx = g s (1 + x (1 - s))."""

    def forward(self, x):
        xp = get_array_module(x)
        s = (0.5 + 0.5 * xp.tanh(0.5 * x)).astype(x.dtype, copy=False)
        return x * s

    def backward(self, g):
        x = self.inputs[0]
        s = sigmoid(x)
        return g * (s * (x * (1 - s) + 1))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (``inplace=True`` writes it into the input, as PyTorch's)."""
    if inplace:
        return in_place(input, silu, "silu_")
    return SiLUFunction.apply(_check("silu", input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (softplus with PyTorch's threshold 20)."""
    if inplace:
        return in_place(input, mish, "mish_")
    _check("mish", input)
    return input * tanh(softplus(input))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x if x > 0 else alpha (e^x - 1)) with the self-normalising constants."""
    if inplace:
        return in_place(input, selu, "selu_")
    _check("selu", input)
    return elu(input, SELU_ALPHA) * SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^{x / alpha} - 1)) = alpha elu(x / alpha)."""
    if inplace:
        return in_place(input, lambda x: celu(x, alpha), "celu_")
    _check("celu", input)
    if alpha == 0:
        raise ValueError("celu: alpha: expected a non-zero number, got 0")
    return elu(input * (1.0 / alpha), 1.0) * alpha


# -- logsigmoid ---------------------------------------------------------------------------
class LogSigmoidFunction(Function):
    """y = min(x, 0) - log1p(e^{-|x|}) (never overflows);  dL/dx = g sigmoid(-x)."""

    def forward(self, x):
        xp = get_array_module(x)
        return (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, g):
        return g * sigmoid(-self.inputs[0])


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for large |x|."""
    return LogSigmoidFunction.apply(_check("logsigmoid", input))


# -- piecewise linear ---------------------------------------------------------------------
class HardtanhFunction(Function):
    """y = clip(x, min_val, max_val);  dL/dx = g where min_val < x < max_val, else 0 (0 at
    both ends, as PyTorch's). The gradient is g times a constant mask, linked to x with a
    zero derivative (``connected``), as PyTorch's ``hardtanh_backward(g, x)`` is."""

    def forward(self, x, min_val, max_val):
        return get_array_module(x).clip(x, x.dtype.type(min_val), x.dtype.type(max_val))

    def backward(self, g):
        x = self.inputs[0]
        inside = (x.array > self.keywords["min_val"]) & (x.array < self.keywords["max_val"])
        return connected(MaskMul.apply(g, mask=inside.astype(g.dtype), rule=("mask",)), x)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clip(x, min_val, max_val); see ``HardtanhFunction``."""
    if inplace:
        return in_place(input, lambda x: hardtanh(x, min_val, max_val), "hardtanh_")
    _check("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return HardtanhFunction.apply(input, min_val=float(min_val), max_val=float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) = hardtanh(x, 0, 6) (gradient 0 at 0 and 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class HardsigmoidFunction(Function):
    """y = clip(x / 6 + 1/2, 0, 1);  dL/dx = g / 6 where -3 < x < 3, else 0; the gradient
    linked to x with a zero derivative, as ``HardtanhFunction``'s."""

    def forward(self, x):
        return get_array_module(x).clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)

    def backward(self, g):
        x = self.inputs[0]
        inside = (x.array > -3) & (x.array < 3)
        return connected(MaskMul.apply(g, mask=inside.astype(g.dtype) / 6, rule=("mask",)), x)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clip(x / 6 + 1/2, 0, 1); see ``HardsigmoidFunction``."""
    if inplace:
        return in_place(input, hardsigmoid, "hardsigmoid_")
    return HardsigmoidFunction.apply(_check("hardsigmoid", input))


class HardSwish(Function):
    """y = x clip(x + 3, 0, 6) / 6;  dL/dx = 0 (x <= -3), g (x / 3 + 1/2) (-3 < x < 3),
    g (x >= 3), PyTorch's sides at the kinks."""

    def forward(self, x):
        xp = get_array_module(x)
        return x * xp.clip(x + 3, 0, 6) / x.dtype.type(6)

    def backward(self, g):
        x = self.inputs[0]
        xa = x.array
        below, middle = xa <= -3, (xa > -3) & (xa < 3)
        slope = where(middle, x * (1.0 / 3.0) + 0.5,
                      Tensor._wrap(get_array_module(xa).asarray(1, dtype=x.dtype)))
        return where(below, Tensor._wrap(get_array_module(xa).zeros((), dtype=g.dtype)), g * slope)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (MobileNetV3)."""
    if inplace:
        return in_place(input, hardswish, "hardswish_")
    return HardSwish.apply(_check("hardswish", input))


# -- rms_norm -----------------------------------------------------------------------------
def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    r"""y = x / sqrt(mean(x^2 over the last len(normalized_shape) dims) + eps) * weight.

    ``eps=None`` uses the dtype's machine epsilon (PyTorch's default). Shapes: input
    (*, *normalized_shape), weight normalized_shape."""
    _check("rms_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise ValueError(f"rms_norm: normalized_shape: expected the input's last dims, got "
                         f"{shape} for input shape {input.shape}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ValueError(f"rms_norm: weight: expected shape {shape}, got {tuple(weight.shape)}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    if not dims:
        return input * (1 if weight is None else weight)
    y = input / sqrt(mean(input * input, dims, keepdim=True) + eps)
    return y if weight is None else y * weight


__all__ = ["gelu", "silu", "selu", "celu", "mish", "hardtanh", "relu6", "logsigmoid",
           "hardsigmoid", "hardswish", "rms_norm", "SELU_ALPHA", "SELU_SCALE"]
