"""torchvision's ``datasets``: MNIST, FashionMNIST, CIFAR10 / CIFAR100 (``cifar.py``),
FakeData and ImageFolder, with
torchvision's signatures, file layout and items::

    train = datasets.MNIST("data", train=True, download=True,
                           transform=transforms.Compose([transforms.ToTensor(),
                                                         transforms.Normalize((0.5,), (0.5,))]))
    image, target = train[0]        # a Tensor (1, 28, 28) in [-1, 1] and an int

An item is ``(image, target)``: the image handed to ``transform`` is a PIL image of mode
"L" (as in torchvision) when Pillow is installed, else a ``(28, 28)`` uint8 NumPy array
(which every transform of ``minicnn.vision.transforms`` accepts in its place); the target
is an int. A ``DataLoader`` over it yields ``[images (B, 1, 28, 28) float32, labels (B,)
int64]`` Tensors, as PyTorch's does.

Files. ``MNIST(root)`` reads ``root/MNIST/raw/train-images-idx3-ubyte`` (and the other
three), which is where torchvision puts them; the published ``.gz`` files in that folder
work too, and so do those minicnn.data downloads (``root/MNIST/*.gz``, so
``MNIST(minicnn.data.cache_dir())`` reuses them). ``download=True`` fetches the missing
``.gz`` files into ``root/MNIST/raw/`` from torchvision's mirrors, MD5-checked (by
``minicnn.data.download_file``). Without the files and without a network, there is
``MNIST5k``: the 5,000 real digits embedded in minicnn (a 4,000 / 1,000 split, not the
full set) behind the same interface.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..autograd import Tensor
from ..backend import to_device
from ..data import datasets as data_sets
from ..data.download import DownloadError, cache_dir, download_file
from ..data.idx import read_idx
from .cifar import CIFAR10, CIFAR100
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader
from .functional import pil_image_module
from .vision_dataset import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "MNIST5k", "FakeData", "ImageFolder", "DatasetFolder",
           "VisionDataset", "IMG_EXTENSIONS", "default_loader"]


def _as_image(pixels: np.ndarray):
    """A uint8 (H, W) array as torchvision hands it to ``transform``: a PIL image of mode
    "L" when Pillow is installed, else the array itself."""
    image = pil_image_module()
    return image.fromarray(pixels) if image is not None else pixels


def _numpy(value) -> np.ndarray:
    return to_device(value.array if isinstance(value, Tensor) else value, "cpu")


class MNIST(VisionDataset):
    """The MNIST digits, as ``torchvision.datasets.MNIST``: 60,000 training images
    (``train=True``) or 10,000 test images, 28x28, targets 0-9.

    Attributes: ``data`` (uint8 Tensor (N, 28, 28)), ``targets`` (int64 Tensor (N,)),
    ``classes``, ``class_to_idx``; ``raw_folder`` is where the files are looked for. A
    script may replace ``data`` and ``targets`` (e.g. to keep a subset); items follow them.
    """

    mirrors = data_sets.MNIST.mirrors
    resources = data_sets.MNIST.resources      # the published .gz files and their MD5s
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        images, labels = self._load_data(download)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: images of shape {images.shape} and "
                             f"labels of shape {labels.shape} do not match; expected (N, H, W) "
                             f"and (N,)")
        self.data = Tensor._wrap(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = Tensor._wrap(labels.astype(np.int64))

    # -- files ------------------------------------------------------------------------
    @property
    def raw_folder(self) -> Path:
        root = Path(self.root) if self.root is not None else cache_dir()
        return root / type(self).__name__ / "raw"

    def _file_names(self) -> list:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _find(self, name: str):
        """The first of: raw/NAME (torchvision), raw/NAME.gz, the minicnn.data cache
        layout ROOT/CLASS/NAME.gz; None if none exists."""
        raw = self.raw_folder
        for path in (raw / name, raw / f"{name}.gz", raw.parent / f"{name}.gz"):
            if path.is_file():
                return path
        return None

    def _load_data(self, download: bool):
        paths = [self._find(name) for name in self._file_names()]
        missing = [name for name, path in zip(self._file_names(), paths) if path is None]
        if missing and download:
            self._download(missing)
            paths = [self._find(name) for name in self._file_names()]
        elif missing:
            urls = ", ".join(self.mirrors[0] + name + ".gz" for name in missing)
            raise RuntimeError(
                f"Dataset not found: {type(self).__name__}(root={str(self.root)!r}) needs "
                f"{', '.join(missing)} (or the same names + .gz) in {self.raw_folder}, "
                f"torchvision's layout. Pass download=True to fetch them from {urls}, copy "
                f"them there, or use minicnn.vision.datasets.MNIST5k for the 5,000 digits "
                f"embedded in minicnn (no network needed).")
        return read_idx(paths[0]), read_idx(paths[1])

    def _download(self, missing) -> None:
        for name in missing:
            filename = f"{name}.gz"
            try:
                download_file(filename, self.resources[filename], self.mirrors,
                              self.raw_folder)
            except DownloadError as error:
                raise DownloadError(
                    f"{type(self).__name__}(root={str(self.root)!r}, download=True): {error}\n"
                    f"No network? Put the files in {self.raw_folder} yourself, or use "
                    f"minicnn.vision.datasets.MNIST5k (5,000 embedded digits).") from error

    # -- items ------------------------------------------------------------------------
    @property
    def class_to_idx(self) -> dict:
        return {name: index for index, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        data = self.data.array if isinstance(self.data, Tensor) else self.data
        targets = self.targets.array if isinstance(self.targets, Tensor) else self.targets
        pixels = np.array(_numpy(data[index]), dtype=np.uint8)   # a copy, as torchvision
        return self._finish(_as_image(pixels), int(targets[index]))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (10 kinds of clothing, MNIST's sizes and file format), as
    ``torchvision.datasets.FashionMNIST``: files in ``root/FashionMNIST/raw/``."""

    mirrors = data_sets.FashionMNIST.mirrors
    resources = data_sets.FashionMNIST.resources
    classes = list(data_sets.FashionMNIST.classes)


