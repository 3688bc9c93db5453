"""Elementwise math of ops/elementwise_more.py (tan ... atanh, expm1, log1p, log10, exp2,
reciprocal, frac, deg2rad, rad2deg, nan_to_num, atan2, hypot, fmod, lerp, logaddexp(2),
xlogy, float_power, addcmul, addcdiv, clamp_min, clamp_max, the logical ops, isclose,
allclose, equal, the named spellings and the in-place twins): gradcheck + gradgradcheck,
the PyTorch oracle (forward, gradient, second derivative), dtypes, edge cases and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, broadcastable_pair, shapes


def _t():
    return torch_or_skip()


def one(low=-2.0, high=2.0, away_from=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        return [data.draw(arrays(shape, low, high, away_from=away_from))]
    return draw


def _signed(data, shape, low, high):
    """Values with |v| in [low, high), either sign (away from 0 and its pole)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    return data.draw(arrays(shape, low, high)) * rng.choice([-1.0, 1.0], size=shape)


def pair(first=(-2.0, 2.0), second=(-2.0, 2.0), signed=False, away_from=(None, None)):
    """Two arrays of broadcastable shapes; ``signed``: |values| in the ranges, either sign;
    ``away_from``: each array's values keep 0.05 away from that point."""
    def draw(data):
        a_shape, b_shape = data.draw(broadcastable_pair(max_dims=3))
        if signed:
            return [_signed(data, a_shape, *first), _signed(data, b_shape, *second)]
        return [data.draw(arrays(a_shape, *first, away_from=away_from[0])),
                data.draw(arrays(b_shape, *second, away_from=away_from[1]))]
    return draw


def triple(third=(-2.0, 2.0), signed_third=False):
    def draw(data):
        a_shape, b_shape = data.draw(broadcastable_pair(max_dims=3))
        c_shape = data.draw(shapes(min_dims=0, max_dims=1, max_side=1)) + tuple(a_shape[-1:])
        c = (_signed(data, c_shape, *third) if signed_third
             else data.draw(arrays(c_shape, *third)))
        return [data.draw(arrays(a_shape)), data.draw(arrays(b_shape)), c]
    return draw


def between_integers(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    return [rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.9, size=shape)]


def fmod_pair(data):
    """a and b with a / b at least 0.1 away from an integer (where fmod jumps)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    b = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    quotient = rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.9, size=shape)
    return [quotient * b, b]


def apart(data):
    """x and a bound at least 0.1 away from each other (clamp_min/max with a tensor)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(arrays(shape))
    return [x, x + _signed(data, shape, 0.1, 1.0)]


UNARY = [  # name, domain
    ("tan", (-1.2, 1.2)), ("asin", (-0.9, 0.9)), ("acos", (-0.9, 0.9)), ("atan", (-3, 3)),
    ("sinh", (-2, 2)), ("cosh", (-2, 2)), ("asinh", (-3, 3)), ("acosh", (1.2, 3)),
    ("atanh", (-0.9, 0.9)), ("expm1", (-2, 2)), ("log1p", (-0.7, 3)), ("log10", (0.3, 3)),
    ("exp2", (-2, 2)), ("deg2rad", (-3, 3)), ("rad2deg", (-3, 3)),
]

