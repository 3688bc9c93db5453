"""The reductions and linear algebra of ops/reduce_linalg_more.py: gradcheck +
gradgradcheck and the PyTorch oracle (forward, gradient, second derivative) for each
differentiable op; dtypes, named results and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minicnn as mc
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes, tie_free


def _t():
    return torch_or_skip()


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def x_dim(min_dims=1, max_dims=3, **kw):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims))
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        return [data.draw(arrays(shape, **kw))], {"dim": dim}
    return draw


def with_zeros(data):
    """Exact zeros among values kept 0.05 away from 0 (near 0 but not at it, the second
    derivative of cumprod's division formula loses precision, in PyTorch too)."""
    (x,), kw = x_dim(away_from=0.0)(data)
    x = np.array(x)
    x[_rng(data).random(x.shape) < 0.3] = 0.0
    return [x], kw


def with_nans(keepdim_and_dim=True):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=2))
        kw = {"dim": data.draw(st.integers(-len(shape), len(shape) - 1))}
        x = np.array(data.draw(arrays(shape)))
        x.reshape(-1)[0] = np.nan          # every slice keeps a number (min_side=2)
        if data.draw(st.booleans()):
            kw["dim"] = None
        return [x], {**kw, "keepdim": data.draw(st.booleans())}
    return draw


def tie_free_dim(data, min_dims=1):
    shape = data.draw(shapes(min_dims=min_dims, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    return data.draw(tie_free(shape)), dim


def median_inputs(data):
    x, dim = tie_free_dim(data)
    return [x], {"dim": dim, "keepdim": data.draw(st.booleans())}


def median_all_inputs(data):
    shape = data.draw(shapes(min_dims=0, max_dims=3)) if data.draw(st.booleans()) else ()
    return [data.draw(tie_free(shape))], {}


def quantile_inputs(data):
    x, dim = tie_free_dim(data)
    q = data.draw(st.sampled_from([0.0, 0.3, 0.5, 1.0, 0.75]))
    if data.draw(st.booleans()):
        q = np.asarray(data.draw(st.lists(st.floats(0, 1), min_size=1, max_size=3)))
    return [x], {"q": q, "dim": None if data.draw(st.booleans()) else dim,
                 "keepdim": data.draw(st.booleans()),
                 "interpolation": data.draw(st.sampled_from(
                     ["linear", "lower", "higher", "nearest", "midpoint"]))}


def std_mean_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=2))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=2))
    return [data.draw(tie_free(shape))], {"dim": tuple(dims) or None,   # std > 0
                                        "correction": data.draw(st.sampled_from([0, 1])),
                                        "keepdim": data.draw(st.booleans())}


def diff_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays_, kw = [data.draw(arrays(shape))], {"n": data.draw(st.integers(0, 3)), "dim": dim}
    side = list(shape)
    side[dim] = data.draw(st.integers(1, 2))
    for name in ("prepend", "append"):
        kw[name] = data.draw(arrays(tuple(side))) if data.draw(st.booleans()) else None
    return arrays_, kw


def trapezoid_inputs(data):
    (y,), kw = x_dim()(data)
    size = y.shape[kw["dim"]]
    kind = data.draw(st.sampled_from(["none", "dx", "x1", "xfull"]))
    if kind == "dx":
        kw["dx"] = data.draw(st.sampled_from([0.5, 2.0]))
    if kind == "x1":
        return [y, data.draw(arrays((size,)))], kw
    if kind == "xfull":
        return [y, data.draw(arrays(y.shape))], kw
    return [y], kw


def vectors(count):
    def draw(data):
        n = data.draw(st.integers(1, 5))
        return [data.draw(arrays((n,))) for _ in range(count)], {}
    return draw


def matrix_vector(with_input):
    def draw(data):
        n, m = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
        out = [data.draw(arrays((n, m))), data.draw(arrays((m,)))]
        if not with_input:
            return out, {}
        shape = data.draw(st.sampled_from([(n,), (1,), ()]))
        return [data.draw(arrays(shape))] + out, {"beta": data.draw(st.sampled_from([1, 0.5])),
                                                  "alpha": data.draw(st.sampled_from([1, -2]))}
    return draw