class MNIST5k(MNIST):
    """The 5,000 real MNIST digits embedded in minicnn (``minicnn.data.load_mnist5k``:
    4,000 training / 1,000 test images, 400 / 100 of each class, a fixed split) behind
    ``MNIST``'s interface, for when the full set cannot be downloaded. It is a tenth of
    MNIST, not MNIST: accuracies are not comparable with full-MNIST ones. ``root`` and
    ``download`` are accepted for the signature and not used."""

    def _load_data(self, download: bool):
        split = data_sets.load_mnist5k()
        images, labels = ((split.train_images, split.train_labels) if self.train
                          else (split.test_images, split.test_labels))
        return images[:, 0], labels

    def extra_repr(self) -> str:
        return (f"Split: {'Train' if self.train else 'Test'} (minicnn's embedded 5,000 "
                f"digits, not the full MNIST)")


class FakeData(VisionDataset):
    """``size`` random images ``image_size = (C, H, W)`` with random targets in
    ``[0, num_classes)``, as ``torchvision.datasets.FakeData``: item ``i`` is the same every
    time (drawn from ``np.random.default_rng(i + random_offset)``; minicnn's global
    generator is not touched). The pixels are uint8, handed to ``transform`` as a PIL
    image (an (H, W[, C]) array without Pillow); they are not torchvision's numbers."""

    def __init__(self, size: int = 1000, image_size=(3, 224, 224), num_classes: int = 10,
                 transform=None, target_transform=None, random_offset: int = 0):
        super().__init__(None, transform, target_transform)
        self.size, self.image_size = int(size), tuple(int(s) for s in image_size)
        self.num_classes, self.random_offset = int(num_classes), int(random_offset)
        if len(self.image_size) != 3 or self.image_size[0] not in (1, 3, 4):
            raise ValueError(f"FakeData: image_size should be (C, H, W) with C in 1, 3, 4; "
                             f"got {image_size!r}")

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData: index {index} out of range for {self.size} images")
        index %= self.size
        generator = np.random.default_rng(index + self.random_offset)
        pixels = generator.integers(0, 256, size=self.image_size, dtype=np.uint8)
        target = int(generator.integers(0, self.num_classes))
        pixels = pixels[0] if self.image_size[0] == 1 else pixels.transpose(1, 2, 0)
        image = pil_image_module()
        pixels = np.ascontiguousarray(pixels)
        return self._finish(image.fromarray(pixels) if image is not None else pixels, target)
