"""diagonal, diag, trace, outer (minicnn.ops.diagonals) against PyTorch, to second order."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip

CASES = [
    ("diagonal", (3, 4), dict(offset=0)),
    ("diagonal", (3, 4), dict(offset=2)),
    ("diagonal", (3, 4), dict(offset=-2)),
    ("diagonal", (3, 4), dict(offset=5)),            # past the matrix: empty, as PyTorch
    ("diagonal", (2, 3, 4), dict(offset=1, dim1=2, dim2=0)),
    ("diag", (4,), dict(diagonal=0)),
    ("diag", (4,), dict(diagonal=-2)),
    ("diag", (3, 5), dict(diagonal=1)),
    ("trace", (4, 3), {}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name, shape, kwargs", CASES)
def test_matches_pytorch(name, shape, kwargs):
    torch = torch_or_skip()
    x = np.random.default_rng(0).normal(size=shape)
    check_against_torch(lambda t: getattr(mc, name)(t, **kwargs) ** 2,
                        lambda t: getattr(torch, name)(t, **kwargs) ** 2, [x])


@pytest.mark.oracle
def test_outer_matches_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    check_against_torch(lambda u, v: mc.outer(u, v) ** 2, lambda u, v: torch.outer(u, v) ** 2,
                        [rng.normal(size=3), rng.normal(size=4)])


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), offset=st.integers(-6, 6))
def test_diagonal_is_numpys_and_differentiable(rows, cols, offset):
    x = np.random.default_rng(rows * 7 + cols).normal(size=(rows, cols))
    np.testing.assert_array_equal(mc.tensor(x).diagonal(offset).numpy(),
                                  np.diagonal(x, offset))
    t = mc.tensor(x, requires_grad=True)
    assert gradcheck(lambda a: a.diagonal(offset) ** 3, (t,))
    assert gradgradcheck(lambda a: a.diagonal(offset) ** 3, (t,))
    v = mc.tensor(x[0], requires_grad=True)
    assert gradcheck(lambda a: mc.diag(a, offset) ** 3, (v,))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="diagonal: dim1 and dim2 must differ"):
        mc.ones(2, 2).diagonal(0, 1, 1)
    with pytest.raises(ValueError, match="diag: input: expected a 1-d or 2-d"):
        mc.diag(mc.ones(2, 2, 2))
    with pytest.raises(ValueError, match="trace: input: expected a matrix"):
        mc.ones(3).trace()
    with pytest.raises(ValueError, match="outer: expected two 1-d tensors"):
        mc.outer(mc.ones(2, 2), mc.ones(2))
