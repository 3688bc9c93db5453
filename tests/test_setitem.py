"""``x[index] = value`` (minicnn.ops.setitem): values, gradients to second order and the
in-place rules, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.ops.setitem import index_put

from oracle import check_against_torch, torch_or_skip

# (shape of x, index as a function of the array module's index-array maker, shape of value)
INDEXES = [
    ((4, 3), lambda a: 1, (3,)),
    ((4, 3), lambda a: (slice(1, 3), 0), (2,)),
    ((4, 3), lambda a: (slice(None), slice(None, None, 2)), (1,)),
    ((4, 3), lambda a: -1, ()),
    ((2, 3, 4), lambda a: (Ellipsis, 1), (3,)),
    ((2, 3, 4), lambda a: (None, 0, slice(1, 3)), (2, 4)),
    ((2, 3, 4), lambda a: a([1, 0]), (3, 4)),
    ((2, 3, 4), lambda a: (1, slice(None), a([0, 3])), (3, 2)),   # PyTorch's rule, not NumPy's
    ((2, 3, 4), lambda a: (a([0, 1]), a([2, 0])), (4,)),
    ((3, 4), lambda a: a(np.array([[True, False, True, False]] * 3)), ()),
]


def _torch_index(torch, make):
    return make(lambda v: torch.as_tensor(np.asarray(v)))


def _mc_index(make):
    return make(lambda v: mc.tensor(np.asarray(v)))


@pytest.mark.oracle
@pytest.mark.parametrize("x_shape, make, v_shape", INDEXES)
def test_values_and_gradients_match_pytorch(x_shape, make, v_shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=x_shape), rng.normal(size=v_shape)

    def ours(x, v):
        y = x * 1
        y[_mc_index(make)] = v
        return y * y

    def theirs(x, v):
        y = x * 1
        y[_torch_index(torch, make)] = v
        return y * y

    check_against_torch(ours, theirs, [x, v])


@pytest.mark.parametrize("x_shape, make, v_shape", INDEXES)
def test_gradcheck_and_gradgradcheck(x_shape, make, v_shape):
    rng = np.random.default_rng(1)
    x = mc.tensor(rng.normal(size=x_shape), requires_grad=True)
    v = mc.tensor(rng.normal(size=v_shape), requires_grad=True)

    def fn(x, v):
        return index_put(x, _mc_index(make), v) ** 2

    assert gradcheck(fn, (x, v))
    assert gradgradcheck(fn, (x, v))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), data=st.data())
def test_slices_match_numpy_assignment(n, m, data):
    """Without index arrays, PyTorch's and NumPy's rules agree: NumPy is the reference."""
    start = data.draw(st.integers(-n, n))
    stop = data.draw(st.integers(-n, n))
    step = data.draw(st.integers(1, 3))
    column = data.draw(st.integers(-m, m - 1))
    index = (slice(start, stop, step), column)
    x = np.arange(n * m, dtype=np.float32).reshape(n, m)
    expected = x.copy()
    expected[index] = -1
    ours = mc.tensor(x)
    ours[index] = -1
    np.testing.assert_array_equal(ours.numpy(), expected)


def test_counting_into_an_integer_tensor_as_a_confusion_matrix():
    labels, predictions = [0, 1, 1, 2, 1], [0, 1, 2, 2, 1]
    matrix = mc.zeros(3, 3, dtype=mc.long)
    for t, p in zip(mc.tensor(labels), mc.tensor(predictions)):
        matrix[t.long(), p.long()] += 1
    expected = np.zeros((3, 3), dtype=np.int64)
    np.add.at(expected, (labels, predictions), 1)
    np.testing.assert_array_equal(matrix.numpy(), expected)
    assert matrix.dtype == np.int64


def test_a_float_value_into_an_integer_tensor_is_cast_as_pytorch():
    x = mc.zeros(3, dtype=mc.long)
    x[0] = 2.7
    assert x.dtype == np.int64 and x.tolist() == [2, 0, 0]


def test_building_a_tensor_from_pieces_keeps_the_gradient_of_each_piece():
    z = mc.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = mc.zeros(2, 3, dtype=mc.float64)
    out[0] = z * 2
    out[1, 1:] = z[:2] ** 2
    out.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [2 + 2 * 1.0, 2 + 2 * 2.0, 2])


def test_repeated_positions_keep_the_last_value_and_its_gradient():
    """PyTorch leaves the order unspecified (and hands a gradient to every repeat, also to
    the values it overwrote); minicnn's last write wins, and only it gets a gradient."""
    x = mc.zeros(3, dtype=mc.float64)
    v = mc.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[mc.tensor([1, 1, 0])] = v
    assert x.tolist() == [3.0, 2.0, 0.0]
    x.sum().backward()
    assert v.grad.tolist() == [0.0, 1.0, 1.0]


def test_in_place_rules_hold():
    w = mc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 3.0
    with mc.no_grad():
        w[0] = 3.0
    assert w.tolist() == [3.0, 1.0] and w.requires_grad
    x = mc.ones(3, requires_grad=True) * 1
    y = x * x            # needs x's old value for its gradient
    version = x._version
    x[0] = 5.0
    assert x._version == version + 1
    y.sum().backward()   # rebased: the old value was kept, as PyTorch's CopySlices
    with pytest.raises(ValueError, match="cannot be broadcast to the indexed shape"):
        mc.zeros(4, 3)[1] = mc.ones(2)
