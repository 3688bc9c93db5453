"""3-D pooling layers: ``MaxPool3d``, ``AvgPool3d``, ``AdaptiveAvgPool3d``, as ``torch.nn``'s
(the math is in ``minicnn/ops/pool3d.py``).

Shapes: (N, C, D, H, W) or unbatched (C, D, H, W) -> (N, C, O, P, Q). The settings are
stored as given (an int stays an int), as PyTorch stores and prints them; stride defaults
to kernel_size (windows that do not overlap).
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..ops.conv3d import triple
from .module import Module


def _check_pool(layer: str, kernel_size, stride, padding, dilation) -> None:
    """kernel_size, stride (None: the kernel's) and dilation >= 1, padding at most half
    the kernel, each an int or a triple: rejected when the layer is built."""
    kernel = triple(kernel_size, "kernel_size", 1, layer)
    if not (stride is None or isinstance(stride, (tuple, list)) and len(stride) == 0):
        triple(stride, "stride", 1, layer)
    triple(dilation, "dilation", 1, layer)
    pad = triple(padding, "padding", 0, layer)
    if any(p > k // 2 for k, p in zip(kernel, pad)):
        raise ValueError(f"{layer}: padding should be at most half of kernel_size, got "
                         f"padding={padding!r} for kernel_size={kernel_size!r}")


class MaxPool3d(Module):
    """Maximum over each kernel_size window of a volume."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        _check_pool("MaxPool3d", kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool3d(Module):
    """Mean over each kernel_size window of a volume (``count_include_pad`` and
    ``divisor_override`` choose the divisor, see ``F.avg_pool3d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        _check_pool("AvgPool3d", kernel_size, stride, padding, 1)
        if divisor_override is not None and (
                not hasattr(type(divisor_override), "__index__") or divisor_override == 0):
            raise (ValueError if divisor_override == 0 else TypeError)(
                f"AvgPool3d: divisor_override: expected None or a non-zero int, got "
                f"{divisor_override!r}")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool3d(Module):
    """Average pooling to a fixed output size (an int, or a triple whose None entries keep
    the input's size); ``AdaptiveAvgPool3d(1)`` is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d"]
