"""Datasets and the DataLoader: from arrays to shuffled mini-batches of Tensors.

* A **dataset** is anything with ``__len__`` and ``__getitem__(index)`` returning one
  sample, usually a tuple ``(image, label)`` of arrays or numbers (the ``Dataset``
  protocol, as in PyTorch).
* ``TensorDataset(images, labels)`` holds whole arrays and hands out rows. It also answers
  ``get_batch(indices)`` with one fancy-indexing gather per array, which is how the
  DataLoader fetches a batch from it without a Python loop over samples.
* ``DataLoader(dataset, batch_size, shuffle, drop_last, seed)`` yields batches as tuples
  of minicnn Tensors. With ``shuffle=True`` each epoch (each ``for`` loop over the
  loader) draws a fresh permutation from the loader's own ``numpy.random.Generator``
  made from ``seed``: the same seed gives the same order, epoch after epoch.

Exact resume. ``loader.state_dict()`` records the generator state at the start of the
current epoch and how many batches of it were already handed out; after
``load_state_dict`` the next epoch re-draws that same permutation, skips the batches
already seen (without loading them) and continues, so an interrupted run sees exactly the
batches an uninterrupted one would. The state is plain dicts and ints (``mc.save`` stores
it). One loop at a time per loader: nested loops over the same loader share one position.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
import math
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module, to_device
from ..random import numpy_generator
from .collate import default_collate, default_convert
from .iterable import IterableDataset, check_iterable_options, iterable_batches


@runtime_checkable
class Dataset(Protocol):
    """What the DataLoader needs: a length and one sample per index in ``range(len)``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def _as_array(value):
    """The array inside a Tensor, a NumPy/CuPy array as is, numbers as 0-d arrays."""
    if isinstance(value, Tensor):
        return value.array
    if get_array_module(value) is np:
        return np.asarray(value)
    return value


