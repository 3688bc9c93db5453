"""The pixel operations behind ``minicnn.vision.transforms``: a subset of torchvision's
``transforms.functional`` (``from torchvision.transforms import functional as TF``).

An image is one of three things, and every operation gives back the same kind:

* a **PIL image** (when Pillow is installed): resizing and grayscale conversion are
  Pillow's own, as in torchvision; crops, pads and flips go through the pixel array
  (whole pixels moved, so exactly what Pillow would give).
* a **NumPy array in Pillow's layout**, ``(H, W)`` or ``(H, W, C)``: what ``ToTensor``
  reads and what the datasets hand out when Pillow is missing. It stands in for a PIL
  image: resizing computes what Pillow computes (its antialiased triangle filter, its 22-bit
  fixed point for uint8, the horizontal pass first; recent Pillow runs the vertical pass
  first when the height shrinks much more than the width, and a pixel can then differ by
  one grey level), grayscale uses Pillow's integer weights.
* a **minicnn Tensor** ``(..., C, H, W)``: torchvision's tensor path (a Tensor in, a new
  Tensor out, no gradient).

Sizes are ``(height, width)``; paddings are ``int``, ``(left/right, top/bottom)`` or
``(left, top, right, bottom)``, as in torchvision.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from ..data import transforms as array_transforms

__all__ = ["pil_image_module", "require_pil", "is_pil_image", "get_dimensions", "to_tensor",
           "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop", "center_crop",
           "pad", "hflip", "vflip", "rgb_to_grayscale", "to_grayscale", "resized_crop",
           "rotate", "affine", "adjust_brightness", "adjust_contrast", "adjust_saturation",
           "adjust_hue", "gaussian_blur", "erase"]


# ---------------------------------------------------------------------------------------
# Pillow, when it is there
# ---------------------------------------------------------------------------------------
def pil_image_module():
    """``PIL.Image``, or None when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def require_pil(what: str):
    """``PIL.Image``, or an ImportError saying that ``what`` needs Pillow."""
    image = pil_image_module()
    if image is None:
        raise ImportError(f"{what} needs Pillow (the PIL package), which is not installed: "
                          f"pip install pillow (matplotlib normally brings it). Without it, "
                          f"images are NumPy arrays (H, W[, C]) or Tensors (C, H, W).")
    return image


def is_pil_image(img) -> bool:
    image = pil_image_module()
    return image is not None and isinstance(img, image.Image)


def _kind(img, what: str) -> str:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{what}: expected a Tensor image (..., C, H, W), got shape "
                             f"{tuple(img.shape)}")
        return "tensor"
    if is_pil_image(img):
        return "pil"
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{what}: expected a NumPy image (H, W) or (H, W, C), got "
                             f"shape {img.shape} (a batch? transforms act on one image)")
        return "array"
    raise TypeError(f"{what}: expected a PIL image, a NumPy array (H, W[, C]) or a Tensor "
                    f"(..., C, H, W), got {type(img).__name__}")


def _chw(img, kind):
    """The pixels as an array (..., C, H, W)."""
    if kind == "tensor":
        return img.array if img.ndim > 2 else img.array[None]
    pixels = np.asarray(img)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _back(pixels, img, kind):
    """``pixels`` (..., C, H, W) as the same kind of image as ``img`` (a one-channel result
    of a 2-D input is 2-D again)."""
    xp = get_array_module(pixels)
    two_d = len(img.getbands()) == 1 if kind == "pil" else img.ndim == 2
    squeeze = two_d and pixels.shape[-3] == 1
    if kind == "tensor":
        return Tensor._wrap(xp.ascontiguousarray(pixels[0] if squeeze else pixels))
    out = np.ascontiguousarray(pixels[0] if squeeze else pixels.transpose(1, 2, 0))
    return pil_image_module().fromarray(out) if kind == "pil" else out


def get_dimensions(img) -> tuple:
    """``(channels, height, width)`` of any kind of image."""
    kind = _kind(img, "get_dimensions")
    if kind == "pil":
        return len(img.getbands()), img.height, img.width
    return tuple(int(s) for s in _chw(img, kind).shape[-3:])


