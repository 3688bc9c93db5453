r"""Normalisation layers: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d.

All of them compute :math:`y = (x - \mu) / \sqrt{\sigma^2 + \epsilon} \cdot \gamma + \beta`
and differ only in which elements share one :math:`\mu, \sigma^2` (input (N, C, H, W)):

============== ============================== =========================================
layer          statistics over                 gamma, beta (``weight``, ``bias``)
============== ============================== =========================================
BatchNorm2d    N, H, W   (one per channel)     (C,)
LayerNorm      the last dims given             ``normalized_shape``
GroupNorm      C/G channels, H, W (per image)  (C,)
InstanceNorm2d H, W      (per image, channel)  (C,), only with ``affine=True``
============== ============================== =========================================

BatchNorm keeps running averages of the batch statistics (buffers ``running_mean``,
``running_var``, ``num_batches_tracked``) and uses them in eval mode:
``running = (1 - momentum) * running + momentum * batch`` (the batch variance unbiased,
as PyTorch); ``momentum=None`` gives the plain cumulative average,
``momentum = 1 / num_batches_tracked``.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..ops.creation import ones, zeros
from . import _checks
from .module import Module, Parameter


def _affine_parameters(module: Module, shape, affine: bool, bias: bool, dtype, device) -> None:
    """gamma = 1 (``weight``) and beta = 0 (``bias``) of ``shape``, or None where not wanted
    (registered either way, so state_dict keys and repr match PyTorch's)."""
    module.register_parameter(
        "weight", Parameter(ones(shape, dtype=dtype, device=device)) if affine else None)
    module.register_parameter(
        "bias", Parameter(zeros(shape, dtype=dtype, device=device)) if affine and bias else None)


class _NormBase(Module):
    """Settings, affine parameters and running-stat buffers shared by BatchNorm and
    InstanceNorm (same names, order and defaults as PyTorch's)."""

    def __init__(self, num_features: int, eps: float, momentum, affine: bool,
                 track_running_stats: bool, device, dtype, bias: bool):
        super().__init__()
        num_features = _checks.size(type(self).__name__, "num_features", num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, num_features, affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked",
                                 Tensor._wrap(np.zeros((), dtype=np.int64)).to(device or "cpu"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def _check_channels(self, input: Tensor, expected_dims: tuple) -> None:
        if input.ndim not in expected_dims:
            wanted = " or ".join(f"{d}D" for d in expected_dims)
            raise ValueError(f"{type(self).__name__}: expected {wanted} input "
                             f"(got {input.ndim}D input)")
        if input.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(f"{type(self).__name__}: expected input's size at dim=1 to match "
                             f"num_features ({self.num_features}), but got: {input.shape[1]}.")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _input_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, input: Tensor) -> Tensor:
        self._check_channels(input, self._input_dims)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1  # in place: state_dict views stay valid
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # batch statistics in training mode, or in eval mode when there are no running ones
        use_batch_stats = self.training or self.running_mean is None
        update_running = not self.training or self.track_running_stats
        return F.batch_norm(input,
                            self.running_mean if update_running else None,
                            self.running_var if update_running else None,
                            self.weight, self.bias, use_batch_stats, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs: statistics per channel C over
    N (and L)."""

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images: statistics per channel over N, H, W."""

    _input_dims = (4,)


class InstanceNorm2d(_NormBase):
    """Instance normalisation of (N, C, H, W) or one unbatched (C, H, W) image: statistics
    per image and channel over H, W. No affine parameters and no running statistics unless asked (PyTorch's defaults)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, input: Tensor) -> Tensor:
        unbatched = isinstance(input, Tensor) and input.ndim == 3   # one (C, H, W) image
        x = input.unsqueeze(0) if unbatched else input
        self._check_channels(x, (4,))
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class LayerNorm(Module):
    r"""Normalise over the last ``len(normalized_shape)`` dims of each sample:
    input (N, *, *normalized_shape), weight and bias of shape ``normalized_shape``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _checks.shape("LayerNorm", "normalized_shape", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups; normalise each group of each image
    over its channels and pixels. GroupNorm(1, C) normalises each image as a whole (a
    batch-independent choice for a WGAN-GP critic); GroupNorm(C, C) is InstanceNorm."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        num_groups = _checks.size("GroupNorm", "num_groups", num_groups, minimum=1)
        num_channels = _checks.size("GroupNorm", "num_channels", num_channels)
        _checks.divisible("GroupNorm", "num_channels", num_channels, "num_groups", num_groups)
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                      eps, affine)
        _affine_parameters(self, num_channels, affine, bias, dtype, device)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
