"""Iterable-style datasets, as ``torch.utils.data.IterableDataset``: a stream of samples
(``__iter__``) rather than an indexable collection. The DataLoader groups the stream into
batches of ``batch_size`` in the order it comes (no sampler, no shuffling: PyTorch refuses
those options for an iterable dataset, and so does minicnn), collates each batch
(``default_collate``, or ``default_convert`` per sample with ``batch_size=None``) and drops
a short last batch with ``drop_last=True``. Its length is the dataset's, in batches, when
the dataset has one."""
from __future__ import annotations

import collections.abc
import itertools


class IterableDataset(collections.abc.Iterable):
    """Subclass it and define ``__iter__`` (yielding samples); a subclass without one cannot
    be instantiated (TypeError, as PyTorch's). ``a + b`` chains two."""

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several iterable datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, dataset in enumerate(self.datasets):
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: datasets[{i}]: expected an IterableDataset, "
                                f"got {type(dataset).__name__}")

    def __iter__(self):
        for dataset in self.datasets:
            yield from dataset

    def __len__(self) -> int:
        return sum(len(dataset) for dataset in self.datasets)


def check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    """PyTorch's refusals for a DataLoader over an iterable dataset."""
    for name, value in (("shuffle", shuffle), ("sampler", sampler),
                        ("batch_sampler", batch_sampler)):
        if value not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} "
                             f"option, but got {name}={value!r} (the dataset's __iter__ "
                             f"decides the order; shuffle inside it)")


def iterable_batches(loader):
    """The batches of ``loader`` over its iterable dataset."""
    from .collate import default_collate, default_convert

    samples = iter(loader.dataset)
    if loader.batch_size is None:
        convert = loader.collate_fn or default_convert
        for sample in samples:
            yield convert(sample)
        return
    collate = loader.collate_fn or default_collate
    while True:
        batch = list(itertools.islice(samples, loader.batch_size))
        if not batch or (loader.drop_last and len(batch) < loader.batch_size):
            return
        yield collate(batch)
