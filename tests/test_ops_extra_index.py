"""The index ops of ops/index_ops.py (gather, scatter, scatter_add, masked_fill, flip, roll,
repeat, repeat_interleave, split, chunk, tril, triu): gradcheck + gradgradcheck, the PyTorch
oracle (forward, gradient, second derivative), Tensor-method forms, dtypes and errors."""
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


def _x_and_dim(data, min_dims=1, max_dims=3):
    shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    return data.draw(arrays(shape)), dim


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def _index_shape(data, shape, dim, bigger_dim=True):
    """An index shape no bigger than ``shape`` outside ``dim`` (inside: anything)."""
    dim = dim % len(shape)
    sizes = [data.draw(st.integers(1, s)) for s in shape]
    if bigger_dim:
        sizes[dim] = data.draw(st.integers(1, 5))
    return tuple(sizes)


def gather_inputs(data):
    x, dim = _x_and_dim(data)
    index_shape = _index_shape(data, x.shape, dim)
    index = _rng(data).integers(0, x.shape[dim], size=index_shape)
    return [x, index], {"dim": dim}


def _unique_index(data, shape, dim):
    """An index with distinct positions along ``dim`` (scatter's result is then defined)."""
    dim = dim % len(shape)
    sizes = list(_index_shape(data, shape, dim, bigger_dim=False))
    full = list(sizes)
    full[dim] = shape[dim]
    order = _rng(data).random(full).argsort(axis=dim)
    return np.take(order, np.arange(sizes[dim]), axis=dim)


def scatter_inputs(with_src=True):
    def draw(data):
        x, dim = _x_and_dim(data)
        index = _unique_index(data, x.shape, dim)
        if with_src:  # (torch's backward fails for a src bigger than index: see below)
            return [x, index, data.draw(arrays(index.shape))], {"dim": dim}
        return [x, index], {"dim": dim, "value": data.draw(st.sampled_from([0.0, -1.5]))}
    return draw


def scatter_add_inputs(data):
    x, dim = _x_and_dim(data)
    index_shape = _index_shape(data, x.shape, dim)
    index = _rng(data).integers(0, x.shape[dim], size=index_shape)
    return [x, index, data.draw(arrays(index_shape))], {"dim": dim}


def masked_inputs(tensor_value=False):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        x = data.draw(arrays(shape))
        mask_shape = shape[data.draw(st.integers(0, len(shape))):]
        mask = _rng(data).random(mask_shape) < 0.5
        if tensor_value:
            return [x, mask, np.asarray(data.draw(st.floats(-2, 2)))], {}
        return [x, mask], {"value": data.draw(st.sampled_from([0.0, -5.0, 2.5]))}
    return draw


def dims_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    return [data.draw(arrays(shape))], {"dims": tuple(d - len(shape) if i % 2 else d
                                                      for i, d in enumerate(dims))}


def roll_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    if data.draw(st.booleans()):
        return [data.draw(arrays(shape))], {"shifts": data.draw(st.integers(-5, 5)), "dims": None}
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1,
                              max_size=len(shape)))
    shifts = tuple(data.draw(st.integers(-5, 5)) for _ in dims)
    return [data.draw(arrays(shape))], {"shifts": shifts, "dims": tuple(dims)}


def repeat_inputs(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    extra = data.draw(st.integers(0, 1))
    sizes = tuple(data.draw(st.integers(1, 3)) for _ in range(len(shape) + extra))
    return [data.draw(arrays(shape))], {"sizes": sizes}


def repeat_interleave_inputs(as_tensor):
    def draw(data):
        x, dim = _x_and_dim(data)
        if data.draw(st.booleans()) and not as_tensor:
            dim = None
        if as_tensor:
            counts = _rng(data).integers(0, 3, size=x.shape[dim])
            return [x, counts], {"dim": dim}
        return [x], {"repeats": data.draw(st.integers(1, 3)), "dim": dim}
    return draw


def split_inputs(sections):
    def draw(data):
        x, dim = _x_and_dim(data)
        size = x.shape[dim]
        if sections:
            cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
            parts = np.diff([0] + cuts + [size]).tolist()
            return [x], {"split": parts, "dim": dim}
        return [x], {"split": data.draw(st.integers(1, size + 1)), "dim": dim}
    return draw


def chunk_inputs(data):
    x, dim = _x_and_dim(data)
    return [x], {"chunks": data.draw(st.integers(1, 5)), "dim": dim}


def triangle_inputs(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3))
    return [data.draw(arrays(shape))], {"diagonal": data.draw(st.integers(-2, 2))}


def _joined(pieces, dim, lib):
    """split/chunk give a tuple: weight each piece differently and join them again."""
    return lib.cat([p * (i + 1) for i, p in enumerate(pieces)], dim)


