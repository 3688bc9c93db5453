"""torchvision's ``utils``: ``make_grid`` tiles a batch of images into one, ``save_image``
writes that grid as a PNG (how DCGAN-style scripts save their samples)::

    vutils.save_image(fake.detach(), "samples.png", nrow=8, normalize=True)

Both compute exactly what torchvision computes (its rules are spelled out below), on the
images' own array module and dtype. ``minicnn.viz.save_image_grid`` is minicnn's own
picture writer (gray stays gray, ``value_range`` clipping, pixel upscaling); these two
follow torchvision instead, so a ported script draws the same pictures.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module, to_device
from .functional import require_pil

__all__ = ["make_grid", "save_image"]


def _images(tensor):
    """A 4-D array ``(N, C, H, W)`` from a Tensor or a list of Tensors, 1 channel -> 3."""
    if isinstance(tensor, (list, tuple)):
        if not tensor or not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError("make_grid: tensor or list of tensors expected, got a list that "
                            "holds something else (or nothing)")
        arrays = [t.array for t in tensor]
        array = get_array_module(arrays[0]).stack(arrays)
    elif isinstance(tensor, Tensor):
        array = tensor.array
    else:
        raise TypeError(f"make_grid: tensor or list of tensors expected, got "
                        f"{type(tensor).__name__}")
    xp = get_array_module(array)
    if array.ndim == 2:   # one image (H, W)
        array = array[None]
    if array.ndim == 3:   # one image (C, H, W)
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected images (N, C, H, W), (C, H, W) or (H, W), got "
                         f"shape {array.shape}")
    if array.shape[1] == 1:
        array = xp.concatenate([array] * 3, axis=1)
    return array


def _normalized(array, value_range, scale_each: bool):
    """torchvision's ``norm_ip``: clamp to ``(low, high)`` (the images' min and max when
    ``value_range`` is None), then ``(x - low) / max(high - low, 1e-5)``."""
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified; "
                        "min and max are numbers")
    xp = get_array_module(array)
    dtype = array.dtype.type if array.dtype.kind == "f" else np.float32

    def norm(images):
        if value_range is not None:
            low, high = float(value_range[0]), float(value_range[1])
        else:
            low, high = float(images.min()), float(images.max())
        clamped = xp.clip(images, dtype(low), dtype(high)).astype(dtype)
        return (clamped - dtype(low)) / dtype(max(high - low, 1e-5))

    if scale_each:
        return xp.stack([norm(image) for image in array]).astype(array.dtype)
    return norm(array).astype(array.dtype)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile images into one ``(3, H', W')`` Tensor, as ``torchvision.utils.make_grid``.

    Args:
        tensor: a Tensor ``(N, C, H, W)`` (or one image ``(C, H, W)`` / ``(H, W)``), or a
            list of equal-shape Tensors. One-channel images are repeated to 3 channels.
        nrow: images per row; there are ``ceil(N / nrow)`` rows.
        padding: pixels of ``pad_value`` around every tile.
        normalize: map pixels to [0, 1]: clamp to ``value_range = (low, high)`` (default:
            the min and max of all the images) and compute ``(x - low) / (high - low)``.
        scale_each: with ``normalize``, use each image's own min and max.

    A single image (N = 1) comes back without padding, as in torchvision. The grid has the
    images' dtype and array module (NumPy or CuPy); no gradient flows through it.
    """
    array = _images(tensor)
    if normalize:
        array = _normalized(array, value_range, scale_each)
    if array.shape[0] == 1:
        return Tensor._wrap(array[0].copy())
    xp = get_array_module(array)
    count, channels, height, width = array.shape
    columns = min(int(nrow), count)
    rows = int(math.ceil(count / columns))
    step_h, step_w = height + padding, width + padding
    grid = xp.full((channels, step_h * rows + padding, step_w * columns + padding),
                   pad_value, dtype=array.dtype)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * step_h + padding, column * step_w + padding
        grid[:, top:top + height, left:left + width] = array[index]
    return Tensor._wrap(grid)


def save_image(tensor, fp, nrow: int = 8, padding: int = 2, normalize: bool = False,
               value_range=None, scale_each: bool = False, pad_value: float = 0.0,
               format=None) -> None:
    """Write ``make_grid(tensor, ...)`` as an RGB image file (PNG unless ``format`` or the
    file name says otherwise), as ``torchvision.utils.save_image``: each pixel becomes
    ``uint8(clamp(x * 255 + 0.5, 0, 255))``, i.e. [0, 1] to 0..255, rounded.

    ``fp`` is a file name (its folder must exist, as with torchvision) or a binary file
    object. Written with Pillow, as torchvision does (matplotlib, which minicnn.viz draws
    with, installs it).
    """
    image = require_pil("save_image")
    grid = make_grid(tensor, nrow=nrow, padding=padding, normalize=normalize,
                     value_range=value_range, scale_each=scale_each, pad_value=pad_value)
    pixels = to_device(grid.array, "cpu")
    dtype = pixels.dtype.type if pixels.dtype.kind == "f" else np.float32
    pixels = np.clip(pixels.astype(dtype) * dtype(255) + dtype(0.5), 0, 255)
    pixels = np.ascontiguousarray(pixels.transpose(1, 2, 0)).astype(np.uint8)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    picture = image.fromarray(pixels)
    picture.save(os.fspath(fp) if isinstance(fp, (str, os.PathLike)) else fp, format=format)
