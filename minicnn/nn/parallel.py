r"""``DistributedDataParallel``: one model per rank, gradients averaged over the ranks.

Why averaging gradients is the same as one big batch: with N ranks each holding B samples
of a global batch of NB, and a loss that is a mean over samples,

.. math:: \nabla \frac{1}{NB}\sum_{i=1}^{NB} \ell_i
          = \frac{1}{N}\sum_{r=1}^{N} \nabla \Big(\frac{1}{B}\sum_{i \in r} \ell_i\Big),

the global gradient is the mean of the ranks' gradients. So each rank runs forward and
backward on its shard, an all-reduce averages the gradients, and every rank takes the
same optimizer step from the same weights: the models never drift apart.

How (as PyTorch's DDP): at construction, rank 0's parameters and buffers are broadcast to
every rank. The parameters are cut into *buckets* of about ``bucket_cap_mb`` each (in
reverse order: the last layers' gradients are ready first in a backward pass). During
``backward()``, each parameter's post-accumulate-grad hook marks it ready; when a bucket's
parameters are all ready, their gradients are copied into one flat buffer and a
non-blocking all-reduce (``MPI_Iallreduce``) of the whole bucket starts while the backward
walk goes on through earlier layers. At the end of backward the reductions are waited for,
divided by N and copied back into each ``.grad`` (when the last bucket has started, all
are waited for). One call per bucket instead of one per
parameter: fewer, larger messages, which is what makes an all-reduce efficient.

``no_sync()`` skips the reduction (gradients accumulate locally, for gradient accumulation
over several micro-batches; the first backward after it reduces the sum). ``state_dict``
keys carry the ``module.`` prefix, as PyTorch's wrapper does; ``.module`` is the model.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import distributed as dist
from ..autograd import Tensor
from ..backend import get_array_module
from .module import Module


class _Bucket:
    """Parameters whose gradients travel in one all-reduce, and its flat buffer."""

    def __init__(self, parameters: list):
        self.parameters = parameters
        self.ready: set[int] = set()
        self.work = None
        self.buffer = None

    def start(self) -> None:
        xp = get_array_module(self.parameters[0].array)
        grads = [p.grad.array.reshape(-1) if p.grad is not None
                 else xp.zeros(p.numel(), dtype=p.dtype) for p in self.parameters]
        self.buffer = Tensor._wrap(xp.concatenate(grads))
        self.work = dist.all_reduce(self.buffer, dist.ReduceOp.SUM, async_op=True)

    def finish(self, world: int) -> None:
        self.work.wait()
        flat, offset = self.buffer.array / world, 0
        for p in self.parameters:
            size = p.numel()
            average = flat[offset:offset + size].reshape(p.shape).astype(p.dtype, copy=False)
            if p.grad is None:
                p.grad = Tensor._wrap(average.copy())
            else:
                p.grad.array[...] = average
            offset += size
        self.work, self.buffer = None, None
        self.ready.clear()


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over ``minicnn.distributed``'s group.

    Args:
        module: the model (the same architecture on every rank).
        bucket_cap_mb: the size of a gradient bucket, in MiB (PyTorch's default: 25).
        broadcast_buffers: also send rank 0's buffers (batch-norm running statistics) to
            every rank before each forward, as PyTorch does by default.
        device_ids, output_device, find_unused_parameters: accepted for PyTorch's
            signature. A parameter that gets no gradient in a backward leaves its bucket
            unreduced, and the next forward raises an error naming it (as PyTorch's does).
    """

    def __init__(self, module: Module, device_ids=None, output_device=None,
                 broadcast_buffers: bool = True, bucket_cap_mb: float = 25.0,
                 find_unused_parameters: bool = False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module: expected a minicnn.nn.Module, "
                            f"got {type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: call minicnn.distributed."
                               "init_process_group('mpi') first")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb: expected > 0, got "
                             f"{bucket_cap_mb!r}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.world_size = dist.get_world_size()
        self._sync = True
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor, src=0)
        self._buckets = self._make_buckets(bucket_cap_mb * 2**20)
        self._bucket_of = {id(p): bucket for bucket in self._buckets for p in bucket.parameters}
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                         for bucket in self._buckets for p in bucket.parameters]

    def _make_buckets(self, capacity_bytes: float) -> list:
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        buckets, current, size = [], [], 0
        for p in reversed(trainable):  # the last layers' gradients are ready first
            if current and (size + p.array.nbytes > capacity_bytes
                            or p.dtype != current[0].dtype):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.array.nbytes
        if current:
            buckets.append(_Bucket(current))
        return buckets

    @property
    def bucket_sizes(self) -> list[int]:
        """Parameters per bucket, in the order the buckets are reduced."""
        return [len(b.parameters) for b in self._buckets]

    def _on_grad_ready(self, parameter) -> None:
        if not self._sync:
            return
        bucket = self._bucket_of[id(parameter)]
        bucket.ready.add(id(parameter))
        if len(bucket.ready) == len(bucket.parameters):
            bucket.start()
            if all(b.work is not None for b in self._buckets):  # the last one: wait for all
                for b in self._buckets:
                    b.finish(self.world_size)

    def forward(self, *inputs, **kwargs):
        pending = [p for b in self._buckets if b.ready or b.work is not None
                   for p in b.parameters if id(p) not in b.ready]
        if pending and self._sync:
            names = {id(p): n for n, p in self.module.named_parameters()}
            raise RuntimeError(
                "DistributedDataParallel: the previous backward() gave no gradient to "
                f"{', '.join(names[id(p)] for p in pending)}, so their buckets were never "
                "all-reduced and the ranks' gradients differ. Use every parameter in the "
                "loss, or freeze the unused ones (requires_grad_(False)) before wrapping.")
        if self.broadcast_buffers and self.module.training:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward() accumulates gradients locally, without communicating."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={self.bucket_sizes}"


class DataParallel(Module):
    """PyTorch's ``nn.DataParallel``, for scripts that wrap their model in it.

    PyTorch's splits each batch over the GPUs of one process; minicnn computes on one
    device per process, so here (as in PyTorch with one device or none) the wrapper runs
    the model on the whole batch. What carries over is the interface: ``.module``, and
    ``state_dict`` keys with the ``module.`` prefix, so checkpoints load either way. For
    several processes, and machines, use ``DistributedDataParallel`` under ``mpiexec``.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module: expected a minicnn.nn.Module, got "
                            f"{type(module).__name__}")
        if dim != 0:
            raise ValueError(f"DataParallel: dim: minicnn runs the whole batch on one device, "
                             f"so only dim=0 has a meaning here, got {dim!r}")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def _check_same_on_all_ranks(module: Module) -> float:
    """The largest difference of any parameter from rank 0's (0.0 when in sync): a check
    for tests and lessons."""
    worst = 0.0
    for p in module.parameters():
        mine = p.array.copy()
        reference = Tensor._wrap(mine.copy())
        dist.broadcast(reference, src=0)
        worst = max(worst, float(np.max(np.abs(mine - reference.array))) if mine.size else 0.0)
    return worst
