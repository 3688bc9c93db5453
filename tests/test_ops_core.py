"""Every core op: gradcheck + gradgradcheck under hypothesis, and a PyTorch oracle test
(forward, gradient, second derivative) through one helper.

Each op is one row of ``CASES``: how to draw its inputs, the minicnn call and the torch call.
"""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from strategies import arrays, broadcastable_pair, shapes, tie_free




def one(low=-2.0, high=2.0, away_from=None, max_dims=3):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=max_dims))
        return [data.draw(arrays(shape, low, high, away_from=away_from))]
    return draw


def pair(low=-2.0, high=2.0, right_low=None, right_high=None, right_away_from=None):
    def draw(data):
        a_shape, b_shape = data.draw(broadcastable_pair())
        return [data.draw(arrays(a_shape, low, high)),
                data.draw(arrays(b_shape, right_low if right_low is not None else low,
                                 right_high if right_high is not None else high,
                                 away_from=right_away_from))]
    return draw


def separated_pair():
    """Two broadcastable arrays whose values never come within 0.1 of each other."""
    def draw(data):
        a, b = pair()(data)
        return [np.round(a * 5) / 5 + 0.05, np.round(b * 5) / 5 + 0.15]
    return draw


def tie_free_values(min_side=1):
    """Reductions draw distinct values (amax/amin need a unique winner)."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
        return [data.draw(tie_free(shape))]
    return draw


def reduction(name, mc_name=None, torch_name=None, min_side=1, **extra):
    mc_name, torch_name = mc_name or name, torch_name or name

    def make(dim, keepdim):
        return Case(
            f"{name}-dim{dim}-keep{keepdim}", tie_free_values(min_side),
            lambda x: getattr(x, mc_name)(**_dim_kwargs(dim, x.ndim), keepdim=keepdim, **extra),
            lambda x: getattr(x, torch_name)(**_dim_kwargs(dim, x.ndim), keepdim=keepdim, **extra))
    return [make(d, k) for d in (None, 0, -1, "first_last") for k in (False, True)]


def _dim_kwargs(dim, ndim):
    if dim is None:
        return {"dim": tuple(range(ndim))}  # torch needs dim for keepdim; all dims = None
    if dim == "first_last":
        return {"dim": (0, ndim - 1)} if ndim > 1 else {"dim": 0}
    return {"dim": dim}


CASES = [
    Case("add", pair(), lambda a, b: a + b, lambda a, b: a + b),
    Case("sub", pair(), lambda a, b: a - b, lambda a, b: a - b),
    Case("mul", pair(), lambda a, b: a * b, lambda a, b: a * b),
    Case("div", pair(right_low=0.5, right_high=2.0), lambda a, b: a / b, lambda a, b: a / b),
    # exponent 0 is where PyTorch's rule (dL/da = 0 there, a constant mask) is a convention
    # that finite differences of the second derivative cannot see: drawn away from it
    Case("pow", pair(low=0.5, high=2.0, right_low=-1.5, right_high=1.5, right_away_from=0.0),
         lambda a, b: a ** b, lambda a, b: a ** b),
    Case("scalar-left", one(0.5, 2.0), lambda x: 3.0 - 2.0 / x + 2 ** x,
         lambda x: 3.0 - 2.0 / x + 2 ** x),
    Case("pow-scalar", one(0.5, 2.0), lambda x: x ** 3 + x ** 0.5, lambda x: x ** 3 + x ** 0.5),
    Case("neg", one(), lambda x: -x, lambda x: -x),
    Case("exp", one(), lambda x: x.exp(), lambda x: x.exp()),
    Case("log", one(0.2, 3.0), lambda x: x.log(), lambda x: x.log()),
    Case("sqrt", one(0.2, 3.0), lambda x: x.sqrt(), lambda x: x.sqrt()),
    Case("abs", one(away_from=0.0), lambda x: x.abs(), lambda x: x.abs()),
    Case("tanh", one(), lambda x: x.tanh(), lambda x: x.tanh()),
    Case("sigmoid", one(-4, 4), lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    Case("relu", one(away_from=0.0), lambda x: x.relu(), lambda x: x.relu()),
    Case("clamp", one(away_from=(-1.0, 0.5)), lambda x: x.clamp(-1.0, 0.5), lambda x: x.clamp(-1.0, 0.5)),
    Case("clamp-min", one(away_from=0.5), lambda x: x.clamp(min=0.5), lambda x: x.clamp(min=0.5)),
    Case("maximum", separated_pair(), mc.maximum, lambda a, b: __import__("torch").maximum(a, b)),
    Case("minimum", separated_pair(), mc.minimum, lambda a, b: __import__("torch").minimum(a, b)),
    Case("where", pair(), lambda a, b: mc.where(a > 0.3, a, b),
         lambda a, b: __import__("torch").where(a > 0.3, a, b)),
    Case("matmul-2d", lambda d: _matmul_draw(d, 2, 2), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("matmul-1d-left", lambda d: _matmul_draw(d, 1, 2), mc.matmul,
         lambda a, b: a @ b),
    Case("matmul-1d-right", lambda d: _matmul_draw(d, 3, 1), mc.matmul, lambda a, b: a @ b),
    Case("matmul-1d-both", lambda d: _matmul_draw(d, 1, 1), mc.matmul, lambda a, b: a @ b),
    Case("matmul-batched", lambda d: _matmul_draw(d, 3, 2), mc.matmul, lambda a, b: a @ b),
    Case("matmul-broadcast", lambda d: _matmul_draw(d, 4, 3, broadcast=True), mc.matmul,
         lambda a, b: a @ b),
    # inner dimension 1: an outer product, computed as a broadcast multiply
    Case("matmul-outer", lambda d: _matmul_draw(d, 2, 2, k=1), mc.matmul, lambda a, b: a @ b),
    Case("matmul-outer-broadcast", lambda d: _matmul_draw(d, 4, 3, broadcast=True, k=1),
         mc.matmul, lambda a, b: a @ b),
    *reduction("sum"), *reduction("mean"), *reduction("amax"), *reduction("amin"),
    *reduction("var", min_side=2),
    Case("var-biased", one(), lambda x: x.var(dim=0, unbiased=False),
         lambda x: x.var(dim=0, unbiased=False)),
]


def _matmul_draw(data, a_dims, b_dims, broadcast=False, k=None):
    n, drawn_k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    k = drawn_k if k is None else k
    batch = data.draw(st.integers(1, 3))
    a_shape = {1: (k,), 2: (n, k), 3: (batch, n, k), 4: (2, 1, n, k)}[a_dims]
    b_shape = {1: (k,), 2: (k, m), 3: (batch, k, m) if not broadcast else (batch, k, m)}[b_dims]
    return [data.draw(arrays(a_shape)), data.draw(arrays(b_shape))]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_float32_stays_float32_with_python_scalars():
    x = mc.tensor(np.ones(3, dtype=np.float32))
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3.0, 3.0 / x, x ** 2.0, 2.0 ** x,
              mc.maximum(x, 0.5), mc.where(x > 0, x, 0.0)):
        assert y.dtype == np.float32


def test_dtype_rules_of_tensor():
    assert mc.tensor(np.zeros(2)).dtype == np.float64
    assert mc.tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32
    assert mc.tensor(3.0).dtype == np.float32
    assert mc.tensor(np.array([1, 2])).dtype == np.int64
    assert mc.tensor([1, 2], dtype=np.float32).dtype == np.float32
    # PyTorch's inference from Python data: ints int64, any float float32, bools bool
    for data, expected in (([1, 2], np.int64), (3, np.int64), ([1, 2.5], np.float32),
                           ([[1], [2.0]], np.float32), (True, np.bool_),
                           ([True, False], np.bool_)):
        assert mc.tensor(data).dtype == expected, data
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)   # PyTorch's own default (the oracle sets float64)
    try:
        for data in ([1, 2], 3, [1, 2.5], True, [[1, 0], [0, 1]]):
            assert str(torch.tensor(data).dtype).split(".")[1] == mc.tensor(data).dtype.name
    finally:
        torch.set_default_dtype(previous)
    with pytest.raises(TypeError, match="floating-point"):
        mc.tensor([1, 2], requires_grad=True)   # PyTorch raises too


def test_tensor_copies_its_data():
    array = np.zeros(3)
    t = mc.tensor(array)
    array[0] = 1.0
    assert t.numpy()[0] == 0.0


def test_comparisons_give_bool_tensors_without_grad():
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert result.dtype == np.bool_ and not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).numpy(), [False, True, True])


def test_properties_and_item():
    x = mc.tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float64
    assert x.sum().item() == 15.0
    assert isinstance(x.numpy(), np.ndarray)
    with pytest.raises(ValueError, match="one element"):
        x.item()


def test_amax_shares_gradient_among_ties_like_pytorch():
    x = mc.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.amax().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


def test_maximum_splits_gradient_at_ties():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor([1.0, 1.0], requires_grad=True)
    mc.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])


def test_sigmoid_does_not_overflow():
    x = mc.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(x.sigmoid().numpy(), [0.0, 0.5, 1.0])
