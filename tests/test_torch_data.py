"""PyTorch's data utilities and the switches scripts set on the way: ``torch.utils.data``
(random_split, Subset, ConcatDataset, DataLoader's worker options), ``torch.Generator``,
``torch.backends.cudnn``, ``torch.cuda`` seeding and counts, ``nn.DataParallel``."""
import numpy as np
import pytest

import minicnn as mc
from minicnn import nn


def test_utils_data_is_minicnn_data_under_pytorchs_name():
    from minicnn.utils.data import DataLoader, Dataset, TensorDataset, random_split

    assert DataLoader is mc.data.DataLoader and TensorDataset is mc.data.TensorDataset
    assert mc.utils.data.random_split is random_split is mc.data.random_split

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((1, 2, 2), i, dtype=np.float32), i * i

    batches = list(DataLoader(Squares(), batch_size=2, num_workers=2, pin_memory=True))
    assert [b[1].tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


@pytest.mark.parametrize("n", [1, 7, 10, 33, 100])
@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.5, 0.3, 0.2), (1 / 3, 1 / 3, 1 / 3)])
def test_random_split_covers_every_sample_once_with_pytorchs_sizes(n, fractions):
    torch = pytest.importorskip("torch")
    data = mc.data.TensorDataset(np.arange(n, dtype=np.float32))
    parts = mc.data.random_split(data, list(fractions), generator=mc.Generator().manual_seed(0))
    expected = [len(p) for p in torch.utils.data.random_split(range(n), list(fractions))]
    assert [len(p) for p in parts] == expected
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(n))
    # each part reads its own samples, one at a time or as a batch
    for part in parts:
        if len(part):
            assert part[0][0].item() == part.indices[0]
            np.testing.assert_array_equal(part.get_batch(np.arange(len(part)))[0],
                                          part.indices.astype(np.float32))


def test_random_split_is_reproducible_and_checks_its_lengths():
    data = mc.data.TensorDataset(np.arange(10.0))
    a = mc.data.random_split(data, [6, 4], generator=mc.Generator().manual_seed(3))
    b = mc.data.random_split(data, [6, 4], generator=mc.Generator().manual_seed(3))
    assert [p.indices.tolist() for p in a] == [p.indices.tolist() for p in b]
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        mc.data.random_split(data, [6, 3])
    with pytest.raises(ValueError, match="lengths"):
        mc.data.random_split(data, [6, -1, 5])
    with pytest.raises(TypeError, match="generator"):
        mc.data.random_split(data, [5, 5], generator=42)


def test_concat_dataset_and_loaders_over_subsets():
    first = mc.data.TensorDataset(np.arange(3.0))
    second = mc.data.TensorDataset(np.arange(10.0, 14.0))
    both = mc.data.ConcatDataset([first, second])
    assert len(both) == 7 and both[3][0] == 10.0 and both[-1][0] == 13.0
    with pytest.raises(IndexError):
        both[7]
    train, _ = mc.data.random_split(both, [5, 2], generator=mc.Generator().manual_seed(1))
    loader = mc.data.DataLoader(train, batch_size=2, shuffle=True,
                                generator=mc.Generator().manual_seed(5))
    again = mc.data.DataLoader(train, batch_size=2, shuffle=True,
                               generator=mc.Generator().manual_seed(5))
    values = [b[0].tolist() for b in loader]
    assert values == [b[0].tolist() for b in again]
    assert sorted(sum(values, [])) == sorted(both[int(i)][0] for i in train.indices)
    with pytest.raises(ValueError, match="num_workers"):
        mc.data.DataLoader(train, num_workers=-1)


def test_generator_as_pytorchs():
    g = mc.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    state = g.get_state()
    first = g.numpy.random(3)
    g.set_state(state)
    np.testing.assert_array_equal(g.numpy.random(3), first)
    with pytest.raises(ValueError, match="seed"):
        g.manual_seed(-1)


def test_backends_cuda_and_seeding_switches():
    mc.backends.cudnn.benchmark = True
    mc.backends.cudnn.deterministic = True
    assert mc.backends.cudnn.benchmark is True
    if not mc.cuda.is_available():
        assert mc.cuda.device_count() == 0
    mc.cuda.manual_seed_all(11)
    a = mc.randn(3).numpy()
    mc.manual_seed(11)
    np.testing.assert_array_equal(mc.randn(3).numpy(), a)   # the one generator


def test_data_parallel_runs_the_module_with_pytorchs_state_dict_keys():
    torch = pytest.importorskip("torch")
    mc.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    wrapped = nn.DataParallel(model)
    x = mc.randn(5, 3)
    np.testing.assert_array_equal(wrapped(x).numpy(), model(x).numpy())
    twin = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                                     torch.nn.Linear(4, 2)))
    assert list(wrapped.state_dict()) == list(twin.state_dict())
    assert wrapped.module is model
    with pytest.raises(TypeError, match="module"):
        nn.DataParallel(lambda x: x)


def test_batch_size_none_yields_unbatched_samples_as_pytorch():
    from oracle import torch_or_skip

    torch = torch_or_skip()

    class Samples:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, i, dtype=np.float32), i, {"mask": np.arange(i + 1)}

    def shape(value):   # the structure and leaf types/values, comparable across libraries
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [shape(v) for v in value]
        if hasattr(value, "numpy"):
            return ("tensor", str(value.numpy().dtype), value.numpy().tolist())
        return (type(value).__name__, value)

    ours = [shape(s) for s in mc.utils.data.DataLoader(Samples(), batch_size=None)]
    theirs = [shape(s) for s in torch.utils.data.DataLoader(Samples(), batch_size=None)]
    assert ours == theirs
    loader = mc.utils.data.DataLoader(mc.utils.data.TensorDataset(mc.arange(5.0)),
                                      batch_size=None, shuffle=True)
    assert len(loader) == 5 and sorted(float(x[0]) for x in loader) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="drop_last"):
        mc.utils.data.DataLoader(Samples(), batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="positive int or None"):
        mc.utils.data.DataLoader(Samples(), batch_size=0)
