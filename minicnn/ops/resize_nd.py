r"""``F.interpolate`` for 1-D signals (N, C, L) and 3-D volumes (N, C, D, H, W); 2-D images
are ops/resize.py's.

Every mode here is separable, as in 2-D: each spatial dim is resized on its own by a small
matrix ``M`` (output, input) -- the same ``interpolation_matrix`` / ``adaptive_average_matrix``
as 2-D, so the sample positions are PyTorch's -- applied as ``y = x M^T`` along that dim
(a ``matmul`` after moving the dim last). Linear, so the gradient is ``g M`` per dim and
differentiable again.

Modes: 'nearest', 'nearest-exact', 'area' (any of them), 'linear' (3-D input only) and
'trilinear' (5-D only), as PyTorch pairs them; 'bilinear'/'bicubic' need 4-D input.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .math import matmul
from .resize import adaptive_average_matrix, interpolation_matrix
from .shape import transpose

_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}
_ANY_DIMS = ("nearest", "nearest-exact", "area")


def _output_size(op, spatial, size, scale_factor, recompute_scale_factor):
    k = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    if size is not None:
        out = tuple(size) if isinstance(size, (list, tuple)) else (size,) * k
        if len(out) != k or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in out):
            raise ValueError(f"{op}: size: expected a positive int or {k} of them for a "
                             f"{k + 2}-D input, got {size!r}")
        return tuple(int(v) for v in out), (None,) * k
    scales = (tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple))
              else (float(scale_factor),) * k)
    if len(scales) != k or min(scales) <= 0:
        raise ValueError(f"{op}: scale_factor: expected a positive number or {k} of them, got "
                         f"{scale_factor!r}")
    out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
    if min(out) < 1:
        raise ValueError(f"{op}: scale_factor {scale_factor!r} turns input {spatial} into an "
                         f"empty output {out}")
    return out, ((None,) * k if recompute_scale_factor else scales)


def _along(x: Tensor, dim: int, matrix: np.ndarray) -> Tensor:
    """x resized along ``dim`` by ``matrix`` (output, input): y = x M^T with dim moved last."""
    if matrix.shape[0] == matrix.shape[1] and np.array_equal(matrix, np.eye(matrix.shape[0])):
        return x
    xp = get_array_module(x.array)
    m_t = Tensor._wrap(xp.asarray(matrix.T.copy(), dtype=x.dtype))
    if dim == x.ndim - 1:
        return matmul(x, m_t)
    return transpose(matmul(transpose(x, dim, -1), m_t), dim, -1)


def interpolate_nd(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                   align_corners=None, recompute_scale_factor=None) -> Tensor:
    """``F.interpolate`` of a 3-D (N, C, L) or 5-D (N, C, D, H, W) tensor (see the module)."""
    op = "interpolate"
    ndim = input.ndim
    if ndim not in (3, 5):
        raise ValueError(f"{op}: input: expected a 3-D, 4-D or 5-D tensor (N, C, spatial...), "
                         f"got shape {input.shape}")
    if mode not in _ANY_DIMS and mode != _LINEAR[ndim]:
        wanted = {v: k for k, v in _LINEAR.items()}.get(mode)
        if wanted is None and mode != "bicubic":
            raise NotImplementedError(f"{op}: mode: expected 'nearest', 'nearest-exact', "
                                      f"'area' or {_LINEAR[ndim]!r} for a {ndim}-D input, got "
                                      f"{mode!r}")
        raise NotImplementedError(f"{op}: mode {mode!r} needs a {wanted or 4}-D input, got "
                                  f"{ndim}-D (shape {input.shape}); use {_LINEAR[ndim]!r}")
    if align_corners is not None and mode in _ANY_DIMS:
        raise ValueError(f"{op}: align_corners can only be set with the linear modes, got "
                         f"mode={mode!r}")
    if input.dtype.kind not in "fc" and mode not in ("nearest", "nearest-exact"):
        raise TypeError(f"{op}: mode {mode!r} needs a floating-point input here, got dtype "
                        f"{input.dtype}; convert it (x.float())")
    spatial = tuple(input.shape[2:])
    out, scales = _output_size(op, spatial, size, scale_factor, recompute_scale_factor)
    y = input
    for i, (n, m, s) in enumerate(zip(spatial, out, scales)):
        if mode == "area":
            matrix = adaptive_average_matrix(n, m)
        else:
            matrix = interpolation_matrix(n, m, "bilinear" if mode in _LINEAR.values() else mode,
                                          bool(align_corners), s)
        if input.dtype.kind not in "fc":  # nearest copies values: an integer gather
            xp = get_array_module(y.array)
            y = Tensor._wrap(xp.take(y.array, xp.asarray(matrix.argmax(axis=1)), axis=2 + i))
        else:
            y = _along(y, 2 + i, matrix)
    return y


__all__ = ["interpolate_nd"]
