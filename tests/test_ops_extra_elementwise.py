"""Elementwise math of ops/elementwise_extra.py (sin, cos, rsqrt, log2, erf, floor, ceil,
round, trunc, sign, isnan, isinf, isfinite, // and %), einsum, eye and linspace:
gradcheck + gradgradcheck, the PyTorch oracle (forward, gradient, second derivative),
dtypes, edge cases and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import torch_or_skip
from strategies import arrays, shapes


def _t():
    return torch_or_skip()


def one(low=-3.0, high=3.0, away_from=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        return [data.draw(arrays(shape, low, high, away_from=away_from))]
    return draw


def between_jumps(data):
    """Values whose fractional part is in [0.1, 0.4] or [0.6, 0.9]: no integer and no half
    within a finite-difference step (floor, ceil, round, trunc jump there)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    whole = rng.integers(-3, 3, size=shape)
    fraction = rng.uniform(0.1, 0.4, size=shape) + 0.5 * rng.integers(0, 2, size=shape)
    return [(whole + fraction).astype(np.float64)]


def remainder_pair(data):
    """a and b with a / b at least 0.1 away from an integer (where a % b jumps)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    b = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    quotient = rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.9, size=shape)
    return [quotient * b, b]


def einsum_inputs(equation, *shapes_):
    def draw(data):
        return [data.draw(arrays(s)) for s in shapes_], {"equation": equation}
    return draw


EINSUMS = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
    ("ij,jk", (2, 3), (3, 4)),                 # implicit output
    ("i,i->", (3,), (3,)),                     # dot
    ("i,j->ij", (2,), (3,)),                   # outer
    ("ii->i", (3, 3)),                         # diagonal
    ("ii", (3, 3)),                            # trace
    ("ij->", (2, 3)),                          # sum of everything
    ("ij->ji", (2, 3)),                        # transpose
    ("iij->ij", (2, 2, 3)),                    # a diagonal with a free letter
    ("...ij,...jk->...ik", (2, 1, 2, 3), (3, 3, 2)),   # ellipsis with broadcasting
    ("bn,anm,bm->ba", (2, 3), (2, 3, 4), (2, 4)),      # bilinear (three operands)
    ("ijk->ki", (2, 3, 2)),                    # a letter summed away (j)
]

CASES = [
    Case("sin", one(), mc.sin, lambda x: _t().sin(x)),
    Case("cos", one(), lambda x: x.cos(), lambda x: x.cos()),
    Case("rsqrt", one(0.3, 3.0), mc.rsqrt, lambda x: _t().rsqrt(x)),
    Case("log2", one(0.3, 3.0), lambda x: x.log2(), lambda x: x.log2()),
    Case("erf", one(), mc.erf, lambda x: _t().erf(x)),
    Case("floor", between_jumps, mc.floor, lambda x: _t().floor(x)),
    Case("ceil", between_jumps, lambda x: x.ceil(), lambda x: x.ceil()),
    Case("round", between_jumps, mc.round, lambda x: _t().round(x)),
    Case("trunc", between_jumps, lambda x: x.trunc(), lambda x: x.trunc()),
    Case("sign", one(away_from=0.0), lambda x: x.sign(), lambda x: x.sign()),
    Case("remainder", remainder_pair, lambda a, b: a % b, lambda a, b: a % b),
    Case("remainder-scalar", one(0.05, 0.65), lambda a: mc.remainder(a, 0.7),
         lambda a: _t().remainder(a, 0.7)),
] + [Case(f"einsum-{eq}", einsum_inputs(eq, *s), lambda *xs, equation: mc.einsum(equation, *xs),
          lambda *xs, equation: _t().einsum(equation, *xs)) for eq, *s in EINSUMS]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_rounding_values_and_dtypes_follow_pytorch():
    torch = _t()
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.25, -0.75])
    for name in ("floor", "ceil", "round", "trunc", "sign"):
        np.testing.assert_array_equal(getattr(mc, name)(mc.tensor(x)).numpy(),
                                      getattr(torch, name)(torch.tensor(x)).numpy(), name)
        ints = mc.from_numpy(np.array([-2, 0, 3]))
        out = getattr(mc, name)(ints)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.numpy(), getattr(torch, name)(torch.tensor([-2, 0, 3])))
    np.testing.assert_allclose(mc.round(mc.tensor(x), decimals=1).numpy(),
                               torch.round(torch.tensor(x), decimals=1).numpy())
    assert mc.sin(mc.from_numpy(np.array([1, 2]))).dtype == np.float32


def test_tests_for_nan_and_inf():
    torch = _t()
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    for name in ("isnan", "isinf", "isfinite"):
        ours = getattr(mc.tensor(x), name)()
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), getattr(torch, name)(torch.tensor(x)).numpy())


def test_floor_divide_and_remainder_follow_python_and_pytorch():
    torch = _t()
    a, b = np.array([5, -5, 7, -7]), np.array([3, 3, -2, -2])
    ours, theirs = mc.from_numpy(a), torch.tensor(a)
    np.testing.assert_array_equal((ours // mc.from_numpy(b)).numpy(), (theirs // torch.tensor(b)))
    np.testing.assert_array_equal((ours % mc.from_numpy(b)).numpy(), (theirs % torch.tensor(b)))
    np.testing.assert_array_equal((ours // 2).numpy(), (theirs // 2).numpy())
    np.testing.assert_array_equal((7 // mc.from_numpy(b)).numpy(), (7 // torch.tensor(b)).numpy())
    np.testing.assert_array_equal((7 % mc.from_numpy(b)).numpy(), (7 % torch.tensor(b)).numpy())
    f = np.array([0.3, 1.7, -2.2])
    np.testing.assert_allclose((2.5 % mc.tensor(f)).numpy(), (2.5 % torch.tensor(f)).numpy())
    assert (ours // 2).dtype == np.int64 and (ours % 2).dtype == np.int64
    assert (ours % 0.5).dtype == np.float32 and (ours // mc.tensor([2.0])).dtype == np.float32
    np.testing.assert_allclose((ours % 0.75).numpy(), (theirs % 0.75).numpy())
    f = np.array([5.5, -5.5])
    np.testing.assert_allclose((mc.tensor(f) // 2).numpy(), (torch.tensor(f) // 2).numpy())
    np.testing.assert_allclose((mc.tensor(f) % -2).numpy(), (torch.tensor(f) % -2).numpy())
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        ours // 0
    x = mc.tensor(f, requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide: the derivative is not implemented"):
        (x // 2).sum().backward()


def test_rsqrt_and_log2_at_the_edges():
    torch = _t()
    x = np.array([0.0, 4.0, -1.0])
    np.testing.assert_array_equal(mc.rsqrt(mc.tensor(x)).numpy(), torch.rsqrt(torch.tensor(x)))
    np.testing.assert_array_equal(mc.log2(mc.tensor(x)).numpy(), torch.log2(torch.tensor(x)))


def test_einsum_errors_name_the_problem():
    a, b = mc.zeros(2, 3), mc.zeros(4, 5)
    with pytest.raises(ValueError, match="letter 'j' has size 3 in one operand and 4"):
        mc.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match="names 2 operands, got 1"):
        mc.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="subscripts 'ijk' name 3 dims"):
        mc.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="output letter 'z' appears in no operand"):
        mc.einsum("ij->z", a)
    with pytest.raises(ValueError, match="repeats a letter"):
        mc.einsum("ij->ii", a)
    with pytest.raises(TypeError, match="share one dtype"):
        mc.einsum("ij,ij->", a, mc.zeros(2, 3, dtype=np.float64))
    assert mc.einsum("ij,jk->ik", [mc.zeros(2, 3), mc.zeros(3, 4)]).shape == (2, 4)


def test_eye_and_linspace_match_pytorch():
    torch = _t()
    assert mc.eye(3).dtype == np.float32
    np.testing.assert_array_equal(mc.eye(3).numpy(), torch.eye(3).numpy())
    np.testing.assert_array_equal(mc.eye(2, 4, dtype=np.float64).numpy(), torch.eye(2, 4))
    np.testing.assert_allclose(mc.linspace(-1, 1, 5).numpy(), torch.linspace(-1, 1, 5).numpy(),
                               rtol=1e-6)
    assert mc.linspace(0, 1, 0).shape == (0,) and mc.linspace(2, 3, 1).tolist() == [2.0]
    assert mc.linspace(0, 1, 3).dtype == np.float32
    assert mc.eye(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="steps"):
        mc.linspace(0, 1, -1)
    with pytest.raises(ValueError, match="eye: n"):
        mc.eye(-1)


def test_a_number_modulo_a_tensor_is_differentiable():
    """``2.5 % x``: d/dx = -floor(2.5 / x) (PyTorch has no derivative for this form)."""
    x = mc.tensor(np.array([0.9, 1.1, 3.0, -0.8]), requires_grad=True)
    assert gradcheck(lambda t: 2.5 % t, [x]) and gradgradcheck(lambda t: 2.5 % t, [x])
    (2.5 % x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.floor(2.5 / x.numpy()))
