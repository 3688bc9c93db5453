"""The shape and indexing ops of ops/shape_more.py: gradcheck + gradgradcheck and the
PyTorch oracle (forward, gradient, second derivative) for the differentiable ones; direct
comparisons with PyTorch for the index results (nonzero, unique ...); in-place forms;
errors that name the argument."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minicnn as mc
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, shapes


def _t():
    return torch_or_skip()


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def same_shapes(min_dims=0, max_dims=3):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims)) if max_dims else ()
        count = data.draw(st.integers(1, 3))
        return [data.draw(arrays(shape)) for _ in range(count)], {}
    return draw


def cat_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    out = []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(shape)
        s[dim] = data.draw(st.integers(0, 3))
        out.append(data.draw(arrays(tuple(s))))
    return out, {"dim": dim}


def x_dim(min_dims=1, max_dims=3):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims))
        return [data.draw(arrays(shape))], {"dim": data.draw(st.integers(-len(shape),
                                                                         len(shape) - 1))}
    return draw


def movedim_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4))
    n = len(shape)
    count = data.draw(st.integers(1, n))
    src = data.draw(st.permutations(range(n)))[:count]
    dst = data.draw(st.permutations(range(n)))[:count]
    src = [s - n if data.draw(st.booleans()) else s for s in src]
    if count == 1 and data.draw(st.booleans()):
        src, dst = src[0], dst[0]
    return [data.draw(arrays(shape))], {"source": src, "destination": dst}


def two_dims(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3))
    a, b = data.draw(st.permutations(range(len(shape))))[:2]
    return [data.draw(arrays(shape))], {"a": a - len(shape), "b": b}


def rot90_inputs(data):
    values, kw = two_dims(data)
    return values, {"k": data.draw(st.integers(-5, 5)), "dims": (kw["a"], kw["b"])}


def tile_inputs(data):
    shape = data.draw(shapes(min_dims=0, max_dims=3, max_side=3)) if data.draw(
        st.booleans()) else ()
    dims = tuple(data.draw(st.lists(st.integers(1, 3), max_size=4)))
    return [data.draw(arrays(shape))], {"dims": dims}


def any_x(min_dims=0, max_dims=2):
    def draw(data):
        shape = data.draw(shapes(min_dims=max(min_dims, 1), max_dims=max_dims))
        if min_dims == 0 and data.draw(st.booleans()):
            shape = shape[:data.draw(st.integers(0, len(shape)))]
        return [data.draw(arrays(shape))], {}
    return draw


def select_inputs(data):
    (x,), kw = x_dim()(data)
    size = x.shape[kw["dim"]]
    return [x], {**kw, "index": data.draw(st.integers(-size, size - 1))}


def take_inputs(data):
    shape = data.draw(shapes(min_dims=0, max_dims=3)) if data.draw(st.booleans()) else ()
    x = data.draw(arrays(shape))
    n = x.size
    index = _rng(data).integers(-n, n, size=data.draw(shapes(min_dims=0, max_dims=2)))
    return [x, index], {}


def mask_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    mask_shape = shape[data.draw(st.integers(0, len(shape))):]
    x_shape = shape
    if data.draw(st.booleans()):   # masked_select broadcasts both ways
        x_shape, mask_shape = mask_shape, shape
    return [data.draw(arrays(x_shape)), _rng(data).random(mask_shape) < 0.5], {}


def masked_scatter_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    mask = _rng(data).random(shape[data.draw(st.integers(0, len(shape))):]) < 0.5
    count = int(np.broadcast_to(mask, shape).sum())
    source = data.draw(arrays((count + data.draw(st.integers(0, 3)),)))
    return [data.draw(arrays(shape)), mask, source], {}


def meshgrid_inputs(data):
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    return [data.draw(arrays((s,))) for s in sizes], {
        "indexing": data.draw(st.sampled_from(["ij", "xy"]))}


def broadcast_inputs(data):
    from hypothesis.extra import numpy as hnp
    result = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    return [data.draw(arrays(s)) for s in result.input_shapes], {}


def unflatten_inputs(data):
    (x,), kw = x_dim()(data)
    size = x.shape[kw["dim"]]
    first = data.draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    sizes = [first, size // first]
    if data.draw(st.booleans()):
        sizes[data.draw(st.integers(0, 1))] = -1
    return [x], {**kw, "sizes": tuple(sizes)}


def index_inputs(kind):
    def draw(data):
        (x,), kw = x_dim()(data)
        size = x.shape[kw["dim"]]
        if kind == "copy":
            index = _rng(data).permutation(size)[:data.draw(st.integers(0, size))]
        else:
            index = _rng(data).integers(0, size, size=data.draw(st.integers(0, 5)))
        source_shape = list(x.shape)
        source_shape[kw["dim"]] = len(index)
        if kind == "fill":
            return [x, index], {**kw, "value": data.draw(st.sampled_from([0.0, -1.5]))}
        if kind == "fill-tensor":
            return [x, index, np.asarray(data.draw(st.floats(-2, 2)))], kw
        extra = {"alpha": data.draw(st.sampled_from([1, -2.5]))} if kind == "add" else {}
        return [x, index, data.draw(arrays(tuple(source_shape)))], {**kw, **extra}
    return draw


def where_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    return [data.draw(arrays(shape)), _rng(data).random(shape) < 0.5,
            data.draw(arrays(shape[1:]))], {}


def _stacked(outs, lib):
    return lib.stack([o * (i + 1) for i, o in enumerate(outs)])


CASES = [
    Case("hstack", same_shapes(), lambda *xs: mc.hstack(xs), lambda *xs: _t().hstack(xs)),
    Case("vstack", same_shapes(), lambda *xs: mc.vstack(xs), lambda *xs: _t().vstack(xs)),
    Case("dstack", same_shapes(), lambda *xs: mc.dstack(xs), lambda *xs: _t().dstack(xs)),
    Case("column_stack", same_shapes(max_dims=2), lambda *xs: mc.column_stack(xs),
         lambda *xs: _t().column_stack(xs)),
    Case("concat", cat_inputs, lambda *xs, dim: mc.concat(xs, dim),
         lambda *xs, dim: _t().concat(xs, dim)),
    Case("concatenate", cat_inputs, lambda *xs, dim: mc.concatenate(xs, axis=dim),
         lambda *xs, dim: _t().concatenate(xs, axis=dim)),
    Case("movedim", movedim_inputs, lambda x, **kw: x.movedim(**kw),
         lambda x, **kw: x.movedim(**kw)),
    Case("moveaxis", movedim_inputs, lambda x, source, destination: mc.moveaxis(
        x, source, destination), lambda x, source, destination: _t().moveaxis(
        x, source, destination)),
    Case("swapaxes", two_dims, lambda x, a, b: x.swapaxes(a, b), lambda x, a, b: x.swapaxes(a, b)),
    Case("swapdims", two_dims, lambda x, a, b: mc.swapdims(x, a, b),
         lambda x, a, b: _t().swapdims(x, a, b)),
    Case("t", any_x(), lambda x: mc.t(x), lambda x: _t().t(x)),
    Case("mT", two_dims, lambda x, a, b: x.mT, lambda x, a, b: x.mT),
    Case("tile", tile_inputs, lambda x, dims: mc.tile(x, dims), lambda x, dims: _t().tile(x, dims)),
    Case("tile-method", tile_inputs, lambda x, dims: x.tile(*dims) if dims else x.tile(()),
         lambda x, dims: x.tile(*dims) if dims else x.tile(())),
    Case("rot90", rot90_inputs, lambda x, k, dims: x.rot90(k, dims),
         lambda x, k, dims: x.rot90(k, dims)),
    Case("fliplr", any_x(2, 3), lambda x: x.fliplr(), lambda x: x.fliplr()),
    Case("flipud", any_x(1, 3), lambda x: mc.flipud(x), lambda x: _t().flipud(x)),
    Case("select", select_inputs, lambda x, **kw: x.select(**kw), lambda x, **kw: x.select(**kw)),
    Case("take", take_inputs, lambda x, i: mc.take(x, i), lambda x, i: _t().take(x, i)),
    Case("masked_select", mask_inputs, lambda x, m: x.masked_select(m),
         lambda x, m: x.masked_select(m)),
    Case("meshgrid", meshgrid_inputs, lambda *xs, indexing: _stacked(
        mc.meshgrid(*xs, indexing=indexing), mc), lambda *xs, indexing: _stacked(
        _t().meshgrid(*xs, indexing=indexing), _t())),
    Case("broadcast_tensors", broadcast_inputs, lambda *xs: _stacked(
        mc.broadcast_tensors(*xs), mc), lambda *xs: _stacked(_t().broadcast_tensors(*xs), _t())),
    Case("unflatten", unflatten_inputs, lambda x, **kw: x.unflatten(**kw),
         lambda x, **kw: x.unflatten(**kw)),
    Case("index_add", index_inputs("add"), lambda x, i, s, dim, alpha: x.index_add(
        dim, i, s, alpha=alpha), lambda x, i, s, dim, alpha: x.index_add(dim, i, s, alpha=alpha)),
    Case("index_fill", index_inputs("fill"), lambda x, i, dim, value: mc.index_fill(
        x, dim, i, value), lambda x, i, dim, value: _t().index_fill(x, dim, i, value)),
    Case("index_fill-tensor", index_inputs("fill-tensor"), lambda x, i, v, dim: x.index_fill(
        dim, i, v), lambda x, i, v, dim: x.index_fill(dim, i, v)),
    Case("index_copy", index_inputs("copy"), lambda x, i, s, dim: x.index_copy(dim, i, s),
         lambda x, i, s, dim: x.index_copy(dim, i, s)),
    Case("masked_scatter", masked_scatter_inputs, lambda x, m, s: x.masked_scatter(m, s),
         lambda x, m, s: x.masked_scatter(m, s)),
    Case("where-method", where_inputs, lambda x, c, y: x.where(c, y),
         lambda x, c, y: x.where(c, y)),
    Case("reshape_as", any_x(1, 3), lambda x: x.reshape_as(mc.zeros(x.numel())),
         lambda x: x.reshape_as(_t().zeros(x.numel()))),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


@given(data=st.data())
def test_index_results_match_pytorch(data):
    torch = torch_or_skip()
    shape = data.draw(shapes(min_dims=0, max_dims=3, min_side=0)) if data.draw(
        st.booleans()) else ()
    a = _rng(data).integers(-1, 2, size=shape).astype(np.float64)
    x, tx = mc.from_numpy(a), torch.tensor(a)
    np.testing.assert_array_equal(x.nonzero().numpy(), tx.nonzero().numpy())
    assert x.nonzero().dtype == np.int64 and x.nonzero().shape == tuple(tx.nonzero().shape)
    np.testing.assert_array_equal(mc.argwhere(x).numpy(), torch.argwhere(tx).numpy())
    ours, theirs = mc.nonzero(x, as_tuple=True), torch.nonzero(tx, as_tuple=True)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    flags = dict(return_inverse=data.draw(st.booleans()), return_counts=data.draw(st.booleans()))
    ours, theirs = x.unique(**flags), tx.unique(**flags)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and o.dtype == np.dtype(str(t.dtype)[6:])
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    row, col, offset = (data.draw(st.integers(0, 5)), data.draw(st.integers(0, 5)),
                        data.draw(st.integers(-6, 6)))
    for name in ("tril_indices", "triu_indices"):
        ours, theirs = getattr(mc, name)(row, col, offset), getattr(torch, name)(row, col, offset)
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_stack_shapes_and_dtypes_follow_pytorch():
    torch = torch_or_skip()
    for shape in [(), (3,), (2, 3), (2, 3, 2)]:
        a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
        for name in ("hstack", "vstack", "dstack", "column_stack"):
            ours = getattr(mc, name)([mc.from_numpy(a), mc.from_numpy(a)])
            theirs = getattr(torch, name)([torch.tensor(a), torch.tensor(a)])
            assert ours.dtype == np.int64
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert mc.t(mc.zeros(3)).shape == (3,) and mc.ones(2, 5).t().shape == (5, 2)
    assert mc.zeros(2, 3).type_as(mc.zeros(1, dtype="float64")).dtype == np.float64
    ints = mc.from_numpy(np.arange(6).reshape(2, 3))
    assert ints.rot90().tolist() == torch.arange(6).reshape(2, 3).rot90().tolist()
    assert ints.masked_select(ints > 2).dtype == np.int64
    assert mc.take(ints, mc.from_numpy(np.array([-1]))).tolist() == [5]
    assert mc.zeros(2, 0, 3).movedim(1, 0).shape == (0, 2, 3)
    assert mc.meshgrid(mc.zeros(2), mc.zeros(3))[0].shape == (2, 3)


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (2, 5), (7, 3), (3, 3, 3)])
def test_fill_diagonal_matches_pytorch(shape, wrap):
    torch = torch_or_skip()
    ours = mc.zeros(*shape).fill_diagonal_(2.5, wrap=wrap)
    theirs = torch.zeros(*shape).fill_diagonal_(2.5, wrap=wrap)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_in_place_forms_follow_pytorch():
    """index_add_, index_fill_, index_copy_, masked_scatter_, fill_diagonal_ inside a graph:
    the same values and gradients as PyTorch."""
    torch = torch_or_skip()
    x = np.arange(12.0).reshape(3, 4) / 7
    index = np.array([2, 0])
    mask = np.array([True, False, True, True])
    results = []
    for lib, make in ((mc, mc.tensor), (torch, torch.tensor)):
        leaf = make(x, requires_grad=True)
        y = leaf * 2
        y.index_add_(0, make(index), leaf[:2] * leaf[1:], alpha=0.5)
        y.index_fill_(1, make(np.array([1])), -1.0)
        y.index_copy_(1, make(np.array([3])), leaf[:, :1] ** 2)
        y.masked_scatter_(make(mask), leaf.flip(0) * 3)
        y.fill_diagonal_(0.25)
        (grad,) = lib.autograd.grad((y * y).sum(), leaf)
        results.append((y.detach().numpy(), grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    leaf = mc.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.index_fill_(0, mc.from_numpy(index), 0.0)


def test_errors_name_the_argument():
    x = mc.zeros(2, 3)
    i = mc.from_numpy(np.array([0]))
    with pytest.raises(ValueError, match="tensors: expected a non-empty"):
        mc.hstack([])
    with pytest.raises(ValueError, match="same number of dims"):
        x.movedim((0, 1), 0)
    with pytest.raises(ValueError, match="source: repeated dim"):
        x.movedim((0, 0), (0, 1))
    with pytest.raises(IndexError, match="destination"):
        x.movedim(0, 2)
    with pytest.raises(ValueError, match="t: input: expected at most 2 dims"):
        mc.t(mc.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="dims: expected 2 dims"):
        x.rot90(1, (0,))
    with pytest.raises(ValueError, match="two different dims"):
        x.rot90(1, (0, -2))
    with pytest.raises(ValueError, match="fliplr: input: expected at least 2 dims"):
        mc.zeros(3).fliplr()
    with pytest.raises(IndexError, match="select: index: 3 is out of range"):
        x.select(1, 3)
    with pytest.raises(IndexError, match=r"take: index: values must be in \[-6, 5\]"):
        x.take(mc.from_numpy(np.array([6])))
    with pytest.raises(TypeError, match="take: index: expected an integer"):
        x.take(mc.zeros(1))
    with pytest.raises(TypeError, match="masked_select: mask: expected a bool"):
        x.masked_select(x)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x.masked_select(mc.from_numpy(np.zeros(2, dtype=bool)))
    with pytest.raises(ValueError, match="indexing: expected 'ij' or 'xy'"):
        mc.meshgrid(mc.zeros(2), indexing="yx")
    with pytest.raises(ValueError, match=r"tensors\[0\]: expected 0-d or 1-d"):
        mc.meshgrid(x)
    with pytest.raises(ValueError, match="do not broadcast"):
        mc.broadcast_tensors(mc.zeros(2), mc.zeros(3))
    with pytest.raises(ValueError, match="sizes: .* do not multiply to 3"):
        x.unflatten(1, (2, 2))
    with pytest.raises(ValueError, match="source: expected shape"):
        x.index_add(0, i, mc.zeros(2, 3))
    with pytest.raises(TypeError, match="source: expected dtype"):
        x.index_copy(0, i, mc.zeros(1, 3, dtype="float64"))
    with pytest.raises(IndexError, match="index_fill: index: values must be in"):
        x.index_fill(1, mc.from_numpy(np.array([3])), 1.0)
    with pytest.raises(IndexError, match=r"index_copy: index: values must be in \[0, 2\]"):
        x.index_copy(1, mc.from_numpy(np.array([-1])), mc.zeros(2, 1))
    with pytest.raises(ValueError, match="index: expected a 0-d or 1-d"):
        x.index_add(0, mc.from_numpy(np.zeros((1, 1), dtype=np.int64)), mc.zeros(1, 3))
    with pytest.raises(ValueError, match="source: expected at least 4 elements"):
        x.masked_scatter(mc.from_numpy(np.array([True, True, False])), mc.zeros(3))
    with pytest.raises(ValueError, match="fill_diagonal_: input: all dims"):
        mc.zeros(2, 2, 3).fill_diagonal_(1.0)
    with pytest.raises(ValueError, match="mT: expected a tensor with at least 2 dims"):
        mc.zeros(3).mT
    with pytest.raises(NotImplementedError, match="unique: dim"):
        x.unique(dim=0)
