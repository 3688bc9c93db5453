"""``minicnn.utils.data`` is ``minicnn.data`` under PyTorch's name (``torch.utils.data``),
so ``from torch.utils.data import DataLoader`` ports as
``from minicnn.utils.data import DataLoader``."""
from . import data

__all__ = ["data"]
