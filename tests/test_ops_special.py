"""ops/special.py, ops/scan_search.py and ops/shape_extra.py (lgamma ... heaviside, cummax
... searchsorted, tensor_split ... Tensor.unfold): gradcheck + gradgradcheck and the
PyTorch oracle (forward, gradient, second derivative) for the differentiable ones;
hypothesis-drawn comparisons with PyTorch for the rest; edge cases and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, shapes, tie_free


def _t():
    return torch_or_skip()


def one(low=-3.0, high=3.0, away_from=None, parameters=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        kwargs = {name: data.draw(s) for name, s in (parameters or {}).items()}
        return [data.draw(arrays(shape, low, high, away_from=away_from))], kwargs
    return draw


def pair(low=-3.0, high=3.0, away_from=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=2))
        return [data.draw(arrays(shape, low, high, away_from=away_from)) for _ in range(2)]
    return draw


def distinct_pair(data):
    """a and b at least 0.1 apart everywhere (fmax / fmin pick a side)."""
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    both = data.draw(tie_free((2,) + tuple(shape)))
    return [both[0], both[1]]


def along_dim(values=None, min_dims=1):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=3))
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        x = data.draw(tie_free(shape)) if values is None else data.draw(arrays(shape, *values))
        return [x], {"dim": dim}
    return draw


def take_input(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3))
    dim = data.draw(st.integers(0, len(shape) - 1))
    count = data.draw(st.integers(1, 4))
    index_shape = list(shape)
    index_shape[dim] = count
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    index = rng.integers(0, shape[dim], size=index_shape)
    return [data.draw(arrays(shape)), index], {"dim": dim}


def renorm_input(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3))
    dim = data.draw(st.integers(0, len(shape) - 1))
    x = data.draw(arrays(shape, 0.5, 2.0)) * data.draw(st.sampled_from([1.0, -1.0]))
    p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    # maxnorm well away from every slice's norm (the scale switches on there)
    norms = np.sum(np.abs(np.moveaxis(x, dim, 0).reshape(shape[dim], -1)) ** p, 1) ** (1 / p)
    maxnorm = float(data.draw(st.sampled_from([0.5 * norms.min(), 0.9 * norms.min(),
                                               2.0 * norms.max()])))
    return [x], {"p": p, "dim": dim, "maxnorm": maxnorm}


def unfold_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=5))
    dim = data.draw(st.integers(0, len(shape) - 1))
    size = data.draw(st.integers(0, shape[dim]))
    step = data.draw(st.integers(1, 3))
    return [data.draw(arrays(shape))], {"dimension": dim, "size": size, "step": step}


def split_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=6))
    dim = data.draw(st.integers(0, len(shape) - 1))
    if data.draw(st.booleans()):
        spec = data.draw(st.integers(1, 4))
    else:
        spec = sorted(data.draw(st.lists(st.integers(-2, shape[dim] + 1), max_size=3)))
    return [data.draw(arrays(shape))], {"indices_or_sections": spec, "dim": dim}


def blocks(data):
    count = data.draw(st.integers(1, 3))
    out = []
    for _ in range(count):
        ndim = data.draw(st.integers(0, 2))
        out.append(data.draw(arrays(data.draw(shapes(min_dims=ndim, max_dims=ndim)))
                             if ndim else arrays((), -2, 2)))
    return [np.asarray(a) for a in out]


def vectors(data):
    count = data.draw(st.integers(1, 3))
    return [data.draw(arrays((data.draw(st.integers(1, 3)),))) for _ in range(count)]


def _joined(module):
    def run(x, indices_or_sections, dim):
        parts = module.tensor_split(x, indices_or_sections, dim)
        return module.cat([p.reshape(-1) for p in parts] + [module.zeros(0, dtype=x.dtype)])
    return run


CASES = [
    Case("lgamma", one(0.2, 5.0), mc.lgamma, lambda x: _t().lgamma(x)),
    Case("lgamma-negative", one(-2.9, -0.1, away_from=(-2.0, -1.0)), mc.lgamma,
         lambda x: _t().lgamma(x)),
    Case("digamma", one(0.2, 5.0), mc.digamma, lambda x: _t().digamma(x)),
    Case("polygamma", one(0.3, 4.0, parameters={"n": st.integers(0, 3)}),
         lambda x, n: mc.polygamma(n, x), lambda x, n: _t().polygamma(n, x)),
    Case("erfinv", one(-0.9, 0.9), mc.erfinv, lambda x: _t().erfinv(x)),
    Case("erfc", one(), mc.erfc, lambda x: _t().erfc(x)),
    Case("logit", one(0.05, 0.95), mc.logit, lambda x: _t().logit(x)),
    Case("logit-eps", one(0.05, 0.95, away_from=(0.2, 0.8)), lambda x: mc.logit(x, eps=0.2),
         lambda x: _t().logit(x, eps=0.2)),
    Case("sinc", one(away_from=0.0), mc.sinc, lambda x: _t().sinc(x)),
    Case("copysign", pair(away_from=0.0), mc.copysign, lambda a, b: _t().copysign(a, b)),
    Case("fmax", distinct_pair, mc.fmax, lambda a, b: _t().fmax(a, b)),
    Case("fmin", distinct_pair, mc.fmin, lambda a, b: _t().fmin(a, b)),
    Case("cummax", along_dim(), lambda x, dim: mc.cummax(x, dim).values,
         lambda x, dim: _t().cummax(x, dim).values),
    Case("cummin", along_dim(), lambda x, dim: mc.cummin(x, dim)[0],
         lambda x, dim: _t().cummin(x, dim)[0]),
    Case("logcumsumexp", along_dim((-3.0, 3.0)), mc.logcumsumexp,
         lambda x, dim: _t().logcumsumexp(x, dim)),
    Case("aminmax-min", along_dim(), lambda x, dim: mc.aminmax(x, dim=dim).min,
         lambda x, dim: _t().aminmax(x, dim=dim).min),
    Case("aminmax-max", along_dim(), lambda x, dim: mc.aminmax(x, dim=dim, keepdim=True).max,
         lambda x, dim: _t().aminmax(x, dim=dim, keepdim=True).max),
    Case("take_along_dim", take_input, mc.take_along_dim,
         lambda x, i, dim: _t().take_along_dim(x, i, dim)),
    Case("renorm", renorm_input, mc.renorm, lambda x, **kw: _t().renorm(x, **kw)),
    Case("unfold", unfold_input, lambda x, **kw: x.unfold(**kw),
         lambda x, dimension, size, step: x.unfold(dimension, size, step)),
    Case("tensor_split", split_input, _joined(mc), lambda x, **kw: _joined(_t())(x, **kw)),
    Case("block_diag", blocks, mc.block_diag, lambda *xs: _t().block_diag(*xs)),
    Case("cartesian_prod", vectors, mc.cartesian_prod, lambda *xs: _t().cartesian_prod(*xs)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# -- values that the differentiable cases do not reach -------------------------------------
@pytest.mark.oracle
def test_special_values_match_pytorch():
    torch = _t()
    x = np.array([0.0, -0.0, -1.0, -2.5, 1e-300, np.inf, np.nan, 0.5, 7.0])
    for name in ("lgamma", "digamma", "erfc", "sinc", "sgn", "signbit"):
        np.testing.assert_allclose(getattr(mc, name)(mc.tensor(x)).numpy(),
                                   getattr(torch, name)(torch.tensor(x)).numpy(),
                                   rtol=1e-12, err_msg=name)
    y = np.array([-1.0, 1.0, 2.0, 0.5, -0.3])
    np.testing.assert_allclose(mc.erfinv(mc.tensor(y)).numpy(), torch.erfinv(torch.tensor(y)))
    z = np.array([0.0, 1.0, 2.0, -1.0])
    np.testing.assert_allclose(mc.logit(mc.tensor(z)).numpy(), torch.logit(torch.tensor(z)))
    assert mc.lgamma(mc.tensor([1, 2])).dtype == np.float32          # integers -> float32
    assert mc.signbit(mc.tensor([-1, 1])).tolist() == [True, False]
    nan = float("nan")
    a, b = [1.0, nan, nan, 2.0], [nan, 2.0, nan, 1.0]
    for name in ("fmax", "fmin"):
        np.testing.assert_array_equal(getattr(mc, name)(mc.tensor(a), mc.tensor(b)).numpy(),
                                      getattr(torch, name)(torch.tensor(a),
                                                           torch.tensor(b)).numpy())


@pytest.mark.oracle
@given(data=st.data())
def test_heaviside_copysign_and_ties_match_pytorch(data):
    torch = _t()
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    x = np.round(data.draw(arrays(shape, -2, 2)))          # many exact zeros
    values = data.draw(arrays(shape[-1:], -1, 1))
    np.testing.assert_array_equal(
        mc.heaviside(mc.tensor(x), mc.tensor(values)).numpy(),
        torch.heaviside(torch.tensor(x), torch.tensor(values)).numpy())
    np.testing.assert_array_equal(mc.copysign(mc.tensor(x), -1.0).numpy(),
                                  torch.copysign(torch.tensor(x), -1.0).numpy())
    # ties: fmax's gradient goes to input entirely (maximum would split it)
    a = mc.tensor(x, requires_grad=True)
    b = mc.tensor(x.copy(), requires_grad=True)
    ga, gb = mc.grad(mc.fmax(a, b).sum(), [a, b])
    ta = torch.tensor(x, requires_grad=True)
    tb = torch.tensor(x.copy(), requires_grad=True)
    tga, tgb = torch.autograd.grad(torch.fmax(ta, tb).sum(), [ta, tb])
    np.testing.assert_array_equal(ga.numpy(), tga.numpy())
    np.testing.assert_array_equal(gb.numpy(), tgb.numpy())


@pytest.mark.oracle
@given(data=st.data())
def test_cummax_indices_with_ties_and_nan_match_pytorch(data):
    torch = _t()
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.round(data.draw(arrays(shape, -2, 2)))           # ties
    if data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(mc, name)(mc.tensor(x), dim), getattr(torch, name)(
            torch.tensor(x), dim)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ints = x.astype(np.int64) if not np.isnan(x).any() else np.zeros(shape, np.int64)
    np.testing.assert_array_equal(mc.cummax(mc.tensor(ints), dim).indices.numpy(),
                                  torch.cummax(torch.tensor(ints), dim).indices.numpy())


@pytest.mark.oracle
@given(data=st.data())
def test_counting_and_searching_match_pytorch(data):
    torch = _t()
    size = data.draw(st.integers(0, 12))
    labels = np.asarray(data.draw(st.lists(st.integers(0, 6), min_size=size, max_size=size)),
                        dtype=np.int64)
    minlength = data.draw(st.integers(0, 9))
    np.testing.assert_array_equal(mc.bincount(mc.tensor(labels), minlength=minlength).numpy(),
                                  torch.bincount(torch.tensor(labels),
                                                 minlength=minlength).numpy())
    for dtype in (np.float32, np.float64, np.int64):
        w = (data.draw(arrays((size,), -2, 2)) * 3).astype(dtype)
        ours = mc.bincount(mc.tensor(labels), mc.tensor(w))
        theirs = torch.bincount(torch.tensor(labels), torch.tensor(w))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)

    x = data.draw(arrays(data.draw(shapes(min_dims=1, max_dims=3)), -3, 3)).astype(np.float32)
    bins = data.draw(st.integers(1, 7))
    low, high = data.draw(st.sampled_from([(0, 0), (-1, 2), (1, 1), (-3, 3)]))
    np.testing.assert_array_equal(mc.histc(mc.tensor(x), bins, low, high).numpy(),
                                  torch.histc(torch.tensor(x), bins, low, high).numpy())

    boundaries = np.unique(np.round(data.draw(arrays((5,), -3, 3)) * 2) / 2)
    values = np.round(data.draw(arrays((2, 3), -3.5, 3.5)) * 2) / 2     # hits boundaries
    for right in (False, True):
        np.testing.assert_array_equal(
            mc.bucketize(mc.tensor(values), mc.tensor(boundaries), right=right).numpy(),
            torch.bucketize(torch.tensor(values), torch.tensor(boundaries),
                            right=right).numpy())
        np.testing.assert_array_equal(
            mc.searchsorted(mc.tensor(boundaries), mc.tensor(values), right=right).numpy(),
            torch.searchsorted(torch.tensor(boundaries), torch.tensor(values),
                               right=right).numpy())
        rows = np.sort(np.round(data.draw(arrays((2, 4), -3, 3))), axis=1)
        np.testing.assert_array_equal(
            mc.searchsorted(mc.tensor(rows), mc.tensor(values), right=right).numpy(),
            torch.searchsorted(torch.tensor(rows), torch.tensor(values), right=right).numpy())
    order = np.argsort(-boundaries)
    shuffled = boundaries[order[::-1]][::-1].copy()
    sorter = np.argsort(shuffled)
    np.testing.assert_array_equal(
        mc.searchsorted(mc.tensor(shuffled), mc.tensor(values), side="right",
                        sorter=mc.tensor(sorter)).numpy(),
        torch.searchsorted(torch.tensor(shuffled), torch.tensor(values), side="right",
                           sorter=torch.tensor(sorter)).numpy())
    assert mc.bucketize(mc.tensor(values), mc.tensor(boundaries), out_int32=True).dtype \
        == np.int32


@pytest.mark.oracle
def test_shapes_and_small_functions_match_pytorch():
    torch = _t()
    x = np.arange(24.0).reshape(2, 3, 4)
    for name, spec in (("hsplit", 3), ("hsplit", [1, 2]), ("vsplit", 2), ("dsplit", [3])):
        ours, theirs = getattr(mc, name)(mc.tensor(x), spec), getattr(torch, name)(
            torch.tensor(x), spec)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for shape in ((), (3,), (2, 3), (2, 3, 4)):
            a = getattr(mc, name)(mc.tensor(np.zeros(shape)))
            assert a.shape == tuple(getattr(torch, name)(torch.tensor(np.zeros(shape))).shape)
        both = getattr(mc, name)(mc.tensor(0.0), mc.zeros(3))
        assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(mc.logspace(-1, 2, 5).numpy(), torch.logspace(-1, 2, 5).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(mc.logspace(0, 3, 4, base=2).numpy(),
                               torch.logspace(0, 3, 4, base=2).numpy())
    assert mc.logspace(0, 1, 3).dtype == np.float32
    assert mc.broadcast_shapes((2, 1), (3,), 1) == tuple(torch.broadcast_shapes((2, 1), (3,), 1))
    assert mc.scalar_tensor(3).dtype == np.float32 and mc.scalar_tensor(3).shape == ()
    assert mc.is_nonzero(mc.tensor([2.0])) and not mc.is_nonzero(mc.tensor(0))
    assert mc.is_same_size(mc.zeros(2, 3), mc.ones(2, 3))
    assert not mc.zeros(2, 3).is_same_size(mc.ones(3, 2))
    t = mc.zeros(2, 3, dtype=np.float64)
    assert (t.nbytes, t.itemsize) == (48, 8)
    assert mc.block_diag(mc.tensor([[1, 2]]), mc.tensor(3.0)).dtype == np.float32
    assert mc.block_diag().shape == (1, 0)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="polygamma: n"):
        mc.polygamma(-1, mc.ones(2))
    with pytest.raises(TypeError, match="heaviside: values: expected dtype"):
        mc.heaviside(mc.ones(2), mc.tensor([1]))
    with pytest.raises(ValueError, match="bincount: input"):
        mc.bincount(mc.tensor([-1, 2]))
    with pytest.raises(ValueError, match="bincount: weights"):
        mc.bincount(mc.tensor([1, 2]), mc.ones(3))
    with pytest.raises(TypeError, match="histc: input"):
        mc.histc(mc.tensor([1, 2]))
    with pytest.raises(ValueError, match="searchsorted: input"):
        mc.searchsorted(mc.zeros(2, 3), mc.zeros(3, 1))
    with pytest.raises(ValueError, match="searchsorted: side"):
        mc.searchsorted(mc.zeros(3), mc.zeros(1), right=True, side="left")
    with pytest.raises(ValueError, match="hsplit: indices_or_sections"):
        mc.hsplit(mc.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="vsplit: input"):
        mc.vsplit(mc.zeros(3), 1)
    with pytest.raises(ValueError, match="tensor_split: indices_or_sections"):
        mc.tensor_split(mc.zeros(3), 0)
    with pytest.raises(RuntimeError, match="is_nonzero: input"):
        mc.is_nonzero(mc.zeros(2))
    with pytest.raises(ValueError, match="broadcast_shapes: shapes"):
        mc.broadcast_shapes((2,), (3,))
    with pytest.raises(ValueError, match="unfold: size"):
        mc.zeros(3).unfold(0, 4, 1)
    with pytest.raises(ValueError, match="unfold: step"):
        mc.zeros(3).unfold(0, 2, 0)
    with pytest.raises(ValueError, match="take_along_dim: indices"):
        mc.take_along_dim(mc.zeros(2, 3), mc.tensor([0]), 1)
    with pytest.raises(ValueError, match="renorm: input"):
        mc.renorm(mc.ones(3), 2, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: p"):
        mc.renorm(mc.ones(2, 2), 0, 0, 1.0)
    with pytest.raises(RuntimeError, match="aminmax: input"):
        mc.aminmax(mc.zeros(0))


def test_tensor_methods_exist_as_pytorch():
    x = mc.tensor([[0.5, 0.25], [0.75, 0.1]])
    np.testing.assert_allclose(x.logit().numpy(), mc.logit(x).numpy())
    np.testing.assert_allclose(x.polygamma(1).numpy(), mc.polygamma(1, x).numpy())
    assert x.cummax(0).indices.tolist() == [[0, 0], [1, 0]]
    assert x.aminmax().max.item() == pytest.approx(0.75)
    assert len(x.tensor_split(2, 1)) == 2
