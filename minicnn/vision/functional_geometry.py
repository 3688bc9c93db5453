"""Rotations and affine maps: torchvision's ``rotate``, ``affine`` and ``resized_crop``
(reached as ``minicnn.vision.functional.rotate`` ...).

How a Tensor is moved (torchvision's tensor path, ``F_t.rotate`` / ``F_t.affine``): the
*inverse* affine matrix (``_get_inverse_affine_matrix``: output pixel -> input pixel, in
coordinates centred on the image) is applied to a grid of output pixel centres, the grid
is normalised by the input size and ``grid_sample(mode, padding_mode="zeros",
align_corners=False)`` reads the input there. A ``fill`` is applied as torchvision does:
a channel of ones is sampled along, and where it is < 0.5 (nearest) the fill replaces
the pixel, or (bilinear) the result is ``img * mask + (1 - mask) * fill``. Integer images
are sampled in float32 and rounded back (half to even, ``torch.round``).

PIL images go to Pillow (``Image.rotate`` / ``Image.transform(AFFINE)``) with torchvision's
arguments, as torchvision does. NumPy arrays ``(H, W[, C])`` follow the tensor path above
(not Pillow's resampler: at the borders and for bilinear weights a pixel can differ from
what Pillow gives a PIL image by a grey level or so).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..backend import get_array_module
from .functional import _PIL_FILTERS, _back, _chw, _kind, crop, pil_image_module, resize

__all__ = ["rotate", "affine", "resized_crop"]


def _mode(interpolation, what: str) -> str:
    mode = getattr(interpolation, "value", interpolation)
    if isinstance(mode, numbers.Integral):
        mode = {number: name for name, number in _PIL_FILTERS.items()}.get(int(mode), mode)
    if mode not in ("nearest", "bilinear", "bicubic"):
        raise ValueError(f"{what}: interpolation should be nearest or bilinear, got "
                         f"{interpolation!r}")
    return mode


def _inverse_affine_matrix(center, angle, translate, scale, shear) -> list:
    """torchvision's ``_get_inverse_affine_matrix`` (inverted=True): the 2x3 matrix, as 6
    floats, of ``C * (R S Sh)^-1 * C^-1 * T^-1`` (R rotation by ``angle`` degrees, S
    ``scale``, Sh the shears in degrees, C the centre, T the translation)."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def _expanded_size(matrix, width: int, height: int) -> tuple:
    """``(width, height)`` holding the whole rotated image (torchvision's
    ``_compute_affine_output_size``, float32, corners rounded outwards to 1e-4)."""
    corners = np.array([[-0.5 * width, -0.5 * height, 1.0], [-0.5 * width, 0.5 * height, 1.0],
                        [0.5 * width, 0.5 * height, 1.0], [0.5 * width, -0.5 * height, 1.0]],
                       dtype=np.float32)
    moved = corners @ np.asarray(matrix, dtype=np.float32).reshape(2, 3).T
    half = np.array([0.5 * width, 0.5 * height], dtype=np.float32)
    low, high = moved.min(axis=0) + half, moved.max(axis=0) + half
    tol = np.float32(1e-4)
    size = np.ceil(np.trunc(high / tol) * tol) - np.floor(np.trunc(low / tol) * tol)
    return int(size[0]), int(size[1])


def _affine_grid(matrix, width, height, out_w, out_h, dtype, xp):
    """torchvision's ``_gen_affine_grid``: (out_h, out_w, 2) sampling points in
    grid_sample's [-1, 1] coordinates of the input."""
    theta = xp.asarray(np.asarray(matrix, dtype=np.float64).reshape(2, 3).astype(dtype))
    xs = xp.asarray((np.arange(out_w) - out_w * 0.5 + 0.5).astype(dtype))
    ys = xp.asarray((np.arange(out_h) - out_h * 0.5 + 0.5).astype(dtype))
    base = xp.stack([xp.broadcast_to(xs[None, :], (out_h, out_w)),
                     xp.broadcast_to(ys[:, None], (out_h, out_w)),
                     xp.ones((out_h, out_w), dtype=dtype)], axis=-1)
    rescaled = theta.T / xp.asarray(np.array([0.5 * width, 0.5 * height], dtype=dtype))
    return (base.reshape(-1, 3) @ rescaled).reshape(out_h, out_w, 2)


def _gather(pixels, rows, cols):
    """``pixels[..., rows, cols]`` with 0 where (rows, cols) falls outside the image."""
    xp = get_array_module(pixels)
    height, width = pixels.shape[-2:]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    values = pixels[..., xp.clip(rows, 0, height - 1), xp.clip(cols, 0, width - 1)]
    return values * inside.astype(pixels.dtype)


def grid_sample_pixels(pixels, grid, mode: str):
    """``grid_sample(pixels, grid, mode, padding_mode="zeros", align_corners=False)`` of an
    array (..., C, H, W) with one grid (oh, ow, 2) for every image."""
    xp = get_array_module(pixels)
    height, width = pixels.shape[-2:]
    ix = ((grid[..., 0] + 1) * width - 1) / 2
    iy = ((grid[..., 1] + 1) * height - 1) / 2
    if mode == "nearest":
        return _gather(pixels, xp.rint(iy).astype(np.int64), xp.rint(ix).astype(np.int64))
    x0, y0 = xp.floor(ix), xp.floor(iy)
    x1, y1 = x0 + 1, y0 + 1
    c0, c1 = x0.astype(np.int64), x1.astype(np.int64)
    r0, r1 = y0.astype(np.int64), y1.astype(np.int64)
    return (_gather(pixels, r0, c0) * ((x1 - ix) * (y1 - iy))
            + _gather(pixels, r0, c1) * ((ix - x0) * (y1 - iy))
            + _gather(pixels, r1, c0) * ((x1 - ix) * (iy - y0))
            + _gather(pixels, r1, c1) * ((ix - x0) * (iy - y0)))