CASES = [Case(name, one(*domain), getattr(mc, name), lambda x, n=name: getattr(_t(), n)(x))
         for name, domain in UNARY] + [
    Case("arcsin-method", one(-0.9, 0.9), lambda x: x.arcsin(), lambda x: x.arcsin()),
    Case("sinh-method", one(), lambda x: x.sinh(), lambda x: x.sinh()),
    Case("log1p-method", one(-0.5, 2), lambda x: x.log1p(), lambda x: x.log1p()),
    Case("reciprocal", lambda d: [_signed(d, d.draw(shapes()), 0.3, 2.0)],
         lambda x: x.reciprocal(), lambda x: x.reciprocal()),
    Case("frac", between_integers, mc.frac, lambda x: _t().frac(x)),
    Case("nan_to_num", one(), lambda x: x.nan_to_num(), lambda x: x.nan_to_num()),
    Case("negative", one(), mc.negative, lambda x: _t().negative(x)),
    Case("absolute", one(away_from=0.0), lambda x: x.absolute(), lambda x: x.absolute()),
    Case("atan2", pair((0.3, 2), (0.3, 2), signed=True), mc.atan2, lambda a, b: _t().atan2(a, b)),
    Case("arctan2-method", pair((0.3, 2), (0.3, 2), signed=True), lambda a, b: a.arctan2(b),
         lambda a, b: a.arctan2(b)),
    Case("hypot", pair((0.3, 2), (0.3, 2), signed=True), mc.hypot, lambda a, b: _t().hypot(a, b)),
    Case("fmod", fmod_pair, lambda a, b: a.fmod(b), lambda a, b: a.fmod(b)),
    Case("fmod-scalar", one(-0.65, 0.65, away_from=0.0), lambda a: mc.fmod(a, 0.7),
         lambda a: _t().fmod(a, 0.7)),
    Case("logaddexp", pair((-3, 3), (-3, 3)), mc.logaddexp, lambda a, b: _t().logaddexp(a, b)),
    Case("logaddexp2", pair((-3, 3), (-3, 3)), lambda a, b: a.logaddexp2(b),
         lambda a, b: a.logaddexp2(b)),
    # x keeps away from 0, where d/dx is 0 by PyTorch's convention (0 log y = 0)
    Case("xlogy", pair((-2, 2), (0.3, 3), away_from=(0.0, None)), mc.xlogy,
         lambda a, b: _t().xlogy(a, b)),
    Case("xlogy-method", pair((-2, 2), (0.3, 3), away_from=(0.0, None)),
         lambda a, b: a.xlogy(b), lambda a, b: a.xlogy(b)),
    # the exponent keeps away from 0, where d/da is 0 by PyTorch's convention (a ** 0 = 1)
    Case("float_power", pair((0.3, 3), (-2, 2), away_from=(None, 0.0)), mc.float_power,
         lambda a, b: _t().float_power(a, b)),
    Case("float_power-scalar", one(0.3, 3), lambda a: a.float_power(2.5),
         lambda a: a.float_power(2.5)),
    Case("lerp", triple(), mc.lerp, lambda a, b, w: _t().lerp(a, b, w)),
    Case("lerp-scalar", pair(), lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3)),
    Case("addcmul", triple(), lambda a, b, c: mc.addcmul(a, b, c, value=0.5),
         lambda a, b, c: _t().addcmul(a, b, c, value=0.5)),
    Case("addcdiv", triple((0.3, 2), signed_third=True), lambda a, b, c: a.addcdiv(b, c, value=2),
         lambda a, b, c: a.addcdiv(b, c, value=2)),
    Case("clamp_min", one(away_from=0.5), lambda x: x.clamp_min(0.5), lambda x: x.clamp_min(0.5)),
    Case("clamp_max", one(away_from=-0.2), lambda x: mc.clamp_max(x, -0.2),
         lambda x: _t().clamp_max(x, -0.2)),
    Case("clamp_min-tensor", apart, mc.clamp_min, lambda x, m: _t().clamp_min(x, m)),
    Case("clamp_max-tensor", apart, lambda x, m: x.clamp_max(m), lambda x, m: x.clamp_max(m)),
    Case("divide", pair((-2, 2), (0.3, 2), signed=True), mc.divide,
         lambda a, b: _t().divide(a, b)),
    Case("subtract-alpha", pair(), lambda a, b: mc.subtract(a, b, alpha=2),
         lambda a, b: _t().subtract(a, b, alpha=2)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_unary_edges_and_dtypes_follow_pytorch():
    torch = _t()
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan])
    names = [n for n, _ in UNARY] + ["reciprocal", "frac", "arcsin", "arccos", "arctan",
                                     "arcsinh", "arccosh", "arctanh", "negative", "absolute"]
    with np.errstate(all="ignore"):
        for name in names:
            ours = getattr(mc, name)(mc.tensor(x)).numpy()
            np.testing.assert_allclose(ours, getattr(torch, name)(torch.tensor(x)).numpy(),
                                       rtol=1e-12, err_msg=name)
    ints = np.array([-1, 0, 1, 3])
    for name in ("tan", "atan", "exp2", "reciprocal", "deg2rad", "log1p", "sinh"):
        out = getattr(mc, name)(mc.from_numpy(ints))
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out.numpy(), getattr(torch, name)(torch.tensor(ints)).numpy(),
                                   rtol=1e-6, err_msg=name)
    assert mc.negative(mc.from_numpy(ints)).dtype == np.int64
    with pytest.raises(TypeError, match="frac: input: not implemented for int64"):
        mc.frac(mc.from_numpy(ints))
    with pytest.raises(TypeError, match="negation of a bool tensor"):
        mc.neg(mc.tensor([True]))
    assert mc.tan(mc.ones(2, dtype=np.float64)).dtype == np.float64


