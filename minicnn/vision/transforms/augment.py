"""torchvision's random augmentations: ``RandomResizedCrop``, ``RandomRotation``,
``RandomAffine``, ``ColorJitter``, ``RandomGrayscale``, ``GaussianBlur``,
``RandomErasing`` and the containers ``RandomApply``, ``RandomChoice``, ``RandomOrder``
(importable from ``minicnn.vision.transforms``).

Arguments, defaults, checks and parameter draws are torchvision's, drawn in the same
order from minicnn's global generator (``minicnn.random.default_generator()``, reseeded
by ``mc.manual_seed``): a torchvision ``torch.empty(1).uniform_(a, b)`` is
``generator.uniform(a, b)``, ``torch.randint(lo, hi)`` is ``generator.integers(lo, hi)``,
``torch.rand(1)`` is ``generator.random()``, ``torch.randperm(n)`` is
``generator.permutation(n)``. The *numbers* differ from torch's, necessarily (NumPy's
PCG64, not torch's Mersenne Twister), and ``RandomChoice`` / ``RandomOrder``, which
torchvision draws from Python's ``random`` module, draw from minicnn's generator too
(``RandomChoice`` with ``random.choices``' rule, ``RandomOrder`` as a permutation): one
seed, ``mc.manual_seed``, makes a whole pipeline reproducible.
"""
from __future__ import annotations

import bisect
import math
import numbers
import warnings

import numpy as np

from ...autograd import Tensor
from ...random import default_generator
from .. import functional as F
from . import InterpolationMode, _pair, _Transform

__all__ = ["RandomResizedCrop", "RandomRotation", "RandomAffine", "ColorJitter",
           "RandomApply", "RandomChoice", "RandomOrder", "RandomGrayscale", "GaussianBlur",
           "RandomErasing"]


def _sequence(value, name: str, sizes) -> None:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} should be a sequence of length "
                        f"{' or '.join(map(str, sizes))}.")
    if len(value) not in sizes:
        raise ValueError(f"{name} should be a sequence of length "
                         f"{' or '.join(map(str, sizes))}.")


def _angle(value, name: str, sizes=(2,)) -> list:
    """torchvision's ``_setup_angle``: a number d is ``[-d, d]``."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        value = [-value, value]
    else:
        _sequence(value, name, sizes)
    return [float(d) for d in value]


def _tensor_fill(img, fill):
    """torchvision's fill for a Tensor: one float per channel."""
    if not isinstance(img, Tensor) or fill is None:
        return fill
    if isinstance(fill, numbers.Number):
        return [float(fill)] * F.get_dimensions(img)[0]
    return [float(f) for f in fill]


class RandomResizedCrop(_Transform):
    """A random window of ``scale`` (fraction of the area) and ``ratio`` (width / height,
    drawn log-uniformly), resized to ``size``: ImageNet's standard augmentation."""

    _shown = ("size", "scale", "ratio", "interpolation", "antialias")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _pair(size, "RandomResizedCrop")
        if not isinstance(scale, (list, tuple)) or not isinstance(ratio, (list, tuple)):
            raise TypeError("Scale and ratio should be sequences")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation = interpolation
        self.antialias = True if antialias is None else bool(antialias)

    @staticmethod
    def get_params(img, scale, ratio) -> tuple:
        """``(i, j, h, w)``: up to 10 draws of an area fraction and a log-uniform aspect
        ratio, the first window that fits kept; else the central crop of the largest
        window whose ratio is within ``ratio``."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        generator = default_generator()
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * generator.uniform(scale[0], scale[1])
            aspect_ratio = math.exp(generator.uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = int(generator.integers(0, height - h + 1))
                j = int(generator.integers(0, width - w + 1))
                return i, j, h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)


class RandomRotation(_Transform):
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d: ``[-d, d]``)."""

    _shown = ("degrees", "interpolation", "expand", "fill")

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        self.degrees = _angle(degrees, "degrees")
        if center is not None:
            _sequence(center, "center", (2,))
        if fill is None:
            fill = 0
        elif not isinstance(fill, (numbers.Number, list, tuple)):
            raise TypeError("Fill should be either a sequence or a number.")
        self.interpolation, self.expand = interpolation, bool(expand)
        self.center, self.fill = center, fill

    @staticmethod
    def get_params(degrees) -> float:
        return float(default_generator().uniform(float(degrees[0]), float(degrees[1])))

    def __call__(self, img):
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center,
                        _tensor_fill(img, self.fill))


