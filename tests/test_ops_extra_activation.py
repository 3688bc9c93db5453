"""The activations of ops/activation_extra.py (gelu, silu, selu, celu, mish, hardtanh, relu6,
logsigmoid, hardsigmoid, hardswish) and rms_norm: gradcheck + gradgradcheck, the PyTorch
oracle (forward, gradient, second derivative), PyTorch's sides at the kinks, stability at
extreme inputs, and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes


def _tf():
    return torch_or_skip().nn.functional


def values(low=-4.0, high=4.0, kinks=(), parameters=None):
    """One array with every value at least 0.05 from each kink, plus keyword arguments."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        kwargs = {name: data.draw(strategy) for name, strategy in (parameters or {}).items()}
        x = data.draw(arrays(shape, low, high))
        for kink in kinks:
            close = np.abs(x - kink) < 0.05
            x[close] = kink + 0.1
        return [x], kwargs
    return draw


def rms_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    count = data.draw(st.integers(1, len(shape)))
    normalized = tuple(shape[len(shape) - count:])
    # away from 0: at x = 0 (RMS 0, eps down to 2.2e-16) y = x / sqrt(eps) has a second
    # derivative ~1/eps^1.5 that finite differences cannot follow
    x = data.draw(arrays(shape, -2.0, 2.0, away_from=0.0))
    arrays_in = [x]
    if data.draw(st.booleans()):
        arrays_in.append(data.draw(arrays(normalized, 0.5, 1.5)))
    eps = data.draw(st.sampled_from([None, 1e-5, 0.1]))
    return arrays_in, {"normalized_shape": normalized, "eps": eps}


CASES = [
    Case("gelu", values(), F.gelu, lambda x: _tf().gelu(x)),
    Case("gelu-tanh", values(), lambda x: F.gelu(x, approximate="tanh"),
         lambda x: _tf().gelu(x, approximate="tanh")),
    Case("silu", values(), F.silu, lambda x: _tf().silu(x)),
    Case("selu", values(kinks=(0.0,)), F.selu, lambda x: _tf().selu(x)),
    Case("celu", values(kinks=(0.0,), parameters={"alpha": st.sampled_from([1.0, 0.5, 2.0])}),
         F.celu, lambda x, **kw: _tf().celu(x, **kw)),
    Case("mish", values(), F.mish, lambda x: _tf().mish(x)),
    Case("hardtanh", values(kinks=(-1.0, 1.0, -0.5, 2.0), parameters={
        "min_val": st.sampled_from([-1.0, -0.5]), "max_val": st.sampled_from([1.0, 2.0])}),
         F.hardtanh, lambda x, **kw: _tf().hardtanh(x, **kw)),
    Case("relu6", values(low=-2, high=8, kinks=(0.0, 6.0)), F.relu6, lambda x: _tf().relu6(x)),
    Case("logsigmoid", values(low=-10, high=10), F.logsigmoid, lambda x: _tf().logsigmoid(x)),
    # torch's hardsigmoid has no double backward: its oracle is relu6(x + 3) / 6 (same
    # values and gradient, checked against hardsigmoid itself below, and curvature 0)
    Case("hardsigmoid", values(low=-5, high=5, kinks=(-3.0, 3.0)), F.hardsigmoid,
         lambda x: _tf().relu6(x + 3) / 6),
    Case("hardswish", values(low=-5, high=5, kinks=(-3.0, 3.0)), F.hardswish,
         lambda x: _tf().hardswish(x)),
    Case("rms_norm", rms_input, lambda *xs, **kw: F.rms_norm(xs[0], weight=xs[1] if len(xs) > 1
                                                             else None, **kw),
         lambda *xs, **kw: _tf().rms_norm(xs[0], weight=xs[1] if len(xs) > 1 else None, **kw)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def _grads(fn, values):
    x = mc.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)
    (g,) = mc.grad(fn(x).sum(), x, create_graph=True)
    return x, g


@pytest.mark.oracle
@pytest.mark.parametrize("name, fn, points", [
    ("hardtanh", lambda F_, x: F_.hardtanh(x), [-1.0, 1.0, 0.0]),
    ("relu6", lambda F_, x: F_.relu6(x), [0.0, 6.0, 3.0]),
    ("hardsigmoid", lambda F_, x: F_.hardsigmoid(x), [-3.0, 3.0, 0.0]),
    ("hardswish", lambda F_, x: F_.hardswish(x), [-3.0, 3.0, 0.0]),
    ("selu", lambda F_, x: F_.selu(x), [0.0]),
    ("celu", lambda F_, x: F_.celu(x, 0.5), [0.0]),
])
def test_kinks_take_pytorchs_side(name, fn, points):
    torch = torch_or_skip()
    _, g = _grads(lambda x: fn(F, x), points)
    t = torch.tensor(points, requires_grad=True)
    (tg,) = torch.autograd.grad(fn(torch.nn.functional, t).sum(), t)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), err_msg=name)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["hardtanh", "relu6", "hardsigmoid", "hardswish"])