def test_nan_to_num_defaults_and_gradient():
    torch = _t()
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0])
    for dtype in (np.float32, np.float64):
        for kwargs in ({}, {"nan": 1.0, "posinf": 5.0}, {"neginf": -7.0}):
            ours = mc.nan_to_num(mc.tensor(x.astype(dtype)), **kwargs)
            theirs = torch.nan_to_num(torch.tensor(x.astype(dtype)), **kwargs)
            assert ours.dtype == dtype
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    t = mc.tensor(x, requires_grad=True)
    t.nan_to_num().sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0, 0, 0, 1, 1])
    ints = mc.from_numpy(np.array([1, 2]))
    assert mc.nan_to_num(ints).dtype == np.int64 and mc.nan_to_num(ints).tolist() == [1, 2]


def test_binary_values_dtypes_and_edges_follow_pytorch():
    torch = _t()
    a, b = np.array([5.5, -5.5, 7.0, -7.0, 0.0]), np.array([2.0, 2.0, -2.5, -2.5, 1.0])
    for name in ("atan2", "hypot", "fmod", "logaddexp", "logaddexp2", "xlogy", "float_power"):
        with np.errstate(all="ignore"):
            ours = getattr(mc, name)(mc.tensor(a), mc.tensor(b)).numpy()
        np.testing.assert_allclose(ours, getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
                                   rtol=1e-12, err_msg=name)
    i, j = np.array([5, -5, 7, -7]), np.array([3, 3, -2, -2])
    ours = mc.fmod(mc.from_numpy(i), mc.from_numpy(j))
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), torch.fmod(torch.tensor(i), torch.tensor(j)))
    assert mc.fmod(mc.from_numpy(i), 2.5).dtype == np.float32
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        mc.fmod(mc.from_numpy(i), 0)
    assert mc.atan2(mc.from_numpy(i), mc.from_numpy(j)).dtype == np.float32
    assert mc.xlogy(mc.from_numpy(i), mc.from_numpy(j)).dtype == np.float32
    # xlogy: 0 where x == 0, even at y == 0; NaN where y is NaN; numbers on either side
    x, y = np.array([0.0, 0.0, 1.0]), np.array([0.0, np.nan, 0.0])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(mc.xlogy(mc.tensor(x), mc.tensor(y)).numpy(),
                                      torch.xlogy(torch.tensor(x), torch.tensor(y)).numpy())
    np.testing.assert_allclose(mc.xlogy(2, mc.tensor(b)).numpy(), torch.xlogy(2, torch.tensor(b)))
    np.testing.assert_allclose(mc.xlogy(mc.tensor(a), 3).numpy(), torch.xlogy(torch.tensor(a), 3))
    # float_power is float64 for every input
    f32 = mc.tensor([1.0, 2.0])
    assert mc.float_power(f32, 2).dtype == np.float64
    assert mc.float_power(2, f32).dtype == np.float64
    assert mc.float_power(mc.from_numpy(i), 2).dtype == np.float64
    p = mc.tensor([1.0, 2.0], requires_grad=True)
    mc.float_power(p, 3).sum().backward()
    assert p.grad.dtype == np.float32 and p.grad.tolist() == [3.0, 12.0]
    # fmod keeps the sign of the dividend, remainder the sign of the divisor
    assert mc.fmod(mc.tensor([-3.0]), 2).tolist() == [-1.0]
    assert mc.remainder(mc.tensor([-3.0]), 2).tolist() == [1.0]


def test_named_spellings_match_pytorch():
    torch = _t()
    i = np.array([5, -5, 7, -7])
    for mode in (None, "trunc", "floor"):
        ours = mc.divide(mc.from_numpy(i), 2, rounding_mode=mode)
        theirs = torch.divide(torch.tensor(i), 2, rounding_mode=mode)
        # the oracle sets PyTorch's default dtype to float64; ours is float32
        assert ours.dtype == (np.float32 if mode is None else np.int64)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert mc.true_divide(mc.from_numpy(i), 2).dtype == np.float32
    assert mc.multiply(mc.tensor([2.0]), 3).tolist() == [6.0]
    assert mc.subtract(mc.tensor([2.0]), 3, alpha=2).tolist() == [-4.0]
    assert mc.clip(mc.tensor([-2.0, 0.5, 2.0]), -1, 1).tolist() == [-1.0, 0.5, 1.0]
    assert mc.clip is mc.clamp
    x = mc.tensor([np.nan, -1.0, 2.0])
    for mine, theirs in ((mc.clamp_min(x, 0.5), torch.clamp_min(torch.tensor(x.numpy()), 0.5)),
                         (x.clamp_max(mc.tensor([0.0, 0.0, 0.0])),
                          torch.tensor(x.numpy()).clamp_max(torch.zeros(3)))):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert mc.clamp_min(mc.from_numpy(i), 0.5).dtype == np.float32


