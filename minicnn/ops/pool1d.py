"""1-D pooling on (N, C, L): ``max_pool1d``, ``avg_pool1d``, ``adaptive_avg_pool1d``
(``torch.nn.functional``'s).

A signal (N, C, L) is an image (N, C, 1, L): each 1-D pooling is the 2-D one with a
window of height 1 (``max_pool1d`` = ``max_pool2d`` with kernel (1, k), stride (1, s),
padding (0, p)), so it has the 2-D op's gradients (to any order) and kernels.
L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1 (ceil with ``ceil_mode``).
"""
from __future__ import annotations

from ..autograd import Tensor
from ..geometry import single_int as _one
from .pool import avg_pool2d, max_pool2d
from .resize import adaptive_avg_pool2d


def _as_image(op: str, input: Tensor) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: input: expected (N, C, L) or (C, L), got shape {input.shape}")
    return input.unsqueeze(-2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """``F.max_pool1d``: the maximum of each window along the last dim."""
    op = "max_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _one(stride, "stride", op)
    result = max_pool2d(_as_image(op, input), (1, k), (1, s), (0, _one(padding, "padding", op)),
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
    return avg_pool2d(_as_image(op, input), (1, k), (1, s), (0, _one(padding, "padding", op)),
                        ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``F.adaptive_avg_pool1d``: L -> output_size with PyTorch's adaptive windows."""
    size = _one(output_size, "output_size", "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(_as_image("adaptive_avg_pool1d", input), (1, size)).squeeze(-2)


__all__ = ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d"]