def test_a_gradient_taken_with_create_graph_stays_connected_as_pytorchs(name):
    """PyTorch's first gradient of these depends on x (``hardtanh_backward(g, x)``...), so a
    second ``grad`` of a piecewise-linear function gives zeros instead of raising."""
    torch = torch_or_skip()
    points = [-4.0, -0.5, 0.3, 2.0, 7.0]
    x, g = _grads(getattr(F, name), points)
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(getattr(torch.nn.functional, name)(t).sum(), t,
                                create_graph=True)
    assert g.requires_grad == tg.requires_grad
    (gg,) = mc.grad(g.sum(), x)
    if name != "hardsigmoid":   # torch's hardsigmoid has no double backward
        (tgg,) = torch.autograd.grad(tg.sum(), t)
        np.testing.assert_allclose(gg.numpy(), tgg.numpy(), err_msg=name)
    else:
        np.testing.assert_array_equal(gg.numpy(), 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_extreme_inputs(dtype):
    big = mc.tensor(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=dtype),
                    requires_grad=True)
    for fn in (F.gelu, lambda t: F.gelu(t, approximate="tanh"), F.silu, F.selu, F.mish,
               F.logsigmoid, F.hardswish, F.hardsigmoid, F.celu):
        y = fn(big)
        (g,) = mc.grad(y.sum(), big, create_graph=True)
        (gg,) = mc.grad(g.sum(), big, allow_unused=True) if g.requires_grad else (None,)
        assert y.dtype == dtype
        assert np.isfinite(y.numpy()).all() and np.isfinite(g.numpy()).all()
        assert gg is None or np.isfinite(gg.numpy()).all()
    np.testing.assert_allclose(F.logsigmoid(big).numpy()[[0, -1]], [-1000.0, 0.0])
    np.testing.assert_allclose(F.silu(big).numpy()[[0, -1]], [0.0, 1000.0])


def test_second_derivatives_have_the_closed_forms():
    x = np.array([-2.0, -0.5, 0.3, 1.7])
    s = 1 / (1 + np.exp(-x))
    x_t, g = _grads(F.silu, x)
    (gg,) = mc.grad(g.sum(), x_t)
    np.testing.assert_allclose(g.numpy(), s * (1 + x * (1 - s)))
    np.testing.assert_allclose(gg.numpy(), s * (1 - s) * (2 + x * (1 - 2 * s)))
    x_t, g = _grads(F.logsigmoid, x)
    (gg,) = mc.grad(g.sum(), x_t)
    np.testing.assert_allclose(g.numpy(), 1 - s)
    np.testing.assert_allclose(gg.numpy(), -s * (1 - s))
    x_t, g = _grads(F.gelu, x)
    (gg,) = mc.grad(g.sum(), x_t)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(gg.numpy(), phi * (2 - x * x))


def test_rms_norm_default_eps_is_the_dtype_epsilon():
    x = mc.tensor(np.zeros((2, 3), dtype=np.float32))
    y = F.rms_norm(x, (3,))
    assert y.dtype == np.float32 and np.isfinite(y.numpy()).all()
    x = mc.tensor(np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(F.rms_norm(x, 2).numpy(),
                               [[3.0, 4.0]] / np.sqrt(12.5 + np.finfo(np.float64).eps))


def test_errors_name_the_argument():
    x = mc.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="normalized_shape"):
        F.rms_norm(x, (2,))
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\)"):
        F.rms_norm(x, (3,), weight=mc.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(TypeError, match="floating-point"):
        F.silu(mc.tensor(np.zeros(3, dtype=np.int64)))
    with pytest.raises(TypeError, match="expected a Tensor"):
        F.mish(np.zeros(3))


def test_float32_matches_pytorch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype(np.float32) * 3
    torch = torch_or_skip()
    for name in ("gelu", "silu", "selu", "mish", "logsigmoid", "hardswish", "hardsigmoid",
                 "relu6", "hardtanh"):
        ours = getattr(F, name)(mc.tensor(x)).numpy()
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=name)
    check_against_torch(lambda t: F.gelu(t, approximate="tanh"),
                        lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
                        [x.astype(np.float64)])
