r"""Resizing: adaptive_avg_pool2d, interpolate (nearest, nearest-exact, bilinear, bicubic,
area), upsample.

Shapes: x (N, C, H, W) (or one unbatched image (C, H, W)) -> y (N, C, P, Q).

Adaptive average pooling and interpolation are linear and *separable*: rows and columns
are resized independently, so ``y = M_h x M_w^T`` with two small matrices (``M_h`` (P, H),
``M_w`` (Q, W)), built once with NumPy and applied with two ``matmul``s. The gradient is
``M_h^T g M_w`` -- matmul's own backward -- so second derivatives come for free.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .math import matmul
from .pool import _batched
from .shape import reshape


def _resize_rows_and_cols(x: Tensor, row_matrix: np.ndarray, col_matrix: np.ndarray) -> Tensor:
    """y = M_h x M_w^T for every image and channel: (N, C, H, W) -> (N, C, P, Q)."""
    xp = get_array_module(x.array)
    rows = Tensor._wrap(xp.asarray(row_matrix, dtype=x.dtype))              # (P, H)
    cols_t = Tensor._wrap(xp.asarray(col_matrix.T.copy(), dtype=x.dtype))   # (W, Q)
    return matmul(matmul(rows, x), cols_t)


def _integer_weights(matrix: np.ndarray):
    """PyTorch's fixed-point weights for uint8 resizing: ``round(w 2^p)`` with the largest
    precision p that keeps every weight below 2^15 (as Pillow-SIMD, which PyTorch ported)."""
    largest = float(matrix.max())
    precision = 0
    while precision < 22 and int(0.5 + largest * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    return np.floor(matrix * (1 << precision) + 0.5).astype(np.int64), precision


def _resize_uint8_pass(x, matrix: np.ndarray, axis: int):
    """One separable pass on uint8 images: integer weights, then round and saturate."""
    xp = get_array_module(x)
    weights, precision = _integer_weights(matrix)
    weights = xp.asarray(weights)
    total = xp.moveaxis(xp.tensordot(x.astype(np.int64), weights, axes=([axis], [1])), -1, axis)
    rounded = (total + (1 << precision >> 1)) >> precision
    return xp.clip(rounded, 0, 255).astype(np.uint8)


def _resize_uint8(x: Tensor, row_matrix: np.ndarray, col_matrix: np.ndarray) -> Tensor:
    """Bilinear or bicubic resizing of uint8 images as PyTorch computes it: columns first,
    then rows, each pass with integer weights and its result rounded and saturated to uint8
    (so the values equal PyTorch's, which can differ by 1 from rounding the exact float
    result). A dimension whose size does not change is not resampled (PyTorch's uint8
    shortcut, even for bicubic with a scale_factor such as 1.1). Not differentiable
    (integer tensors have no gradient)."""
    y = x.array
    if col_matrix.shape[0] != col_matrix.shape[1]:
        y = _resize_uint8_pass(y, col_matrix, 3)
    if row_matrix.shape[0] != row_matrix.shape[1]:
        y = _resize_uint8_pass(y, row_matrix, 2)
    return Tensor._wrap(y)


def _check_float_or_uint8(op: str, mode: str, x: Tensor) -> None:
    with_uint8 = mode in ("bilinear", "bicubic")
    if x.dtype.kind not in "fc" and (not with_uint8 or x.dtype != np.uint8):
        allowed = "floating-point or uint8" if with_uint8 else "floating-point"
        raise TypeError(f"{op}: mode {mode!r} needs a {allowed} input, got dtype {x.dtype} "
                        f"(PyTorch does not implement it either); convert it (x.float())")


def adaptive_average_matrix(input_size: int, output_size: int) -> np.ndarray:
    """M (output_size, input_size): row i averages cells floor(i H / P) .. ceil((i+1) H / P) - 1
    (PyTorch's adaptive windows: they cover the input and may overlap by one cell)."""
    matrix = np.zeros((output_size, input_size))
    for i in range(output_size):
        start = (i * input_size) // output_size
        end = -(-((i + 1) * input_size) // output_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    r"""Average pooling to a fixed output size (PyTorch's ``F.adaptive_avg_pool2d``).

    Output pixel (p, q) averages input rows [floor(p H / P), ceil((p+1) H / P)) and the
    columns alike. Computed as ``M_h x M_w^T`` (see ``adaptive_average_matrix``).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or (P, Q); None in the pair keeps that dimension's size.
    """
    x, unbatched = _batched("adaptive_avg_pool2d", input)
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError("adaptive_avg_pool2d: input: expected a 4-D (N, C, H, W) or 3-D "
                         f"(C, H, W) tensor, got shape {getattr(input, 'shape', None)}")
    sizes = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size: expected an int or a pair, got "
                         f"{output_size!r}")
    _check_float_or_uint8("adaptive_avg_pool2d", "average", x)
    P, Q = (x.shape[2 + i] if size is None else size for i, size in enumerate(sizes))
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (P, Q)):
        raise TypeError(f"adaptive_avg_pool2d: output_size: expected ints (or None), got "
                        f"{output_size!r}")
    if min(P, Q) < 0:
        raise ValueError(f"adaptive_avg_pool2d: output_size: expected non-negative ints, got "
                         f"{output_size!r}")
    y = _resize_rows_and_cols(x, adaptive_average_matrix(x.shape[2], P),
                              adaptive_average_matrix(x.shape[3], Q))
    return reshape(y, y.shape[1:]) if unbatched else y


CUBIC_A = -0.75   # PyTorch's (and OpenCV's) choice of the cubic convolution parameter


def cubic_weights(t: np.ndarray) -> np.ndarray:
    r"""The 4 taps' weights (..., 4) at distances t + 1, t, 1 - t, 2 - t (t in [0, 1)) of
    Keys' cubic convolution kernel with A = -0.75::

        W(d) = (A + 2)|d|^3 - (A + 3)|d|^2 + 1          for |d| <= 1
        W(d) = A|d|^3 - 5A|d|^2 + 8A|d| - 4A             for 1 < |d| < 2  (0 beyond)

    The four weights sum to 1, and at t = 0 they are (0, 1, 0, 0).
    """
    a = CUBIC_A

    def near(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def cubic_interpolation_matrix(input_size: int, output_size: int, align_corners: bool,
                               scale_factor=None) -> np.ndarray:
    """M (output_size, input_size) of PyTorch's bicubic resizing along one dimension.

    src = dst (input - 1) / (output - 1) with align_corners=True (0 for a single output),
    else src = scale (dst + 0.5) - 0.5 with scale = 1 / scale_factor when given, else
    input / output (*not* clamped at 0, unlike bilinear). Then i0 = floor(src),
    t = src - i0, and y[dst] = sum_k cubic_weights(t)[k] x[clamp(i0 - 1 + k, 0, input - 1)]:
    taps past an edge read the edge pixel (their weights add up there). No same-size
    shortcut: PyTorch's forward moves the sample points even then (scale_factor=1.1 on 4
    rows keeps 4 rows, but resamples them). PyTorch's float backward does copy when both
    H and W keep their size, so there its gradient is not its forward's; ours is ``M^T``.
    """
    dst = np.arange(output_size)
    if align_corners:
        scale = (input_size - 1) / (output_size - 1) if output_size > 1 else 0.0
        source = dst * scale
    else:
        scale = (1.0 / scale_factor if scale_factor is not None and scale_factor > 0
                 else input_size / output_size)
        source = scale * (dst + 0.5) - 0.5
    low = np.minimum(np.floor(source).astype(np.int64), input_size - 1)
    weights = cubic_weights(np.clip(source - low, 0.0, 1.0))
    matrix = np.zeros((output_size, input_size))
    for k in range(4):
        np.add.at(matrix, (dst, np.clip(low - 1 + k, 0, input_size - 1)), weights[:, k])
    return matrix


def interpolation_matrix(input_size: int, output_size: int, mode: str,
                         align_corners: bool, scale_factor=None) -> np.ndarray:
    """M (output_size, input_size) with y = M x along one dimension, PyTorch's formulas.

    ``scale`` = 1 / scale_factor when a scale factor was given, else input / output.

    * nearest:  source i = min(floor(dst * scale), input - 1), computed in float32 as
      PyTorch does (so the same pixel is picked);
    * nearest-exact: min(floor((dst + 0.5) scale), input - 1);
    * bilinear (per dimension, "linear"): with align_corners=False the pixel *centres*
      line up: src = max(scale (dst + 0.5) - 0.5, 0); with align_corners=True the corner
      pixels line up: src = dst (input - 1) / (output - 1). Then y = (1 - l) x[i0] + l x[i1]
      with i0 = floor(src), i1 = min(i0 + 1, input - 1), l = src - i0. A dimension whose
      size does not change is copied (PyTorch's shortcut, even when a scale_factor such as
      1.2 would move the sample points: floor(4 * 1.2) = 4).
    * bicubic: 4 taps of the cubic convolution kernel (see ``cubic_interpolation_matrix``).
    """
    if mode == "bicubic":
        return cubic_interpolation_matrix(input_size, output_size, align_corners, scale_factor)
    matrix = np.zeros((output_size, input_size))
    dst = np.arange(output_size)
    if mode in ("nearest", "nearest-exact"):
        if scale_factor is not None and scale_factor > 0:
            scale = np.float32(1.0 / scale_factor)
        else:
            scale = np.float32(input_size) / np.float32(output_size)
        shift = np.float32(0.5 if mode == "nearest-exact" else 0.0)
        source = np.floor((dst.astype(np.float32) + shift) * scale).astype(np.int64)
        source = np.minimum(source, input_size - 1)
        if mode == "nearest" and output_size == input_size:  # PyTorch's two shortcuts
            source = dst
        elif mode == "nearest" and output_size == 2 * input_size:
            source = dst // 2
        matrix[dst, source] = 1.0
        return matrix
    if output_size == input_size:  # PyTorch copies such a dimension, whatever scale_factor says
        matrix[dst, dst] = 1.0
        return matrix
    if align_corners:
        scale = (input_size - 1) / (output_size - 1) if output_size > 1 else 0.0
        source = dst * scale
    else:
        scale = (1.0 / scale_factor if scale_factor is not None and scale_factor > 0
                 else input_size / output_size)
        source = np.maximum(scale * (dst + 0.5) - 0.5, 0.0)
    low = np.floor(source).astype(np.int64)
    low = np.minimum(low, input_size - 1)
    high = np.minimum(low + 1, input_size - 1)
    weight_high = np.clip(source - low, 0.0, 1.0)
    np.add.at(matrix, (dst, low), 1.0 - weight_high)
    np.add.at(matrix, (dst, high), weight_high)
    return matrix


_INTERPOLATION_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
_CORNER_MODES = ("bilinear", "bicubic")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None) -> Tensor:
    r"""Resize images (PyTorch's ``F.interpolate`` for 4-D input; 3-D and 5-D go to
    ops/resize_nd.py).

    Each output pixel is a fixed combination of input pixels, rows and columns apart:
    ``y = M_h x M_w^T`` (see ``interpolation_matrix`` for the formulas). Being linear, the
    gradient is ``M_h^T g M_w`` (each input pixel collects from the outputs that read it).

    Args:
        input: (N, C, H, W).
        size: the output (P, Q) (int or pair), or
        scale_factor: a number or pair; then P = floor(H * scale_factor), and the pixel
            positions use 1 / scale_factor (PyTorch's default), unless
            ``recompute_scale_factor=True`` (then they use H / P).
        mode: 'nearest' (PyTorch's legacy rule), 'nearest-exact', 'bilinear', 'bicubic'
            (4 x 4 taps of the cubic convolution kernel, A = -0.75: it overshoots, so the
            output can leave the input's range) or 'area' (``adaptive_avg_pool2d`` to the
            output size).
        align_corners: bilinear and bicubic only; default False (None).

    uint8 images are resized as PyTorch does for 'bilinear' and 'bicubic' (integer weights,
    rounded and saturated; see ``_resize_uint8``); other integer dtypes only with the
    nearest modes, which copy values.
    """
    op = "interpolate"
    if isinstance(input, Tensor) and input.ndim in (3, 5):  # 1-D signals, 3-D volumes
        from .resize_nd import interpolate_nd

        return interpolate_nd(input, size, scale_factor, mode, align_corners,
                              recompute_scale_factor)
    if not isinstance(input, Tensor) or input.ndim != 4:
        raise ValueError(f"{op}: input: expected a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D "
                         f"(N, C, D, H, W) tensor, got shape {getattr(input, 'shape', None)}")
    if mode not in _INTERPOLATION_MODES:
        raise ValueError(f"{op}: mode: expected one of {_INTERPOLATION_MODES}, got {mode!r}")
    if align_corners is not None and mode not in _CORNER_MODES:
        raise ValueError(f"{op}: align_corners can only be set with mode='bilinear' or "
                         f"'bicubic', got mode={mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    H, W = input.shape[2:]
    if size is not None:
        out = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        if len(out) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in out):
            raise ValueError(f"{op}: size: expected a positive int or a pair of them, got {size!r}")
        scales = (None, None)
    else:
        scales = (tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple))
                  else (float(scale_factor),) * 2)
        if len(scales) != 2 or min(scales) <= 0:
            raise ValueError(f"{op}: scale_factor: expected a positive number or a pair of them, "
                             f"got {scale_factor!r}")
        out = (math.floor(H * scales[0]), math.floor(W * scales[1]))
        if min(out) < 1:
            raise ValueError(f"{op}: scale_factor {scale_factor!r} turns input {(H, W)} into "
                             f"an empty output {out}")
        if recompute_scale_factor:
            scales = (None, None)
    if mode == "area":
        _check_float_or_uint8(op, mode, input)
        return adaptive_avg_pool2d(input, out)
    align = bool(align_corners)
    rows = interpolation_matrix(H, out[0], mode, align, scales[0])
    cols = interpolation_matrix(W, out[1], mode, align, scales[1])
    if mode in _CORNER_MODES:
        _check_float_or_uint8(op, mode, input)
        if input.dtype == np.uint8:
            return _resize_uint8(input, rows, cols)
    return _resize_rows_and_cols(input, rows, cols)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners=None) -> Tensor:
    """Old name of ``interpolate`` (PyTorch's deprecated ``F.upsample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


__all__ = ["adaptive_avg_pool2d", "interpolate", "upsample", "adaptive_average_matrix",
           "interpolation_matrix", "cubic_interpolation_matrix", "cubic_weights"]
