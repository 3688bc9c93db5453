"""PyTorch's ``torch.utils.data`` names, from ``minicnn.data`` (where they are defined)."""
from ..data import (BatchSampler, ConcatDataset, DataLoader, Dataset, DistributedSampler,
                    RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler,
                    TensorDataset, WeightedRandomSampler, default_collate, random_split)
from ..data.iterable import ChainDataset, IterableDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "default_collate", "DistributedSampler", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "IterableDataset", "ChainDataset"]
