"""Image transforms on arrays: scaling, padding, resizing, random shifts and flips.

Arrays in, arrays out (NumPy, or CuPy on a GPU): these run in the data pipeline, before
images become Tensors, and nothing here needs a gradient. Images have their height and
width as the last two axes: ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``; the random
transforms need a batch axis first, ``(N, ..., H, W)``, and draw one shift or flip per
image.

Randomness always comes from an explicit ``numpy.random.Generator`` that you pass in
(``np.random.default_rng(seed)``): no hidden global state, so a run is reproducible, and
saving ``generator.bit_generator.state`` (a dict ``mc.save`` can store) lets a resumed run
draw exactly the same augmentations as an uninterrupted one.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module
from ..geometry import pair


def scale(images, value_range=(0.0, 1.0), max_value: float = 255.0, dtype=np.float32):
    """Map pixels from ``[0, max_value]`` to ``value_range`` as floats.

    ``y = low + (high - low) * x / max_value``. ``(0, 1)`` suits classifiers; ``(-1, 1)``
    matches the ``tanh`` output of a GAN generator.
    """
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range}")
    if not (isinstance(max_value, (int, float, np.number)) and math.isfinite(max_value)
            and max_value > 0):
        raise ValueError(f"scale: max_value: expected a positive number, got {max_value!r}")
    xp = get_array_module(images)
    images = xp.asarray(images).astype(dtype)
    return images * dtype((high - low) / max_value) + dtype(low)


def normalize(images, mean, std):
    """``(x - mean) / std`` per channel; ``mean``/``std`` are numbers or one value per channel
    (axis -3, as in ``(N, C, H, W)``)."""
    xp = get_array_module(images)
    mean = xp.asarray(mean, dtype=images.dtype)
    std = xp.asarray(std, dtype=images.dtype)
    channels = images.shape[-3] if images.ndim >= 3 else None
    for name, value in (("mean", mean), ("std", std)):
        if value.ndim > 1 or value.ndim == 1 and value.shape[0] not in (1, channels):
            raise ValueError(f"normalize: {name}: expected a number or one value per channel "
                             f"({channels} for images of shape {tuple(images.shape)}), got "
                             f"shape {tuple(value.shape)}")
        if not bool(xp.all(xp.isfinite(value))):
            raise ValueError(f"normalize: {name}: expected finite numbers, got "
                             f"{value.tolist()}")
    if bool(xp.any(std == 0)):   # torchvision's Normalize refuses it too
        raise ValueError(f"normalize: std evaluated to zero ({std.tolist()}), leading to "
                         "division by zero")
    if mean.ndim == 1:
        mean = mean[:, None, None]
    if std.ndim == 1:
        std = std[:, None, None]
    return (images - mean) / std


def pad(images, padding, value=0):
    """Pad the last two axes (H, W) by ``padding`` pixels on each side with ``value``.

    ``padding`` is an int (all sides) or ``(pad_h, pad_w)``: e.g. 28x28 MNIST padded by 2
    becomes the 32x32 that LeNet-5 and many DCGANs expect.
    """
    pad_h, pad_w = pair(padding, "padding")
    if pad_h < 0 or pad_w < 0:
        raise ValueError(f"padding: expected non-negative values, got {padding!r}")
    xp = get_array_module(images)
    widths = [(0, 0)] * (images.ndim - 2) + [(pad_h, pad_h), (pad_w, pad_w)]
    return xp.pad(images, widths, mode="constant", constant_values=value)


def _source_index(out_size: int, in_size: int, xp):
    """Bilinear source coordinates with half-pixel centres (``align_corners=False``):
    ``src = (dst + 0.5) * in / out - 0.5``, clamped at 0, as PyTorch's ``interpolate``."""
    source = (xp.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    source = xp.maximum(source, 0.0)
    low = xp.floor(source).astype(np.int64)
    low = xp.minimum(low, in_size - 1)
    high = xp.minimum(low + 1, in_size - 1)
    weight = source - low
    return low, high, weight


def resize(images, size, mode: str = "bilinear"):
    """Resize the last two axes (H, W) to ``size`` (an int or ``(height, width)``).

    ``mode="bilinear"``: each output pixel mixes the 4 nearest input pixels,
    ``y = (1-a)(1-b) x00 + (1-a) b x01 + a (1-b) x10 + a b x11``, with the half-pixel
    convention of ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``
    (no antialiasing when shrinking, like PyTorch's default). Returns floats (float32 for
    integer input). ``mode="nearest"``: ``src = floor(dst * in / out)``, dtype kept.
    """
    out_h, out_w = pair(size, "size")
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"size: expected positive sizes, got {size!r}")
    xp = get_array_module(images)
    in_h, in_w = images.shape[-2:]
    if mode == "nearest":
        rows = xp.minimum((xp.arange(out_h) * (in_h / out_h)).astype(np.int64), in_h - 1)
        cols = xp.minimum((xp.arange(out_w) * (in_w / out_w)).astype(np.int64), in_w - 1)
        return images[..., rows[:, None], cols[None, :]]
    if mode != "bilinear":
        raise ValueError(f"mode: expected 'bilinear' or 'nearest', got {mode!r}")
    dtype = images.dtype if images.dtype.kind == "f" else np.float32
    x = images.astype(dtype, copy=False)
    row0, row1, a = _source_index(out_h, in_h, xp)
    col0, col1, b = _source_index(out_w, in_w, xp)
    a = a.astype(dtype)[:, None]
    b = b.astype(dtype)[None, :]
    top = x[..., row0, :]  # (..., out_h, in_w)
    bottom = x[..., row1, :]
    rows_mixed = top * (1 - a) + bottom * a
    return rows_mixed[..., col0] * (1 - b) + rows_mixed[..., col1] * b


