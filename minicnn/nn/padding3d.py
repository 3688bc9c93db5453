"""3-D padding layers: ``ZeroPad3d``, ``ConstantPad3d``, ``ReflectionPad3d``,
``ReplicationPad3d``, as ``torch.nn``'s.

``padding`` is an int (every side) or ``(left, right, top, bottom, front, back)``: the
last dim (W) first, as ``F.pad``. Input (N, C, D, H, W) or unbatched (C, D, H, W).
Each calls ``F.pad`` (the reflect and replicate modes are gathers, ``ops/pad_modes.py``,
so their gradients scatter-add onto the copied voxels, to any order).
"""
from __future__ import annotations

from .padding import (ConstantPad1d, ReflectionPad1d, ReplicationPad1d,
                      ZeroPad1d)


class ConstantPad3d(ConstantPad1d):
    """Pad the last three dims with ``value``."""
    sides = 6


class ZeroPad3d(ZeroPad1d):
    """Pad the last three dims with zeros."""
    sides = 6


class ReflectionPad3d(ReflectionPad1d):
    """Mirror the volume at its faces (the border voxel is not repeated)."""
    sides = 6


class ReplicationPad3d(ReplicationPad1d):
    """Repeat the border voxel."""
    sides = 6


__all__ = ["ConstantPad3d", "ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d"]
