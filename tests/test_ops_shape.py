"""Shape and indexing ops: gradcheck + gradgradcheck under hypothesis, PyTorch oracle."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import minicnn as mc
from strategies import arrays, shapes
from cases import Case, case_tests


def three_d(data):
    shape = data.draw(shapes(min_dims=3, max_dims=3, min_side=1, max_side=4))
    return [data.draw(arrays(shape))]


def four_d(data):
    shape = data.draw(shapes(min_dims=4, max_dims=4, min_side=1, max_side=3))
    return [data.draw(arrays(shape))]


def with_ones(data):
    shape = list(data.draw(shapes(min_dims=2, max_dims=3, max_side=3)))
    shape.insert(data.draw(st.integers(0, len(shape))), 1)
    return [data.draw(arrays(tuple(shape)))]


def index_draw(data):
    """A (4, 5) array and repeated integer indices (to test scatter-add)."""
    return [data.draw(arrays((4, 5)))]


def cat_draw(data):
    rows = [data.draw(st.integers(1, 3)) for _ in range(3)]
    return [data.draw(arrays((r, 2, 3))) for r in rows]


def stack_draw(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2, max_side=3))
    return [data.draw(arrays(shape)) for _ in range(3)]


def torch():
    import torch as t

    return t


REPEATED = np.array([0, 2, 2, 3, 0])

CASES = [
    Case("reshape", three_d, lambda x: x.reshape(-1, x.shape[-1]),
         lambda x: x.reshape(-1, x.shape[-1])),
    Case("view", three_d, lambda x: x.view(x.shape[0], -1), lambda x: x.reshape(x.shape[0], -1)),
    Case("flatten", four_d, lambda x: x.flatten(1), lambda x: x.flatten(1)),
    Case("flatten-mid", four_d, lambda x: x.flatten(1, 2), lambda x: x.flatten(1, 2)),
    Case("permute", three_d, lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    Case("transpose", three_d, lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
    Case("squeeze", with_ones, lambda x: x.squeeze(), lambda x: x.squeeze()),
    Case("unsqueeze", three_d, lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
    Case("expand", lambda d: [d.draw(arrays((3, 1)))], lambda x: x.expand(2, 3, 4),
         lambda x: x.expand(2, 3, 4)),
    Case("getitem-slices", three_d, lambda x: x[..., ::2, 1:], lambda x: x[..., ::2, 1:]),
    Case("getitem-int", three_d, lambda x: x[0, :, -1], lambda x: x[0, :, -1]),
    Case("getitem-repeated", index_draw, lambda x: x[REPEATED, 1:4],
         lambda x: x[torch().tensor(REPEATED), 1:4]),
    Case("getitem-2d-index", index_draw, lambda x: x[REPEATED, REPEATED],
         lambda x: x[torch().tensor(REPEATED), torch().tensor(REPEATED)]),
    Case("getitem-mask", index_draw, lambda x: x[x > 0.1], lambda x: x[x > 0.1]),
    Case("cat", cat_draw, lambda *xs: mc.cat(xs, dim=0), lambda *xs: torch().cat(xs, dim=0)),
    Case("stack", stack_draw, lambda *xs: mc.stack(xs, dim=1),
         lambda *xs: torch().stack(xs, dim=1)),
    Case("pad", four_d, lambda x: mc.pad(x, (1, 2, 0, 1), value=0.5),
         lambda x: torch().nn.functional.pad(x, (1, 2, 0, 1), value=0.5)),
    Case("pad-crop", lambda d: [d.draw(arrays((2, 4, 5)))], lambda x: mc.pad(x, (-1, 2, 1, -2)),
         lambda x: torch().nn.functional.pad(x, (-1, 2, 1, -2))),
]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_repeated_indices_add_up():
    x = mc.tensor(np.zeros(4), requires_grad=True)
    x[mc.tensor(np.array([1, 1, 3]))].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 0, 1])


def test_transpose_property_and_t():
    x = mc.tensor(np.arange(6.0).reshape(2, 3))
    assert x.T.shape == (3, 2) and x.t().shape == (3, 2)


def test_broadcast_gradient_is_summed_back():
    a = mc.tensor(np.ones((3, 1)), requires_grad=True)
    b = mc.tensor(np.ones((2, 1, 4)), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (2, 1, 4)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((2, 1, 4), 3.0))
