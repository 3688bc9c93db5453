"""Pooling and resizing: gradcheck + gradgradcheck under hypothesis-drawn hyperparameters,
the PyTorch oracle (forward, gradient, second derivative), and the error messages.

Each op is one row of ``CASES``: a draw (arrays + keyword arguments) and the minicnn and
torch calls taking the same keywords.
"""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from minicnn import registry
from minicnn.ops.pool import pool_output_size
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, tie_free




def _tf():
    return torch_or_skip().nn.functional


def _window_args(data, with_dilation):
    """kernel, stride, padding, dilation, ceil_mode and an input size that fits them."""
    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(2))
    stride = data.draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(2)) if with_dilation else (1, 1)
    ceil_mode = data.draw(st.booleans())
    shape = [data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))]
    for k, p, d in zip(kernel, padding, dilation):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        shape.append(data.draw(st.integers(smallest, smallest + 3)))
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if with_dilation:
        kwargs["dilation"] = dilation
    return tuple(shape), kwargs


def _no_window_in_padding_only(shape, kwargs):
    """With dilation, a window can read padding only (output -inf): not a case to check."""
    stride = kwargs["stride"] or kwargs["kernel_size"]
    for axis in range(2):
        size, k, s = shape[2 + axis], kwargs["kernel_size"][axis], stride[axis]
        p, d = kwargs["padding"][axis], kwargs["dilation"][axis]
        for o in range(pool_output_size(size, k, s, p, d, kwargs["ceil_mode"])):
            cells = o * s - p + d * np.arange(k)
            if not ((cells >= 0) & (cells < size)).any():
                return False
    return True


def draw_max_pool(data):
    shape, kwargs = _window_args(data, with_dilation=True)
    assume(_no_window_in_padding_only(shape, kwargs))
    return [data.draw(tie_free(shape))], kwargs


def draw_avg_pool(data):
    shape, kwargs = _window_args(data, with_dilation=False)
    kwargs["count_include_pad"] = data.draw(st.booleans())
    kwargs["divisor_override"] = data.draw(st.sampled_from([None, None, 2]))
    return [data.draw(arrays(shape))], kwargs


def draw_adaptive(data):
    shape = (data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 6)),
             data.draw(st.integers(1, 6)))
    size = data.draw(st.one_of(st.integers(1, 5),
                               st.tuples(st.one_of(st.none(), st.integers(1, 5)),
                                         st.integers(1, 5))))
    return [data.draw(arrays(shape))], {"output_size": size}


def draw_interpolate(mode):
    def draw(data):
        shape = (1, 2, data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
        kwargs = {"mode": mode}
        if data.draw(st.booleans()):
            kwargs["size"] = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
        else:
            kwargs["scale_factor"] = data.draw(st.sampled_from([0.5, 1.5, 2.0, 2.5, 3.0]))
            assume(min(shape[2:]) * kwargs["scale_factor"] >= 1)
        if mode == "bilinear":
            kwargs["align_corners"] = data.draw(st.booleans())
        return [data.draw(arrays(shape))], kwargs
    return draw


def _unbatched(fn):
    return lambda x, **kw: fn(x[0], **kw)


CASES = [
    Case("max_pool2d", draw_max_pool, F.max_pool2d, lambda x, **kw: _tf().max_pool2d(x, **kw)),
    Case("avg_pool2d", draw_avg_pool, F.avg_pool2d, lambda x, **kw: _tf().avg_pool2d(x, **kw)),
    Case("avg_pool2d-unbatched", draw_avg_pool, _unbatched(F.avg_pool2d),
         lambda x, **kw: _tf().avg_pool2d(x[0], **kw)),
    Case("adaptive_avg_pool2d", draw_adaptive, F.adaptive_avg_pool2d,
         lambda x, **kw: _tf().adaptive_avg_pool2d(x, **kw)),
    Case("interpolate-nearest", draw_interpolate("nearest"), F.interpolate,
         lambda x, **kw: _tf().interpolate(x, **kw)),
    Case("interpolate-bilinear", draw_interpolate("bilinear"), F.interpolate,
         lambda x, **kw: _tf().interpolate(x, **kw)),
]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# -- specific behaviour ---------------------------------------------------------------------
@given(data=st.data())
def test_max_pool_unbatched_and_indices_match_pytorch(data):
    torch = torch_or_skip()
    shape, kwargs = _window_args(data, with_dilation=True)
    assume(_no_window_in_padding_only(shape, kwargs))
    x = data.draw(tie_free(shape))
    y, idx = F.max_pool2d(mc.tensor(x), return_indices=True, **kwargs)
    ty, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_allclose(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    y0 = F.max_pool2d(mc.tensor(x[0]), **kwargs)
    np.testing.assert_allclose(y0.numpy(), ty[0].numpy())


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    x = mc.tensor(np.array([[[[1.0, 3.0, 3.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, (1, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0, 0.0, 0.0]]]])


def test_overlapping_windows_add_up_at_a_shared_winner():
    x = mc.tensor(np.array([[[[0.0, 5.0, 1.0, 2.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, (1, 2), stride=1)          # windows (0,5) (5,1) (1,2)
    y.backward(mc.tensor(np.array([[[[1.0, 10.0, 100.0]]]])))
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 11.0, 0.0, 100.0]]]])


def test_max_pool_backward_is_scatter_and_its_backward_a_gather():
    from minicnn.ops.math import Connected
    from minicnn.ops.pool import MaxPoolGather, MaxPoolScatter

    x = mc.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    y = F.max_pool2d(x, 2)
    v = mc.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    (g,) = mc.grad(y, x, v, create_graph=True)
    # the scatter, linked to x with a zero derivative (ops.math.Connected), as PyTorch's
    assert isinstance(g.creator, Connected) and g.creator.inputs[1] is x
    assert isinstance(g.creator.inputs[0].creator, MaxPoolScatter)
    w = mc.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    (gg,) = mc.grad((g * w).sum(), v, create_graph=True)
    assert isinstance(gg.creator, MaxPoolGather)
    np.testing.assert_array_equal(gg.numpy(), [[[[5.0, 7.0], [13.0, 15.0]]]])


def test_pooling_runs_through_the_registry():
    x = mc.tensor(np.random.default_rng(0).standard_normal((1, 1, 4, 4)), requires_grad=True)
    (F.max_pool2d(x, 2).sum() + F.avg_pool2d(x, 2).sum()).backward()
    for op in ("max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"):
        assert registry.last_used(op) is not None and "reference" in registry.implementations(op)


def test_float32_stays_float32():
    x = mc.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32))
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1), F.adaptive_avg_pool2d(x, 2),
              F.interpolate(x, scale_factor=2), F.interpolate(x, size=7, mode="bilinear")):
        assert y.dtype == np.float32


