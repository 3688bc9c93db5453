"""``AdaptiveAvgPool2d``: average pooling to a fixed output size, whatever the input size.

Output cell (i, j) averages input rows floor(i H / P) .. ceil((i + 1) H / P) - 1 and the
matching columns (PyTorch's windows; they may overlap). ``AdaptiveAvgPool2d(1)`` is global
average pooling. The math is ``adaptive_avg_pool2d`` in ``minicnn/ops/resize.py``.

Shapes: (N, C, H, W) or (C, H, W) -> (N, C, P, Q); output_size an int (P = Q), a pair, or
a pair with None (that dim keeps the input's size).
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
