"""More top-level PyTorch names (ops/torch_more_names.py) against PyTorch: comparison
spellings, rsub, dtype questions, isin/gcd/lcm, diagflat, matrix_power, slogdet, cov,
corrcoef, nanmedian, unravel_index, window functions; gradients where they exist."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


def _square(seed=0):
    return _x(2, 3, 3, seed=seed) + 3 * np.eye(3)


@pytest.mark.parametrize("expr", [
    "L.greater(x, 0.5)", "L.greater_equal(x, x.flip(0))", "L.less(x, 0.0)", "L.less_equal(x, 0.5)",
    "L.not_equal(x, x.roll(1, 0))", "L.isposinf(x / 0.0)", "L.isneginf(-x / 0.0)", "L.isreal(x)",
    "L.isin(L.tensor([1, 2, 3, 4]), L.tensor([2, 4, 9]))",
    "L.isin(L.tensor([1, 2]), 2, invert=True)",
    "L.gcd(L.tensor([12, -18, 0, 7]), L.tensor([8, 12, 5, 0]))",
    "L.lcm(L.tensor([4, 6, 0]), L.tensor([6, -4, 3]))",
    "L.unravel_index(L.tensor([5, 7, -1, 0]), (3, 4))[0]",
    "L.unravel_index(L.tensor([5, 7, -1, 0]), (3, 4))[1]",
    "L.hann_window(8, dtype=L.float32)", "L.hann_window(7, periodic=False, dtype=L.float32)",
    "L.hamming_window(6, dtype=L.float64)", "L.blackman_window(5, False, dtype=L.float32)",
    "L.bartlett_window(7, dtype=L.float32)",
    "L.bartlett_window(6, periodic=False, dtype=L.float32)",
    "L.hann_window(1, dtype=L.float32)",
    "L.nanmedian(L.tensor([float('nan')] * 2, dtype=L.float32))",
])
def test_forward_matches_pytorch(expr):
    torch = torch_or_skip()
    x = _x(3, 5)
    with np.errstate(divide="ignore"):
        ours = eval(expr, {"L": mc, "x": mc.tensor(x)})
    theirs = eval(expr, {"L": torch, "x": torch.tensor(x)})
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,fn,arrays", [
    ("rsub", lambda L, a, b: L.rsub(a, b, alpha=3), [_x(3, 4), _x(4, seed=1)]),
    ("row_stack", lambda L, a, b: L.row_stack([a, b]), [_x(3, 4), _x(2, 4, seed=1)]),
    ("diagflat", lambda L, a: L.diagflat(a, -1), [_x(2, 2)]),
    ("matrix_power 3", lambda L, a: L.matrix_power(a, 3), [_square()]),
    ("matrix_power -2", lambda L, a: a.matrix_power(-2), [_square()]),
    ("slogdet", lambda L, a: L.slogdet(a).logabsdet, [_square() * np.array([1, -1, 1])]),
    ("cov", lambda L, a: L.cov(a), [_x(3, 6)]),
    ("cov of a vector", lambda L, a: L.cov(a, correction=0), [_x(6)]),
    ("corrcoef", lambda L, a: L.corrcoef(a), [_x(3, 6)]),
])
def test_differentiable_names_match_pytorch(name, fn, arrays):
    torch = torch_or_skip()
    check_against_torch(lambda *t: fn(mc, *t), lambda *t: fn(torch, *t), arrays, atol=1e-9)


def test_dtype_questions_and_errors():
    torch = torch_or_skip()
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            ta, tb, ma, mb = getattr(torch, a), getattr(torch, b), getattr(mc, a), getattr(mc, b)
            assert str(mc.promote_types(ma, mb)) == str(torch.promote_types(ta, tb))[6:]
            assert mc.can_cast(ma, mb) == torch.can_cast(ta, tb), (a, b)
        assert mc.tensor(np.zeros(1, a)).is_signed() == torch.tensor(np.zeros(1, a)).is_signed()
    assert str(mc.result_type(mc.tensor([1]), 2.5)) == "float32"
    assert mc.ones(2).is_conj() is False and mc.ones(2).is_neg() is False
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.gcd(lib.tensor([1.5]), lib.tensor([2.0]))
        with pytest.raises(RuntimeError):
            lib.matrix_power(lib.ones(2, 3), 2)


def test_matrix_power_and_slogdet_gradcheck():
    for fn in (lambda t: mc.matrix_power(t, 3), lambda t: mc.matrix_power(t, -1),
               lambda t: mc.slogdet(t).logabsdet):
        inputs = [mc.tensor(_square(2), requires_grad=True)]
        assert gradcheck(fn, inputs) and gradgradcheck(fn, inputs)


@pytest.mark.parametrize("offset,dim1,dim2", [(0, 0, 1), (1, 1, 2), (-1, 0, 2), (0, 2, 0),
                                              (1, -1, -2), (-2, 1, 0)])
def test_diagonal_scatter_matches_pytorch(offset, dim1, dim2):
    torch = torch_or_skip()
    x = _x(3, 4, 5)
    src = _x(*torch.tensor(x).diagonal(offset, dim1, dim2).shape, seed=1)
    check_against_torch(lambda a, s: mc.diagonal_scatter(a, s, offset, dim1, dim2) * 2,
                        lambda a, s: torch.diagonal_scatter(a, s, offset, dim1, dim2) * 2, [x, src])


def test_slice_and_select_scatter_match_pytorch():
    torch = torch_or_skip()
    x = _x(3, 4, 5)
    check_against_torch(lambda a, s: a.slice_scatter(s, 1, 1, 4, 2),
                        lambda a, s: a.slice_scatter(s, 1, 1, 4, 2), [x, _x(3, 2, 5, seed=1)])
    check_against_torch(lambda a, s: mc.select_scatter(a, s, 2, -1),
                        lambda a, s: torch.select_scatter(a, s, 2, -1), [x, _x(3, 4, seed=2)])
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.slice_scatter(lib.zeros(3, 4), lib.zeros(3, 3), 1, 0, 2)


def test_unique_consecutive_histogram_asarray_detach_and_3d_twins():
    torch = torch_or_skip()
    values = [1, 1, 2, 2, 3, 1, 1, 2]
    for kwargs in ({}, {"return_inverse": True}, {"return_counts": True},
                   {"return_inverse": True, "return_counts": True}):
        ours = mc.unique_consecutive(mc.tensor(values), **kwargs)
        theirs = torch.unique_consecutive(torch.tensor(values), **kwargs)
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    data = _x(20)
    for kwargs in ({"bins": 4}, {"bins": 3, "range": (-1.0, 1.0)}, {"bins": 5, "density": True}):
        ours = mc.histogram(mc.tensor(data), **kwargs)
        theirs = torch.histogram(torch.tensor(data), **kwargs)
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy())
        np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy())
    a = np.arange(3.0)
    shared = mc.asarray(a)
    a[0] = 7.0
    assert shared.numpy()[0] == 7.0 and mc.asarray(a, copy=True).numpy()[0] == 7.0
    assert mc.asarray([1, 2], dtype=mc.float64, requires_grad=True).requires_grad
    assert not mc.detach(mc.ones(2, requires_grad=True) * 2).requires_grad
    x, w = _x(1, 2, 5, 5, 5), _x(3, 2, 3, 3, 3, seed=1)
    np.testing.assert_allclose(mc.conv3d(mc.tensor(x), mc.tensor(w), padding=1).numpy(),
                               torch.conv3d(torch.tensor(x), torch.tensor(w), padding=1).numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(mc.max_pool3d(mc.tensor(x), 2).numpy(),
                               torch.max_pool3d(torch.tensor(x), 2).numpy())
    wt = np.ascontiguousarray(w.transpose(1, 0, 2, 3, 4))
    np.testing.assert_allclose(mc.conv_transpose3d(mc.tensor(x), mc.tensor(wt)).numpy(),
                               torch.conv_transpose3d(torch.tensor(x), torch.tensor(wt)).numpy(),
                               rtol=1e-10)
