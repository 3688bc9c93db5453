"""Colour adjustments, blur and erasing: torchvision's ``adjust_brightness``,
``adjust_contrast``, ``adjust_saturation``, ``adjust_hue``, ``gaussian_blur`` and
``erase`` (reached as ``minicnn.vision.functional.adjust_hue`` ...).

* Tensors ``(..., C, H, W)``: torchvision's tensor ops. ``_blend(a, b, r) = (r * a +
  (1 - r) * b).clamp(0, max)`` cast back to a's dtype (truncating; max is 1 for floats,
  255 for uint8): brightness blends with black, contrast with the mean of the grayscale
  image, saturation with the grayscale image. Hue goes through HSV (torchvision's
  ``_rgb2hsv`` / ``_hsv2rgb``, float32; a uint8 image as ``x / 255`` and back as
  ``uint8(x * 255.999)``).
* PIL images: Pillow's ``ImageEnhance`` (``Brightness``, ``Contrast``, ``Color``) and its
  HSV mode for hue, as torchvision calls them.
* uint8 arrays ``(H, W[, C])`` (PIL stand-ins): what ``ImageEnhance`` computes, Pillow's
  ``Image.blend`` in float32 (``a + r * (b - a)``, truncated, clipped to 0..255), with
  Pillow's integer grayscale; hue uses the tensor formula (not Pillow's 8-bit HSV).
  Other arrays follow the tensor formulas.

``gaussian_blur`` is torchvision's tensor op for every kind (torchvision itself turns a
PIL image into a Tensor for it): a normalised 2-D Gaussian, reflect padding, and integer
images rounded back.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .functional import _back, _chw, _kind, pil_image_module, rgb_to_grayscale

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "gaussian_blur", "erase"]


def _check_channels(pixels, allowed, what):
    if pixels.shape[-3] not in allowed:
        raise TypeError(f"{what}: input image should have {' or '.join(map(str, allowed))} "
                        f"channels, got {pixels.shape[-3]}")


def _tensor_blend(img1, img2, ratio):
    xp = get_array_module(img1)
    bound = 1.0 if img1.dtype.kind == "f" else 255.0
    work = img1.dtype if img1.dtype.kind == "f" else np.dtype(np.float32)
    ratio = float(ratio)
    out = ratio * img1.astype(work) + (1.0 - ratio) * xp.asarray(img2).astype(work)
    return xp.clip(out, 0, bound).astype(img1.dtype)


def _pil_blend(degenerate, image, alpha):
    """Pillow's ``Image.blend(degenerate, image, alpha)`` on uint8 arrays."""
    a = np.asarray(degenerate).astype(np.float32)
    out = a + np.float32(alpha) * (np.asarray(image).astype(np.float32) - a)
    return np.clip(out, 0, 255).astype(np.uint8)


def _pil_gray_like(pixels):
    """An (H, W[, C]) uint8 array through Pillow's ``convert("L").convert(mode)``."""
    if pixels.ndim == 2:
        return pixels
    gray = rgb_to_grayscale(pixels)
    return np.repeat(gray[:, :, None], pixels.shape[2], axis=2)


def _pil_like(img, kind):
    return kind == "array" and img.dtype == np.uint8