CASES = [
    Case("gather", gather_inputs, lambda x, i, dim: mc.gather(x, dim, i),
         lambda x, i, dim: _t().gather(x, dim, i)),
    Case("gather-method", gather_inputs, lambda x, i, dim: x.gather(dim, i),
         lambda x, i, dim: x.gather(dim, i)),
    Case("scatter", scatter_inputs(), lambda x, i, s, dim: mc.scatter(x, dim, i, s),
         lambda x, i, s, dim: _t().scatter(x, dim, i, s)),
    Case("scatter-value", scatter_inputs(False),
         lambda x, i, dim, value: x.scatter(dim, i, value),
         lambda x, i, dim, value: x.scatter(dim, i, value)),
    Case("scatter_add", scatter_add_inputs, lambda x, i, s, dim: x.scatter_add(dim, i, s),
         lambda x, i, s, dim: x.scatter_add(dim, i, s)),
    Case("masked_fill", masked_inputs(), lambda x, m, value: x.masked_fill(m, value),
         lambda x, m, value: x.masked_fill(m, value)),
    Case("masked_fill-tensor-value", masked_inputs(True),
         lambda x, m, v: mc.masked_fill(x, m, v), lambda x, m, v: x.masked_fill(m, v)),
    Case("flip", dims_inputs, lambda x, dims: x.flip(dims), lambda x, dims: x.flip(dims)),
    Case("roll", roll_inputs, lambda x, **kw: x.roll(**kw), lambda x, **kw: x.roll(**kw)),
    Case("repeat", repeat_inputs, lambda x, sizes: x.repeat(*sizes),
         lambda x, sizes: x.repeat(*sizes)),
    Case("repeat_interleave", repeat_interleave_inputs(False),
         lambda x, **kw: x.repeat_interleave(**kw), lambda x, **kw: x.repeat_interleave(**kw)),
    Case("repeat_interleave-tensor", repeat_interleave_inputs(True),
         lambda x, r, dim: mc.repeat_interleave(x, r, dim),
         lambda x, r, dim: _t().repeat_interleave(x, r, dim)),
    Case("split", split_inputs(False),
         lambda x, split, dim: _joined(x.split(split, dim), dim, mc),
         lambda x, split, dim: _joined(x.split(split, dim), dim, _t())),
    Case("split-sections", split_inputs(True),
         lambda x, split, dim: _joined(mc.split(x, split, dim), dim, mc),
         lambda x, split, dim: _joined(_t().split(x, split, dim), dim, _t())),
    Case("chunk", chunk_inputs, lambda x, chunks, dim: _joined(x.chunk(chunks, dim), dim, mc),
         lambda x, chunks, dim: _joined(x.chunk(chunks, dim), dim, _t())),
    Case("tril", triangle_inputs, lambda x, diagonal: x.tril(diagonal),
         lambda x, diagonal: x.tril(diagonal)),
    Case("triu", triangle_inputs, lambda x, diagonal: mc.triu(x, diagonal),
         lambda x, diagonal: _t().triu(x, diagonal)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


def test_chunk_counts_match_pytorch():
    torch = torch_or_skip()
    for size in range(0, 9):
        for chunks in range(1, 6):
            ours = [p.shape for p in mc.zeros(size, 2).chunk(chunks)]
            theirs = [tuple(p.shape) for p in torch.zeros(size, 2).chunk(chunks)]
            assert ours == theirs, (size, chunks)


def test_method_forms_and_integer_inputs():
    x = mc.tensor(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(x.flip(0, 1).numpy(), np.arange(6).reshape(2, 3)[::-1, ::-1])
    np.testing.assert_array_equal(x.repeat((2, 1)).numpy(), np.tile(np.arange(6).reshape(2, 3),
                                                                     (2, 1)))
    ints = mc.from_numpy(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert ints.tril().dtype == np.int64 and ints.flip(0).dtype == np.int64
    assert ints.gather(1, mc.from_numpy(np.array([[0], [2]]))).tolist() == [[0], [5]]
    mask = mc.from_numpy(np.array([True, False, True]))
    assert ints.masked_fill(mask, 7).tolist() == [[7, 1, 7], [7, 4, 7]]
    assert ints.masked_fill(mask, 7).dtype == np.int64
    assert x.repeat_interleave(2).shape == (12,)


@pytest.mark.parametrize("op", ["scatter", "scatter_add"])
def test_src_bigger_than_index(op):
    """src may be bigger than index: only its leading index.shape block is used (PyTorch's
    forward agrees; its backward for this case raises, so the gradient is checked here by
    gradcheck and against the same call on the cut src)."""
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    index = np.array([[2, 0, 1], [0, 1, 2]])
    fn = lambda a, s: getattr(a, op)(0, mc.from_numpy(index), s)  # noqa: E731
    ours = fn(mc.tensor(x), mc.tensor(src)).numpy()
    theirs = getattr(torch.tensor(x), op)(0, torch.tensor(index), torch.tensor(src)).numpy()
    np.testing.assert_allclose(ours, theirs)
    inputs = [mc.tensor(x, requires_grad=True), mc.tensor(src, requires_grad=True)]
    assert gradcheck(fn, inputs) and gradgradcheck(fn, inputs)
    s = mc.tensor(src, requires_grad=True)
    fn(mc.tensor(x), s).sum().backward()
    cut = np.zeros_like(src)
    cut[:2, :3] = 1.0
    np.testing.assert_allclose(s.grad.numpy(), cut)


def test_scatter_gradients_follow_pytorch_with_repeated_positions():
    torch = torch_or_skip()
    x = np.zeros((2, 3))
    src = np.arange(1.0, 4.0).reshape(1, 3)
    index = np.array([[0, 0, 1]])
    ours_x, ours_s = mc.tensor(x, requires_grad=True), mc.tensor(src, requires_grad=True)
    y = ours_x.scatter_add(0, mc.from_numpy(index), ours_s)
    t_x = torch.tensor(x, requires_grad=True)
    t_s = torch.tensor(src, requires_grad=True)
    t_y = t_x.scatter_add(0, torch.tensor(index), t_s)
    np.testing.assert_allclose(y.numpy(), t_y.detach().numpy())
    w = np.arange(6.0).reshape(2, 3)
    (y * mc.tensor(w)).sum().backward()
    (t_y * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), t_x.grad.numpy())
    np.testing.assert_allclose(ours_s.grad.numpy(), t_s.grad.numpy())


def test_errors_name_the_argument():
    x = mc.zeros(2, 3)
    with pytest.raises(IndexError, match=r"index: values must be in \[0, 2\]"):
        x.gather(1, mc.from_numpy(np.array([[3]])))
    with pytest.raises(IndexError, match=r"got values in \[-1, 0\]"):
        x.gather(1, mc.from_numpy(np.array([[-1], [0]])))  # PyTorch refuses negative indices too
    with pytest.raises(ValueError, match="index: expected 2 dims"):
        x.gather(1, mc.from_numpy(np.array([0])))
    with pytest.raises(TypeError, match="index: expected an integer"):
        x.gather(1, mc.zeros(2, 1))
    with pytest.raises(ValueError, match="index: size 3 in dim 0 exceeds"):
        x.gather(1, mc.from_numpy(np.zeros((3, 1), dtype=np.int64)))
    with pytest.raises(ValueError, match="src: expected at least index's size"):
        x.scatter(0, mc.from_numpy(np.zeros((2, 2), dtype=np.int64)), mc.zeros(1, 2))
    with pytest.raises(TypeError, match="mask: expected a bool"):
        x.masked_fill(mc.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x.masked_fill(mc.from_numpy(np.zeros(2, dtype=bool)), 1.0)
    with pytest.raises(ValueError, match="each dim may appear once"):
        x.flip(0, 0)
    with pytest.raises(ValueError, match="same length"):
        x.roll((1, 2), 0)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        x.repeat(2)
    with pytest.raises(ValueError, match="add up to 3"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="repeats: expected an int or a 1-d"):
        x.repeat_interleave(mc.from_numpy(np.array([1, 2, 3])), 0)
    with pytest.raises(ValueError, match="chunks"):
        x.chunk(0)
    with pytest.raises(ValueError, match="at least 2 dims"):
        mc.zeros(3).tril()


def test_in_place_forms_follow_pytorch():
    """The conditional-GAN one-hot idiom, and in-place ops inside a graph."""
    torch = torch_or_skip()
    labels = np.array([2, 0, 1])
    ours = mc.zeros(3, 4).scatter_(1, mc.from_numpy(labels).reshape(-1, 1), 1)
    theirs = torch.zeros(3, 4).scatter_(1, torch.tensor(labels).view(-1, 1), 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = np.arange(6.0).reshape(2, 3)
    mask = np.array([[True, False, False], [False, True, True]])
    results = []
    for lib, make in ((mc, mc.tensor), (torch, torch.tensor)):
        leaf = make(x, requires_grad=True)
        y = leaf * 2
        y.masked_fill_(make(mask), -1.0).tril_()
        y.scatter_add_(0, make(np.array([[1, 0, 1]])), leaf[:1] * leaf[:1])
        (grad,) = lib.autograd.grad((y * y).sum(), leaf)
        results.append((y.detach().numpy(), grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    leaf = mc.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.masked_fill_(mc.from_numpy(mask), 0.0)
