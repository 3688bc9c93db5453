"""``VisionDataset``: what torchvision's datasets share (``root``, ``transform``,
``target_transform``, their repr)."""
from __future__ import annotations

import os

__all__ = ["VisionDataset"]


class VisionDataset:
    """What torchvision's datasets share: ``root``, ``transform``, ``target_transform`` and
    a repr of them."""

    def __init__(self, root, transform=None, target_transform=None):
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        self.transform = transform
        self.target_transform = target_transform

    def _finish(self, image, target):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"Root location: {self.root}")
        lines += [line for line in self.extra_repr().splitlines() if line]
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"{name}: {getattr(self, name)!r}".replace("\n", "\n    "))
        body = "".join(f"\n    {line}" for line in lines)
        return f"Dataset {type(self).__name__}{body}"