def adjust_brightness(img, brightness_factor: float):
    """Multiply by ``brightness_factor`` (0: black, 1: unchanged), clipped."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    kind = _kind(img, "adjust_brightness")
    if kind == "pil":
        from PIL import ImageEnhance
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    if _pil_like(img, kind):
        return _pil_blend(np.zeros_like(img), img, brightness_factor)
    pixels = _chw(img, kind)
    _check_channels(pixels, (1, 3), "adjust_brightness")
    return _back(_tensor_blend(pixels, 0.0, brightness_factor), img, kind)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0: flat grey, 1: unchanged)."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    kind = _kind(img, "adjust_contrast")
    if kind == "pil":
        from PIL import ImageEnhance
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    if _pil_like(img, kind):
        gray = rgb_to_grayscale(img) if img.ndim == 3 else img
        mean = int(float(gray.mean()) + 0.5)
        return _pil_blend(np.full_like(img, mean), img, contrast_factor)
    pixels = _chw(img, kind)
    _check_channels(pixels, (1, 3), "adjust_contrast")
    xp = get_array_module(pixels)
    dtype = pixels.dtype if pixels.dtype.kind == "f" else np.dtype(np.float32)
    gray = _chw(rgb_to_grayscale(Tensor._wrap(pixels)), "tensor") if pixels.shape[-3] == 3 \
        else pixels
    mean = xp.mean(gray.astype(dtype), axis=(-3, -2, -1), keepdims=True)
    return _back(_tensor_blend(pixels, mean, contrast_factor), img, kind)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grayscale image (0: gray, 1: unchanged, 2: twice as saturated)."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    kind = _kind(img, "adjust_saturation")
    if kind == "pil":
        from PIL import ImageEnhance
        return ImageEnhance.Color(img).enhance(saturation_factor)
    if _pil_like(img, kind):
        return _pil_blend(_pil_gray_like(img), img, saturation_factor)
    pixels = _chw(img, kind)
    _check_channels(pixels, (1, 3), "adjust_saturation")
    if pixels.shape[-3] == 1:
        return img
    gray = _chw(rgb_to_grayscale(Tensor._wrap(pixels)), "tensor")
    return _back(_tensor_blend(pixels, gray, saturation_factor), img, kind)


def _rgb2hsv(rgb):
    xp = get_array_module(rgb)
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = xp.ones_like(maxc)
    s = cr / xp.where(eqc, ones, maxc)
    divisor = xp.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / divisor, (maxc - g) / divisor, (maxc - b) / divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return h.astype(rgb.dtype), s, maxc


def _hsv2rgb(h, s, v):
    xp = get_array_module(h)
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, q, p, p, t, v), (t, v, v, q, p, p), (p, p, t, v, v, q)]
    return xp.stack([xp.choose(i, channel) for channel in table], axis=-3)


def adjust_hue(img, hue_factor: float):
    """Turn the hue by ``hue_factor`` in [-0.5, 0.5] of the colour circle."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    kind = _kind(img, "adjust_hue")
    if kind == "pil":
        image = pil_image_module()
        if img.mode in ("L", "1", "I", "F"):
            return img
        h, s, v = img.convert("HSV").split()
        hue = np.array(h, dtype=np.uint8)
        with np.errstate(over="ignore"):
            hue += np.array(np.int64(hue_factor * 255) % 256).astype(np.uint8)
        return image.merge("HSV", (image.fromarray(hue, "L"), s, v)).convert(img.mode)
    pixels = _chw(img, kind)
    _check_channels(pixels, (1, 3), "adjust_hue")
    if pixels.shape[-3] == 1:
        return img
    xp = get_array_module(pixels)
    rgb = pixels if pixels.dtype.kind == "f" else pixels.astype(np.float32) / np.float32(255)
    h, s, v = _rgb2hsv(rgb)
    out = _hsv2rgb(xp.mod(h + hue_factor, 1.0).astype(rgb.dtype), s, v)
    if pixels.dtype.kind == "f":
        out = out.astype(pixels.dtype)
    else:
        out = (out * (255 + 1.0 - 1e-3)).astype(pixels.dtype)
    return _back(out, img, kind)


def _gaussian_kernel1d(size: int, sigma: float):
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size).astype(np.float32)
    pdf = np.exp(np.float32(-0.5) * (x / np.float32(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a ``kernel_size = (kx, ky)`` Gaussian of standard deviations ``sigma =
    (sx, sy)`` (default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``, i.e. ``k * 0.15 + 0.35``)."""
    if isinstance(kernel_size, numbers.Integral):
        kernel_size = [int(kernel_size)] * 2
    kernel_size = list(kernel_size)
    if len(kernel_size) == 1:
        kernel_size = kernel_size * 2
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for k in kernel_size:
        if not isinstance(k, numbers.Integral) or k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    elif isinstance(sigma, numbers.Real):
        sigma = [float(sigma)] * 2
    else:
        sigma = [float(s) for s in sigma]
        sigma = sigma * 2 if len(sigma) == 1 else sigma
        if len(sigma) != 2:
            raise ValueError(f"If sigma is a sequence, its length should be 2. Got "
                             f"{len(sigma)}")
    if min(sigma) <= 0:
        raise ValueError(f"sigma should have positive values. Got {sigma}")
    kind = _kind(img, "gaussian_blur")
    pixels = _chw(img, kind)
    xp = get_array_module(pixels)
    dtype = pixels.dtype if pixels.dtype.kind == "f" else np.dtype(np.float32)
    kernel = np.outer(_gaussian_kernel1d(kernel_size[1], sigma[1]).astype(dtype),
                      _gaussian_kernel1d(kernel_size[0], sigma[0]).astype(dtype))
    kx, ky = kernel_size
    widths = [(0, 0)] * (pixels.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    padded = xp.pad(pixels.astype(dtype), widths, mode="reflect")
    height, width = pixels.shape[-2:]
    out = xp.zeros(pixels.shape, dtype=dtype)
    for row in range(ky):
        for col in range(kx):
            out += kernel[row, col] * padded[..., row:row + height, col:col + width]
    if pixels.dtype.kind != "f":
        out = xp.rint(out)
    return _back(out.astype(pixels.dtype), img, kind)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the ``h`` x ``w`` window at row ``i``, column ``j`` of a Tensor to ``v`` (a
    number, or anything broadcasting to ``(C, h, w)``)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: img should be a Tensor, got {type(img).__name__}")
    xp = get_array_module(img.array)
    value = v.array if isinstance(v, Tensor) else xp.asarray(v)
    if inplace:
        img.array[..., i:i + h, j:j + w] = value
        img._version_box[0] += 1
        return img
    out = img.array.copy()
    out[..., i:i + h, j:j + w] = value
    return Tensor._wrap(out)
