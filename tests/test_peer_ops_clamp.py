"""clamp/clip with Tensor bounds, and // and % type promotion, against PyTorch: values,
broadcasting, dtypes, PyTorch's gradient rule at ties and crossed bounds, gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(4, 5))
    lo = rng.uniform(-1.5, 0.5, size=(5,))
    hi = rng.uniform(-0.5, 1.5, size=(4, 1))  # some hi < lo: crossed bounds
    return x, lo, hi


@pytest.mark.parametrize("which", ["both", "min", "max"])
@pytest.mark.parametrize("name", ["clamp", "clip"])
def test_clamp_with_tensor_bounds_matches_pytorch(which, name):
    torch = torch_or_skip()
    x, lo, hi = _arrays()

    def call(lib, t, a, b):
        kwargs = {"both": dict(min=a, max=b), "min": dict(min=a), "max": dict(max=b)}[which]
        return getattr(t, name)(**kwargs) * getattr(lib, name)(t, **kwargs)

    check_against_torch(lambda t, a, b: call(mc, t, a, b), lambda t, a, b: call(torch, t, a, b),
                        [x, lo, hi], second_order=False)


def test_clamp_tensor_bounds_ties_and_equal_bounds_gradient():
    torch = torch_or_skip()
    x = np.array([0.0, 1.0, 2.0, -1.0, 0.5, 3.0])
    lo = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 4.0])  # ties with x, equal bounds, lo > hi
    hi = np.array([1.0, 1.0, 2.0, 0.0, 0.5, 2.0])
    check_against_torch(lambda t, a, b: t.clamp(a, b), lambda t, a, b: t.clamp(a, b),
                        [x, lo, hi], second_order=False)


def test_clamp_tensor_bounds_dtypes_and_nan():
    torch = torch_or_skip()
    x = np.array([1, -3, 7], dtype=np.int32)
    for lo in (np.array([0.5, 0.5, 0.5], dtype=np.float32), np.array([0, 0, 0], dtype=np.int64)):
        ours = mc.clamp(mc.tensor(x), mc.tensor(lo), mc.tensor(5))
        theirs = torch.clamp(torch.tensor(x), torch.tensor(lo), torch.tensor(5))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    nan = np.array([np.nan, 0.0, 1.0])
    np.testing.assert_array_equal(mc.clamp(mc.tensor(nan), mc.tensor([0.5, np.nan, 0.0])).numpy(),
                                  torch.clamp(torch.tensor(nan), torch.tensor([0.5, np.nan, 0.0])))


def test_clamp_tensor_bounds_gradcheck_and_gradgradcheck():
    x, lo, hi = _arrays(1)
    inputs = [mc.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    fn = lambda t, a, b: t.clamp(a, b) ** 2  # noqa: E731
    assert gradcheck(fn, inputs) and gradgradcheck(fn, inputs)


def test_clamp_without_bounds_is_runtime_error():
    torch = torch_or_skip()
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.ones(3).clamp()
        with pytest.raises(RuntimeError):
            lib.clip(lib.ones(3), None, None)
    with pytest.raises(ValueError, match="at least one of min and max"):
        mc.ones(3).clip(None, None)


@pytest.mark.parametrize("op", ["floordiv", "mod"])
def test_floor_divide_and_remainder_promote_as_pytorch(op):
    torch = torch_or_skip()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)  # int tensor // 2.5 is the default float dtype
    try:
        _check_promotion(torch, op)
    finally:
        torch.set_default_dtype(default)


def _check_promotion(torch, op):
    f = (lambda a, b: a // b) if op == "floordiv" else (lambda a, b: a % b)
    cases = [(np.array([True, False]), 2), (np.array([True, True]), 2.5),
             (np.array([5, -7], dtype=np.int32), 2), (np.array([5, -7], dtype=np.int32), 2.5),
             (np.array([5, -7], dtype=np.int16), np.array([2, 3], dtype=np.int64)),
             (np.array([5.0, -7.0], dtype=np.float32), 2)]
    for a, b in cases:
        ours = f(mc.tensor(a), mc.tensor(b) if isinstance(b, np.ndarray) else b)
        theirs = f(torch.tensor(a), torch.tensor(b) if isinstance(b, np.ndarray) else b)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (a, b)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        if not a.all():
            continue  # 3 // 0
        ours = f(3, mc.tensor(a))
        theirs = f(3, torch.tensor(a))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (a, b)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for lib in (torch, mc):
        with pytest.raises(NotImplementedError):
            f(lib.tensor([True]), lib.tensor([True]))


def test_clamp_in_place_with_tensor_bounds():
    torch = torch_or_skip()
    x, lo, hi = _arrays(2)
    ours, theirs = mc.tensor(x), torch.tensor(x)
    ours.clamp_(min=mc.tensor(lo), max=mc.tensor(hi))
    theirs.clamp_(min=torch.tensor(lo), max=torch.tensor(hi))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    leaf = mc.tensor(x, requires_grad=True)
    y = leaf * 1
    y.clip_(mc.tensor(lo))
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), (x >= lo).astype(np.float64))
