"""sort, argsort, topk, cumsum, prod, logsumexp, any, all (ops/sort_scan.py): gradcheck +
gradgradcheck, the PyTorch oracle (forward, gradient, second derivative), return types,
dtypes, edge cases (zeros in prod, -inf in logsumexp, ties in sort) and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes, tie_free


def _t():
    return torch_or_skip()


def along(values="any", keepdim=False, min_side=1):
    """An array and a dim of it; ``values='tie_free'`` for sort-like ops."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=min_side))
        x = data.draw(tie_free(shape)) if values == "tie_free" else data.draw(arrays(shape))
        kwargs = {"dim": data.draw(st.integers(-len(shape), len(shape) - 1))}
        if keepdim:
            kwargs["keepdim"] = data.draw(st.booleans())
        return [x], kwargs
    return draw


def with_zeros(data):
    """prod's inputs: sometimes one or two exact zeros along the reduced dim."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(arrays(shape, 0.5, 1.5)) * np.where(
        np.random.default_rng(data.draw(st.integers(0, 99))).random(shape) < 0.5, -1, 1)
    zeros = data.draw(st.integers(0, 2))
    flat = x.reshape(-1).copy()
    flat[:zeros] = 0.0
    x = flat.reshape(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    return [x], ({"dim": dim, "keepdim": data.draw(st.booleans())} if dim is not None else {})


def topk_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    return [data.draw(tie_free(shape))], {"k": k, "dim": dim,
                                          "largest": data.draw(st.booleans())}


def logsumexp_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1))
    dim = dims[0] if len(dims) == 1 else tuple(dims)
    return [data.draw(arrays(shape, -5, 5))], {"dim": dim, "keepdim": data.draw(st.booleans())}


CASES = [
    Case("sort", along("tie_free"), lambda x, dim: x.sort(dim)[0],
         lambda x, dim: x.sort(dim)[0]),
    Case("sort-descending", along("tie_free"),
         lambda x, dim: mc.sort(x, dim, descending=True).values,
         lambda x, dim: _t().sort(x, dim, descending=True).values),
    Case("topk", topk_inputs, lambda x, **kw: x.topk(**kw).values,
         lambda x, **kw: x.topk(**kw).values),
    Case("cumsum", along(), lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim)),
    Case("prod", with_zeros, lambda x, **kw: x.prod(**kw), lambda x, **kw: x.prod(**kw)),
    Case("logsumexp", logsumexp_inputs, lambda x, **kw: x.logsumexp(**kw),
         lambda x, **kw: x.logsumexp(**kw)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_sort_and_topk_return_values_and_indices_like_pytorch():
    torch = _t()
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]])
    for descending in (False, True):
        ours = mc.tensor(x).sort(dim=1, descending=descending, stable=True)
        theirs = torch.tensor(x).sort(dim=1, descending=descending, stable=True)
        values, indices = ours
        np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
        assert ours.indices.dtype == np.int64
        np.testing.assert_array_equal(
            mc.argsort(mc.tensor(x), 1, descending=descending).numpy(),
            torch.argsort(torch.tensor(x), dim=1, descending=descending, stable=True).numpy())
    values, indices = mc.tensor(x).topk(2)
    np.testing.assert_array_equal(values.numpy(), [[3.0, 2.0], [5.0, 5.0]])
    np.testing.assert_array_equal(indices.numpy(), [[0, 2], [1, 2]])
    nan = np.array([1.0, np.nan, -1.0])
    np.testing.assert_array_equal(mc.tensor(nan).sort().values.numpy(),
                                  torch.tensor(nan).sort().values.numpy())
    np.testing.assert_array_equal(mc.tensor(nan).sort(descending=True).indices.numpy(),
                                  torch.tensor(nan).sort(descending=True).indices.numpy())


def test_sort_gradient_goes_back_to_where_each_value_came_from():
    x = mc.tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    values, _ = x.sort()
    (values * mc.tensor(np.array([10.0, 20.0, 30.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 10.0, 20.0])


def test_prod_gradients_with_zeros_match_pytorch():
    for row in ([2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [0.0, 1.5, -2.0, 0.5]):
        check_against_torch(lambda x: x.prod(), lambda x: x.prod(), [np.array(row)])
        check_against_torch(lambda x: x.prod(0, keepdim=True),
                            lambda x: x.prod(0, keepdim=True), [np.array(row)])


def test_logsumexp_extremes():
    torch = _t()
    x = np.array([[-np.inf, -np.inf], [1000.0, 1000.0], [np.inf, 0.0], [-1000.0, 0.0]])
    ours = mc.tensor(x).logsumexp(1).numpy()
    np.testing.assert_allclose(ours, torch.tensor(x).logsumexp(1).numpy())
    t = mc.tensor(np.array([1000.0, 1000.0]), requires_grad=True)
    t.logsumexp(0).backward()
    np.testing.assert_allclose(t.grad.numpy(), [0.5, 0.5])


def test_dtypes_follow_pytorch():
    ints = mc.from_numpy(np.array([1, 2, 3], dtype=np.int32))
    assert ints.cumsum(0).dtype == np.int64 and ints.prod().dtype == np.int64
    assert mc.from_numpy(np.array([True, True])).cumsum(0).tolist() == [1, 2]
    assert mc.logsumexp(mc.from_numpy(np.array([1, 2])), 0).dtype == np.float32
    x32 = mc.tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert x32.cumsum(0).dtype == np.float32 and x32.prod().dtype == np.float32
    assert x32.cumsum(0, dtype=np.float64).dtype == np.float64


def test_any_all_match_pytorch():
    torch = _t()
    x = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    for fn in ("any", "all"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": -1}):
            ours = getattr(mc.tensor(x), fn)(**kwargs)
            theirs = getattr(torch.tensor(x), fn)(**kwargs)
            assert ours.dtype == np.bool_
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert getattr(mc, fn)(mc.tensor(x)).item() == getattr(torch, fn)(torch.tensor(x)).item()


def test_zero_dim_inputs():
    x = mc.tensor(np.array(2.5), requires_grad=True)
    assert x.cumsum(0).item() == 2.5 and x.prod(0).item() == 2.5
    assert x.sort().values.item() == 2.5 and x.argsort().item() == 0
    assert x.logsumexp(0).item() == pytest.approx(2.5)
    assert x.topk(1).values.item() == 2.5


def test_errors_name_the_argument():
    x = mc.zeros(2, 3)
    with pytest.raises(ValueError, match=r"topk: k: expected an int in \[0, 3\]"):
        x.topk(4)
    with pytest.raises(IndexError, match="dim"):
        x.cumsum(2)
    with pytest.raises(IndexError, match="dim"):
        x.sort(dim=-3)
    with pytest.raises(TypeError, match="prod: dim"):
        x.prod((0, 1))
    with pytest.raises(TypeError, match="expected a Tensor"):
        mc.cumsum(np.zeros(3), 0)