def _grid_transform(pixels, matrix, mode, fill, out_size=None):
    """torchvision's ``_apply_grid_transform`` on an array (..., C, H, W)."""
    xp = get_array_module(pixels)
    height, width = pixels.shape[-2:]
    out_w, out_h = out_size or (width, height)
    dtype = pixels.dtype if pixels.dtype.kind == "f" else np.dtype(np.float32)
    work = pixels.astype(dtype)
    channels = work.shape[-3]
    if fill is not None:
        fills = [float(f) for f in fill] if isinstance(fill, (list, tuple)) else [float(fill)]
        if len(fills) not in (1, channels):
            raise ValueError(f"the number of elements in fill ({len(fills)}) cannot "
                             f"broadcast to the {channels} channels of the image")
        work = xp.concatenate([work, xp.ones(work.shape[:-3] + (1, height, width), dtype)],
                              axis=-3)
    grid = _affine_grid(matrix, width, height, out_w, out_h, dtype, xp)
    out = grid_sample_pixels(work, grid, "nearest" if mode == "nearest" else "bilinear")
    if fill is not None:
        mask, out = out[..., -1:, :, :], out[..., :-1, :, :]
        fill_img = xp.asarray(np.array(fills, dtype=dtype).reshape(-1, 1, 1))
        if mode == "nearest":
            out = xp.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    if pixels.dtype.kind in "iub":
        out = xp.rint(out)
    return out.astype(pixels.dtype)


def _pil_fill(fill, img) -> dict:
    """torchvision's ``_parse_fill``: Pillow's ``fillcolor`` keyword."""
    if fill is None:
        return {}
    bands = len(img.getbands())
    if isinstance(fill, numbers.Number):
        fill = (fill,) * bands if bands > 1 else fill
    elif isinstance(fill, (list, tuple)):
        fill = tuple(fill) * bands if len(fill) == 1 else tuple(fill)
        if len(fill) != bands:
            raise ValueError(f"the number of elements in fill ({len(fill)}) does not match "
                             f"the {bands} bands of the image")
        fill = fill[0] if bands == 1 else fill
    if img.mode != "F":
        fill = tuple(int(f) for f in fill) if isinstance(fill, tuple) else int(fill)
    return {"fillcolor": fill}


def _check_center(center):
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")


def rotate(img, angle, interpolation="nearest", expand: bool = False, center=None,
           fill=None):
    """Rotate by ``angle`` degrees counter-clockwise around ``center`` (pixel coordinates
    ``(x, y)``; default the image centre). ``expand`` enlarges the output to hold the
    whole rotated image; ``fill`` colours the pixels that come from outside (None: 0,
    without torchvision's mask)."""
    if not isinstance(angle, numbers.Real):
        raise TypeError("Argument angle should be int or float")
    _check_center(center)
    mode = _mode(interpolation, "rotate")
    kind = _kind(img, "rotate")
    if kind == "pil":
        return img.rotate(angle, _PIL_FILTERS[mode], expand, center, **_pil_fill(fill, img))
    if mode == "bicubic":
        raise ValueError("rotate: arrays and Tensors support nearest and bilinear only")
    pixels = _chw(img, kind)
    height, width = pixels.shape[-2:]
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    # torchvision passes -angle: rotate and affine turn in opposite senses
    matrix = _inverse_affine_matrix(center_f, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0])
    out_size = _expanded_size(matrix, width, height) if expand else None
    return _back(_grid_transform(pixels, matrix, mode, fill, out_size), img, kind)


def affine(img, angle, translate, scale, shear, interpolation="nearest", fill=None,
           center=None):
    """torchvision's ``affine``: rotate by ``angle`` degrees (clockwise, torchvision's
    sense here), move by ``translate = (tx, ty)`` pixels, scale by ``scale`` and shear by
    ``shear`` degrees (a number: ``(shear, 0)``; ``(sx, sy)``), around ``center``."""
    if not isinstance(angle, numbers.Real):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    _check_center(center)
    shear = [shear, 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    mode = _mode(interpolation, "affine")
    kind = _kind(img, "affine")
    if kind == "pil":
        width, height = img.size
        center = [width * 0.5, height * 0.5] if center is None else center
        matrix = _inverse_affine_matrix(center, float(angle), translate, scale, shear)
        return img.transform(img.size, pil_image_module().Transform.AFFINE, matrix,
                             _PIL_FILTERS[mode], **_pil_fill(fill, img))
    if mode == "bicubic":
        raise ValueError("affine: arrays and Tensors support nearest and bilinear only")
    pixels = _chw(img, kind)
    height, width = pixels.shape[-2:]
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = _inverse_affine_matrix(center_f, float(angle), [1.0 * t for t in translate],
                                    scale, shear)
    return _back(_grid_transform(pixels, matrix, mode, fill), img, kind)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation="bilinear", antialias: bool = True):
    """``crop`` then ``resize`` to ``size`` (torchvision's ``resized_crop``)."""
    return resize(crop(img, top, left, height, width), size, interpolation,
                  antialias=antialias)