def addmm_inputs(batched):
    def draw(data):
        b, n, k, m = (data.draw(st.integers(1, 3)) for _ in range(4))
        lead = (b,) if batched else ()
        shape = data.draw(st.sampled_from([lead + (n, m), (m,), (1, m), ()]))
        return [data.draw(arrays(shape)), data.draw(arrays(lead + (n, k))),
                data.draw(arrays(lead + (k, m)))], {
            "beta": data.draw(st.sampled_from([1, 0.5])),
            "alpha": data.draw(st.sampled_from([1, -2]))}
    return draw


def inner_inputs(data):
    n = data.draw(st.integers(1, 3))
    a = data.draw(shapes(min_dims=0, max_dims=2)) if data.draw(st.booleans()) else ()
    b = data.draw(shapes(min_dims=0, max_dims=2))
    return [data.draw(arrays(tuple(a) + (n,))), data.draw(arrays(tuple(b) + (n,)))], {}


def tensordot_inputs(data):
    shared = data.draw(st.lists(st.integers(1, 3), max_size=2))
    free_a = data.draw(st.lists(st.integers(1, 3), max_size=2))
    free_b = data.draw(st.lists(st.integers(1, 3), max_size=2))
    if data.draw(st.booleans()):
        a, b = free_a + shared, shared + free_b
        return [data.draw(arrays(tuple(a))), data.draw(arrays(tuple(b)))], {"dims": len(shared)}
    order_a = data.draw(st.permutations(range(len(free_a) + len(shared))))
    order_b = data.draw(st.permutations(range(len(free_b) + len(shared))))
    sizes_a, sizes_b = free_a + shared, free_b + shared
    a = tuple(sizes_a[i] for i in order_a)
    b = tuple(sizes_b[i] for i in order_b)
    dims_a = [list(order_a).index(len(free_a) + j) for j in range(len(shared))]
    dims_b = [list(order_b).index(len(free_b) + j) for j in range(len(shared))]
    return [data.draw(arrays(a)), data.draw(arrays(b))], {"dims": (dims_a, dims_b)}


def kron_inputs(data):
    a = data.draw(shapes(min_dims=0, max_dims=3, max_side=3))
    b = data.draw(shapes(min_dims=0, max_dims=3, max_side=3))
    return [data.draw(arrays(a)), data.draw(arrays(b))], {}


