"""``minicnn.linalg`` (torch.linalg's norms, inv, det, solve): gradcheck and gradgradcheck
under hypothesis and the PyTorch oracle (forward, gradient, second derivative) through the
shared case table, plus the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from strategies import arrays, shapes


def _well_conditioned(data, batch_dims=1, vector=False, rhs=True):
    """A batch of n x n matrices near the identity (so inverses are tame), and a B."""
    n = data.draw(st.integers(1, 3))
    batch = tuple(data.draw(st.lists(st.integers(1, 3), max_size=batch_dims)))
    noise = data.draw(arrays(batch + (n, n), -0.4, 0.4))
    a = noise + 1.5 * np.eye(n)
    if not rhs:
        return [a]
    b_shape = batch + ((n,) if vector else (n, data.draw(st.integers(1, 3))))
    return [a, data.draw(arrays(b_shape))]


def _vector_norm_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    ord_ = data.draw(st.sampled_from([2, 1, 3, 0.5, float("inf"), float("-inf")]))
    dim = data.draw(st.sampled_from([None, -1, 0] + ([(0, -1)] if len(shape) > 1 else [])))
    away = 0.0 if ord_ in (1, 0.5, 3) else None
    x = data.draw(arrays(shape, 0.3, 2.0, away_from=away)) * data.draw(
        st.sampled_from([1.0, -1.0]))
    if ord_ in (float("inf"), float("-inf")):   # distinct magnitudes: no ties at the max
        x = np.sign(x) * (np.abs(x) + np.arange(x.size).reshape(x.shape) * 0.37)
    return [x], {"ord": ord_, "dim": dim, "keepdim": data.draw(st.booleans())}


def _matrix_norm_input(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3, min_side=2))
    ord_ = data.draw(st.sampled_from(["fro", 1, -1, float("inf"), float("-inf")]))
    x = data.draw(arrays(shape, 0.3, 2.0))
    x = x * np.where(np.arange(x.size).reshape(shape) % 2, -1.0, 1.0)
    x = x + np.arange(x.size).reshape(shape) * 0.29   # distinct row/column sums
    return [x], {"ord": ord_, "keepdim": data.draw(st.booleans())}


def _torch_linalg(name):
    def call(*xs, **kwargs):
        import torch
        return getattr(torch.linalg, name)(*xs, **kwargs)
    return call


CASES = [
    Case("vector_norm", _vector_norm_input, mc.linalg.vector_norm, _torch_linalg("vector_norm")),
    Case("matrix_norm", _matrix_norm_input, mc.linalg.matrix_norm, _torch_linalg("matrix_norm")),
    Case("norm", lambda data: [data.draw(arrays(data.draw(shapes(min_dims=1, max_dims=2)),
                                                0.3, 2.0))],
         mc.linalg.norm, _torch_linalg("norm")),
    Case("inv", lambda data: _well_conditioned(data, rhs=False), mc.linalg.inv,
         _torch_linalg("inv")),
    Case("det", lambda data: _well_conditioned(data, rhs=False), mc.linalg.det,
         _torch_linalg("det")),
    Case("solve", _well_conditioned, mc.linalg.solve, _torch_linalg("solve")),
    Case("solve-vector", lambda data: _well_conditioned(data, batch_dims=0, vector=True),
         mc.linalg.solve, _torch_linalg("solve")),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES, atol=1e-9,
                                                                    rtol=1e-7)


def test_solve_left_false_and_broadcast_batch():
    a = mc.tensor(np.eye(2) * 2.0)
    b = mc.tensor(np.ones((3, 4, 2)))
    np.testing.assert_allclose(mc.linalg.solve(a, b.transpose(-1, -2)).numpy(),
                               np.full((3, 2, 4), 0.5))
    np.testing.assert_allclose(mc.linalg.solve(a, b, left=False).numpy(), np.full((3, 4, 2), 0.5))


def test_linalg_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="square matrices"):
        mc.linalg.inv(mc.ones(2, 3))
    with pytest.raises(RuntimeError, match="singular"):
        mc.linalg.inv(mc.zeros(2, 2))
    with pytest.raises(NotImplementedError, match="SVD"):
        mc.linalg.matrix_norm(mc.ones(2, 2), ord="nuc")
    with pytest.raises(TypeError, match="floating-point"):
        mc.linalg.vector_norm(mc.arange(3))
    with pytest.raises(RuntimeError, match="rows"):
        mc.linalg.solve(mc.eye(2), mc.ones(3, 1))
    with pytest.raises(ValueError, match="matrix_norm"):
        mc.linalg.vector_norm(mc.ones(2), ord="fro")