# ---------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------
def to_tensor(pic) -> Tensor:
    """PIL image or array ``(H, W[, C])`` -> Tensor ``(C, H, W)``; uint8 becomes float32
    ``x / 255`` in [0, 1], other dtypes are kept as they are (torchvision's rule)."""
    if isinstance(pic, Tensor) or not (is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"to_tensor: pic should be a PIL image or a NumPy array (H, W[, C]), "
                        f"got {type(pic).__name__}")
    if isinstance(pic, np.ndarray) and pic.ndim not in (2, 3):
        raise ValueError(f"to_tensor: pic should be 2 or 3 dimensional, got {pic.ndim} "
                         f"dimensions")
    pixels = np.array(pic, copy=True)
    if is_pil_image(pic) and pic.mode == "1":
        pixels = pixels.astype(np.uint8) * 255
    pixels = np.ascontiguousarray((pixels[:, :, None] if pixels.ndim == 2 else pixels)
                                  .transpose(2, 0, 1))
    if pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / np.float32(255)
    return Tensor._wrap(pixels)


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> Tensor ``(C, H, W)`` of its own dtype (uint8, unscaled)."""
    require_pil("PILToTensor")
    if not is_pil_image(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL image, got {type(pic).__name__}")
    pixels = np.array(pic, copy=True)
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    return Tensor._wrap(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def to_pil_image(pic, mode=None):
    """Tensor ``(C, H, W)`` / ``(H, W)`` or array ``(H, W[, C])`` -> PIL image. Floats are
    taken as [0, 1] and become ``uint8(x * 255)`` (truncated, as torchvision)."""
    image = require_pil("ToPILImage")
    if isinstance(pic, Tensor):
        pixels = pic.numpy()
        if pixels.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: expected a Tensor (C, H, W) or (H, W), got "
                             f"shape {pixels.shape}")
        pixels = pixels[None] if pixels.ndim == 2 else pixels
        if pixels.dtype.kind == "f" and mode != "F":
            pixels = (pixels * 255).astype(np.uint8)
        pixels = pixels.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: expected an array (H, W) or (H, W, C), got "
                             f"shape {pic.shape}")
        pixels = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or a NumPy array, got "
                        f"{type(pic).__name__}")
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    result = image.fromarray(np.ascontiguousarray(pixels))
    return result if mode is None or mode == result.mode else result.convert(mode)


def normalize(tensor, mean, std, inplace: bool = False) -> Tensor:
    """``(x - mean) / std`` per channel of a float Tensor ``(..., C, H, W)``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: expected a Tensor image (C, H, W) (put ToTensor() "
                        f"before Normalize), got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, got "
                        f"{tensor.dtype}")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected a tensor image of size (..., C, H, W), got "
                         f"shape {tuple(tensor.shape)}")
    xp = get_array_module(tensor.array)
    if bool(xp.any(xp.asarray(std, dtype=tensor.dtype) == 0)):
        raise ValueError(f"normalize: std evaluated to zero after conversion to "
                         f"{tensor.dtype}, leading to division by zero (std={std})")
    out = array_transforms.normalize(tensor.array, mean, std)
    if not inplace:
        return Tensor._wrap(out)
    xp.copyto(tensor.array, out)
    tensor._version_box[0] += 1
    return tensor


# ---------------------------------------------------------------------------------------
# Resize
# ---------------------------------------------------------------------------------------
_PIL_FILTERS = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4,
                "hamming": 5}


def resized_size(height: int, width: int, size, max_size=None) -> tuple:
    """torchvision's output size: an int (or ``[s]``) sets the shorter side, the longer one
    is ``int(s * long / short)``; ``(h, w)`` is taken as is."""
    if isinstance(size, numbers.Integral) or len(size) == 1:
        requested = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)
    if max_size is not None:
        raise ValueError("max_size should only be passed if size specifies the length of the "
                         "smaller edge, i.e. size should be an int or a sequence of length 1")
    return int(size[0]), int(size[1])


def _triangle_weights(out_size: int, in_size: int, xp) -> np.ndarray:
    """``(out, in)`` weights of Pillow's (and PyTorch's ``antialias=True``) bilinear filter:
    a triangle of half-width ``max(in / out, 1)`` around each output pixel's centre
    ``(o + 0.5) * in / out``, each row normalised to sum 1."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (xp.arange(out_size, dtype=np.float64) + 0.5) * scale
    distance = (xp.arange(in_size, dtype=np.float64)[None, :] + 0.5 - centres[:, None])
    weights = xp.maximum(0.0, 1.0 - xp.abs(distance / support))
    return weights / weights.sum(axis=1, keepdims=True)


def _filter_pass(pixels, weights, axis: int):
    """Apply ``weights`` (out, in) along ``axis`` (-1 width, -2 height). uint8 pixels use
    Pillow's 22-bit fixed point (weights ``int(w * 2**22 + 0.5)``, round, clip to 0..255)."""
    xp = get_array_module(pixels)
    moved = xp.moveaxis(pixels, axis, -1)
    if pixels.dtype == np.uint8:
        fixed = xp.floor(weights * (1 << 22) + 0.5).astype(np.int64)
        total = moved.astype(np.int64) @ fixed.T + (1 << 21)
        out = xp.clip(total >> 22, 0, 255).astype(np.uint8)
    else:
        dtype = pixels.dtype if pixels.dtype.kind == "f" else np.float32
        out = moved.astype(dtype) @ weights.T.astype(dtype)
    return xp.moveaxis(out, -1, axis)