class TensorDataset:
    """Samples made of rows of equal-length arrays: ``dataset[i] == (a[i], b[i], ...)``
    (as Tensors).

    Arrays may be NumPy arrays, CuPy arrays or minicnn Tensors (their data is used).
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: expected arrays with the same first dimension, "
                             f"got shapes {shapes}")

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        """``(a[index], b[index], ...)`` as Tensors, as PyTorch's TensorDataset gives (a
        0-d int64 Tensor for a row of a label vector); ``get_batch`` stays with arrays."""
        if isinstance(index, Tensor):
            index = index.array
        xp = get_array_module(self.arrays[0])
        return tuple(Tensor._wrap(xp.asarray(a[index])) for a in self.arrays)

    def get_batch(self, indices) -> tuple:
        """Rows ``indices`` of every array, gathered at once (one copy per array)."""
        xp = get_array_module(self.arrays[0])
        indices = xp.asarray(indices)
        return tuple(a[indices] for a in self.arrays)


def _moved(batch, device):
    """``batch`` (Tensors inside lists, tuples, dicts) with every Tensor on ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _moved(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_moved(value, device) for value in batch)
    return batch


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                          multiprocessing_context, drop_last) -> None:
    """PyTorch's checks of the worker options (minicnn loads in the main process, but a
    setting PyTorch refuses is refused here too, so a script fails the same way)."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if not num_workers:
        for name, value in (("prefetch_factor", prefetch_factor),
                            ("multiprocessing_context", multiprocessing_context)):
            if value is not None:
                raise ValueError(f"DataLoader: {name} option could only be specified with "
                                 f"multi-process loading (num_workers > 0), but got "
                                 f"num_workers=0; leave {name} out (None)")
        if persistent_workers:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    elif prefetch_factor is not None and (isinstance(prefetch_factor, bool) or not isinstance(
            prefetch_factor, (int, np.integer)) or prefetch_factor < 0):
        raise ValueError(f"DataLoader: prefetch_factor option should be a non-negative int, "
                         f"got {prefetch_factor!r}")
    if not isinstance(drop_last, (bool, np.bool_)):
        raise ValueError(f"DataLoader: drop_last should be a boolean value, but got "
                         f"drop_last={drop_last!r}")


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    Args:
        dataset: a ``Dataset`` (``__len__`` + ``__getitem__``); a ``TensorDataset`` or any
            dataset with ``get_batch(indices)`` is gathered a whole batch at a time.
        batch_size: samples per batch; ``None`` turns batching off, as in PyTorch: the
            loader yields one sample at a time, its arrays made Tensors (``collate_fn``,
            default ``default_convert``, is applied to each sample; ``drop_last`` must be
            False).
        shuffle: draw a new random order every epoch (else the order ``0, 1, 2, ...``).
        drop_last: skip the last batch when it has fewer than ``batch_size`` samples.
        seed: seeds the loader's own ``numpy.random.Generator``; ``None`` draws the seed
            from minicnn's global generator, so ``mc.manual_seed(s)`` before making the
            loader fixes its order too (as in PyTorch).
        device: ``None``/``"cpu"``, or ``"cuda"`` to put each batch on the GPU.
        collate_fn: turns a list of samples into a batch (default ``default_collate``:
            Tensors stacked, dicts and lists kept; see collate.py); whatever it returns is
            the batch (its Tensors moved to ``device``).
        batch_sampler: yields whole batches of indices (a ``BatchSampler``); exclusive
            with batch_size, shuffle, sampler and drop_last, as in PyTorch.
        sampler: an iterable of dataset indices with ``__len__`` that gives each epoch's
            order instead (e.g. ``DistributedSampler``: this rank's share); exclusive with
            ``shuffle``, as in PyTorch.
        generator: a ``minicnn.Generator`` (or NumPy generator) that draws the loader's
            seed when ``seed`` is None (PyTorch's way of fixing one loader's order).
        num_workers, pin_memory, persistent_workers, prefetch_factor, timeout,
        worker_init_fn: PyTorch's worker-process options, accepted so that scripts run
            unchanged. minicnn loads every batch in the main process (what PyTorch does
            with ``num_workers=0``): the batches are the same, only their loading is not
            overlapped with training.

    Yields:
        a batch per step: for a dataset with ``get_batch`` (``TensorDataset``) and no
        ``collate_fn``, a tuple of Tensors ``(images, labels)``; otherwise what the collate
        function makes of the samples (``[images, labels]``, a dict ...). Integer arrays stay
        integer (int64 labels), float arrays keep their float dtype.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, device=None,
                 collate_fn=None, sampler=None, generator=None, num_workers: int = 0,
                 pin_memory: bool = False, persistent_workers: bool = False,
                 prefetch_factor=None, timeout: float = 0, worker_init_fn=None,
                 batch_sampler=None, multiprocessing_context=None, pin_memory_device=""):
        if batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None turns batching off, which is "
                                 "exclusive with drop_last=True")
        elif (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
              or batch_size <= 0):
            raise ValueError(f"batch_size: expected a positive int or None, got "
                             f"{batch_size!r}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            check_iterable_options(shuffle, sampler, batch_sampler)
        elif not isinstance(dataset, Dataset):
            raise TypeError(f"dataset: expected an object with __len__ and __getitem__ (or "
                            f"an IterableDataset), got {type(dataset).__name__}")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers: expected an int >= 0, got "
                             f"{num_workers!r}")
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                              multiprocessing_context, drop_last)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                             "(the sampler decides the order: give it shuffle=True instead)")
        if sampler is not None and not hasattr(sampler, "__len__"):
            raise TypeError(f"DataLoader: sampler: expected an iterable of indices with "
                            f"__len__, got {type(sampler).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            if not hasattr(batch_sampler, "__len__"):
                raise TypeError(f"DataLoader: batch_sampler: expected an iterable of index "
                                f"lists with __len__, got {type(batch_sampler).__name__}")
        self.batch_sampler = batch_sampler
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.device = device
        self.collate_fn = collate_fn
        if seed is None:
            seed = int(numpy_generator(generator).integers(2**63))
        self.generator = np.random.default_rng(seed)
        self.epoch = 0  # epochs started so far (the current one included)
        self._epoch_start_state = None  # generator state before this epoch's permutation
        self._position = 0  # batches of the current epoch handed out
        self._resume = None  # (generator state, position) set by load_state_dict

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self._iterable and not hasattr(self.dataset, "__len__"):
            raise TypeError(f"object of type {type(self.dataset).__name__!r} has no len() "
                            f"(an IterableDataset without __len__: its loader has no length)")
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self):
        if self.batch_sampler is not None:   # a list of index lists
            return [np.asarray(batch, dtype=np.int64) for batch in self.batch_sampler]
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        n = len(self.dataset)
        return self.generator.permutation(n) if self.shuffle else np.arange(n)

    def _fetch(self, indices: np.ndarray):
        if self.batch_size is None and self.batch_sampler is None:  # one sample, unbatched
            sample = (self.collate_fn or default_convert)(self.dataset[int(indices)])
            return sample if self.device is None else _moved(sample, self.device)
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            arrays = self.dataset.get_batch(indices)       # one gather per array
            if not isinstance(arrays, tuple):
                arrays = (arrays,)
            if self.device is not None:
                arrays = tuple(to_device(a, self.device) for a in arrays)
            return tuple(Tensor._wrap(a) for a in arrays)
        batch = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])
        return batch if self.device is None else _moved(batch, self.device)

    def __iter__(self) -> Iterator[tuple]:
        if self._iterable:
            for batch in iterable_batches(self):
                yield batch if self.device is None else _moved(batch, self.device)
            return
        if self._resume is not None:
            state, start = self._resume
            self._resume = None
            self.generator.bit_generator.state = state
        else:
            start = 0
        self._epoch_start_state = copy.deepcopy(self.generator.bit_generator.state)
        order = self._order()
        self.epoch += 1
        batches = len(self)
        self._position = start
        for b in range(start, batches):
            indices = (order[b] if self.batch_sampler is not None or self.batch_size is None
                       else order[b * self.batch_size:(b + 1) * self.batch_size])
            batch = self._fetch(indices)
            self._position = b + 1
            yield batch
        self._epoch_start_state = None  # the epoch is over: the next one starts fresh
        self._position = 0

    # -- exact resume ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Where the loader is: the generator state (at the start of the current epoch, if
        one is under way), batches of that epoch already handed out, epochs finished, and
        the batch size and dataset size (checked on load). Plain dicts and ints."""
        if self._resume is not None:  # loaded but not iterated yet: pass it on unchanged
            (state, position), in_epoch, completed = self._resume, True, self.epoch
        elif self._epoch_start_state is not None:  # inside an epoch (or left it by break)
            state, position, in_epoch = self._epoch_start_state, self._position, True
            completed = self.epoch - 1
        else:
            state, position, in_epoch = self.generator.bit_generator.state, 0, False
            completed = self.epoch
        return {
            "generator": copy.deepcopy(state),
            "batches_done": int(position),
            "in_epoch": in_epoch,
            "epoch": int(completed),  # epochs finished before the one under way
            "batch_size": self.batch_size,
            "dataset_size": len(self.dataset),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state``: the next ``for`` loop resumes the saved epoch where it
        stopped (or starts the next epoch, if the saved one was complete)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"DataLoader.load_state_dict: expected the dict state_dict() "
                            f"returned, got {type(state).__name__}")
        lacking = [key for key in ("generator", "batches_done", "epoch") if key not in state]
        if lacking:
            raise ValueError(f"DataLoader.load_state_dict: the state has no "
                             f"{', '.join(map(repr, lacking))} (not a DataLoader's "
                             f"state_dict(); it has {sorted(map(str, state))})")
        for key in ("batches_done", "epoch"):
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"DataLoader.load_state_dict: {key} is {value!r}, expected "
                                 "an int >= 0")
        for key, value in (("batch_size", self.batch_size),
                           ("dataset_size", len(self.dataset))):
            if key in state and int(state[key]) != value:
                raise ValueError(f"state_dict: saved with {key}={state[key]}, this loader has "
                                 f"{key}={value}; the resumed batches would differ")
        generator_state = copy.deepcopy(state["generator"])
        try:
            self.generator.bit_generator.state = generator_state  # validates it
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"DataLoader.load_state_dict: generator is not a state of this "
                             f"loader's {type(self.generator.bit_generator).__name__} "
                             f"({type(error).__name__}: {error})") from None
        position = int(state["batches_done"])
        if not 0 <= position <= len(self):
            raise ValueError(f"state_dict: batches_done={position} is outside this loader's "
                             f"0..{len(self)} batches per epoch")
        self.epoch = int(state["epoch"])
        self._epoch_start_state = None
        self._position = 0
        self._resume = (generator_state, position) if state.get("in_epoch", position > 0) \
            else None