def cross_inputs(data):
    shape = list(data.draw(shapes(min_dims=1, max_dims=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = 3
    other = list(shape)
    if data.draw(st.booleans()):
        other[0 if dim % len(shape) else -1 if len(shape) > 1 else 0] = 1
    if other[dim] != 3:
        other = list(shape)
    use_none = data.draw(st.booleans()) and 3 not in shape[:dim % len(shape)]
    return [data.draw(arrays(tuple(shape))), data.draw(arrays(tuple(other)))], {
        "dim": None if use_none else dim}


def cdist_inputs(data):
    batch = data.draw(st.sampled_from([(), (2,)]))
    p, r, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    values = data.draw(tie_free((int(np.prod(batch or (1,))) * (p + r) * m,)))
    x1 = values[:int(np.prod(batch or (1,))) * p * m].reshape(batch + (p, m))
    x2 = values[x1.size:].reshape(batch + (r, m))
    return [x1, x2], {"p": data.draw(st.sampled_from([2.0, 1.0, 3.0, 0.5]))}


def dist_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    values = data.draw(tie_free((2 * int(np.prod(shape)),)))
    return [values[:values.size // 2].reshape(shape), values[values.size // 2:].reshape(
        shape)], {"p": data.draw(st.sampled_from([2, 1, 3]))}


def square_inputs(data):
    n = data.draw(st.integers(1, 4))
    batch = data.draw(st.sampled_from([(), (2,), (2, 1)]))
    a = data.draw(arrays(batch + (n, n), low=-1.0, high=1.0))
    return [np.asarray(a) + 3 * np.eye(n)], {}


def _first_3(a, b):
    """torch.cross's deprecated dim=None (the first dim of size 3), without its warning."""
    return list(np.broadcast_shapes(tuple(a.shape), tuple(b.shape))).index(3)


def _pair(result):
    return result[0] + 2 * result[1]


CASES = [
    Case("cumprod", x_dim(away_from=0.0), lambda x, dim: x.cumprod(dim),
         lambda x, dim: x.cumprod(dim)),
    Case("cumprod-zeros", with_zeros, lambda x, dim: mc.cumprod(x, dim),
         lambda x, dim: _t().cumprod(x, dim)),
    Case("nansum", with_nans(), lambda x, **kw: x.nansum(**kw), lambda x, **kw: x.nansum(**kw)),
    Case("nanmean", with_nans(), lambda x, **kw: mc.nanmean(x, **kw),
         lambda x, **kw: _t().nanmean(x, **kw)),
    Case("median", median_all_inputs, lambda x: x.median(), lambda x: x.median()),
    Case("median-dim", median_inputs, lambda x, **kw: x.median(**kw).values,
         lambda x, **kw: x.median(**kw).values),
    Case("quantile", quantile_inputs, lambda x, q, **kw: x.quantile(
        mc.tensor(q) if isinstance(q, np.ndarray) else q, **kw),
        lambda x, q, **kw: x.quantile(_t().tensor(q) if isinstance(q, np.ndarray) else q,
                                      **kw)),
    Case("std_mean", std_mean_inputs, lambda x, **kw: _pair(mc.std_mean(x, **kw)),
         lambda x, **kw: _pair(_t().std_mean(x, **kw))),
    Case("var_mean", std_mean_inputs, lambda x, **kw: _pair(mc.var_mean(x, **kw)),
         lambda x, **kw: _pair(_t().var_mean(x, **kw))),
    Case("diff", diff_inputs, lambda x, prepend, append, **kw: x.diff(
        prepend=None if prepend is None else mc.tensor(prepend),
        append=None if append is None else mc.tensor(append), **kw),
        lambda x, prepend, append, **kw: x.diff(
            prepend=None if prepend is None else _t().tensor(prepend),
            append=None if append is None else _t().tensor(append), **kw)),
    Case("trapezoid", trapezoid_inputs, lambda *a, **kw: mc.trapezoid(*a, **kw),
         lambda *a, **kw: _t().trapezoid(*a, **kw)),
    Case("trapz", trapezoid_inputs, lambda *a, **kw: mc.trapz(*a, **kw),
         lambda *a, **kw: _t().trapz(*a, **kw)),
    Case("dot", vectors(2), lambda a, b: a.dot(b), lambda a, b: a.dot(b)),
    Case("vdot", vectors(2), lambda a, b: mc.vdot(a, b), lambda a, b: _t().vdot(a, b)),
    Case("inner", inner_inputs, lambda a, b: a.inner(b), lambda a, b: a.inner(b)),
    Case("mv", matrix_vector(False), lambda a, v: a.mv(v), lambda a, v: a.mv(v)),
    Case("addmv", matrix_vector(True), lambda i, a, v, **kw: i.addmv(a, v, **kw),
         lambda i, a, v, **kw: i.addmv(a, v, **kw)),
    Case("addmm", addmm_inputs(False), lambda i, a, b, **kw: mc.addmm(i, a, b, **kw),
         lambda i, a, b, **kw: _t().addmm(i, a, b, **kw)),
    Case("baddbmm", addmm_inputs(True), lambda i, a, b, **kw: i.baddbmm(a, b, **kw),
         lambda i, a, b, **kw: i.baddbmm(a, b, **kw)),
    Case("tensordot", tensordot_inputs, lambda a, b, dims: mc.tensordot(a, b, dims),
         lambda a, b, dims: _t().tensordot(a, b, dims)),
    Case("kron", kron_inputs, lambda a, b: a.kron(b), lambda a, b: a.kron(b)),
    Case("cross", cross_inputs, lambda a, b, dim: a.cross(b, dim=dim),
         lambda a, b, dim: _t().cross(a, b, dim=_first_3(a, b) if dim is None else dim)),
    Case("cdist", cdist_inputs, lambda a, b, p: mc.cdist(a, b, p),
         lambda a, b, p: (a.unsqueeze(-2) - b.unsqueeze(-3)).norm(p=p, dim=-1)),  # below
    Case("dist", dist_inputs, lambda a, b, p: a.dist(b, p), lambda a, b, p: a.dist(b, p)),
    Case("det", square_inputs, lambda a: a.det(), lambda a: a.det()),
    Case("inverse", square_inputs, lambda a: mc.inverse(a), lambda a: _t().inverse(a)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES, atol=1e-6)


@given(data=st.data())
def test_cdist_forward_and_gradient_match_torch_cdist(data):
    """torch.cdist itself has no second derivative (the Case compares with the same
    distances written as a norm): forward and gradient against torch.cdist here."""
    values, kw = cdist_inputs(data)
    check_against_torch(lambda a, b: mc.cdist(a, b, **kw), lambda a, b: _t().cdist(a, b, **kw),
                        values, atol=1e-6, second_order=False)
    for p in (0.0, float("inf")):
        ours = mc.cdist(mc.tensor(values[0]), mc.tensor(values[1]), p).numpy()
        theirs = _t().cdist(_t().tensor(values[0]), _t().tensor(values[1]), p).numpy()
        np.testing.assert_allclose(ours, theirs)


@given(data=st.data())
def test_mode_matches_pytorch(data):
    """mode's value jumps when a value moves (no finite differences): values, indices
    (the last occurrence; ties: the smallest value) and the gradient against PyTorch."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _rng(data).integers(0, 3, size=shape).astype(np.float64)
    keepdim = data.draw(st.booleans())
    check_against_torch(lambda a: a.mode(dim, keepdim).values,
                        lambda a: a.mode(dim, keepdim).values, [x])
    ours, theirs = mc.tensor(x).mode(dim, keepdim), _t().tensor(x).mode(dim, keepdim)
    assert type(ours).__name__ == "mode" and ours.indices.dtype == np.int64
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@given(data=st.data())
def test_median_indices_match_pytorch(data):
    x, dim = tie_free_dim(data)
    if data.draw(st.booleans()):
        x = np.array(x)
        x.reshape(-1)[_rng(data).integers(0, x.size)] = np.nan
    for keepdim in (False, True):
        ours = mc.tensor(x).median(dim, keepdim)
        theirs = _t().tensor(x).median(dim, keepdim)
        assert type(ours).__name__ == "median" and ours.indices.dtype == np.int64
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(mc.tensor(x).median().numpy(), _t().tensor(x).median().numpy())


def test_dtypes_and_edge_cases_follow_pytorch():
    torch = torch_or_skip()
    ints = np.array([[3, 0, 2], [1, 5, 0]])
    assert mc.from_numpy(ints).cumprod(1).dtype == np.int64
    np.testing.assert_array_equal(mc.from_numpy(ints).cumprod(1).numpy(),
                                  torch.tensor(ints).cumprod(1).numpy())
    for dim in (None, 0, (0, 1)):
        ours = mc.count_nonzero(mc.from_numpy(ints), dim)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), torch.count_nonzero(torch.tensor(ints),
                                                                        dim).numpy())
    assert mc.from_numpy(ints).median().item() == torch.tensor(ints).median().item()
    assert np.isnan(mc.zeros(0).median().item())
    assert mc.diff(mc.from_numpy(np.array([True, False, False]))).tolist() == [True, False]
    assert mc.diff(mc.zeros(3, 2), n=5, dim=0).shape == (0, 2)
    assert mc.trapezoid(mc.zeros(2, 0)).shape == (2,)
    nan = mc.tensor(np.array([[np.nan, 1.0], [2.0, 3.0]]))
    out = mc.addmm(nan, mc.tensor(np.eye(2)), mc.tensor(np.eye(2)), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.eye(2))       # beta=0 ignores NaN
    assert np.isnan(nan.quantile(0.5, dim=1).numpy()[0])
    x = mc.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    s, m = mc.std_mean(x, 1)
    t, n = torch.std_mean(torch.tensor(x.numpy()), 1)
    np.testing.assert_allclose(s.numpy(), t.numpy())
    np.testing.assert_allclose(m.numpy(), n.numpy())
    assert mc.var_mean(x, False)[0].item() == pytest.approx(torch.tensor(x.numpy()).var(
        unbiased=False).item())
    assert mc.cross(mc.zeros(2, 3), mc.zeros(3)).shape == (2, 3)
    assert mc.tensordot(mc.zeros(2, 3), mc.zeros(3, 4), 0).shape == (2, 3, 3, 4)
    assert mc.kron(mc.ones(2), mc.ones(2, 3)).shape == (2, 6)
    assert mc.dot(mc.ones(3), mc.ones(3)).shape == ()


def test_errors_name_the_argument():
    x = mc.zeros(2, 3)
    with pytest.raises(IndexError, match="dim"):
        x.cumprod(2)
    with pytest.raises(TypeError, match="nanmean: input: expected a floating-point"):
        mc.from_numpy(np.arange(3)).nanmean()
    with pytest.raises(ValueError, match=r"quantile: q: values must be in \[0, 1\]"):
        x.quantile(1.5)
    with pytest.raises(ValueError, match="interpolation: expected one of"):
        x.quantile(0.5, interpolation="cubic")
    with pytest.raises(TypeError, match="quantile: input: expected a floating-point"):
        mc.from_numpy(np.arange(3)).quantile(0.5)
    with pytest.raises(ValueError, match="diff: input: expected at least 1 dim"):
        mc.tensor(1.0).diff()
    with pytest.raises(ValueError, match="diff: n: expected an int >= 0"):
        x.diff(-1)
    with pytest.raises(ValueError, match="trapezoid: x: expected 3 points"):
        mc.trapezoid(x, mc.zeros(2))
    with pytest.raises(ValueError, match="give x or dx"):
        mc.trapezoid(x, mc.zeros(3), dx=1.0)
    with pytest.raises(ValueError, match="dot: other: expected a 1-d tensor"):
        mc.dot(mc.zeros(3), x)
    with pytest.raises(ValueError, match="dot: input and other must have the same size"):
        mc.dot(mc.zeros(3), mc.zeros(2))
    with pytest.raises(TypeError, match="dot: expected both of dtype"):
        mc.dot(mc.zeros(3), mc.zeros(3, dtype="float64"))
    with pytest.raises(ValueError, match="inner: the last dims must match"):
        mc.inner(x, mc.zeros(2))
    with pytest.raises(ValueError, match="mv: vec: expected a 1-d tensor"):
        x.mv(x)
    with pytest.raises(ValueError, match="addmm: mat1: expected a 2-d tensor"):
        mc.addmm(x, mc.zeros(3), x)
    with pytest.raises(ValueError, match="addmm: input: shape"):
        mc.addmm(mc.zeros(4), x, mc.zeros(3, 2))
    with pytest.raises(ValueError, match="baddbmm: batch1 and batch2 must have the same"):
        mc.baddbmm(mc.zeros(1), mc.zeros(2, 1, 1), mc.zeros(3, 1, 1))
    with pytest.raises(ValueError, match="tensordot: dims: a's dim 1 .* does not match"):
        mc.tensordot(x, x, ([1], [0]))
    with pytest.raises(ValueError, match=r"tensordot: dims: expected an int in \[0, 2\]"):
        mc.tensordot(x, x, 3)
    with pytest.raises(ValueError, match="cross: dim: expected size 3"):
        mc.cross(x, x, dim=0)
    with pytest.raises(ValueError, match="cross: no dim of size 3"):
        mc.cross(mc.zeros(2), mc.zeros(2))
    with pytest.raises(ValueError, match="cdist: x1 and x2 must have the same number of col"):
        mc.cdist(x, mc.zeros(2, 2))
    with pytest.raises(ValueError, match="cdist: x1: expected at least 2 dims"):
        mc.cdist(mc.zeros(3), x)
    with pytest.raises(ValueError, match="cdist: p: expected a value >= 0"):
        mc.cdist(x, x, -1.0)
    with pytest.raises(ValueError, match="det: input: expected square matrices"):
        x.det()
    with pytest.raises(TypeError, match="inverse: input: expected a floating-point"):
        mc.from_numpy(np.eye(2, dtype=np.int64)).inverse()
    with pytest.raises(RuntimeError, match="inverse: input: the matrix is singular"):
        mc.zeros(2, 2).inverse()