def _pil_nearest(out_size: int, in_size: int, xp):
    """Pillow's nearest source pixels: ``int((o + 0.5) * in / out)``, the position summed up
    step by step in doubles as Pillow's loop does (``x += in / out``), so exact halves fall
    where Pillow's rounding puts them."""
    scale = in_size / out_size
    steps = xp.full(out_size, scale, dtype=np.float64)
    steps[0] = scale * 0.5
    return xp.minimum(xp.cumsum(steps).astype(np.int64), in_size - 1)


def _resize_pixels(pixels, out_h: int, out_w: int, mode: str, antialias: bool, pil_like: bool):
    xp = get_array_module(pixels)
    in_h, in_w = pixels.shape[-2:]
    if mode == "nearest":
        if not pil_like:   # PyTorch's interpolate(mode="nearest"): floor(dst * in / out)
            return array_transforms.resize(pixels, (out_h, out_w), mode="nearest")
        rows, cols = _pil_nearest(out_h, in_h, xp), _pil_nearest(out_w, in_w, xp)
        return pixels[..., rows[:, None], cols[None, :]]
    if mode != "bilinear":
        raise NotImplementedError(f"resize: interpolation {mode!r} is implemented here for "
                                  f"PIL images only; arrays and Tensors support 'bilinear' "
                                  f"and 'nearest'")
    if antialias or pil_like:   # horizontal pass first, then vertical, as Pillow and PyTorch
        out = _filter_pass(pixels, _triangle_weights(out_w, in_w, xp), -1)
        return _filter_pass(out, _triangle_weights(out_h, in_h, xp), -2)
    out = array_transforms.resize(pixels, (out_h, out_w), mode="bilinear")
    if pixels.dtype.kind in "iu":   # rounded back to the input's integer dtype
        info = np.iinfo(pixels.dtype)
        out = xp.clip(xp.rint(out), info.min, info.max).astype(pixels.dtype)
    return out


def resize(img, size, interpolation="bilinear", max_size=None, antialias: bool = True):
    """Resize to ``size`` (see ``resized_size``); an image already that size comes back
    unchanged. ``interpolation``: a mode name (``"bilinear"``, ``"nearest"``, ...), an
    ``InterpolationMode`` or a Pillow filter number. ``antialias`` applies to Tensors when
    shrinking (PIL images and arrays are always antialiased, as in Pillow)."""
    kind = _kind(img, "resize")
    mode = getattr(interpolation, "value", interpolation)
    if isinstance(mode, numbers.Integral):
        names = {number: name for name, number in _PIL_FILTERS.items()}
        if int(mode) not in names:
            raise ValueError(f"resize: unknown Pillow filter {mode!r}")
        mode = names[int(mode)]
    if mode not in _PIL_FILTERS:
        raise ValueError(f"resize: unknown interpolation {interpolation!r}; expected one of "
                         f"{sorted(_PIL_FILTERS)}")
    _, height, width = get_dimensions(img)
    out_h, out_w = resized_size(height, width, size, max_size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"resize: the output size {(out_h, out_w)} must be positive")
    if (out_h, out_w) == (height, width):
        return img
    if kind == "pil":
        return img.resize((out_w, out_h), _PIL_FILTERS[mode])
    pixels = _resize_pixels(_chw(img, kind), out_h, out_w, mode, antialias, kind == "array")
    return _back(pixels, img, kind)


# ---------------------------------------------------------------------------------------
# Crops, pads, flips
# ---------------------------------------------------------------------------------------
def _ltrb(padding) -> tuple:
    if isinstance(padding, numbers.Integral):
        padding = [int(padding)]
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"pad: padding must be an int or a sequence of 1, 2 or 4 ints, got "
                     f"{len(padding)} values")


