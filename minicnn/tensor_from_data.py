"""``torch.as_tensor``'s public form: ``as_tensor(data, dtype=None, device=None)``.

A Tensor comes back as it is when its dtype and device already match (else converted, in
the graph); a NumPy array of the asked dtype shares its memory (as ``from_numpy``);
anything else is copied as ``mc.tensor`` copies it. (``minicnn.autograd.as_tensor(value,
like)`` is the engine's internal helper that wraps operands; this one is the user's.)"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, tensor


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor, sharing memory where it can (PyTorch's ``as_tensor``)."""
    if isinstance(data, Tensor):
        out = data if dtype is None or data.dtype == np.dtype(dtype) else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc" and (
            dtype is None or data.dtype == np.dtype(dtype)):
        out = Tensor._wrap(data)
        return out if device is None else out.to(device)
    return tensor(data, dtype=dtype, device=device)


__all__ = ["as_tensor"]
