"""PyTorch behaviours a peer project's op suite leans on: NumPy keyword names
(``axis``/``keepdims``), exception types, and edge cases; each against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


# --- axis= / keepdims= --------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [
    ("sum", {"axis": 1}), ("sum", {"axis": (0, 2), "keepdims": True}), ("mean", {"axis": (1, 2)}),
    ("var", {"axis": (0, 2), "correction": 0}), ("std", {"axis": 1, "keepdims": True}),
    ("prod", {"axis": 2}), ("amax", {"axis": 0}), ("logsumexp", {"axis": 1}),
    ("cumsum", {"axis": 2}), ("softmax", {"axis": 1}),
])
def test_numpy_keyword_names_method_and_function(name, kwargs):
    x = _x(3, 4, 5)
    check_against_torch(lambda t: getattr(t, name)(**kwargs),
                        lambda t: getattr(t, name)(**kwargs), [x], second_order=False)
    check_against_torch(lambda t: getattr(mc, name)(t, **kwargs),
                        lambda t: getattr(torch_or_skip(), name)(t, **kwargs), [x],
                        second_order=False)


def test_numpy_keyword_names_max_min_any_all_std_mean():
    torch = torch_or_skip()
    x = _x(3, 4, 5)
    a, b = mc.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(a.max(axis=1)[0].numpy(), b.max(axis=1)[0].numpy())
    np.testing.assert_array_equal(a.min(axis=2, keepdims=True)[1].numpy(),
                                  b.min(axis=2, keepdims=True)[1].numpy())
    np.testing.assert_array_equal((a > 0).any(axis=(1, 2)).numpy(),
                                  (b > 0).any(axis=(1, 2)).numpy())
    np.testing.assert_array_equal((a > 0).all(axis=0).numpy(), (b > 0).all(axis=0).numpy())
    for m, t in zip(mc.std_mean(a, axis=(1, 2)), torch.std_mean(b, axis=(1, 2))):
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-12)


def test_numpy_keyword_names_conflict_is_a_type_error():
    torch = torch_or_skip()
    with pytest.raises(TypeError):
        torch.ones(2, 3).sum(dim=0, axis=1)
    with pytest.raises(TypeError, match="axis"):
        mc.ones(2, 3).sum(dim=0, axis=1)


# --- F.pad: negative widths crop in every mode; unknown modes ------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", [(-1, 2, 2, -1), (3, -3, 0, -3), (2, -1, -2, 1), (0, 0, 0, -4)])
def test_pad_negative_widths_crop_as_pytorch(mode, widths):
    if mode == "circular" and widths[0] > 5 - 3:
        pytest.skip("PyTorch wraps around what is left after the crop: 3 > 5 - 3 is an error")
    x = _x(1, 2, 5, 5)
    check_against_torch(lambda t: mc.nn.functional.pad(t, widths, mode=mode),
                        lambda t: torch_or_skip().nn.functional.pad(t, widths, mode=mode), [x])


def test_pad_errors_are_pytorch_types():
    torch = torch_or_skip()
    for lib in (torch, mc):
        x = lib.zeros(1, 1, 5)
        with pytest.raises(NotImplementedError):
            lib.nn.functional.pad(x, (1, 0), mode="typo")
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(x, (3, 6), mode="circular")  # wraps around more than once
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(x, (5, 0), mode="reflect")  # not smaller than the dim
    with pytest.raises(ValueError, match="mode: expected 'constant'"):  # and still a ValueError
        mc.nn.functional.pad(mc.zeros(1, 1, 5), (1, 0), mode="typo")


# --- RuntimeError where PyTorch raises it (and still the old ValueError/TypeError) ---------
_RUNTIME_CASES = [
    ("unfold too big", lambda lib: lib.ones(8).unfold(0, 9, 3)),
    ("unfold step", lambda lib: lib.ones(8).unfold(0, 1, -1)),
    ("meshgrid indexing", lambda lib: lib.meshgrid(lib.ones(3), indexing="bad")),
    ("einsum two ellipses", lambda lib: lib.einsum("...ik..., ...jk ->", lib.ones(2, 3, 4),
                                                   lib.ones(2, 3, 4))),
    ("einsum sizes", lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 3), lib.ones(4, 5))),
    ("flip repeated dim", lambda lib: lib.ones(3, 4).flip((1, -1))),
    ("roll dims mismatch", lambda lib: lib.ones(3, 3).roll(shifts=1, dims=(0, 1))),
    ("roll shifts without dims", lambda lib: lib.ones(2, 4).roll((1, 2))),
    ("topk k too big", lambda lib: lib.ones(4).topk(5)),
    ("chunk 0", lambda lib: lib.ones(4).chunk(0)),
    ("flatten start after end", lambda lib: lib.ones(2, 3, 4).flatten(2, 1)),
    ("pad too many widths", lambda lib: lib.nn.functional.pad(lib.ones(3), (1, 1, 1, 1))),
    ("arange step 0", lambda lib: lib.arange(0, 5, 0)),
    ("arange step of the wrong sign", lambda lib: lib.arange(0, 5, -1)),
    ("split sizes do not add up", lambda lib: lib.ones(4).split([1, 2])),
    ("masked_fill mask shape", lambda lib: lib.ones(4).masked_fill(lib.ones(3) > 0, 0.0)),
    ("tril of 1-d", lambda lib: lib.ones(4).tril()),
    ("repeat with fewer sizes", lambda lib: lib.ones(2, 3).repeat(2)),
    ("diagonal with one dim twice", lambda lib: lib.ones(3, 3).diagonal(0, 0, 0)),
    ("trace of 1-d", lambda lib: lib.trace(lib.ones(3))),
    ("eye negative", lambda lib: lib.eye(-1)),
    ("mm of 1-d", lambda lib: lib.mm(lib.ones(3), lib.ones(3, 2))),
    ("bmm of 2-d", lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(3, 2))),
    ("multinomial too many", lambda lib: lib.multinomial(lib.ones(2), 3)),
    ("multinomial negative", lambda lib: lib.multinomial(lib.tensor([-1.0, 2.0]), 1)),
    ("max_pool2d kernel too big", lambda lib: lib.nn.functional.max_pool2d(lib.ones(1, 1, 2, 2),
                                                                           3)),
    ("avg_pool2d pad over half", lambda lib: lib.nn.functional.avg_pool2d(lib.ones(1, 1, 4, 4), 2,
                                                                          padding=2)),
    ("topk k negative", lambda lib: lib.ones(4).topk(-1)),
]


@pytest.mark.parametrize("name,call", _RUNTIME_CASES, ids=[c[0] for c in _RUNTIME_CASES])
def test_runtime_errors_as_pytorch(name, call):
    torch = torch_or_skip()
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError) as caught:
        call(mc)
    assert isinstance(caught.value, ValueError)  # minicnn code catching ValueError still works


def test_index_out_of_range_is_runtime_error_and_index_error():
    torch = torch_or_skip()
    calls = [lambda lib: lib.ones(4).gather(0, lib.tensor([9])),
             lambda lib: lib.ones(4).scatter(0, lib.tensor([9]), 1.0),
             lambda lib: lib.ones(4).narrow(0, 2, 5)]
    for call in calls:
        for lib in (torch, mc):
            with pytest.raises(RuntimeError):
                call(lib)
        with pytest.raises(IndexError):
            call(mc)


def test_dtype_refusals_are_runtime_error_and_type_error():
    torch = torch_or_skip()
    calls = [lambda lib: lib.neg(lib.tensor([True])),
             lambda lib: lib.ones(2, dtype=lib.float64).lerp(lib.ones(2, dtype=lib.float32), 0.5),
             lambda lib: lib.isclose(lib.ones(2, dtype=lib.float64),
                                     lib.ones(2, dtype=lib.float32))]
    for call in calls:
        for lib in (torch, mc):
            with pytest.raises(RuntimeError):
                call(lib)
        with pytest.raises(TypeError):
            call(mc)


def test_bitwise_on_floats_is_runtime_error_and_type_error():
    torch = torch_or_skip()
    for lib in (torch, mc):
        x = lib.ones(4)
        for call in (lambda: x ^ x, lambda: x.bitwise_and(x), lambda: x | x,
                     lambda: x.bitwise_not()):
            with pytest.raises(RuntimeError):
                call()
        with pytest.raises(TypeError):  # PyTorch's ~ on floats is a TypeError
            ~x
    with pytest.raises(TypeError, match="bitwise ops take bool or integer"):
        mc.ones(4).bitwise_xor(mc.ones(4))


# --- scaled_dot_product_attention(enable_gqa=True) -----------------------------------------
def test_sdpa_grouped_query_attention_matches_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(2, 6, 5, 4)), rng.normal(size=(2, 2, 7, 4))
    q_mc = mc.tensor(q)
    v = rng.normal(size=(2, 2, 7, 3))
    for causal in (False, True):
        check_against_torch(
            lambda a, b, c: mc.nn.functional.scaled_dot_product_attention(
                a, b, c, is_causal=causal, enable_gqa=True),
            lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                a, b, c, is_causal=causal, enable_gqa=True),
            [q, k, v], atol=1e-10)
    with pytest.raises(RuntimeError, match="attn_mask=None"):  # PyTorch's fused kernels refuse it
        mc.nn.functional.scaled_dot_product_attention(q_mc, q_mc, q_mc,
                                                      attn_mask=mc.ones(5, 5), is_causal=True)
    with pytest.raises(RuntimeError, match="multiple"):
        mc.nn.functional.scaled_dot_product_attention(
            mc.ones(1, 5, 3, 4), mc.ones(1, 2, 3, 4), mc.ones(1, 2, 3, 4), enable_gqa=True)


# --- small PyTorch behaviours: dtype= of sum/mean, linspace(bool), cumprod's dim, div -----
def test_sum_and_mean_take_a_dtype():
    torch = torch_or_skip()
    x = _x(3, 4).astype(np.float32)
    for name in ("sum", "mean"):
        for kwargs in ({}, {"dim": 1}, {"axis": 0, "keepdims": True}):
            ours = getattr(mc.tensor(x), name)(dtype=mc.float64, **kwargs)
            theirs = getattr(torch.tensor(x), name)(dtype=torch.float64, **kwargs)
            assert ours.dtype == np.float64
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
            ours = getattr(mc, name)(mc.tensor(x), dtype=mc.float64, **kwargs)
            assert ours.dtype == np.float64
    check_against_torch(lambda t: t.float().sum(1, dtype=mc.float64),
                        lambda t: t.float().sum(1, dtype=torch.float64), [x.astype(np.float64)],
                        second_order=False)


def test_linspace_bool_cumprod_dim_and_div_mode_errors():
    torch = torch_or_skip()
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.linspace(5, 10, 3, dtype=lib.bool)
        for dim in (1, -2):
            with pytest.raises(IndexError):
                lib.cumprod(lib.tensor(2.0), dim)
        with pytest.raises(RuntimeError):
            lib.tensor([5, 6]).div(lib.tensor([1, 2]), rounding_mode="typo")
    assert mc.cumprod(mc.tensor(2.0), -1).item() == 2.0
    np.testing.assert_array_equal(mc.linspace(5, -5, 20, dtype=mc.int32).numpy(),
                                  torch.linspace(5, -5, 20, dtype=torch.int32).numpy())


# --- logcumsumexp: no underflow far below the row's max ------------------------------------
def test_logcumsumexp_prefix_far_below_the_max():
    torch = torch_or_skip()
    for values in ([0.0, 100.0], [-300.0, 0.0, 400.0, -2.0], [5.0, -1000.0, 3.0]):
        for dtype in (np.float32, np.float64):
            x = np.array(values, dtype=dtype)
            ours = mc.logcumsumexp(mc.tensor(x), 0).numpy()
            theirs = torch.logcumsumexp(torch.tensor(x), 0).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    check_against_torch(lambda t: mc.logcumsumexp(t * 60, 1),
                        lambda t: torch.logcumsumexp(t * 60, 1), [_x(3, 7)], atol=1e-9)


def test_logcumsumexp_gradcheck_and_gradgradcheck():
    from minicnn.gradcheck import gradcheck, gradgradcheck

    x = mc.tensor(_x(2, 5, 3) * 10, requires_grad=True)
    fn = lambda t: mc.logcumsumexp(t, 1)  # noqa: E731
    assert gradcheck(fn, [x]) and gradgradcheck(fn, [x])


# --- x.view(dtype) --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["int32", "float32", "int16", "uint8", "float64", "int64"])
def test_view_as_another_dtype_reads_the_same_bytes(name):
    torch = torch_or_skip()
    x = _x(3, 4).astype(np.float32)
    ours = mc.tensor(x).view(getattr(mc, name))
    theirs = torch.tensor(x).view(getattr(torch, name))
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == name
    np.testing.assert_array_equal(ours.numpy().view(np.uint8), theirs.numpy().view(np.uint8))
    assert mc.tensor(x).view(2, 6).shape == (2, 6) and mc.tensor(x).view((-1,)).shape == (12,)


def test_view_dtype_errors_as_pytorch():
    torch = torch_or_skip()
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.ones(3, 3, dtype=lib.float32).view(lib.float64)  # 3 x 4 bytes in 8-byte steps
        with pytest.raises(RuntimeError):
            lib.tensor(1.0, dtype=lib.float32).view(lib.int16)


def test_shape_errors_are_runtime_errors_as_pytorch():
    torch = torch_or_skip()
    calls = [lambda lib: lib.ones(3, 4, 5, 6).permute((0, 2)),
             lambda lib: lib.ones(3, 4, 5, 6).permute((0, 0, 1, 2, 3)),
             lambda lib: lib.ones(3, 4).reshape((-1, -1, 2)),
             lambda lib: lib.ones(4, 3, 1, 6).expand(4, 1, 1, 6),
             lambda lib: lib.ones(4, 3, 1, 6).expand(3, 1, 6),
             lambda lib: lib.broadcast_to(lib.ones(3), (2,))]
    for call in calls:
        for lib in (torch, mc):
            with pytest.raises(RuntimeError):
                call(lib)
        with pytest.raises(ValueError):
            call(mc)


def test_square_positive_any_all_dtypes_as_pytorch():
    torch = torch_or_skip()
    for name in ("bool", "uint8", "int32", "float32"):
        values = np.array([1, 0, 2]).astype(name)
        a, b = mc.tensor(values), torch.tensor(values)
        for f in (lambda t: t.square(), lambda t: t.any(), lambda t: t.all(),
                  lambda t: t.any(dim=0), lambda t: t.all(0, keepdim=True)):
            ours, theirs = f(a), f(b)
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), name
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        if name != "bool":
            assert mc.positive(a) is a and a.positive() is a
    for lib in (torch, mc):
        with pytest.raises(RuntimeError):
            lib.tensor([True]).positive()