def _pad_pixels(pixels, ltrb, fill, padding_mode):
    xp = get_array_module(pixels)
    left, top, right, bottom = ltrb
    widths = [(0, 0)] * (pixels.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode != "constant":
        return xp.pad(pixels, widths, mode=padding_mode)
    fills = np.atleast_1d(np.asarray(fill if fill is not None else 0))
    if fills.size == 1:
        return xp.pad(pixels, widths, mode="constant", constant_values=fills.item())
    if fills.size != pixels.shape[-3]:
        raise ValueError(f"pad: fill has {fills.size} values for an image of "
                         f"{pixels.shape[-3]} channels")
    channels = [xp.pad(pixels[..., c:c + 1, :, :], widths, mode="constant",
                       constant_values=fills[c].item()) for c in range(fills.size)]
    return xp.concatenate(channels, axis=-3)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders. ``padding_mode``: ``constant`` (``fill``: a number, or one per
    channel), ``edge``, ``reflect`` (mirror without the edge pixel) or ``symmetric``
    (mirror with it), as NumPy's ``np.pad`` modes of the same names."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode should be constant, edge, reflect or symmetric, "
                         f"got {padding_mode!r}")
    ltrb = _ltrb(padding)
    if min(ltrb) < 0:
        raise ValueError(f"pad: padding must be non-negative, got {padding!r}")
    kind = _kind(img, "pad")
    return _back(_pad_pixels(_chw(img, kind), ltrb, fill, padding_mode), img, kind)


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height`` x ``width`` window at ``(top, left)``; parts outside the image are 0."""
    kind = _kind(img, "crop")
    pixels = _chw(img, kind)
    in_h, in_w = pixels.shape[-2:]
    bottom, right = top + height, left + width
    if top < 0 or left < 0 or bottom > in_h or right > in_w:
        ltrb = (max(-left, 0), max(-top, 0), max(right - in_w, 0), max(bottom - in_h, 0))
        pixels = _pad_pixels(pixels, ltrb, 0, "constant")
        top, left = top + ltrb[1], left + ltrb[0]
    return _back(pixels[..., top:top + height, left:left + width], img, kind)


def _pair(size, what: str) -> tuple:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{what}: size should be an int or a sequence of 1 or 2 ints, got "
                         f"{size!r}")
    return size


def center_crop(img, output_size):
    """The central window; an image smaller than ``output_size`` is first padded with 0
    (the extra pixel of an odd difference on the right/bottom). Offsets are
    ``round((in - out) / 2)`` (Python's round, as torchvision)."""
    crop_h, crop_w = _pair(output_size, "center_crop")
    _, height, width = get_dimensions(img)
    if crop_w > width or crop_h > height:
        ltrb = [(crop_w - width) // 2 if crop_w > width else 0,
                (crop_h - height) // 2 if crop_h > height else 0,
                (crop_w - width + 1) // 2 if crop_w > width else 0,
                (crop_h - height + 1) // 2 if crop_h > height else 0]
        img = pad(img, ltrb, fill=0)
        _, height, width = get_dimensions(img)
        if (crop_h, crop_w) == (height, width):
            return img
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def hflip(img):
    """Mirror left-right."""
    kind = _kind(img, "hflip")
    return _back(_chw(img, kind)[..., ::-1], img, kind)


def vflip(img):
    """Mirror top-bottom."""
    kind = _kind(img, "vflip")
    return _back(_chw(img, kind)[..., ::-1, :], img, kind)


# ---------------------------------------------------------------------------------------
# Grayscale
# ---------------------------------------------------------------------------------------
def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``L = 0.299 R + 0.587 G + 0.114 B``, repeated ``num_output_channels`` (1 or 3)
    times. PIL images: Pillow's ``convert("L")``; arrays: Pillow's integer formula
    ``(19595 R + 38470 G + 7471 B + 2**15) >> 16`` for uint8; Tensors: torchvision's
    ``0.2989 R + 0.587 G + 0.114 B`` cast back to the input dtype (truncating)."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3, got "
                         f"{num_output_channels}")
    kind = _kind(img, "rgb_to_grayscale")
    if kind == "pil":
        gray = img.convert("L")
        if num_output_channels == 1:
            return gray
        return pil_image_module().fromarray(np.dstack([np.asarray(gray)] * 3))
    pixels = _chw(img, kind)
    xp = get_array_module(pixels)
    if pixels.shape[-3] not in (1, 3, 4) or (kind == "tensor" and pixels.shape[-3] == 4):
        raise TypeError(f"rgb_to_grayscale: expected 1 or 3 channels, got "
                        f"{pixels.shape[-3]}")
    if pixels.shape[-3] == 1:
        gray = pixels
    elif kind == "array" and pixels.dtype == np.uint8:
        r, g, b = (pixels[..., c, :, :].astype(np.int64) for c in range(3))
        gray = ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)
        gray = gray[..., None, :, :]
    else:
        r, g, b = (pixels[..., c, :, :].astype(np.float32) for c in range(3))
        gray = (np.float32(0.2989) * r + np.float32(0.587) * g + np.float32(0.114) * b)
        gray = gray.astype(pixels.dtype)[..., None, :, :]
    if num_output_channels == 3:
        gray = xp.concatenate([gray] * 3, axis=-3)
    elif kind == "array":   # Pillow's "L": (H, W)
        return np.ascontiguousarray(gray[0])
    return _back(gray, img, kind)


to_grayscale = rgb_to_grayscale


# Rotations, affine maps, colour, blur and erasing live in their own files (imported last:
# they build on the helpers above).
from .functional_color import (adjust_brightness, adjust_contrast, adjust_hue,  # noqa: E402
                               adjust_saturation, erase, gaussian_blur)
from .functional_geometry import affine, resized_crop, rotate  # noqa: E402
