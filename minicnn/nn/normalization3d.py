r"""``BatchNorm3d``, ``InstanceNorm1d`` and ``InstanceNorm3d``, as ``torch.nn``'s.

The functions (``F.batch_norm``, ``F.instance_norm``, ``minicnn/ops/norm.py``) work on
(N, C, *) with any number of spatial dims, so these layers are ``normalization.py``'s
with other input ranks:

=============== ===================================== ===============================
layer           input                                 statistics over
=============== ===================================== ===============================
BatchNorm3d     (N, C, D, H, W)                       N, D, H, W (one per channel)
InstanceNorm1d  (N, C, L) or unbatched (C, L)         L (per sample and channel)
InstanceNorm3d  (N, C, D, H, W) or (C, D, H, W)       D, H, W (per sample and channel)
=============== ===================================== ===============================

Same parameters, buffers (state_dict keys), defaults and printing as PyTorch's.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .normalization import _BatchNorm, _NormBase


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) volumes: statistics per channel over N, D,
    H, W; running averages for eval mode (see ``normalization.py``)."""

    _input_dims = (5,)


class _InstanceNorm(_NormBase):
    """Instance normalisation with a batched rank ``_dims``; one less is one unbatched
    sample (PyTorch's rule). No affine parameters and no running statistics unless asked."""

    _dims = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, input: Tensor) -> Tensor:
        unbatched = isinstance(input, Tensor) and input.ndim == self._dims - 1
        x = input.unsqueeze(0) if unbatched else input
        if isinstance(x, Tensor) and x.ndim != self._dims:
            raise ValueError(f"{type(self).__name__}: expected {self._dims - 1}D or "
                             f"{self._dims}D input (got {x.ndim}D input)")
        self._check_channels(x, (self._dims,))
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of signals (N, C, L) or (C, L): statistics over L."""

    _dims = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of volumes (N, C, D, H, W) or (C, D, H, W): statistics
    over D, H, W."""

    _dims = 5


__all__ = ["BatchNorm3d", "InstanceNorm1d", "InstanceNorm3d"]
