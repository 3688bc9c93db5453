"""1-D pooling layers: ``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d`` on (N, C, L),
around the functions of ``minicnn/ops/pool1d.py`` (2-D pooling with windows of height 1).
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops.pool1d import _one, adaptive_avg_pool1d, avg_pool1d, max_pool1d
from .module import Module


class MaxPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        layer = "MaxPool1d"
        kernel = _one(kernel_size, "kernel_size", layer, 1)
        if stride is not None and stride != ():
            _one(stride, "stride", layer, 1)
        if _one(padding, "padding", layer, 0) > kernel // 2:
            raise ValueError(f"{layer}: padding should be at most half of kernel_size, got "
                             f"padding={padding!r} for kernel_size={kernel_size!r}")
        _one(dilation, "dilation", layer, 1)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = _one(kernel_size, "kernel_size", "AvgPool1d", 1),
        self.stride = (_one(stride if stride is not None and stride != () else kernel_size,
                            "stride", "AvgPool1d", 1),)
        self.padding = (_one(padding, "padding", "AvgPool1d", 0),)
        if self.padding[0] > self.kernel_size[0] // 2:
            raise ValueError(f"AvgPool1d: padding should be at most half of kernel_size, got "
                             f"padding={padding!r} for kernel_size={kernel_size!r}")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    def __init__(self, output_size):
        super().__init__()
        _one(output_size, "output_size", "AdaptiveAvgPool1d", 0)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
