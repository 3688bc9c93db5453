"""``DistributedSampler``: each rank's share of every epoch, as PyTorch's.

In data-parallel training every rank runs the same loop over its own part of the data. The
sampler draws one permutation of the dataset per epoch, the same on every rank (seeded
by ``seed + epoch``), pads it by repeating its first indices until its length divides by
the number of ranks (or, with ``drop_last``, cuts the tail instead), and gives rank r the
indices at positions r, r + N, r + 2N ...: the shards are disjoint and, without padding,
cover the dataset exactly once per epoch. Call ``set_epoch(e)`` at the start of every
epoch, or every epoch repeats the same order::

    sampler = DistributedSampler(dataset)               # rank and N from the process group
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for images, labels in loader: ...
"""
from __future__ import annotations

import math

import numpy as np


class DistributedSampler:
    """Indices of rank ``rank``'s shard of ``dataset``, epoch by epoch.

    Args:
        dataset: anything with ``__len__``.
        num_replicas, rank: the number of ranks and this one (default: from
            ``minicnn.distributed``'s process group).
        shuffle: a new permutation each epoch (else ``0, 1, 2, ...``).
        seed: the permutation of epoch e is drawn from ``default_rng(seed + e)``.
        drop_last: drop the tail that does not divide evenly instead of padding.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed

            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "minicnn.distributed.init_process_group('mpi') first")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas: expected a positive int, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank: expected 0..{num_replicas - 1}, got "
                             f"{rank!r}")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation ``__iter__`` gives (the same on all ranks)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by repeating the start of the order
            repeats = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order] + [order] * repeats)[:self.total_size]
        else:
            order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())
