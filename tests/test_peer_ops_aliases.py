"""PyTorch methods that are other ops under a new name or a short composition (fix, msort,
maximum/minimum/broadcast_to as methods, split_with_sizes, diag_embed, index_put, put,
conj/real/mH/adjoint/is_complex of real tensors), and sum(dtype=) keeping that dtype:
against PyTorch, gradients included."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


@pytest.mark.parametrize("expr", [
    "t.fix()", "t.msort()", "t.maximum(t * 0.5)", "t.minimum(t.flip(0))",
    "t.broadcast_to((2, 3, 4, 5))", "t.broadcast_to(2, 3, 4, 5)",
    "t.split_with_sizes([1, 3], dim=1)[1]",
    "t.diag_embed()", "t.diag_embed(1)", "t.diag_embed(offset=-2)", "t.conj()", "t.real * 2",
    "t.mH", "t.adjoint()", "t.resolve_conj()",
])
def test_aliases_match_pytorch(expr):
    second = "msort" not in expr and "fix" not in expr
    check_against_torch(lambda t: eval(expr, {"t": t}), lambda t: eval(expr, {"t": t}),
                        [_x(3, 4, 5)], second_order=second)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_and_put_match_pytorch(accumulate):
    torch = torch_or_skip()
    rows, cols = np.array([0, 2, 0, 1]), np.array([1, 3, 1, 0])  # (0, 1) twice
    if not accumulate:
        rows, cols = rows[1:], cols[1:]
    values = _x(len(rows), seed=1)
    check_against_torch(
        lambda t, v: t.index_put((mc.tensor(rows), mc.tensor(cols)), v, accumulate=accumulate),
        lambda t, v: t.index_put((torch.tensor(rows), torch.tensor(cols)), v,
                                 accumulate=accumulate),
        [_x(3, 4), values])
    flat = np.array([0, 5, -1, 5]) if accumulate else np.array([0, 5, -1])
    source = _x(len(flat), seed=2)
    check_against_torch(
        lambda t, s: t.put(mc.tensor(flat), s, accumulate=accumulate),
        lambda t, s: t.put(torch.tensor(flat), s, accumulate=accumulate), [_x(3, 4), source])
    for lib in (torch, mc):
        with pytest.raises(IndexError):
            lib.zeros(2, 2).put(lib.tensor([7]), lib.tensor([1.0]))


def test_diag_embed_gradcheck_and_is_complex():
    x = mc.tensor(_x(2, 3), requires_grad=True)
    for offset in (0, 1, -1):
        fn = lambda t: t.diag_embed(offset) * 2  # noqa: E731
        assert gradcheck(fn, [x]) and gradgradcheck(fn, [x])
    assert mc.is_complex(x) is False and x.is_complex() is False


def test_sum_with_dtype_has_that_dtype():
    torch = torch_or_skip()
    b = np.array([[True, False, True], [True, True, False]])
    for dtype in ("int32", "int16", "float32", "int64"):
        ours = mc.tensor(b).sum(dtype=getattr(mc, dtype))
        theirs = torch.tensor(b).sum(dtype=getattr(torch, dtype))
        assert str(ours.dtype) == dtype == str(theirs.dtype).replace("torch.", "")
        assert ours.item() == theirs.item()
        ours = mc.tensor(b).sum(1, dtype=getattr(mc, dtype))
        theirs = torch.tensor(b).sum(1, dtype=getattr(torch, dtype))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_setitem_with_unsorted_index_tensors_as_pytorch():
    torch = torch_or_skip()
    cases = [(lambda L: (L.tensor([2, 0]),), [1.0, 2.0], (4,)),
             (lambda L: (L.tensor([2, 0, 1]), L.tensor([3, 1, 0])), [1.0, 2.0, 3.0], (3, 4)),
             (lambda L: (L.tensor([3, 1, 3]),), [1.0, 2.0, 5.0], (4,)),  # repeat: last write
             (lambda L: ([1, 0],), [[1.0, 2, 3, 4], [5, 6, 7, 8]], (3, 4))]
    for index, value, shape in cases:
        out = []
        for lib in (torch, mc):
            x = lib.zeros(*shape, dtype=lib.float64)
            x[index(lib)] = lib.tensor(value, dtype=lib.float64)
            out.append(x.numpy())
        np.testing.assert_array_equal(out[1], out[0])
    v = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = mc.zeros(4)
    y[mc.tensor([3, 0, 2])] = v
    (y * mc.tensor([10.0, 20.0, 30.0, 40.0])).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [40.0, 10.0, 30.0])
