"""Activations: gradcheck + gradgradcheck under hypothesis, the PyTorch oracle (forward,
gradient, second derivative), numerical stability at extreme inputs, and errors."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from minicnn import registry
from minicnn.gradcheck import gradcheck, gradgradcheck
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes




def _tf():
    return torch_or_skip().nn.functional


def values(low=-3.0, high=3.0, away_from=None, parameters=None, max_dims=3):
    """One array (kept 0.05 away from a kink), plus keyword arguments drawn from
    ``parameters`` (a dict of strategies)."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=max_dims))
        kwargs = {name: data.draw(strategy) for name, strategy in (parameters or {}).items()}
        return [data.draw(arrays(shape, low, high, away_from=away_from))], kwargs
    return draw


def along_a_dim(low=-3.0, high=3.0):
    """An array and a dim of it (negative dims too)."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        return [data.draw(arrays(shape, low, high))], {"dim": dim}
    return draw


CASES = [
    Case("relu", values(away_from=0.0), F.relu, lambda x: _tf().relu(x)),
    Case("leaky_relu", values(away_from=0.0,
                              parameters={"negative_slope": st.sampled_from([0.01, 0.2, 1.5])}),
         F.leaky_relu, lambda x, **kw: _tf().leaky_relu(x, **kw)),
    Case("sigmoid", values(), F.sigmoid, lambda x: _tf().sigmoid(x)),
    Case("tanh", values(), F.tanh, lambda x: _tf().tanh(x)),
    # the threshold is drawn so that beta x sometimes crosses it (the linear branch)
    Case("softplus", values(low=-4, high=4, parameters={
        "beta": st.sampled_from([1.0, 0.5, 2.0]), "threshold": st.sampled_from([20.0, 1.0])}),
         F.softplus, lambda x, **kw: _tf().softplus(x, **kw)),
    Case("elu", values(away_from=0.0, parameters={"alpha": st.sampled_from([1.0, 0.5, 2.0])}),
         F.elu, lambda x, **kw: _tf().elu(x, **kw)),
    Case("softmax", along_a_dim(), F.softmax, lambda x, **kw: _tf().softmax(x, **kw)),
    Case("log_softmax", along_a_dim(), F.log_softmax,
         lambda x, **kw: _tf().log_softmax(x, **kw)),
]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# -- behaviour at the kinks and at extreme inputs ----------------------------------------
def _first_and_second(fn, values):
    x = mc.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)
    (g,) = mc.grad(fn(x).sum(), x, create_graph=True)
    (gg,) = mc.grad(g.sum(), x, allow_unused=True) if g.requires_grad else (None,)
    return g.numpy(), None if gg is None else gg.numpy()


def test_gradients_at_zero_follow_pytorch():
    assert _first_and_second(F.relu, [0.0])[0][0] == 0.0
    assert _first_and_second(lambda x: F.leaky_relu(x, 0.2), [0.0])[0][0] == pytest.approx(0.2)
    assert _first_and_second(lambda x: F.elu(x, 0.5), [0.0])[0][0] == pytest.approx(0.5)
    assert _first_and_second(F.softplus, [0.0])[0][0] == pytest.approx(0.5)


def test_second_derivatives_of_the_smooth_ones():
    x = np.array([-2.0, -0.5, 0.3, 1.7])
    s = 1 / (1 + np.exp(-2.0 * x))
    _, second = _first_and_second(lambda t: F.softplus(t, beta=2.0), x)
    np.testing.assert_allclose(second, 2.0 * s * (1 - s))
    _, second = _first_and_second(lambda t: F.elu(t, alpha=1.5), x)
    np.testing.assert_allclose(second, np.where(x > 0, 0.0, 1.5 * np.exp(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_extreme_inputs(dtype):
    big = mc.tensor(np.array([[-1000.0, 0.0, 1000.0]], dtype=dtype), requires_grad=True)
    for fn in (F.sigmoid, F.tanh, F.softplus, lambda t: F.elu(t),
               lambda t: F.softmax(t, dim=1), lambda t: F.log_softmax(t, dim=1)):
        y = fn(big)
        (g,) = mc.grad(y.sum(), big, create_graph=True)
        assert np.isfinite(y.numpy()).all() and np.isfinite(g.numpy()).all()
        assert y.dtype == dtype
    np.testing.assert_allclose(F.softplus(big).numpy(), [[0.0, np.log(2.0), 1000.0]], rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(big, dim=1).numpy(), [[-2000.0, -1000.0, 0.0]])
    np.testing.assert_allclose(F.softmax(big, dim=1).numpy(), [[0.0, 0.0, 1.0]])


def test_elu_second_derivative_has_no_nan_for_large_positive_inputs():
    x = mc.tensor(np.array([800.0, -1.0]), requires_grad=True)
    (g,) = mc.grad(F.elu(x).sum(), x, create_graph=True)
    (gg,) = mc.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [0.0, np.exp(-1.0)])


def test_softmax_rows_sum_to_one_and_log_softmax_agrees():
    x = mc.tensor(np.random.default_rng(1).standard_normal((3, 5)) * 30)
    p = F.softmax(x, dim=-1).numpy()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(F.log_softmax(x, dim=-1).numpy()), p, rtol=1e-12,
                               atol=1e-300)


def test_leaky_relu_runs_through_the_registry():
    x = mc.tensor(np.array([-1.0, 2.0]), requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    for op in ("leaky_relu", "leaky_relu_backward"):
        assert registry.last_used(op) is not None
        assert "reference" in registry.implementations(op)
    np.testing.assert_allclose(x.grad.numpy(), [0.1, 1.0])


def test_leaky_relu_with_a_negative_slope_reads_the_sign_of_the_input():
    x = mc.tensor(np.array([-2.0, 3.0]), requires_grad=True)
    y = F.leaky_relu(x, -0.5)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [1.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 1.0])


def test_softmax_needs_a_dim():
    with pytest.raises(ValueError, match="dim"):
        F.softmax(mc.tensor(np.zeros(3)))
    with pytest.raises(IndexError, match="dim"):
        F.log_softmax(mc.tensor(np.zeros(3)), dim=1)
    with pytest.raises(ValueError, match="beta"):
        F.softplus(mc.tensor(np.zeros(3)), beta=0)


# -- functional.linear -----------------------------------------------------------------------
@pytest.mark.parametrize("input_shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_checks_and_matches_pytorch(input_shape, with_bias):
    rng = np.random.default_rng(len(input_shape))
    arrays_in = [rng.standard_normal(input_shape), rng.standard_normal((5, 4))]
    if with_bias:
        arrays_in.append(rng.standard_normal(5))
    tensors = [mc.tensor(a, requires_grad=True) for a in arrays_in]
    assert gradcheck(F.linear, tensors) and gradgradcheck(F.linear, tensors)
    check_against_torch(F.linear, lambda *t: _tf().linear(*t), arrays_in)


def test_linear_errors_name_both_sizes():
    with pytest.raises(ValueError, match=r"input has 3 features .* expects 4"):
        F.linear(mc.zeros(2, 3), mc.zeros(5, 4))
    with pytest.raises(ValueError, match=r"bias: expected shape \(5,\)"):
        F.linear(mc.zeros(2, 4), mc.zeros(5, 4), mc.zeros(4))
    with pytest.raises(ValueError, match="weight: expected 2 dims"):
        F.linear(mc.zeros(2, 4), mc.zeros(4))
