"""``minicnn.utils.data`` is ``minicnn.data`` under PyTorch's name (``torch.utils.data``),
so ``from torch.utils.data import DataLoader`` ports as
``from minicnn.utils.data import DataLoader``; ``minicnn.utils.checkpoint`` is gradient
checkpointing (``torch.utils.checkpoint``)."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
