"""torchvision's ``transforms``: callables that turn one image into another, chained with
``Compose``::

    transform = transforms.Compose([transforms.Resize(32), transforms.ToTensor(),
                                    transforms.Normalize((0.5,), (0.5,))])
    x = transform(pil_image)       # a Tensor (1, 32, 32) in [-1, 1]

Each transform acts on **one** image: a PIL image, a NumPy array in Pillow's layout
``(H, W[, C])`` (what the datasets give when Pillow is missing) or a Tensor
``(..., C, H, W)``; see ``minicnn.vision.functional`` for what each kind gets. The random
ones draw from minicnn's global generator (``minicnn.random.default_generator()``), so
``mc.manual_seed(s)`` makes an augmentation reproducible, as ``torch.manual_seed`` does.
"""
from __future__ import annotations

import enum
import numbers

from ...random import default_generator
from .. import functional as F

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "Pad", "RandomHorizontalFlip", "RandomVerticalFlip",
           "Grayscale", "Lambda", "InterpolationMode", "functional", "RandomResizedCrop",
           "RandomRotation", "RandomAffine", "ColorJitter", "RandomApply", "RandomChoice",
           "RandomOrder", "RandomGrayscale", "GaussianBlur", "RandomErasing"]


class InterpolationMode(enum.Enum):
    """How ``Resize`` computes new pixels (torchvision's names). Arrays and Tensors support
    NEAREST and BILINEAR; PIL images every mode Pillow has."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _size(size, what: str):
    """``size`` as torchvision keeps it: an int, or a tuple of 1 or 2 ints."""
    if isinstance(size, numbers.Integral):
        return int(size)
    if isinstance(size, (tuple, list)) and len(size) in (1, 2) and all(
            isinstance(s, numbers.Integral) for s in size):
        return tuple(int(s) for s in size)
    raise TypeError(f"{what}: size should be an int or a sequence of 1 or 2 ints, got "
                    f"{size!r}")


def _pair(size, what: str) -> tuple:
    size = _size(size, what)
    if isinstance(size, int):
        return size, size
    return (size[0], size[0]) if len(size) == 1 else size


class Compose:
    """Apply ``transforms`` in order: ``Compose([A(), B()])(x) == B()(A()(x))``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {transform}" for transform in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class _Transform:
    """A repr listing the constructor's arguments, as torchvision's transforms print."""

    _shown: tuple = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


class ToTensor(_Transform):
    """PIL image or array ``(H, W[, C])`` -> float32 Tensor ``(C, H, W)`` in [0, 1] (uint8
    divided by 255; other dtypes kept)."""

    def __call__(self, pic):
        return F.to_tensor(pic)


class PILToTensor(_Transform):
    """PIL image -> Tensor ``(C, H, W)`` of the image's dtype, not scaled (needs Pillow)."""

    def __init__(self):
        F.require_pil("PILToTensor")

    def __call__(self, pic):
        return F.pil_to_tensor(pic)


class ToPILImage(_Transform):
    """Tensor ``(C, H, W)`` or array ``(H, W[, C])`` -> PIL image (needs Pillow)."""

    _shown = ("mode",)

    def __init__(self, mode=None):
        F.require_pil("ToPILImage")
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class Normalize(_Transform):
    """``(x - mean[c]) / std[c]`` for each channel c of a float Tensor (after ToTensor):
    ``Normalize((0.5,), (0.5,))`` maps [0, 1] to [-1, 1], a tanh generator's range."""

    _shown = ("mean", "std")

    def __init__(self, mean, std, inplace: bool = False):
        self.mean, self.std, self.inplace = mean, std, bool(inplace)

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Resize(_Transform):
    """Resize to ``size``: an int sets the shorter side (the other keeps the aspect ratio,
    ``int(size * long / short)``), ``(h, w)`` sets both. See ``functional.resize``."""

    _shown = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        self.size = _size(size, "Resize")
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = True if antialias is None else bool(antialias)

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Transform):
    """The central ``size`` window (an int for a square), padding with 0 if the image is
    smaller."""

    _shown = ("size",)

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img):
        return F.center_crop(img, self.size)


class Pad(_Transform):
    """Pad the borders: ``padding`` an int, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``; see ``functional.pad`` for the modes."""

    _shown = ("padding", "fill", "padding_mode")

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        F._ltrb(padding)   # checks it now
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Pad: padding_mode should be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(_Transform):
    """A ``size`` window at a random place, after optional ``padding`` (``RandomCrop(32,
    padding=4)``: CIFAR's shift augmentation). ``pad_if_needed`` pads an image smaller
    than ``size`` first. The top row ``i`` then the left column ``j`` are drawn uniformly
    from ``[0, H - h]`` and ``[0, W - w]``."""

    _shown = ("size", "padding")

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant"):
        self.size = _pair(size, "RandomCrop")
        if padding is not None:
            F._ltrb(padding)
        self.padding, self.pad_if_needed = padding, bool(pad_if_needed)
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size) -> tuple:
        """``(i, j, h, w)``: a random window of ``output_size`` inside ``img``."""
        _, height, width = F.get_dimensions(img)
        crop_h, crop_w = output_size
        if height < crop_h or width < crop_w:
            raise ValueError(f"RandomCrop: required crop size {(crop_h, crop_w)} is larger "
                             f"than input image size {(height, width)}")
        if (height, width) == (crop_h, crop_w):
            return 0, 0, height, width
        generator = default_generator()
        i = int(generator.integers(0, height - crop_h + 1))
        j = int(generator.integers(0, width - crop_w + 1))
        return i, j, crop_h, crop_w

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))


class _RandomFlip(_Transform):
    _shown = ("p",)
    _flip = None

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p should be a probability in [0, 1], "
                             f"got {p}")
        self.p = p

    def __call__(self, img):
        if default_generator().random() < self.p:
            return type(self)._flip(img)
        return img


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""

    _flip = staticmethod(F.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""

    _flip = staticmethod(F.vflip)


class Grayscale(_Transform):
    """To grayscale with ``num_output_channels`` (1, or 3 equal channels)."""

    _shown = ("num_output_channels",)

    def __init__(self, num_output_channels: int = 1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be 1 or 3, got "
                             f"{num_output_channels}")
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class Lambda(_Transform):
    """Any function of one image, as a transform: ``Lambda(lambda x: x.repeat(3, 1, 1))``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got "
                            f"{type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


# The random augmentations (crops of random size, rotations, colour jitter ...) live in
# augment.py, which builds on the helpers above.
from .augment import (ColorJitter, GaussianBlur, RandomAffine, RandomApply,  # noqa: E402
                      RandomChoice, RandomErasing, RandomGrayscale, RandomOrder,
                      RandomResizedCrop, RandomRotation)
# ``transforms.functional`` is always the submodule (torchvision's module path), whatever
# was imported first.
from . import functional  # noqa: E402
