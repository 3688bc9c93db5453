"""Datasets made of other datasets: ``Subset``, ``ConcatDataset`` and ``random_split``
(PyTorch's ``torch.utils.data`` names).

``random_split(dataset, [4000, 1000])`` shuffles the indices once and cuts them into
consecutive pieces: every sample lands in exactly one part. Fractions that sum to 1 work
too (``[0.8, 0.2]``): each part gets ``floor(fraction * n)`` samples and the remainder is
handed out one by one from the first part on, as PyTorch does.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from ..random import numpy_generator


class Subset:
    """The samples ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        given = np.asarray(indices.numpy() if hasattr(indices, "numpy") else indices)
        # a float index is PyTorch's IndexError when the sample is read, never truncated
        self._not_integers = given.size and given.dtype.kind not in "iu"
        self.indices = given.astype(np.int64) if not self._not_integers else given

    def __len__(self) -> int:
        return len(self.indices)

    def _check_indices(self) -> None:
        if self._not_integers:
            raise IndexError(f"Subset: indices must be integers, got dtype "
                             f"{self.indices.dtype} ({self.indices[:3].tolist()}...)")

    def __getitem__(self, index):
        self._check_indices()
        if isinstance(index, (list, np.ndarray)):  # the dataset's own batch, as PyTorch's
            return self.dataset[[int(self.indices[i]) for i in index]]
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices) -> tuple:
        """A whole batch at once when the underlying dataset can (a ``TensorDataset``)."""
        self._check_indices()
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(self.indices[np.asarray(indices, dtype=np.int64)])
        from .collate import stack_samples

        return stack_samples([self[int(i)] for i in indices])


class ConcatDataset:
    """The samples of several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets: expected at least one dataset, got none")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


def _part_sizes(lengths, n: int) -> list[int]:
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and \
            math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
        if any(not 0.0 <= x <= 1.0 for x in lengths):
            raise ValueError(f"random_split: lengths: fractions must be in [0, 1], got {lengths}")
        sizes = [int(math.floor(n * x)) for x in lengths]
        for i in range(n - sum(sizes)):      # the remainder, one each from the first part on
            sizes[i % len(sizes)] += 1
        return sizes
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths: expected non-negative ints that sum to the "
                         f"dataset's {n} samples, or fractions that sum to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths sum to {sum(lengths)}, but the dataset has "
                         f"{n} samples")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (ints
    that sum to ``len(dataset)``, or fractions that sum to 1). ``generator``: a
    ``minicnn.Generator`` (or NumPy generator) for the permutation; default minicnn's."""
    n = len(dataset)
    sizes = _part_sizes(lengths, n)
    order = numpy_generator(generator).permutation(n)
    parts, start = [], 0
    for size in sizes:
        parts.append(Subset(dataset, order[start:start + size]))
        start += size
    return parts