def _check_generator(generator) -> None:
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator: expected a numpy.random.Generator "
                        f"(np.random.default_rng(seed)), got {type(generator).__name__}")


def random_shift(images, max_shift: int, generator, fill=0):
    """Move each image by a random whole number of pixels, up to ``max_shift`` each way.

    For image n with shift ``(dy, dx)`` drawn uniformly from ``[-max_shift, max_shift]``:
    ``out[n, ..., y, x] = images[n, ..., y - dy, x - dx]``, and ``fill`` where that falls
    outside. Shape ``(N, ..., H, W)``; the same shift for all channels of an image.
    """
    _check_generator(generator)
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"max_shift: expected a non-negative int, got {max_shift!r}")
    if images.ndim < 3:
        raise ValueError(f"images: expected shape (N, ..., H, W), got {images.shape}")
    xp = get_array_module(images)
    m = int(max_shift)
    n, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    shifts = generator.integers(-m, m + 1, size=(n, 2))
    padded = pad(images, m, value=fill)
    flat = padded.reshape(n, -1, height + 2 * m, width + 2 * m)  # (N, K, H + 2m, W + 2m)
    # out[y] = images[y - dy] = padded[y - dy + m]
    rows = xp.asarray(m - shifts[:, 0])[:, None] + xp.arange(height)[None, :]  # (N, H)
    cols = xp.asarray(m - shifts[:, 1])[:, None] + xp.arange(width)[None, :]  # (N, W)
    batch = xp.arange(n)[:, None, None, None]
    channel = xp.arange(flat.shape[1])[None, :, None, None]
    out = flat[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return out.reshape(images.shape)


def random_flip(images, generator, p: float = 0.5, axis: int = -1):
    """Mirror each image with probability ``p``: ``axis=-1`` left-right, ``-2`` up-down.

    (Left-right flips suit Fashion-MNIST and photos; they turn digits into non-digits.)
    """
    _check_generator(generator)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    if axis not in (-1, -2):
        raise ValueError(f"axis: expected -1 (width) or -2 (height), got {axis}")
    if images.ndim < 3:
        raise ValueError(f"images: expected shape (N, ..., H, W), got {images.shape}")
    xp = get_array_module(images)
    flip = xp.asarray(generator.random(images.shape[0]) < p)
    flip = flip.reshape((-1,) + (1,) * (images.ndim - 1))
    return xp.where(flip, xp.flip(images, axis=axis), images)
