"""scatter_reduce and scatter(reduce=...) against PyTorch: every reduction, with and without
the input's own values, repeated and untouched positions, zeros and ties; gradients to
first order for all, gradcheck/gradgradcheck where PyTorch differentiates twice."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]


def _case(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(4, 5, 3))
    src = rng.uniform(-2, 2, size=(3, 4, 3))  # PyTorch's backward wants src as index
    index = rng.integers(0, 5, size=(3, 4, 3))  # dim 1 of size 5: repeats, and rows never hit
    return x, src, index


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [1, -2])
def test_scatter_reduce_matches_pytorch(reduce, include_self, dim):
    torch = torch_or_skip()
    x, src, index = _case()
    check_against_torch(
        lambda a, s: a.scatter_reduce(dim, mc.tensor(index), s, reduce, include_self=include_self),
        lambda a, s: a.scatter_reduce(dim, torch.tensor(index), s, reduce,
                                      include_self=include_self),
        [x, src], second_order=False)


def test_scatter_reduce_src_bigger_than_index():
    torch = torch_or_skip()
    x, _, index = _case()
    src = np.random.default_rng(5).uniform(-2, 2, size=(4, 6, 3))
    for reduce in REDUCTIONS:
        ours = mc.tensor(x).scatter_reduce(1, mc.tensor(index), mc.tensor(src), reduce)
        theirs = torch.tensor(x).scatter_reduce(1, torch.tensor(index), torch.tensor(src), reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin", "mean"])
def test_scatter_reduce_ties_and_zeros_gradient(reduce):
    torch = torch_or_skip()
    x = np.array([1.0, 0.0, 2.0, 2.0, 3.0])
    src = np.array([2.0, 0.0, 2.0, 3.0, 0.0, 5.0])
    index = np.array([0, 1, 2, 2, 3, 3])
    for include_self in (True, False):
        check_against_torch(
            lambda a, s: mc.scatter_reduce(a, 0, mc.tensor(index), s, reduce,
                                           include_self=include_self),
            lambda a, s: torch.scatter_reduce(a, 0, torch.tensor(index), s, reduce,
                                              include_self=include_self),
            [x, src], second_order=False)


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
def test_scatter_reduce_gradcheck_and_gradgradcheck(reduce):
    x, src, index = _case(1)
    idx = mc.tensor(index)
    inputs = [mc.tensor(x, requires_grad=True), mc.tensor(src, requires_grad=True)]
    fn = lambda a, s: a.scatter_reduce(1, idx, s, reduce, include_self=False)  # noqa: E731
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_scatter_reduce_prod_gradcheck_and_gradgradcheck():
    x, src, index = _case(2)
    idx = mc.tensor(index)
    for include_self in (True, False):
        inputs = [mc.tensor(x, requires_grad=True), mc.tensor(src, requires_grad=True)]
        fn = lambda a, s: a.scatter_reduce(1, idx, s, "prod", include_self=include_self)  # noqa
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)


def test_scatter_reduce_integer_mean_floors_as_pytorch():
    torch = torch_or_skip()
    x = np.array([1, 7, -3, 4])
    src = np.array([2, 3, -4, 8, 1])
    index = np.array([0, 0, 2, 2, 1])
    for include_self in (True, False):
        ours = mc.tensor(x).scatter_reduce(0, mc.tensor(index), mc.tensor(src), "mean",
                                           include_self=include_self)
        theirs = torch.tensor(x).scatter_reduce(0, torch.tensor(index), torch.tensor(src),
                                                "mean", include_self=include_self)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == np.int64


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_src_and_value(reduce):
    torch = torch_or_skip()
    x, src, index = _case(3)
    for value in (2.5, float("inf"), float("nan")):
        ours = mc.tensor(x).scatter(1, mc.tensor(index), value, reduce=reduce)
        theirs = torch.tensor(x).scatter(1, torch.tensor(index), value, reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    ours = mc.tensor(x).scatter(1, mc.tensor(index), mc.tensor(src), reduce=reduce)
    theirs = torch.tensor(x).scatter(1, torch.tensor(index), torch.tensor(src), reduce=reduce)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_scatter_reduce_errors_are_pytorch_types():
    torch = torch_or_skip()
    for lib in (torch, mc):
        x, s = lib.zeros(3, 4), lib.ones(3, 4)
        i = lib.tensor(np.zeros((3, 4), dtype=np.int64))
        with pytest.raises(RuntimeError):
            x.scatter_reduce(0, i, s, "INVALID")
        with pytest.raises(RuntimeError):
            x.half().scatter_reduce(0, i, s, "sum")  # src's dtype differs
        with pytest.raises(RuntimeError):
            x.scatter(0, i, s, reduce="typo")
        with pytest.raises(RuntimeError):
            x.scatter(0, lib.tensor(np.zeros((4, 4), dtype=np.int64)), s)  # index too big
        with pytest.raises(RuntimeError):
            x.gather(0, lib.tensor(np.zeros((2,), dtype=np.int64)))  # index dims differ
    with pytest.raises(ValueError, match="reduce: expected one of"):
        mc.zeros(2).scatter_reduce(0, mc.tensor([0]), mc.ones(1), "median")
