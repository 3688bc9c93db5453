"""``ImageFolder``: a dataset made of image files sorted into one folder per class, as
``torchvision.datasets.ImageFolder``::

    root/cat/001.png  -> class 0 ("cat")
    root/dog/xyz.jpg  -> class 1 ("dog")

Classes are the sub-folder names, sorted; samples are ``(path, class_index)``, class by
class, files sorted (sub-folders of a class included). Images are read with Pillow and
converted to RGB (``default_loader``), as torchvision does; minicnn has no image decoder
of its own, so without Pillow pass your own ``loader`` (a function path -> image).
"""
from __future__ import annotations

import os

from .functional import require_pil
from .vision_dataset import VisionDataset

__all__ = ["IMG_EXTENSIONS", "has_file_allowed_extension", "find_classes", "make_dataset",
           "pil_loader", "default_loader", "DatasetFolder", "ImageFolder"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions) -> bool:
    """Whether ``filename`` ends (case-insensitively) with one of ``extensions``."""
    extensions = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(extensions)


def find_classes(directory) -> tuple:
    """``(classes, class_to_idx)``: the sorted sub-folder names of ``directory``."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: index for index, name in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None,
                 allow_empty: bool = False) -> list:
    """The ``(path, class_index)`` samples under ``directory`` (see the module docstring);
    a class with no valid file is an error unless ``allow_empty``."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any "
                         "samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at "
                         "the same time")
    if extensions is not None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    samples, found = [], set()
    for name in sorted(class_to_idx):
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        for root, _, file_names in sorted(os.walk(folder, followlinks=True)):
            for file_name in sorted(file_names):
                path = os.path.join(root, file_name)
                if is_valid_file(path):
                    samples.append((path, class_to_idx[name]))
                    found.add(name)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            shown = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {shown}"
        raise FileNotFoundError(message)
    return samples


def pil_loader(path):
    """The image at ``path`` as an RGB PIL image (needs Pillow)."""
    image = require_pil("ImageFolder's default loader (reading image files)")
    with open(path, "rb") as stream:
        return image.open(stream).convert("RGB")


default_loader = pil_loader


class DatasetFolder(VisionDataset):
    """Files in one folder per class, read by ``loader`` (path -> sample).

    Attributes: ``classes``, ``class_to_idx``, ``samples`` (``(path, class_index)``),
    ``targets`` (the class indices), ``loader``, ``extensions``.
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(os.fspath(root), transform, target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file,
                                         allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.targets = [target for _, target in self.samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty: bool = False) -> list:
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory) -> tuple:
        return find_classes(directory)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        return self._finish(self.loader(path), target)


class ImageFolder(DatasetFolder):
    """Image files in one folder per class (extensions ``IMG_EXTENSIONS`` unless
    ``is_valid_file`` decides), read as RGB PIL images by default. ``imgs`` is
    ``samples``."""

    def __init__(self, root, transform=None, target_transform=None, loader=None,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(root, loader if loader is not None else default_loader,
                         IMG_EXTENSIONS if is_valid_file is None else None, transform,
                         target_transform, is_valid_file, allow_empty)
        self.imgs = self.samples
