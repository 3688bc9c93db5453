r"""The shrink family and the rest of PyTorch's functional activations: hardshrink,
softshrink, softmin, prelu, rrelu (random leaky relu) and the in-place relu_ / rrelu_.

    hardshrink(x) = x where |x| > lambda, else 0                 d/dx = 1 or 0
    softshrink(x) = x - lambda sign(x) where |x| > lambda, else 0 d/dx = 1 or 0
    softmin(x)    = softmax(-x) along dim
    prelu(x, a)   = x where x > 0, else a x  (a: 1 slope or one per channel, dim 1)
                    dL/dx = g (x > 0) + a g (x <= 0),  dL/da = sum g x over x <= 0
    rrelu(x)      = x where x >= 0, else a x with
                    a ~ U(lower, upper) per element while training (drawn from minicnn's
                    generator, so ``mc.manual_seed`` repeats it), a = (lower + upper) / 2
                    in evaluation (then it is leaky_relu)

The masks are constants of the backward graph (second derivatives 0, as PyTorch's); the
gradient stays linked to x (``connected``) so a second ``grad`` gives zeros, not an error.
At the kinks PyTorch's side is taken: hardshrink and softshrink pass no gradient at
|x| = lambda; prelu and rrelu use the slope at x = 0.
"""
from __future__ import annotations

import math
import numbers

from .. import random as _random
from ..autograd import Function, Tensor
from ..backend import get_array_module, to_device
from .activation import leaky_relu, relu, softmax
from .inplace import apply_in_place
from .math import MaskMul, connected, reshape, where


def _check(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op}: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    return input


def _number(op: str, name: str, value, finite: bool = False) -> float:
    """A real number (a string or a tensor is a TypeError); finite when ``finite``."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name}: expected a number, got {value!r} "
                        f"({type(value).__name__})")
    if finite and not math.isfinite(value):
        raise ValueError(f"{op}: {name}: expected a finite number, got {value}")
    return float(value)


class Masked(Function):
    """y = x m with a constant 0/1 mask m;  dL/dx = g m, linked to x with a zero derivative
    (PyTorch's ``hardshrink_backward(g, x)`` is a function of x too)."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return connected(MaskMul.apply(g, mask=self.mask, rule=("mask",)), self.inputs[0])


def _mask(x: Tensor, keep) -> Tensor:
    """x where ``keep`` (a bool array), else 0."""
    return Masked.apply(x, mask=keep.astype(x.dtype))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (lambd may be negative: then nothing is zeroed)."""
    _check("hardshrink", input)
    _number("hardshrink", "lambd", lambd)
    x = input.array
    return _mask(input, (x > lambd) | (x < -lambd))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0 (lambd >= 0)."""
    _check("softshrink", input)
    if _number("softshrink", "lambd", lambd, finite=True) < 0:
        raise ValueError(f"softshrink: lambd: lambda must be greater or equal to 0, but "
                         f"found to be {lambd}")
    x = input.array
    above, below = x > lambd, x < -lambd
    shift = (below.astype(x.dtype) - above.astype(x.dtype)) * x.dtype.type(lambd)
    return _mask(input, above | below) + Tensor._wrap(shift)


def softmin(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    r"""softmin(x)_i = e^{-x_i} / \sum_j e^{-x_j} = softmax(-x) along ``dim``. ``dtype``
    casts the input first, as PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"softmin: input: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim=dim)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight x; ``weight`` has 1 element or one per channel (dim 1 of
    the input; a 0-D or 1-D input has one channel, as PyTorch's)."""
    _check("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight: expected a Tensor, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight: expected a 0-D or 1-D tensor of slopes, got shape "
                         f"{weight.shape}")
    count = weight.numel() if weight.ndim else 1
    slope = reshape(weight, ()) if count == 1 else weight
    if count > 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # PyTorch: 0-D, 1-D have 1
        if channels != count:
            raise ValueError(f"prelu: weight: expected 1 slope or one per channel "
                             f"({channels} in dim 1 of input of shape {input.shape}), got "
                             f"{count}")
        if input.ndim >= 2:
            slope = reshape(weight, (1, count) + (1,) * (input.ndim - 2))
    return where(input.array > 0, input, slope * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky relu (Xu et al. 2015): a random slope in [lower, upper] per negative
    element while training, the mean slope (lower + upper) / 2 otherwise."""
    _check("rrelu", input)
    _number("rrelu", "lower", lower, finite=True)
    _number("rrelu", "upper", upper, finite=True)
    if lower > upper:
        raise ValueError(f"rrelu: lower: expected lower bound <= upper bound, got lower="
                         f"{lower} and upper={upper}")
    if inplace:
        return rrelu_(input, lower, upper, training)
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    draws = _random.default_generator().random(input.shape)
    slopes = (lower + (upper - lower) * draws).astype(input.dtype)
    x = input.array
    slopes = get_array_module(x).where(x >= 0, x.dtype.type(1), to_device(slopes, input.device))
    return Masked.apply(input, mask=slopes)


def relu_(input: Tensor) -> Tensor:
    """relu written into ``input`` (PyTorch's in-place rules, ops/inplace.py)."""
    return apply_in_place(input, relu, "relu_")


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """rrelu written into ``input``."""
    return apply_in_place(input, lambda x: rrelu(x, lower, upper, training), "rrelu_")


__all__ = ["hardshrink", "softshrink", "softmin", "prelu", "rrelu", "relu_", "rrelu_"]


def methods() -> dict:
    """{Tensor method name: function} (PyTorch's Tensor has these too)."""
    return {"hardshrink": hardshrink, "relu_": relu_, "prelu": prelu, "softmin": softmin}
