"""Dropout: ``dropout`` (each element) and ``dropout2d`` (whole channels).

The mask is drawn from minicnn's generator (``mc.manual_seed`` makes it repeatable) and is
a constant of the backward graph (``MaskMul``): dL/dx = g m / (1 - p), second derivative 0.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..backend import to_device
from .math import MaskMul


def _check_input(op, input, training: bool) -> None:
    """A Tensor; a floating one when it is going to be masked (PyTorch cannot store the
    scaled mask in an integer tensor either)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if training and input.dtype.kind not in "fc":
        from .torch_errors import RuntimeTypeError

        raise RuntimeTypeError(f"{op}: result type Float can't be cast to the input's dtype "
                               f"{input.dtype} (PyTorch refuses too); convert it (x.float())")


def _check_probability(op, p):
    if isinstance(p, (bool, str, bytes)) or not isinstance(p, (int, float, np.integer,
                                                               np.floating)):
        raise TypeError(f"{op}: p: expected a number, got {p!r} ({type(p).__name__})")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p: dropout probability has to be between 0 and 1, got {p!r}")


def _keep_mask(shape, p, like: Tensor):
    """Bernoulli(1 - p) draws scaled by 1 / (1 - p), from minicnn's generator (drawn on the
    CPU, then moved to the input's device). p = 1 drops everything."""
    keep = _random.default_generator().random(shape) >= p
    mask = keep / (1.0 - p) if p < 1 else np.zeros(shape)
    return to_device(mask.astype(like.dtype), like.device)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    r"""Inverted dropout: y = x m / (1 - p) with m ~ Bernoulli(1 - p) per element, so
    E[y] = x and evaluation needs no rescaling. Identity when not training or p = 0.
    dL/dx = g m / (1 - p) (the mask is a constant).
    """
    _check_probability("dropout", p)
    _check_input("dropout", input, training and p != 0)
    if not training or p == 0:
        return input
    if inplace:  # written into the input, as PyTorch's
        from .activation_extra import in_place

        return in_place(input, lambda x: dropout(x, p, training), "dropout_")
    return MaskMul.apply(input, mask=_keep_mask(input.shape, p, input))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    r"""Channel dropout: whole feature maps are zeroed, y[n, c] = x[n, c] m_{nc} / (1 - p).

    Input (N, C, H, W), or (N, C, L) (PyTorch's current reading of 3-D input: one mask
    per channel of each sample).
    """
    _check_probability("dropout2d", p)
    _check_input("dropout2d", input, training and p != 0)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: input: expected (N, C, H, W) or (N, C, L), got shape "
                         f"{input.shape}")
    if not training or p == 0:
        return input
    if inplace:
        from .activation_extra import in_place

        return in_place(input, lambda x: dropout2d(x, p, training), "dropout2d_")
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return MaskMul.apply(input, mask=_keep_mask(shape, p, input))




def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance: dropped units are set to
    -alpha' = -1.7581 and everything is then scaled by a and shifted by b (PyTorch's
    formula): y = a (x m + alpha' (m - 1)) + alpha' a p."""
    if not isinstance(input, Tensor) or input.dtype.kind not in "fc":
        raise TypeError(f"alpha_dropout: input: expected a floating-point Tensor, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"alpha_dropout: p: dropout probability has to be between 0 and 1, "
                         f"but got {p!r}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    alpha = 1.7580993408473766
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = (_random.default_generator().random(input.shape) >= p).astype(input.dtype)
    shift = ((keep - 1) * (alpha * a) + alpha * a * p).astype(input.dtype)  # not float64
    return input * Tensor._wrap(to_device((keep * a).astype(input.dtype), input.device)) + \
        Tensor._wrap(to_device(shift, input.device))


__all__ = ["dropout", "dropout2d", "alpha_dropout"]
