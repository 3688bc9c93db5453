"""``CIFAR10`` and ``CIFAR100``, as torchvision's (reached as
``minicnn.vision.datasets.CIFAR10``)::

    train = datasets.CIFAR10("data", train=True, download=True,
                             transform=transforms.ToTensor())
    image, target = train[0]        # a Tensor (3, 32, 32) in [0, 1] and an int

Files: torchvision's layout, ``root/cifar-10-batches-py/data_batch_1`` ... ``_5``,
``test_batch`` and ``batches.meta`` (CIFAR-100: ``root/cifar-100-python/train``, ``test``,
``meta``): Python pickles holding ``data`` (N, 3072) uint8 (the red plane, green, blue of
each 32x32 image) and ``labels`` (``fine_labels`` for CIFAR-100); keys may be ``str``
(the published Python 2 pickles, read with ``encoding="latin1"``) or ``bytes``. Every
file is MD5-checked against the published checksums torchvision lists, as torchvision
does. ``download=True`` fetches the archive into ``root`` (``minicnn.data.download_file``,
MD5-checked) and unpacks it there.

Items: ``(image, target)``, the image a PIL image of mode "RGB" (an (32, 32, 3) uint8
array without Pillow), the target an int. ``data`` is a (N, 32, 32, 3) uint8 array and
``targets`` a list of ints, as in torchvision.
"""
from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from ..data.download import DownloadError, md5_of, download_file
from .functional import pil_image_module
from .vision_dataset import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


def _get(entry: dict, key: str):
    """``entry[key]`` for a pickle with str or bytes keys (None when absent)."""
    for candidate in (key, key.encode("latin1")):
        if candidate in entry:
            return entry[candidate]
    return None


def _text(value) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


class CIFAR10(VisionDataset):
    """The CIFAR-10 images, as ``torchvision.datasets.CIFAR10``: 50,000 training images
    (``train=True``) or 10,000 test images, 32x32 RGB, targets 0-9 (``classes``:
    airplane ... truck)."""

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [["data_batch_1", "c99cafc152244af753f735de768cd75f"],
                  ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
                  ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
                  ["data_batch_4", "634d18415352ddfa80567beed471001a"],
                  ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"]]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        if download:
            self.download()
        self._check_files()
        data, targets = [], []
        for name, _ in (self.train_list if self.train else self.test_list):
            entry = self._unpickle(self.folder / name)
            images = _get(entry, "data")
            labels = _get(entry, "labels")
            labels = _get(entry, "fine_labels") if labels is None else labels
            if images is None or labels is None:
                raise RuntimeError(f"{type(self).__name__}: {self.folder / name} holds no "
                                   f"'data' and 'labels' (or 'fine_labels') entries")
            data.append(np.asarray(images, dtype=np.uint8).reshape(-1, 3072))
            targets.extend(int(label) for label in labels)
        self.data = np.ascontiguousarray(np.vstack(data).reshape(-1, 3, 32, 32)
                                         .transpose(0, 2, 3, 1))
        self.targets = targets
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{type(self).__name__}: {len(self.data)} images but "
                               f"{len(self.targets)} labels in {self.folder}")
        self._load_meta()

    # -- files ------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return Path(os.fspath(self.root)) / self.base_folder

    @staticmethod
    def _unpickle(path: Path) -> dict:
        with open(path, "rb") as file:
            return pickle.load(file, encoding="latin1")

    def _problems(self) -> list:
        """``name (why)`` for each missing or corrupted file of this split and the meta."""
        problems = []
        files = (self.train_list if self.train else self.test_list) + [
            [self.meta["filename"], self.meta["md5"]]]
        for name, md5 in files:
            path = self.folder / name
            if not path.is_file():
                problems.append(f"{name} (missing)")
            elif md5 is not None and md5_of(path) != md5:
                problems.append(f"{name} (corrupted: MD5 {md5_of(path)}, expected {md5})")
        return problems

    def _check_integrity(self) -> bool:
        return not self._problems()

    def _check_files(self) -> None:
        problems = self._problems()
        if problems:
            raise RuntimeError(
                f"Dataset not found or corrupted: {type(self).__name__}(root="
                f"{str(self.root)!r}) needs, in {self.folder}: {', '.join(problems)}. "
                f"You can use download=True to download it from {self.url} (the archive "
                f"{self.filename}, MD5 {self.tgz_md5}, unpacked into root), or put the "
                f"unpacked files there yourself.")

    def download(self) -> None:
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        root = Path(os.fspath(self.root))
        mirror = self.url[:-len(self.filename)]
        try:
            archive = download_file(self.filename, self.tgz_md5, [mirror], root)
        except DownloadError as error:
            raise DownloadError(
                f"{type(self).__name__}(root={str(self.root)!r}, download=True): {error}\n"
                f"No network? Download {self.url} elsewhere and unpack it into "
                f"{root}.") from error
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):   # Python >= 3.11.4: no paths outside root
                tar.extractall(root, filter="data")
            else:
                tar.extractall(root)

    def _load_meta(self) -> None:
        entry = self._unpickle(self.folder / self.meta["filename"])
        names = _get(entry, self.meta["key"])
        if names is None:
            raise RuntimeError(f"{type(self).__name__}: {self.folder / self.meta['filename']}"
                               f" holds no {self.meta['key']!r} entry")
        self.classes = [_text(name) for name in names]
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}

    # -- items ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        pixels, target = self.data[index], self.targets[index]
        image = pil_image_module()
        return self._finish(image.fromarray(pixels) if image is not None else pixels.copy(),
                            int(target))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100, as ``torchvision.datasets.CIFAR100``: CIFAR-10's sizes, 100 classes
    (``targets`` are the fine labels; ``classes`` the fine label names)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
