r"""grid_sample's padding modes as maps of the unnormalized pixel coordinates (PyTorch's
``clip_coordinates`` and ``reflect_coordinates``, CPU kernel formulas).

``u`` is a pixel coordinate along one axis (a Tensor of any shape, e.g. (N, Ho, Wo)) and
``size`` the input's extent along it::

    zeros:       u                                  (reads outside the image give 0)
    border:      clip(u, 0, size - 1)
    reflection:  clip(reflect(u), 0, size - 1), where reflect folds u into [low, low + span]
                 like a mirror at both ends:
                 align_corners=True:  low = 0,    span = size - 1  (edge pixel centres)
                 align_corners=False: low = -0.5, span = size      (edge pixel outer edges)
                 a = u - low, t = |a|, period P = 2 span, k = trunc(t / P), e = t - k P,
                 reflect(u) = low + (P - e if e > P - e else e)
                 (span = 0, a single pixel with align_corners=True: reflect(u) = 0)

Both maps are piecewise linear with slope 0 or +-1, and the pieces only change where the
value crosses an edge. So each is written ``slope * u + offset`` with the slope and offset
computed on arrays (constants of the graph): the value is exact, the gradient is the slope
and the second derivative is 0, as PyTorch's. Its conventions are kept: clip's slope is 0
*on* the edges as well as beyond them (PyTorch counts the borders as out of bounds), and
reflect's slope is -1 where exactly one of "a < 0" and "folded back (e > P - e)" holds.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module, to_device

PADDING_MODES = ("zeros", "border", "reflection")


def _constant(array: np.ndarray, like: Tensor) -> Tensor:
    """A constant (no gradient) with ``like``'s dtype and device."""
    array = to_device(np.asarray(array), like.device)
    return Tensor._wrap(get_array_module(array).asarray(array, dtype=like.dtype))


def _values(coord: Tensor) -> np.ndarray:
    return np.asarray(coord.numpy())


def clip_coordinates(coord: Tensor, size: int) -> Tensor:
    """clip(u, 0, size - 1): slope 1 strictly inside (0, size - 1), 0 on and past the edges."""
    u = _values(coord)
    top = u.dtype.type(size - 1)
    inside = (u > 0) & (u < top)
    outside_value = np.where(inside, 0, np.clip(u, 0, top))
    return coord * _constant(inside, coord) + _constant(outside_value, coord)


def reflect_coordinates(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """u folded into [low, low + span] (see the module docstring); not yet clipped."""
    if align_corners and size <= 1:
        return coord * 0.0
    low, span = (0.0, size - 1.0) if align_corners else (-0.5, float(size))
    u = _values(coord)
    dtype = u.dtype.type
    period = dtype(2 * span)
    a = u - dtype(low)
    sign = np.where(a < 0, -1, 1)                        # slope of |a|
    t = np.abs(a)
    whole_periods = np.trunc(t / period) * period
    extra = t - whole_periods
    folded = extra > period - extra                      # e -> P - e
    t_tensor = (coord - low) * _constant(sign, coord)                # |a|, exactly
    extra_tensor = t_tensor - _constant(whole_periods, coord)
    reflected = (extra_tensor * _constant(np.where(folded, -1, 1), coord)
                 + _constant(np.where(folded, period, 0), coord))
    return reflected + low if low else reflected


def pad_coordinates(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """The coordinate map of ``padding_mode`` ('zeros': unchanged)."""
    if padding_mode == "border":
        return clip_coordinates(coord, size)
    if padding_mode == "reflection":
        return clip_coordinates(reflect_coordinates(coord, size, align_corners), size)
    return coord


__all__ = ["PADDING_MODES", "clip_coordinates", "reflect_coordinates", "pad_coordinates"]
