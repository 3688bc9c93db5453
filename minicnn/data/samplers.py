"""Samplers: which dataset indices an epoch visits, in which order, as PyTorch's.

A sampler is an iterable of indices with a length; ``DataLoader(dataset, sampler=...)``
batches what it yields, ``DataLoader(dataset, batch_sampler=...)`` takes whole batches of
indices from a ``BatchSampler``.

* ``SequentialSampler(data)``: 0, 1, ..., n - 1.
* ``RandomSampler(data, replacement=False, num_samples=None)``: a new permutation each
  epoch (or ``num_samples`` draws with replacement).
* ``SubsetRandomSampler(indices)``: the given indices, shuffled each epoch (a validation
  split kept out of training, say).
* ``WeightedRandomSampler(weights, num_samples, replacement=True)``: index i with
  probability weights[i] / sum(weights): oversampling rare classes.
* ``BatchSampler(sampler, batch_size, drop_last)``: the sampler's indices in lists of
  ``batch_size``.

Random draws come from ``generator`` (a ``minicnn.Generator`` or NumPy one) or minicnn's
global generator (``mc.manual_seed`` fixes them).
"""
from __future__ import annotations

import numpy as np

from ..random import numpy_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


class Sampler:
    """Base class (PyTorch's ``torch.utils.data.Sampler``): ``__iter__`` and ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} has no length")


def _positive_int(owner: str, name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")
    return int(value)


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    def __init__(self, data_source, replacement: bool = False, num_samples=None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples
        if num_samples is not None:
            _positive_int("RandomSampler", "num_samples", num_samples)
        elif len(data_source) == 0:
            raise ValueError("RandomSampler: num_samples should be a positive integer value, "
                             "but got num_samples=0 (the dataset is empty)")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        rng, n = numpy_generator(self.generator), len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        repeats = -(-self.num_samples // n) if n else 0
        order = np.concatenate([rng.permutation(n) for _ in range(repeats)] or [[]])
        return iter(order[:self.num_samples].astype(np.int64).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(replacement, (bool, np.bool_)):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        self.num_samples = _positive_int("WeightedRandomSampler", "num_samples", num_samples)
        weights = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                             dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given "
                             f"weights have shape {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, >= 0 and not all 0")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without "
                             f"replacement from {np.count_nonzero(weights)} non-zero weights")
        self.weights, self.replacement, self.generator = weights, bool(replacement), generator

    def __iter__(self):
        rng = numpy_generator(self.generator)
        probabilities = self.weights / self.weights.sum()
        drawn = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                           p=probabilities)
        return iter(drawn.astype(np.int64).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.drop_last = sampler, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
