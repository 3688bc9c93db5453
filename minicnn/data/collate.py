"""Turning a list of samples into a batch: ``default_collate``, as PyTorch's.

The rule is recursive, on the structure of the first sample:

=============================== ===================================================
sample is                       the batch is
=============================== ===================================================
a Tensor or NumPy array         one Tensor, the samples stacked along a new dim 0
a Python int / float / bool     a Tensor of them (int64 / float64 / bool)
a NumPy scalar                  a Tensor of its dtype
a str or bytes                  the list of them, unchanged
a dict                          a dict: each key's values collated
a namedtuple                    the same namedtuple of collated fields
a tuple or list                 a list: each position's values collated
=============================== ===================================================

So a dataset returning ``(image, label)`` gives batches ``[images (N, ...), labels (N,)]``
and one returning ``{"image": ..., "label": ...}`` gives a dict of batched Tensors.
``stack_samples`` is the fast path's older form (a tuple of arrays, no Tensors) that
``Subset.get_batch`` uses.
"""
from __future__ import annotations

import collections.abc

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module, promote_types

__all__ = ["default_collate", "default_convert", "stack_samples"]


def default_collate(batch):
    """Collate a list of samples (see the module docstring)."""
    if not isinstance(batch, collections.abc.Sequence) or len(batch) == 0:
        raise TypeError(f"default_collate: batch: expected a non-empty list of samples, got "
                        f"{type(batch).__name__}{'' if batch else ' (empty)'}")
    first = batch[0]
    if isinstance(first, Tensor) or (isinstance(first, np.ndarray)
                                     and first.dtype.kind not in "OUS"):
        if any(isinstance(sample, Tensor) and sample.requires_grad for sample in batch):
            from ..ops.shape import stack   # keeps the samples' graph, as torch.stack

            return stack(list(batch))
        arrays = [_as_array(sample) for sample in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise RuntimeError(f"default_collate: stack expects each sample to be of equal "
                               f"size, got shapes {sorted(shapes)}")
        dtype = arrays[0].dtype
        for array in arrays[1:]:
            if array.dtype != dtype:   # PyTorch's promotion (int64 with float32: float32)
                dtype = promote_types(dtype, array.dtype)
        xp = get_array_module(arrays[0])
        return Tensor._wrap(xp.stack([a.astype(dtype, copy=False) for a in arrays]))
    if isinstance(first, (bool, int, float, np.generic)) and not isinstance(first, np.str_):
        return Tensor._wrap(_numbers(batch, first))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):   # a namedtuple
        return type(first)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        if len({len(sample) for sample in batch}) != 1:
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(first).__name__}")


def _numbers(batch, first):
    """A batch of numbers as one array. Python ints and bools take ``mc.tensor``'s rule
    (PyTorch's ``torch.tensor(batch)``: all bools bool, ints int64, a float among them the
    default float dtype, never truncated); Python floats are float64; NumPy scalars keep
    their dtype. Anything that is not a number is a TypeError naming it."""
    for position, sample in enumerate(batch):
        if isinstance(sample, (str, bytes)) or not isinstance(sample, (bool, int, float,
                                                                       np.generic)):
            raise TypeError(f"default_collate: the first sample is a number "
                            f"({type(first).__name__}), so every sample must be; got "
                            f"{sample!r} ({type(sample).__name__}) at position {position}")
    if isinstance(first, float):
        return np.asarray(batch, dtype=np.float64)
    if isinstance(first, (bool, int)):
        from ..tensor_data import _to_array

        return _to_array(list(batch))
    return np.asarray(batch, dtype=np.asarray(first).dtype)


def default_convert(sample):
    """One sample, unbatched (``DataLoader(batch_size=None)``, as PyTorch's
    ``default_convert``): NumPy arrays and NumPy scalars become Tensors, Python numbers and
    strings stay as they are, dicts and namedtuples keep their form, other tuples and lists
    become lists, each element converted."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind not in "OUS":
        return Tensor._wrap(sample)
    if isinstance(sample, np.generic) and not isinstance(sample, (np.str_, np.bytes_)):
        return Tensor._wrap(np.asarray(sample))
    if isinstance(sample, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):   # a namedtuple
        return type(sample)(*(default_convert(field) for field in sample))
    if isinstance(sample, collections.abc.Sequence) and not isinstance(sample, (str, bytes)):
        return [default_convert(value) for value in sample]
    return sample


def _as_array(value):
    return value.array if isinstance(value, Tensor) else value


def stack_samples(samples) -> tuple:
    """``[(a0, b0), (a1, b1)] -> (stack(a), stack(b))`` as arrays (a single-array sample gives
    a 1-tuple): the whole-batch gather's format."""
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        samples = [(sample,) for sample in samples]
        first = samples[0]
    batch = []
    for field in range(len(first)):
        values = [_as_array(sample[field]) for sample in samples]
        xp = get_array_module(values[0])
        batch.append(xp.stack([xp.asarray(v) for v in values]))
    return tuple(batch)