def test_lerp_addcmul_addcdiv_follow_pytorch():
    torch = _t()
    a, b = np.array([1.0, 2.0, -3.0]), np.array([4.0, -1.0, 0.5])
    np.testing.assert_allclose(mc.lerp(mc.tensor(a), mc.tensor(b), 2).numpy(),
                               torch.lerp(torch.tensor(a), torch.tensor(b), 2).numpy())
    w = mc.tensor(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(mc.lerp(mc.tensor(a), mc.tensor(b), w).numpy(),
                               torch.lerp(torch.tensor(a), torch.tensor(b),
                                          torch.tensor([0.0, 0.5, 1.0])).numpy())
    with pytest.raises(TypeError, match="lerp: end: expected dtype float32, got float64"):
        mc.lerp(mc.tensor([1.0]), mc.tensor(np.array([1.0])), 0.5)
    with pytest.raises(TypeError, match="lerp: weight: expected dtype float32"):
        mc.lerp(mc.tensor([1.0]), mc.tensor([2.0]), mc.tensor(np.array([0.5])))
    with pytest.raises(TypeError, match="lerp: input: expected a floating dtype"):
        mc.lerp(mc.from_numpy(np.array([1])), mc.from_numpy(np.array([2])), 0.5)
    with pytest.raises(TypeError, match="integer division with addcdiv"):
        mc.addcdiv(mc.tensor([1.0]), mc.from_numpy(np.array([1])), mc.from_numpy(np.array([2])))
    assert mc.addcmul(mc.tensor([1.0]), mc.tensor([2.0]), mc.tensor([3.0]), value=2).tolist() \
        == [13.0]
    assert mc.addcdiv(mc.tensor([1.0]), mc.tensor([2.0]), mc.tensor([4.0])).tolist() == [1.5]


def test_in_place_twins_record_the_graph_like_pytorch():
    torch = _t()
    a = np.array([0.5, -0.3, 1.5])

    def script(lib, x):
        y = x * 1
        y.addcmul_(x, x, value=0.5)
        y.addcdiv_(x, x * x + 1, value=2)
        y.lerp_(x * 2, 0.25)
        y.clamp_min_(-0.1).clamp_max_(2.0)
        y.fmod_(0.9)
        y = y.reciprocal_() * 1   # PyTorch's backward of reciprocal_ and tan_ reads the
        return y.tan_() * 1       # output: a later in-place op would make it raise

    mine, theirs = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out_mc, out_t = script(mc, mine), script(torch, theirs)
    np.testing.assert_allclose(out_mc.numpy(), out_t.detach().numpy(), rtol=1e-12)
    out_mc.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    # PyTorch's deprecated value-first order (old Adam code): v.addcmul_(0.5, g, g)
    v, g = mc.tensor([1.0, 2.0]), mc.tensor([2.0, 4.0])
    assert v.addcmul_(0.5, g, g).tolist() == [3.0, 10.0]
    assert mc.tensor([1.0, 0.0]).logical_not_().tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mc.tensor([1.0], requires_grad=True).reciprocal_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        mc.from_numpy(np.array([1, 2])).tan_()


def test_logical_ops_and_closeness_follow_pytorch():
    torch = _t()
    a, b = np.array([0.0, 1.0, -2.0, np.nan]), np.array([0.0, 0.0, 3.0, 1.0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        ours = getattr(mc, name)(mc.tensor(a), mc.tensor(b))
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(),
                                      getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        assert getattr(mc.tensor(a), name)(mc.tensor(b)).tolist() == ours.tolist()
    np.testing.assert_array_equal(mc.logical_not(mc.tensor(a)).numpy(),
                                  torch.logical_not(torch.tensor(a)))
    assert mc.logical_and(mc.tensor([[1.0], [0.0]]), mc.tensor([1.0, 1.0])).shape == (2, 2)
    x = np.array([1.0, 1.0 + 1e-6, np.inf, np.nan, -np.inf, 0.0])
    y = np.array([1.0, 1.0, np.inf, np.nan, np.inf, 1e-9])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}, {"atol": 1e-3}):
        np.testing.assert_array_equal(
            mc.isclose(mc.tensor(x), mc.tensor(y), **kwargs).numpy(),
            torch.isclose(torch.tensor(x), torch.tensor(y), **kwargs).numpy(), str(kwargs))
        assert mc.allclose(mc.tensor(x), mc.tensor(y), **kwargs) is torch.allclose(
            torch.tensor(x), torch.tensor(y), **kwargs)
    assert mc.tensor(x[:2]).allclose(mc.tensor(y[:2])) is True
    assert mc.tensor(x).isclose(mc.tensor(y)).dtype == np.bool_
    with pytest.raises(TypeError, match="isclose: other: expected dtype float32, got float64"):
        mc.isclose(mc.tensor([1.0]), mc.tensor(np.array([1.0])))
    with pytest.raises(ValueError, match="rtol must be greater than or equal to zero"):
        mc.isclose(mc.tensor([1.0]), mc.tensor([1.0]), rtol=-1)
    assert mc.equal(mc.tensor([1.0, 2.0]), mc.tensor([1.0, 2.0])) is True
    assert mc.equal(mc.tensor([1.0, 1.0]), mc.tensor([1.0])) is False
    assert mc.tensor([np.nan]).equal(mc.tensor([np.nan])) is False
    assert mc.equal(mc.from_numpy(np.array([1, 2])), mc.tensor([1.0, 2.0])) is True


@pytest.mark.parametrize("call, message", [
    (lambda: mc.tan(2.0), "tan: input: expected a Tensor, got float"),
    (lambda: mc.nan_to_num([1.0]), "nan_to_num: input: expected a Tensor, got list"),
    (lambda: mc.atan2(mc.ones(2), 2.0), "atan2: other: expected a Tensor, got float"),
    (lambda: mc.hypot(1.0, mc.ones(2)), "hypot: input: expected a Tensor, got float"),
    (lambda: mc.fmod(2.0, mc.ones(2)), "fmod: input: expected a Tensor, got float"),
    (lambda: mc.logaddexp(mc.ones(2), 1), "logaddexp: other: expected a Tensor, got int"),
    (lambda: mc.lerp(mc.ones(2), 1.0, 0.5), "lerp: end: expected a Tensor, got float"),
    (lambda: mc.logical_and(mc.ones(2), 1), "logical_and: other: expected a Tensor, got int"),
    (lambda: mc.logical_not(0), "logical_not: input: expected a Tensor, got int"),
    (lambda: mc.isclose(mc.ones(2), 1.0), "isclose: other: expected a Tensor, got float"),
    (lambda: mc.equal(mc.ones(2), [1.0, 1.0]), "equal: other: expected a Tensor, got list"),
    (lambda: mc.xlogy(1.0, 2.0), "xlogy: input or other must be a Tensor"),
    (lambda: mc.float_power(1.0, 2.0), "float_power: input or exponent must be a Tensor"),
    (lambda: mc.addcmul(1.0, mc.ones(1), mc.ones(1)), "addcmul: input: expected a Tensor"),
    (lambda: mc.clamp_min(0.0, 1.0), "clamp_min: input: expected a Tensor, got float"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_broadcast_errors_name_the_op():
    with pytest.raises(ValueError, match="atan2: shapes"):
        mc.atan2(mc.ones(2), mc.ones(3))
    with pytest.raises(ValueError, match="logical_or: shapes"):
        mc.logical_or(mc.ones(2), mc.ones(3))


def test_the_names_exist_as_functions_and_methods():
    functions = ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                 "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "expm1",
                 "log1p", "log10", "exp2", "reciprocal", "frac", "deg2rad", "rad2deg",
                 "nan_to_num", "atan2", "arctan2", "hypot", "fmod", "lerp", "logaddexp",
                 "logaddexp2", "xlogy", "float_power", "clamp_min", "clamp_max",
                 "logical_and", "logical_or", "logical_xor", "logical_not", "isclose",
                 "allclose", "equal", "addcmul", "addcdiv", "negative", "absolute"]
    x = mc.ones(1)
    for name in functions + ["neg", "clip", "divide", "true_divide", "multiply", "subtract"]:
        assert callable(getattr(mc, name)), name
    for name in functions:
        assert callable(getattr(x, name)), name
    for name in ["tan_", "sinh_", "arcsin_", "expm1_", "log1p_", "reciprocal_", "frac_",
                 "nan_to_num_", "atan2_", "hypot_", "fmod_", "lerp_", "xlogy_", "clamp_min_",
                 "clamp_max_", "logical_and_", "logical_not_", "addcmul_", "addcdiv_",
                 "negative_", "absolute_"]:
        assert callable(getattr(x, name)), name
