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


def _check_probability(op, p):
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
    if not training or p == 0:
        return input
    return MaskMul.apply(input, mask=_keep_mask(input.shape, p, input))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    r"""Channel dropout: whole feature maps are zeroed, y[n, c] = x[n, c] m_{nc} / (1 - p).

    Input (N, C, H, W), or (N, C, L) (PyTorch's current reading of 3-D input: one mask
    per channel of each sample).
    """
    _check_probability("dropout2d", p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: input: expected (N, C, H, W) or (N, C, L), got shape "
                         f"{input.shape}")
    if not training or p == 0:
        return input
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return MaskMul.apply(input, mask=_keep_mask(shape, p, input))


__all__ = ["dropout", "dropout2d"]
