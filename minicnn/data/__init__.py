"""Data: datasets (the embedded MNIST-5k, scikit-learn digits, downloaded (Fashion-)MNIST),
the IDX file format, transforms, and the DataLoader that turns arrays into batches of
Tensors. Start with::

    from minicnn.data import load_mnist5k, TensorDataset, DataLoader
    x_train, y_train, x_test, y_test = load_mnist5k(dtype="float32")
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
    for images, labels in loader:   # Tensors (64, 1, 28, 28) float32 and (64,) int64
        ...
"""
from . import transforms
from .datasets import (
    MNIST,
    FashionMNIST,
    Split,
    load_digits,
    load_mnist5k,
    mnist5k_path,
)
from .download import DownloadError, cache_dir, download_file, md5_of
from .idx import read_idx, write_idx
from .loader import DataLoader, Dataset, TensorDataset, default_collate
from .sampler import DistributedSampler
from .samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                       SubsetRandomSampler, WeightedRandomSampler)
from .subsets import ConcatDataset, Subset, random_split

__all__ = [
    "MNIST", "FashionMNIST", "Split", "load_digits", "load_mnist5k", "mnist5k_path",
    "DownloadError", "cache_dir", "download_file", "md5_of", "read_idx", "write_idx",
    "DataLoader", "Dataset", "TensorDataset", "default_collate", "transforms",
    "DistributedSampler", "Subset", "ConcatDataset", "random_split", "Sampler",
    "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler",
]
