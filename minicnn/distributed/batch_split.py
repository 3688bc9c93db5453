r"""How ``minicnn train ...`` runs under ``mpiexec``: one global batch, split over the ranks.

``mpiexec -n 2 minicnn train dcgan --batch-size 64`` trains on the same global batches of
64 images as ``minicnn train dcgan --batch-size 64``; each of the 2 ranks computes 32 of
them. Every rank builds the same model from the same seed and the same data loader, so
every rank knows the whole global batch; it keeps its own slice of it:

.. math:: \text{rank } r \text{ of } N \text{ keeps rows } \lfloor rB/N \rfloor \ldots
          \lfloor (r+1)B/N \rfloor - 1 \text{ of a batch of } B.

After ``backward()``, each rank's gradient is of the mean loss over *its* b_r rows. The
gradient of the mean over all B rows is the weighted sum

.. math:: \nabla \frac{1}{B}\sum_{i=1}^{B}\ell_i = \sum_r \frac{b_r}{B}\,
          \nabla\Big(\frac{1}{b_r}\sum_{i\in r}\ell_i\Big),

so ``average_gradients`` multiplies each rank's gradients by ``b_r / B`` and all-reduces
them with a sum, in one flat buffer (one message instead of one per parameter). Every
rank then takes the same optimizer step and the models stay identical; nothing else is
communicated but the logged losses and the stop flags.

What makes the split run equal the one-process run:

* the random numbers of a step are drawn for the *global* batch on every rank, and each
  rank keeps its slice (``SplitGenerator``): the latents of a GAN are the one-process
  run's, and every rank's generator state stays equal, so the checkpoint rank 0 writes
  holds every rank's state and a resume is exact;
* batch norm normalises over the global batch (``nn.SyncBatchNorm``, swapped in by
  ``sync_batchnorm``).

Dropout draws from minicnn's global generator inside the layer, for the rank's own rows;
in a split run each rank's generator is reseeded at every step from (seed, step, rank)
(``reseed_dropout``), so a resume is exact, but the masks are not the one-process run's.

Only rank 0 writes (``writes``): checkpoints, pictures, logs and the progress bar.
``BatchSplit()`` (one process) does nothing: ``local`` returns the batch itself.
"""
from __future__ import annotations

import os

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module

# Where MPI launchers put the number of processes they started (MPICH/Hydra, Open MPI,
# MVAPICH, Slurm's srun with PMI).
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                         "PMIX_SIZE")
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")


def _first_int(names) -> int | None:
    for name in names:
        value = os.environ.get(name, "")
        if value.strip().isdigit():
            return int(value)
    return None


def launched_world_size() -> int:
    """How many processes ``mpiexec`` started (1 when not started by an MPI launcher)."""
    return _first_int(_WORLD_SIZE_VARIABLES) or 1


def launched_rank() -> int:
    """This process's rank as the launcher says (0 when not started by one); known
    before MPI is initialised, so only rank 0 prints argument errors."""
    return _first_int(_RANK_VARIABLES) or 0


