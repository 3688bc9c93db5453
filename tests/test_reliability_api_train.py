"""Reliability of the training API against PyTorch (issue 13): optimizers, learning-rate
schedulers, datasets, collation and the DataLoader. Each snippet runs under PyTorch and
minicnn (``api_oracle.compare``): the same error class where PyTorch refuses, the same
values where it computes."""
from __future__ import annotations

import pytest

import minicnn as mc
from api_oracle import compare

PARAM = "w = L.nn.Parameter(L.ones(3))"
OPT = PARAM + "; o = optim.SGD([w], lr=0.1)"


@pytest.mark.parametrize("optimizer", ["Adagrad", "Adadelta", "RMSprop", "Adamax", "NAdam",
                                       "RAdam", "ASGD", "Rprop"])
@pytest.mark.parametrize("argument", ["lr=float('nan')", "weight_decay=float('nan')",
                                      "lr=-1", "eps=-1", "lr=0.5"])
def test_optimizers_refuse_nan_settings(optimizer, argument):
    if optimizer in ("Rprop", "ASGD") and argument.startswith("eps"):
        pytest.skip("no eps")
    if optimizer == "Rprop" and argument.startswith("weight_decay"):
        pytest.skip("no weight_decay")
    compare(f"o = optim.{optimizer}([w], {argument}); w.grad = L.ones(3); o.step(); out = w",
            PARAM)


@pytest.mark.parametrize("code", [
    "optim.lr_scheduler.StepLR(o, 0)", "optim.lr_scheduler.CosineAnnealingLR(o, 0)",
    "optim.lr_scheduler.StepLR(o, 'a')"])
def test_schedulers_refuse_a_zero_period(code):
    # PyTorch fails only at the first step, with a ZeroDivisionError; minicnn when built
    compare(f"s = {code}; o.step(); s.step()", OPT)


def test_scheduler_zero_period_names_the_argument():
    o = mc.optim.SGD([mc.nn.Parameter(mc.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size: expected a positive int, got 0"):
        mc.optim.lr_scheduler.StepLR(o, 0)


DS = "X = L.arange(10.).reshape(10, 1); Y = L.arange(10); ds = data.TensorDataset(X, Y)"


@pytest.mark.parametrize("option", [
    "timeout=-1", "prefetch_factor=2", "persistent_workers=True", "drop_last='x'",
    "multiprocessing_context='spawn'", "drop_last=1", "timeout=0", "prefetch_factor=None",
    "batch_size=3, drop_last=True"])
def test_loader_worker_options_as_pytorch(option):
    compare(f"out = [b for b in data.DataLoader(ds, {option})]", DS)


@pytest.mark.parametrize("code", [
    "ds[-1]", "ds[2]", "ds[L.tensor(2)]", "data.Subset(ds, [1, 2])[-1]",
    "data.ConcatDataset([ds, ds])[-1]",
    "data.default_collate([1, 2])", "data.default_collate([1, 2.5])",
    "data.default_collate([True, False])", "data.default_collate([True, 2])",
    "data.default_collate([1.0, 2])", "data.default_collate([1, 'a'])",
    "data.default_collate([L.ones(2, dtype=L.int64), L.ones(2)])",
    "data.default_collate([np.int32(1), np.int32(2)])",
    "data.default_collate([(1, 2.), (3, 4.)])"])
def test_datasets_and_collation_as_pytorch(code):
    compare(code, DS)


ITER = """class Stream(data.IterableDataset):
    def __init__(self, n): self.n = n
    def __iter__(self): return iter([(i, float(i)) for i in range(self.n)])
class Sized(Stream):
    def __len__(self): return self.n
"""


@pytest.mark.parametrize("code", [
    "list(data.DataLoader(Stream(5), batch_size=2))",
    "list(data.DataLoader(Stream(5), batch_size=2, drop_last=True))",
    "list(data.DataLoader(Stream(3), batch_size=None))",
    "list(data.DataLoader(Stream(3) + Stream(2), batch_size=4))",
    "list(data.DataLoader(Stream(3), batch_size=2, collate_fn=lambda b: len(b)))",
    "len(data.DataLoader(Sized(5), batch_size=2))",
    "len(data.DataLoader(Sized(5), batch_size=2, drop_last=True))",
    "len(data.DataLoader(Stream(5), batch_size=2))",
    "data.DataLoader(Stream(5), shuffle=True)", "data.DataLoader(Stream(5), sampler=[0, 1])",
    "data.IterableDataset()"])
def test_iterable_datasets_as_pytorch(code):
    compare(code, ITER)


@pytest.mark.parametrize("code", [
    "data.RandomSampler([])", "list(data.RandomSampler(ds))[:0]",
    "data.WeightedRandomSampler([1., 2.], 3, replacement='x')",
    "len(list(data.WeightedRandomSampler([1., 2.], 3, replacement=True)))",
    "data.Subset(ds, [1.5])[0]", "data.Subset(ds, [1, 2])[[0, 1]]", "data.Subset(ds, [1, 2])[-1]",
    "len(data.Subset(ds, [1.5]))", "data.Subset(ds, L.tensor([3, 4]))[1]"])
def test_samplers_and_subsets_as_pytorch(code):
    compare(code, DS)


GRAD = """class D(data.Dataset):
    def __len__(self): return 2
    def __getitem__(self, i): return L.ones(2, requires_grad=True) * i
"""


def test_collated_samples_keep_their_graph_as_torch_stack():
    compare("b = next(iter(data.DataLoader(D(), batch_size=2))); out = (b.requires_grad, b)", GRAD)


CLIP = "w = nn.Parameter(L.ones(2, 2)); v = nn.Parameter(L.ones(3)); w.grad = L.ones(2, 2) * 3; v.grad = L.zeros(3)"


@pytest.mark.parametrize("norm_type", ["0", "1", "2", "3.5", "float('inf')", "-1"])
def test_clip_grad_norm_every_order_as_pytorch(norm_type):
    compare(f"total = nn.utils.clip_grad_norm_([w, v], 1.0, norm_type={norm_type}); "
            f"out = (total, w.grad, v.grad)", CLIP)


@pytest.mark.parametrize("optimizer", ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                                       "NAdam", "RAdam", "ASGD", "Rprop"])
def test_tensor_learning_rates_and_nan_gradients(optimizer):
    setup = "w = L.nn.Parameter(L.ones(3)); w.grad = L.tensor([1., 2., -1.])"
    compare(f"o = optim.{optimizer}([w], lr=L.tensor(0.1)); o.step(); o.step(); out = w", setup)
    if optimizer == "Rprop":  # sign(NaN) is 0 there: the NaN entry is left alone
        compare("w.grad = L.tensor([1., float('nan'), 2.]); o = optim.Rprop([w], lr=0.1); "
                "o.step(); o.step(); out = w", setup)