class RandomAffine(_Transform):
    """A random affine map: angle from ``degrees``, a shift of up to ``translate = (a, b)``
    times the width / height, a scale from ``scale = (lo, hi)``, shears from ``shear``
    (a number s: x-shear in ``[-s, s]``; 2 values: x-shear range; 4: x then y ranges)."""

    _shown = ("degrees", "translate", "scale", "shear", "interpolation", "fill")

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        self.degrees = _angle(degrees, "degrees")
        if translate is not None:
            _sequence(translate, "translate", (2,))
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError("translation values should be between 0 and 1")
        if scale is not None:
            _sequence(scale, "scale", (2,))
            if any(s <= 0 for s in scale):
                raise ValueError("scale values should be positive")
        self.translate, self.scale = translate, scale
        self.shear = _angle(shear, "shear", (2, 4)) if shear is not None else None
        if fill is None:
            fill = 0
        elif not isinstance(fill, (numbers.Number, list, tuple)):
            raise TypeError("Fill should be either a sequence or a number.")
        if center is not None:
            _sequence(center, "center", (2,))
        self.interpolation, self.fill, self.center = interpolation, fill, center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size) -> tuple:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))``; ``img_size`` is ``[width,
        height]``."""
        generator = default_generator()
        angle = float(generator.uniform(float(degrees[0]), float(degrees[1])))
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            tx = int(round(generator.uniform(-max_dx, max_dx)))
            ty = int(round(generator.uniform(-max_dy, max_dy)))
            translations = (tx, ty)
        else:
            translations = (0, 0)
        scale = 1.0
        if scale_ranges is not None:
            scale = float(generator.uniform(scale_ranges[0], scale_ranges[1]))
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = float(generator.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(generator.uniform(shears[2], shears[3]))
        return angle, translations, scale, (shear_x, shear_y)

    def __call__(self, img):
        _, height, width = F.get_dimensions(img)
        params = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                 [width, height])
        return F.affine(img, *params, interpolation=self.interpolation,
                        fill=_tensor_fill(img, self.fill), center=self.center)


def _jitter_range(value, name, center=1.0, bound=(0.0, float("inf")),
                  clip_first_on_zero=True):
    """torchvision's ``ColorJitter._check_input``: None when the range does nothing."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound}, but got {value}.")
    return None if value[0] == value[1] == center else tuple(value)


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue changes, applied in a random order.
    A number b for brightness (contrast, saturation) is the factor range
    ``[max(0, 1 - b), 1 + b]``; for hue, h in [0, 0.5] is ``[-h, h]``."""

    _shown = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5),
                                 clip_first_on_zero=False)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue) -> tuple:
        """``(order, b, c, s, h)``: a permutation of 0..3, then a factor drawn for each
        range that is not None (None otherwise)."""
        generator = default_generator()
        order = [int(k) for k in generator.permutation(4)]
        b, c, s, h = (None if r is None else float(generator.uniform(r[0], r[1]))
                      for r in (brightness, contrast, saturation, hue))
        return order, b, c, s, h

    def __call__(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast,
                                            self.saturation, self.hue)
        steps = {0: (F.adjust_brightness, b), 1: (F.adjust_contrast, c),
                 2: (F.adjust_saturation, s), 3: (F.adjust_hue, h)}
        for index in order:
            function, factor = steps[index]
            if factor is not None:
                img = function(img, factor)
        return img


def _transform_list(transforms, what: str) -> list:
    if not isinstance(transforms, (list, tuple)):
        raise TypeError(f"{what}: argument transforms should be a sequence")
    return list(transforms)


class RandomApply(_Transform):
    """Apply all of ``transforms``, in order, with probability ``p``."""

    def __init__(self, transforms, p: float = 0.5):
        self.transforms, self.p = list(transforms), p

    def __call__(self, img):
        if self.p < default_generator().random():
            return img
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}(\n    p={self.p}{lines}\n)"


class RandomChoice(_Transform):
    """Apply one of ``transforms``, chosen with weights ``p`` (default: equally)."""

    def __init__(self, transforms, p=None):
        self.transforms = _transform_list(transforms, "RandomChoice")
        if p is not None and not isinstance(p, (list, tuple)):
            raise TypeError("Argument p should be a sequence")
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: "
                             f"{len(p)} != {len(self.transforms)}")
        self.p = p

    def __call__(self, img):
        u = default_generator().random()
        if self.p is None:   # random.choices: floor(random() * n)
            index = math.floor(u * len(self.transforms))
        else:                # random.choices: bisect(cumulative weights, random() * total)
            cumulative = [sum(self.p[:k + 1]) for k in range(len(self.p))]
            index = bisect.bisect(cumulative, u * cumulative[-1], 0, len(self.p) - 1)
        return self.transforms[index](img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.transforms!r}, p={self.p!r})"


class RandomOrder(_Transform):
    """Apply all of ``transforms`` in a random order."""

    def __init__(self, transforms):
        self.transforms = _transform_list(transforms, "RandomOrder")

    def __call__(self, img):
        for index in default_generator().permutation(len(self.transforms)):
            img = self.transforms[int(index)](img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class RandomGrayscale(_Transform):
    """To grayscale with probability ``p``, keeping the number of channels."""

    _shown = ("p",)

    def __init__(self, p: float = 0.1):
        self.p = p

    def __call__(self, img):
        channels, _, _ = F.get_dimensions(img)
        if default_generator().random() < self.p:
            if channels == 1:
                return img
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img


class GaussianBlur(_Transform):
    """Gaussian blur of ``kernel_size`` (odd; an int for a square, else ``(kx, ky)``) with
    a standard deviation drawn uniformly from ``sigma = (lo, hi)`` (a number: fixed)."""

    _shown = ("kernel_size", "sigma")

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = _pair(kernel_size, "GaussianBlur")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (float(sigma), float(sigma))
        elif isinstance(sigma, (list, tuple)) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError("sigma values should be positive and of the form (min, max).")
        else:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        self.sigma = tuple(sigma)

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        return float(default_generator().uniform(sigma_min, sigma_max))

    def __call__(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, self.kernel_size, [sigma, sigma])


class RandomErasing(_Transform):
    """With probability ``p``, set a random window of a Tensor image (area fraction from
    ``scale``, aspect ratio h / w log-uniform in ``ratio``) to ``value``: a number, one
    per channel, or ``"random"`` (standard normal noise). Up to 10 draws; if none fits,
    the image is left as it is."""

    _shown = ("p", "scale", "ratio", "value", "inplace")

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, (tuple, list)):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, (tuple, list)):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio = p, scale, ratio
        self.value, self.inplace = value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None) -> tuple:
        """``(i, j, h, w, v)``; ``v`` the values to write (normal noise when ``value`` is
        None). When 10 draws fail: ``(0, 0, H, W, img)``."""
        channels, height, width = img.shape[-3], img.shape[-2], img.shape[-1]
        area = height * width
        generator = default_generator()
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * generator.uniform(scale[0], scale[1])
            aspect_ratio = math.exp(generator.uniform(log_ratio[0], log_ratio[1]))
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < height and w < width):
                continue
            if value is None:
                v = Tensor._wrap(generator.standard_normal((channels, h, w))
                                 .astype(np.float32))
            else:
                v = Tensor._wrap(np.asarray(value, dtype=np.float32)[:, None, None])
            i = int(generator.integers(0, height - h + 1))
            j = int(generator.integers(0, width - w + 1))
            return i, j, h, w, v
        return 0, 0, height, width, img

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: expected a Tensor image (C, H, W) (put it "
                            f"after ToTensor()), got {type(img).__name__}")
        if default_generator().random() < self.p:
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = [float(v) for v in self.value]
            if value is not None and len(value) not in (1, img.shape[-3]):
                raise ValueError(f"If value is a sequence, it should have either a single "
                                 f"value or {img.shape[-3]} (number of input channels)")
            i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
            return F.erase(img, i, j, h, w, v, self.inplace)
        return img
