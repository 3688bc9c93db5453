"""frexp, ldexp, vander, combinations, chain_matmul, logdet, ravel, torch.where(condition),
and PyTorch's keyword spellings (flip(dims=), expand(size=), reshape(shape=), pow(exponent=),
arange(end=)), against PyTorch, with gradcheck/gradgradcheck for the differentiable ones."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def test_frexp_and_ldexp_match_pytorch():
    torch = torch_or_skip()
    x = np.array([0.0, 1.0, -3.5, 1e-30, 6e20, np.inf, np.nan])
    for dtype in (np.float32, np.float64):
        m, e = mc.frexp(mc.tensor(x.astype(dtype)))
        tm, te = torch.frexp(torch.tensor(x.astype(dtype)))
        np.testing.assert_array_equal(m.numpy(), tm.numpy())
        np.testing.assert_array_equal(e.numpy(), te.numpy())
        assert m.dtype == dtype and e.dtype == np.int32
    check_against_torch(lambda t: mc.frexp(t)[0], lambda t: torch.frexp(t)[0], [_x(3, 4) * 10])
    check_against_torch(lambda t, e: mc.ldexp(t, e), lambda t, e: torch.ldexp(t, e),
                        [_x(3, 4), _x(4, seed=1)], second_order=False)
    ints = np.array([1, 2, 3])
    ours = mc.tensor(ints).ldexp(mc.tensor(ints))
    theirs = torch.tensor(ints).ldexp(torch.tensor(ints))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError):
        mc.frexp(mc.tensor([1, 2]))


@pytest.mark.parametrize("kwargs", [{}, {"N": 2}, {"N": 5, "increasing": True}, {"N": 0}])
def test_vander_matches_pytorch(kwargs):
    torch = torch_or_skip()
    x = _x(4)  # forward only: PyTorch 2.13's vander backward fails (in-place on a view);
    # the gradient is checked by gradcheck below
    np.testing.assert_allclose(mc.vander(mc.tensor(x), **kwargs).numpy(),
                               torch.vander(torch.tensor(x), **kwargs).numpy(), rtol=1e-12)
    ints = np.array([2, -3, 0])
    ours, theirs = mc.vander(mc.tensor(ints), **kwargs), torch.vander(torch.tensor(ints), **kwargs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


@pytest.mark.parametrize("r,with_replacement", [(2, False), (3, False), (2, True), (1, True)])
def test_combinations_matches_pytorch(r, with_replacement):
    torch = torch_or_skip()
    check_against_torch(lambda t: mc.combinations(t, r, with_replacement) ** 2,
                        lambda t: torch.combinations(t, r, with_replacement) ** 2, [_x(4)])


def test_chain_matmul_logdet_ravel_match_pytorch():
    torch = torch_or_skip()
    check_against_torch(lambda a, b, c: mc.chain_matmul(a, b, c),
                        lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
                        [_x(2, 3), _x(3, 4, seed=1), _x(4, 2, seed=2)])
    spd = _x(2, 3, 3)
    spd = spd @ spd.transpose(0, 2, 1) + 3 * np.eye(3)
    check_against_torch(lambda t: mc.logdet(t), lambda t: torch.logdet(t), [spd], atol=1e-9)
    special = np.array([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [2.0, 4.0]]])  # det -2 and 0
    np.testing.assert_array_equal(mc.logdet(mc.tensor(special)).numpy(),
                                  torch.logdet(torch.tensor(special)).numpy())
    x = _x(2, 3, 4)
    check_against_torch(lambda t: t.ravel() * 2, lambda t: t.ravel() * 2, [x])
    check_against_torch(lambda t: mc.ravel(t.mT), lambda t: torch.ravel(t.mT), [x])


def test_numeric_more_gradcheck_and_gradgradcheck():
    spd = _x(3, 3, seed=4)
    spd = spd @ spd.T + 3 * np.eye(3)
    for fn, arrays in [(lambda t: mc.vander(t, 4), [_x(3)]),
                       (lambda t: mc.combinations(t, 2).prod(-1), [_x(4)]),
                       (lambda t, e: mc.ldexp(t, e), [_x(3), _x(3, seed=1)]),
                       (lambda t: mc.logdet(t), [spd])]:
        inputs = [mc.tensor(a, requires_grad=True) for a in arrays]
        assert gradcheck(fn, inputs) and gradgradcheck(fn, inputs)


def test_where_with_the_condition_only_and_keyword_spellings():
    torch = torch_or_skip()
    x = _x(2, 3, 4)
    a, b = mc.tensor(x), torch.tensor(x)
    for ours, theirs in zip(mc.where(a > 0.5), torch.where(b > 0.5)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(mc.where(a > 0, a, 0.0).numpy(),
                                  torch.where(b > 0, b, 0.0).numpy())
    pairs = [(lambda t: t.flip(dims=(0, 2))), (lambda t: t.expand(size=(3, 2, 3, 4))),
             (lambda t: t.reshape(shape=(6, 4))), (lambda t: t.pow(exponent=3))]
    for f in pairs:
        np.testing.assert_allclose(f(a).numpy(), f(b).numpy())
    np.testing.assert_array_equal(mc.arange(end=5).numpy(), torch.arange(end=5).numpy())
    assert mc.arange(end=5).dtype == np.int64
    with pytest.raises(TypeError):
        mc.arange()
    with pytest.raises(TypeError):
        mc.where(a > 0, a)


def _grads(lib, fn, arrays):
    ts = [lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    with np.errstate(all="ignore"):
        out = fn(lib, *ts)
        out.sum().backward()
    return np.asarray(out.detach().numpy()), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("name,fn,arrays", [
    ("atan2 at the origin", lambda L, a, b: L.atan2(a, b),
     [[0.0, -0.0, 0.0, 1e-200, np.inf, 1.0], [0.0, 0.0, -0.0, 1e-200, 1.0, np.inf]]),
    ("logaddexp with an infinity", lambda L, a, b: L.logaddexp(a, b),
     [[np.inf, 1.0, np.inf, -np.inf, 3.0], [1.0, np.inf, np.inf, -np.inf, -1000.0]]),
    ("logaddexp2 with an infinity", lambda L, a, b: L.logaddexp2(a, b),
     [[np.inf, 1.0, 2.0], [1.0, np.inf, -2000.0]]),
    ("xlogy at x = 0", lambda L, a, b: L.xlogy(a, b),
     [[0.0, 0.0, 0.0, 0.0, 1.0, 2.0], [0.5, 0.0, -1.0, np.inf, 0.0, 3.0]]),
    ("median of ties", lambda L, a: a.median() * 3, [[2.0, 1.0, 2.0, 5.0, 2.0]]),
    ("median of all-equal", lambda L, a: a.median(), [[0.0, 0.0, 0.0]]),
    ("median with infinities", lambda L, a: a.median(), [[np.inf, 1.0, -np.inf]]),
    ("median with a NaN", lambda L, a: a.median(), [[1.0, np.nan, 2.0, np.nan]]),
    ("logit outside [0, 1]", lambda L, a: L.logit(a), [[-2.0, -0.5, 0.25, 0.5, 0.75, 1.5]]),
    ("i0", lambda L, a: L.i0(a), [[-3.0, -0.5, 0.0, 0.5, 2.0, 10.0]]),
    ("kthvalue", lambda L, a: L.kthvalue(a, 2, 0).values, [[[3.0, 1.0], [-1.0, 2.0], [0.5, 7.0]]]),
])
def test_edge_values_and_gradients_match_pytorch(name, fn, arrays):
    torch = torch_or_skip()
    ours, theirs = _grads(mc, fn, arrays), _grads(torch, fn, arrays)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, err_msg=name)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-300, err_msg=name)


def test_kthvalue_and_i0_shapes_errors_gradcheck():
    torch = torch_or_skip()
    x = _x(3, 5, 4)
    for kwargs in ({"k": 1}, {"k": 5, "dim": 1}, {"k": 2, "dim": 0, "keepdim": True}):
        ours, theirs = mc.tensor(x).kthvalue(**kwargs), torch.tensor(x).kthvalue(**kwargs)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.ones(3).kthvalue(4)
        with pytest.raises(IndexError):
            lib.ones(3).kthvalue(1, dim=2)
    assert mc.i0(mc.tensor([1, 2])).dtype == np.float32
    inputs = [mc.tensor(_x(6, seed=3) * 3, requires_grad=True)]
    assert gradcheck(mc.i0, inputs) and gradgradcheck(mc.i0, inputs)
    inputs = [mc.tensor(_x(4, 3, seed=5), requires_grad=True)]
    fn = lambda t: t.kthvalue(2, dim=1).values  # noqa: E731
    assert gradcheck(fn, inputs) and gradgradcheck(fn, inputs)
