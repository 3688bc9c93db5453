"""PyTorch's ``torch.utils.data`` names, from ``minicnn.data`` (where they are defined)."""
from ..data import (ConcatDataset, DataLoader, Dataset, DistributedSampler, Subset,
                    TensorDataset, default_collate, random_split)

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "default_collate", "DistributedSampler"]
