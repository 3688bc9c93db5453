"""``default_collate`` and the samplers (minicnn.data.collate, minicnn.data.samplers) as
PyTorch's: batch structure and dtypes, custom collate functions, batch samplers, and the
samplers' distributions."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import minicnn as mc
from minicnn.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler,
                                SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
                                default_collate)
from oracle import torch_or_skip

Pair = namedtuple("Pair", "image label")


def _structure(batch):
    """A comparable description: types, shapes, dtypes and values, recursively."""
    if hasattr(batch, "shape") and hasattr(batch, "dtype"):
        values = batch.numpy() if hasattr(batch, "numpy") else np.asarray(batch)
        return ("tensor", tuple(values.shape), str(values.dtype).replace("torch.", ""),
                values.tolist())
    if isinstance(batch, dict):
        return {key: _structure(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, [_structure(v) for v in batch])
    if isinstance(batch, (list, tuple)):
        return [_structure(v) for v in batch]
    return batch


SAMPLES = [
    [np.full((2, 2), i, np.float32) for i in range(3)],
    [(np.full(2, i, np.float32), i) for i in range(3)],
    [{"x": np.arange(2.0) + i, "y": i % 2, "name": f"n{i}", "w": 0.5 * i} for i in range(3)],
    [[i, float(i), True] for i in range(3)],
    [Pair(np.ones(2, np.float32) * i, np.int64(i)) for i in range(3)],
]


@pytest.mark.oracle
@pytest.mark.parametrize("samples", SAMPLES, ids=["arrays", "pairs", "dicts", "lists",
                                                  "namedtuples"])
def test_default_collate_matches_pytorch(samples):
    torch_or_skip()
    from torch.utils.data import default_collate as torch_collate

    assert _structure(default_collate(samples)) == _structure(torch_collate(samples))


def test_unequal_samples_and_unknown_types_are_refused():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


class Records(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"image": np.full((1, 2, 2), i, np.float32), "label": i}


def test_the_loader_batches_dicts_uses_a_custom_collate_and_a_batch_sampler():
    batch = next(iter(DataLoader(Records(), batch_size=4)))
    assert batch["image"].shape == (4, 1, 2, 2) and batch["label"].tolist() == [0, 1, 2, 3]
    raw = next(iter(DataLoader(Records(), batch_size=3, collate_fn=lambda samples: samples)))
    assert isinstance(raw, list) and [s["label"] for s in raw] == [0, 1, 2]
    sampler = BatchSampler(SequentialSampler(range(10)), 4, drop_last=False)
    loader = DataLoader(Records(), batch_sampler=sampler)
    assert len(loader) == 3 and [b["label"].tolist() for b in loader][-1] == [8, 9]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(Records(), batch_size=2, batch_sampler=sampler)


def test_samplers_cover_and_weigh_as_they_say():
    mc.manual_seed(0)
    assert sorted(RandomSampler(range(7))) == list(range(7))
    assert len(list(RandomSampler(range(7), replacement=True, num_samples=20))) == 20
    assert sorted(SubsetRandomSampler([1, 5, 9])) == [1, 5, 9]
    drawn = np.array(list(WeightedRandomSampler([1.0, 0.0, 3.0], 20000)))
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / 20000, [0.25, 0, 0.75],
                               atol=0.015)
    assert sorted(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False)) == [0, 1, 2, 3]
    assert [len(b) for b in BatchSampler(range(10), 3, drop_last=True)] == [3, 3, 3]
    loader = DataLoader(Records(), batch_size=5, sampler=SubsetRandomSampler(range(6)))
    assert sorted(sum((b["label"].tolist() for b in loader), [])) == list(range(6))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)


def test_samplers_follow_a_generator():
    orders = [list(RandomSampler(range(20), generator=mc.Generator().manual_seed(5)))
              for _ in range(2)]
    assert orders[0] == orders[1] and orders[0] != list(range(20))
