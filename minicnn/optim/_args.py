"""Optimizer settings given as one-element tensors (``lr=torch.tensor(0.01)``, which
PyTorch 2 takes) become Python floats, so the update arithmetic never mixes a Tensor into
NumPy (``operand 'Tensor' does not support ufuncs``)."""
from __future__ import annotations

from ..autograd import Tensor


def number(value):
    """``value`` as a float when it is a one-element Tensor, else unchanged (the caller's
    range checks then see a number)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor lr/setting must be 1-element, got shape {value.shape}")
        return float(value.item())
    return value