class BatchSplit:
    """This process's part of a data-parallel training run (see the module docstring).

    Args:
        rank, world_size: this process's rank and the number of ranks (0, 1: alone).
    """

    def __init__(self, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"BatchSplit: expected 0 <= rank < world_size, got rank={rank}, "
                             f"world_size={world_size}")
        self.rank, self.world_size = int(rank), int(world_size)

    @classmethod
    def from_launcher(cls) -> "BatchSplit":
        """Alone unless started by ``mpiexec -n N`` with N > 1; then join the MPI group."""
        if launched_world_size() == 1:
            return cls()
        from . import get_rank, get_world_size, init_process_group, is_initialized

        if not is_initialized():
            init_process_group("mpi")
        return cls(get_rank(), get_world_size())

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def writes(self) -> bool:
        """True on the rank that writes checkpoints, pictures and logs (rank 0)."""
        return self.rank == 0

    # -- the batch ------------------------------------------------------------------------
    def bounds(self, n: int) -> tuple[int, int]:
        """Rows [start, stop) of a global batch of ``n`` that this rank computes."""
        return self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size

    def local(self, batch):
        """This rank's rows of a global batch (a Tensor or an array, rows on axis 0)."""
        if not self.distributed:
            return batch
        start, stop = self.bounds(batch.shape[0])
        return batch[start:stop]

    def share(self, n: int) -> float:
        """b_r / B: this rank's share of a global batch of ``n`` rows."""
        start, stop = self.bounds(n)
        return (stop - start) / n if n else 0.0

    def check_divides(self, batch_size: int, option: str = "--batch-size") -> None:
        """Equal shards, or a ValueError naming ``option`` (the GAN loops need them)."""
        if batch_size % self.world_size:
            raise ValueError(f"{option} {batch_size} does not split evenly over "
                             f"{self.world_size} ranks (mpiexec -n {self.world_size}): use a "
                             f"multiple of {self.world_size}")

    # -- communication ------------------------------------------------------------------------
    def average_gradients(self, parameters, share: float | None = None) -> None:
        """Every ``.grad`` becomes sum_r share_r * grad_r (default share 1/N: the mean),
        through one all-reduce of a flat buffer. A parameter without a gradient counts as
        zeros (every rank runs the same code, so they agree on which those are)."""
        if not self.distributed:
            return
        from . import ReduceOp, all_reduce

        parameters = [p for p in parameters if p.requires_grad]
        if not parameters:
            return
        share = 1.0 / self.world_size if share is None else float(share)
        xp = get_array_module(parameters[0].array)
        dtype = np.result_type(*[p.dtype for p in parameters])
        flat = xp.concatenate([
            (p.grad.array if p.grad is not None else xp.zeros(p.shape, p.dtype))
            .reshape(-1).astype(dtype, copy=False) for p in parameters])
        flat = Tensor._wrap(flat * dtype.type(share))
        all_reduce(flat, ReduceOp.SUM)
        offset = 0
        for p in parameters:
            size = int(np.prod(p.shape))
            summed = flat.array[offset:offset + size].reshape(p.shape).astype(p.dtype)
            p.grad = Tensor._wrap(summed)
            offset += size

    def sum(self, values: dict) -> dict:
        """``{name: float}`` summed over the ranks (one all-reduce for all of them)."""
        if not self.distributed:
            return dict(values)
        from . import ReduceOp, all_reduce

        names = list(values)
        buffer = Tensor._wrap(np.array([float(values[n]) for n in names], dtype=np.float64))
        all_reduce(buffer, ReduceOp.SUM)
        return {n: float(v) for n, v in zip(names, buffer.array)}

    def mean(self, values: dict, share: float | None = None) -> dict:
        """``{name: float}`` of per-rank means turned into the global batch's means:
        sum_r share_r * value_r (default share 1/N)."""
        if not self.distributed:
            return dict(values)
        share = 1.0 / self.world_size if share is None else float(share)
        return self.sum({n: share * float(v) for n, v in values.items()})

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (a stop all ranks agree on)."""
        if not self.distributed:
            return bool(flag)
        return self.sum({"flag": 1.0 if flag else 0.0})["flag"] > 0

    def broadcast_module(self, module) -> None:
        """Rank 0's parameters and buffers on every rank (they start equal anyway, from
        the same seed; this makes sure)."""
        if not self.distributed:
            return
        from . import broadcast

        for tensor in list(module.parameters()) + list(module.buffers()):
            broadcast(tensor, src=0)

    # -- what the split changes in the model and the random numbers ----------------------------
    def sync_batchnorm(self, module):
        """``module`` with its batch norms over the global batch (itself when alone)."""
        if not self.distributed:
            return module
        from ..nn.sync_batchnorm import SyncBatchNorm

        return SyncBatchNorm.convert_sync_batchnorm(module)

    def generator(self, rng: np.random.Generator):
        """``rng`` itself when alone; else a ``SplitGenerator`` over it."""
        return SplitGenerator(rng, self) if self.distributed else rng

    def reseed_dropout(self, seed: int, step: int) -> None:
        """In a split run: minicnn's global generator (dropout) from (seed, step, rank)."""
        if not self.distributed:
            return
        from .. import random as _random

        state = np.random.default_rng([int(seed), int(step), self.rank]).bit_generator.state
        _random.set_rng_state(state)


class SplitGenerator:
    """A NumPy generator whose draws for b rows are this rank's slice of the draws for
    the global batch of N * b rows: every rank draws the same N * b numbers (so their
    generators stay equal) and keeps its own b. A draw without ``size`` (one number) is
    the same on every rank. Only the methods below exist: another one would silently give
    every rank the same rows, so it is an error to call it."""

    def __init__(self, rng: np.random.Generator, split: BatchSplit):
        self.rng, self.split = rng, split

    def _global(self, size):
        if size is None:
            return None, None
        shape = (int(size),) if np.isscalar(size) else tuple(int(s) for s in size)
        return (shape[0] * self.split.world_size,) + shape[1:], shape[0]

    def _keep(self, values, rows):
        if rows is None:
            return values
        start = self.split.rank * rows
        return values[start:start + rows]

    def standard_normal(self, size=None, dtype=np.float64):
        shape, rows = self._global(size)
        return self._keep(self.rng.standard_normal(shape, dtype=dtype), rows)

    def normal(self, loc=0.0, scale=1.0, size=None):
        shape, rows = self._global(size)
        return self._keep(self.rng.normal(loc, scale, shape), rows)

    def uniform(self, low=0.0, high=1.0, size=None):
        shape, rows = self._global(size)
        return self._keep(self.rng.uniform(low, high, shape), rows)

    def random(self, size=None, dtype=np.float64):
        shape, rows = self._global(size)
        return self._keep(self.rng.random(shape, dtype=dtype), rows)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        shape, rows = self._global(size)
        return self._keep(self.rng.integers(low, high, shape, dtype=dtype,
                                            endpoint=endpoint), rows)

    @property
    def bit_generator(self):
        return self.rng.bit_generator

    def __getattr__(self, name):
        raise AttributeError(f"SplitGenerator has no {name!r}: only standard_normal, normal, "
                             "uniform, random and integers are split over the ranks")