@pytest.mark.parametrize("size,kernel,stride,padding,dilation,ceil_mode", [
    (5, 2, 2, 0, 1, False), (5, 2, 2, 0, 1, True), (6, 3, 2, 1, 1, True),
    (4, 3, 3, 1, 1, True), (7, 3, 2, 1, 2, True), (1, 1, 1, 0, 1, True),
])
def test_output_size_matches_pytorch(size, kernel, stride, padding, dilation, ceil_mode):
    torch = torch_or_skip()
    expected = torch.nn.functional.max_pool2d(torch.zeros(1, 1, size, size), kernel, stride,
                                              padding, dilation, ceil_mode).shape[-1]
    assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == expected


@pytest.mark.parametrize("call,message", [
    (lambda x: F.max_pool2d(x, 2, padding=2), "padding should be at most half"),
    (lambda x: F.max_pool2d(x, 2, stride=0), "stride: expected positive"),
    (lambda x: F.max_pool2d(x, 0), "kernel_size: expected positive"),
    (lambda x: F.max_pool2d(x, 5), "output size is too small"),
    (lambda x: F.avg_pool2d(x, 3, padding=-1), "padding: expected non-negative"),
    (lambda x: F.max_pool2d(x, 2.5), "kernel_size: expected an int"),
    (lambda x: F.max_pool2d(x[0, 0], 2), "expected a 4-D"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
    (lambda x: F.adaptive_avg_pool2d(x, -1), "non-negative ints"),  # 0: empty, as PyTorch
    (lambda x: F.interpolate(x), "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, size=2, scale_factor=2), "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, size=2, mode="trilinear"), "mode: expected one of"),
    (lambda x: F.interpolate(x, size=2, align_corners=True), "align_corners can only"),
    (lambda x: F.interpolate(x, scale_factor=0.1), "empty output"),
    (lambda x: F.interpolate(x[0, 0], size=2), "4-D"),  # 3-D x[0] is (N, C, L): 1-D resizing
])
def test_errors_name_the_argument(call, message):
    x = mc.tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises((ValueError, TypeError), match=message):
        call(x)


def test_max_pool_backward_with_an_empty_batch():
    x = mc.tensor(np.zeros((0, 2, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.shape == (0, 2, 4, 4)


def test_max_pool_on_int64_matches_torch():
    torch = torch_or_skip()
    values = np.random.default_rng(0).integers(-2**62, 2**62, size=(2, 3, 5, 6))
    values[0, 0, 0, 0] = np.iinfo(np.int64).max
    y, indices = F.max_pool2d(mc.tensor(values), 3, stride=2, padding=1, return_indices=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(
        torch.tensor(values), 3, stride=2, padding=1, return_indices=True)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.array, expected.numpy())
    np.testing.assert_array_equal(indices.array, expected_indices.numpy())
