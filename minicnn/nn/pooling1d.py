"""1-D pooling layers: ``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d`` on (N, C, L).

A signal (N, C, L) is an image (N, C, 1, L): each 1-D pooling is the 2-D one with a
window of height 1 (``max_pool1d`` = ``max_pool2d`` with kernel (1, k), stride (1, s),
padding (0, p)), so it has the 2-D op's gradients and kernels.
L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1 (ceil with ``ceil_mode``).
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module


def _one(value, name: str, op: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name}: expected an int or a 1-tuple, got {value!r}")
        value = value[0]
    return int(value)


def _as_image(op: str, input: Tensor) -> Tensor:
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: input: expected (N, C, L) or (C, L), got shape {input.shape}")
    return input.unsqueeze(-2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """``F.max_pool1d``: the maximum of each window along the last dim."""
    op = "max_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _one(stride, "stride", op)
    result = F.max_pool2d(_as_image(op, input), (1, k), (1, s), (0, _one(padding, "padding", op)),
                          (1, _one(dilation, "dilation", op)), ceil_mode=ceil_mode,
                          return_indices=return_indices)
    if return_indices:
        values, indices = result
        return values.squeeze(-2), indices.squeeze(-2)
    return result.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``F.avg_pool1d``: the mean of each window along the last dim."""
    op = "avg_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _one(stride, "stride", op)
    return F.avg_pool2d(_as_image(op, input), (1, k), (1, s), (0, _one(padding, "padding", op)),
                        ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``F.adaptive_avg_pool1d``: L -> output_size with PyTorch's adaptive windows."""
    size = _one(output_size, "output_size", "adaptive_avg_pool1d")
    return F.adaptive_avg_pool2d(_as_image("adaptive_avg_pool1d", input), (1, size)).squeeze(-2)


class MaxPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
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
        self.kernel_size = _one(kernel_size, "kernel_size", "AvgPool1d"),
        self.stride = (_one(stride if stride is not None else kernel_size, "stride",
                            "AvgPool1d"),)
        self.padding = (_one(padding, "padding", "AvgPool1d"),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
