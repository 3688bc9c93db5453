r"""``SyncBatchNorm``: batch normalisation over the global batch of all ranks.

With data parallelism each rank sees only its shard of B samples; plain batch norm would
normalise each shard with its own statistics, so N ranks of B would not train like one
process with a batch of NB. SyncBatchNorm all-reduces the statistics instead. Per channel,
over the M = sum over ranks of (samples x pixels):

.. math:: \mu = \frac{1}{M}\sum_{\text{ranks}}\sum x, \qquad
          \sigma^2 = \frac{1}{M}\sum_{\text{ranks}}\sum (x - \mu)^2, \qquad
          y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

(two all-reduces: the mean first, then the centred squares, as exact as the one-process
two-pass formula). The sums are all-reduced by ``AllReduceSumFunction``, a differentiable
op: its backward is the all-reduce of the incoming gradients, because rank r's input
reaches every rank's loss through the shared statistics. So ``backward()`` gives each rank
the gradient of the sum of all ranks' losses with respect to its own inputs, and after
DDP's averaging the parameters' gradients equal one process's on the global batch.

Eval mode uses the running statistics, updated in training from the global batch (the
variance unbiased, M / (M - 1)), as ``BatchNorm``. Outside a process group (or in a group
of one) it computes exactly what ``BatchNorm`` computes.
"""
from __future__ import annotations

import numpy as np

from .. import distributed as dist
from ..autograd import Function, Tensor, no_grad
from .module import Module
from .normalization import _BatchNorm


class AllReduceSumFunction(Function):
    """y = sum over ranks of x (every rank gets y);  dL/dx = sum over ranks of dL/dy."""

    def forward(self, x):
        y = x.copy()
        dist.all_reduce(y, dist.ReduceOp.SUM)
        return y

    def backward(self, g):
        return AllReduceSumFunction.apply(g)


def all_reduce_sum(x: Tensor) -> Tensor:
    """The differentiable all-reduce: the sum of ``x`` over all ranks."""
    return AllReduceSumFunction.apply(x)


class SyncBatchNorm(_BatchNorm):
    """Batch norm of (N, C, *) inputs with statistics over every rank's batch."""

    _input_dims = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        use_batch_stats = self.training or self.running_mean is None
        if not use_batch_stats or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(input)
        self._check_channels(input, self._input_dims)
        C = input.shape[1]
        axes = (0,) + tuple(range(2, input.ndim))
        shape = (1, C) + (1,) * (input.ndim - 2)
        count = np.array([input.numel() // C], dtype=np.int64)  # values per channel, here
        dist.all_reduce(count, dist.ReduceOp.SUM)
        M = float(count[0])
        if M <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got {int(M)}")
        mean = all_reduce_sum(input.sum(dim=axes)) / M
        centred = input - mean.reshape(shape)
        variance = all_reduce_sum((centred * centred).sum(dim=axes)) / M
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.array += 1
                momentum = (1.0 / float(self.num_batches_tracked.item())
                            if self.momentum is None else self.momentum)
                self.running_mean.array[...] = ((1 - momentum) * self.running_mean.array
                                                + momentum * mean.array)
                self.running_var.array[...] = ((1 - momentum) * self.running_var.array
                                               + momentum * variance.array * M / (M - 1))
        y = centred / (variance.reshape(shape) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm1d/2d inside replaced by a SyncBatchNorm holding
        the same parameters and buffers (the module itself, if it is one)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                if getattr(module, name, None) is not None:
                    setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name, None) is not None:
                    converted.register_buffer(name, getattr(module, name))
            converted.train(module.training)
            return converted
        for name, child in list(module.named_children()):
            replacement = cls.convert_sync_batchnorm(child, process_group)
            if replacement is not child:
                setattr(module, name, replacement)
        return module
