"""conv2d, conv_transpose2d and conv2d_weight: gradients, second derivatives, PyTorch, errors.

Hypothesis draws the hyperparameters (shapes, stride, padding, dilation, groups,
output_padding) at tiny sizes; every check runs on float64. ``impl`` runs the same test
with each registered CPU implementation ("reference" NumPy and "numba").
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import registry
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.ops.conv import conv2d, conv2d_weight, conv_transpose2d
from oracle import check_against_torch, torch_or_skip
from strategies import arrays

CONV_OPS = ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")


IMPLEMENTATIONS = ["reference", "numba"]
each_implementation = pytest.mark.parametrize("impl", IMPLEMENTATIONS)


@contextlib.contextmanager
def using(impl: str):
    """Run every conv op with implementation ``impl`` inside the block."""
    with registry.use(CONV_OPS[0], impl), registry.use(CONV_OPS[1], impl), \
            registry.use(CONV_OPS[2], impl):
        yield


# ---------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------
def _output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@st.composite
def conv_case(draw, max_side=5):
    """Arrays and hyperparameters of a valid conv2d: x, w, b, stride, padding, dilation,
    groups (x sometimes a non-contiguous view)."""
    groups = draw(st.integers(1, 2))
    C, K = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    R, S = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    H, W = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    assume(_output_size(H, R, stride[0], padding[0], dilation[0]) >= 1)
    assume(_output_size(W, S, stride[1], padding[1], dilation[1]) >= 1)
    N = draw(st.integers(1, 2))
    x = draw(arrays((N, C, H, W)))
    w = draw(arrays((K, C // groups, R, S)))
    b = draw(arrays((K,)))
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@st.composite
def conv_transpose_case(draw, max_side=4):
    """x, w (C_in, C_out/G, R, S), b, and hyperparameters of a valid conv_transpose2d."""
    groups = draw(st.integers(1, 2))
    C_in, C_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    R, S = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    H, W = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    for size, k, s, p, d, o in zip((H, W), (R, S), stride, padding, dilation, output_padding):
        assume((size - 1) * s - 2 * p + d * (k - 1) + o + 1 >= 1)
    N = draw(st.integers(1, 2))
    x = draw(arrays((N, C_in, H, W)))
    w = draw(arrays((C_in, C_out // groups, R, S)))
    b = draw(arrays((C_out,)))
    return x, w, b, dict(stride=stride, padding=padding, output_padding=output_padding,
                         groups=groups, dilation=dilation)


@st.composite
def conv_weight_case(draw):
    """x, grad_output and (weight_size, hyperparameters) of a valid conv2d_weight."""
    x, w, _, params = draw(conv_case())
    (N, _, H, W), (K, _, R, S) = x.shape, w.shape
    P = _output_size(H, R, params["stride"][0], params["padding"][0], params["dilation"][0])
    Q = _output_size(W, S, params["stride"][1], params["padding"][1], params["dilation"][1])
    grad_output = draw(arrays((N, K, P, Q)))
    return x, grad_output, w.shape, params


# ---------------------------------------------------------------------------------------
# Gradient and second-derivative checks (finite differences), float64
# ---------------------------------------------------------------------------------------
@given(case=conv_case())
def test_conv2d_gradcheck_and_gradgradcheck(case):
    x, w, b, params = case
    inputs = [mc.from_numpy(a).requires_grad_() for a in (x, w, b)]
    fn = lambda x, w, b: conv2d(x, w, b, **params)  # noqa: E731
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@given(case=conv_transpose_case())
def test_conv_transpose2d_gradcheck_and_gradgradcheck(case):
    x, w, b, params = case
    inputs = [mc.from_numpy(a).requires_grad_() for a in (x, w, b)]
    fn = lambda x, w, b: conv_transpose2d(x, w, b, **params)  # noqa: E731
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@given(case=conv_weight_case())
def test_conv2d_weight_gradcheck_and_gradgradcheck(case):
    x, grad_output, weight_size, params = case
    inputs = [mc.from_numpy(a).requires_grad_() for a in (x, grad_output)]
    fn = lambda x, g: conv2d_weight(x, weight_size, g, **params)  # noqa: E731
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------------------------
# PyTorch oracle: forward, gradient and second derivative, with each implementation
# ---------------------------------------------------------------------------------------
@each_implementation
@pytest.mark.oracle
@given(case=conv_case())
def test_conv2d_matches_pytorch(impl, case):
    with using(impl):
        torch = torch_or_skip()
        x, w, b, params = case
        check_against_torch(lambda x, w, b: conv2d(x, w, b, **params),
                            lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **params),
                            [x, w, b])
        assert registry.last_used("conv2d") == impl


@each_implementation
@pytest.mark.oracle
@given(case=conv_transpose_case())
def test_conv_transpose2d_matches_pytorch(impl, case):
    with using(impl):
        torch = torch_or_skip()
        x, w, b, params = case
        check_against_torch(lambda x, w, b: conv_transpose2d(x, w, b, **params),
                            lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **params),
                            [x, w, b])
        assert registry.last_used("conv2d_input_grad") == impl


@each_implementation
@pytest.mark.oracle
@given(case=conv_weight_case())
def test_conv2d_weight_matches_pytorch(impl, case):
    with using(impl):
        torch = torch_or_skip()
        x, grad_output, weight_size, params = case
        check_against_torch(
            lambda x, g: conv2d_weight(x, weight_size, g, **params),
            lambda x, g: torch.nn.grad.conv2d_weight(x, weight_size, g, **params), [x, grad_output])
        assert registry.last_used("conv2d_weight_grad") == impl


@each_implementation
@pytest.mark.oracle
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((2, 4), 1), ((2, 3), (2, 1))])
def test_string_padding_matches_pytorch(impl, padding, kernel, dilation):
    """'same' with an even kernel pads one more at the bottom/right, as PyTorch."""
    with using(impl):
        torch = torch_or_skip()
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3) + kernel)
        check_against_torch(
            lambda x, w: conv2d(x, w, padding=padding, dilation=dilation),
            lambda x, w: torch.nn.functional.conv2d(x, w, padding=padding, dilation=dilation),
            [x, w])
        if padding == "same":
            y = conv2d(mc.tensor(x), mc.tensor(w), padding="same", dilation=dilation)
            assert y.shape[2:] == (6, 7)


@each_implementation
@pytest.mark.oracle
def test_dcgan_layer_shapes_match_pytorch(impl):
    """One DCGAN-sized pair (k4 s2 p1 down and up), float32, against PyTorch."""
    with using(impl):
        torch = torch_or_skip()
        rng = np.random.default_rng(0)
        x = rng.standard_normal((4, 8, 16, 16)).astype(np.float32)
        w = (rng.standard_normal((16, 8, 4, 4)) * 0.1).astype(np.float32)
        y = conv2d(mc.tensor(x), mc.tensor(w), stride=2, padding=1)
        y_torch = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
        assert y.dtype == np.float32 and y.shape == (4, 16, 8, 8)
        np.testing.assert_allclose(y.numpy(), y_torch.numpy(), rtol=1e-4, atol=1e-4)
        z = conv_transpose2d(y, mc.tensor(w), stride=2, padding=1)
        z_torch = torch.nn.functional.conv_transpose2d(y_torch, torch.tensor(w), stride=2,
                                                       padding=1)
        assert z.dtype == np.float32 and z.shape == (4, 8, 16, 16)
        np.testing.assert_allclose(z.numpy(), z_torch.numpy(), rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------------------
# Layouts, dtypes, unbatched input
# ---------------------------------------------------------------------------------------
def test_unbatched_input_matches_batched():
    rng = np.random.default_rng(1)
    x, w = mc.tensor(rng.standard_normal((3, 5, 5))), mc.tensor(rng.standard_normal((2, 3, 3, 3)))
    y = conv2d(x, w, padding=1)
    assert y.shape == (2, 5, 5)
    np.testing.assert_allclose(y.numpy(), conv2d(x.unsqueeze(0), w, padding=1).numpy()[0])
    wt = mc.tensor(rng.standard_normal((3, 2, 4, 4)))
    assert conv_transpose2d(x, wt, stride=2, padding=1).shape == (2, 10, 10)


@each_implementation
def test_channels_last_input_gives_same_values_and_layout(impl):
    """An NHWC-stored input (PyTorch's channels_last) gives the same numbers; the numba
    implementation also keeps that memory layout for the output."""
    with using(impl):
        rng = np.random.default_rng(2)
        x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
        x_channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
        y = conv2d(mc.tensor(x), mc.tensor(w), stride=2, padding=1).numpy()
        y_last = conv2d(mc.from_numpy(x_channels_last), mc.tensor(w), stride=2, padding=1).numpy()
        np.testing.assert_allclose(y_last, y, rtol=1e-5, atol=1e-5)
        if impl == "numba":
            assert y_last.transpose(0, 2, 3, 1).flags.c_contiguous
            assert y.flags.c_contiguous


@each_implementation
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_through_forward_and_backward(impl, dtype):
    with using(impl):
        rng = np.random.default_rng(3)
        x = mc.tensor(rng.standard_normal((2, 2, 5, 5)).astype(dtype), requires_grad=True)
        w = mc.tensor(rng.standard_normal((2, 3, 3, 3)).astype(dtype), requires_grad=True)
        z = conv_transpose2d(conv2d(x, mc.tensor(rng.standard_normal((2, 2, 3, 3)).astype(dtype)),
                                    stride=2), w, stride=2)
        z.sum().backward()
        assert z.dtype == dtype and x.grad.dtype == dtype and w.grad.dtype == dtype


def test_bias_gradient_is_the_sum_over_batch_and_pixels():
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 3, 4, 4)))
    w = mc.tensor(rng.standard_normal((5, 3, 3, 3)))
    b = mc.tensor(np.zeros(5), requires_grad=True)
    conv2d(x, w, b, padding=1).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full(5, 2 * 4 * 4))


def test_every_implementation_is_registered():
    for op in CONV_OPS:
        assert registry.implementations(op)[:2] == ["numba", "reference"]
    assert "reference" in registry.implementations("conv2d", device="cuda")
    conv2d(mc.tensor(np.ones((1, 1, 3, 3))), mc.tensor(np.ones((1, 1, 2, 2))))
    assert registry.last_used("conv2d") == "numba"


# ---------------------------------------------------------------------------------------
# Errors: each names the argument, the expected and what came
# ---------------------------------------------------------------------------------------
def _t(*shape):
    return mc.tensor(np.ones(shape))


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv2d(_t(1, 3, 5, 5), _t(2, 4, 3, 3)), ValueError,
     r"input has 3 channels but weight expects 4"),
    (lambda: conv2d(_t(1, 4, 5, 5), _t(2, 1, 3, 3), groups=2), ValueError,
     r"input has 4 channels but weight expects 2"),
    (lambda: conv2d(_t(1, 3, 5, 5), _t(2, 1, 3, 3), groups=2), ValueError,
     r"groups=2 must divide the input channels, got 3"),
    (lambda: conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError,
     r"groups=2 must divide the output channels \(weight.shape\[0\]\), got 3"),
    (lambda: conv2d(_t(1, 4, 5, 5), _t(4, 4, 3, 3), groups=0), ValueError,
     r"groups: expected a positive int, got 0"),
    (lambda: conv2d(_t(1, 1, 3, 3), _t(1, 1, 5, 5)), ValueError,
     r"kernel size 5x5 .* is larger than the padded input 3x3"),
    (lambda: conv2d(_t(1, 1, 3, 3), _t(1, 1, 3, 3), dilation=2), ValueError,
     r"kernel size 5x5 \(kernel 3x3, dilation 2x2\) is larger than the padded input 3x3"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=0), ValueError,
     r"stride: expected positive values, got 0"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=(1, -2)), ValueError,
     r"stride: expected positive values, got \(1, -2\)"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding=-1), ValueError,
     r"padding: expected non-negative values"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="same", stride=2), ValueError,
     r"padding='same' needs stride 1"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="full"), ValueError,
     r"padding: expected an int, a pair, 'same' or 'valid', got 'full'"),
    (lambda: conv2d(_t(1, 1, 5, 5), _t(1, 3, 3)), ValueError,
     r"weight: expected a 4-D tensor \(K, C/G, R, S\), got 3-D with shape \(1, 3, 3\)"),
    (lambda: conv2d(_t(5, 5), _t(1, 1, 3, 3)), ValueError,
     r"input: expected a 4-D tensor \(N, C, H, W\), got 2-D"),
    (lambda: conv2d(_t(1, 1, 5, 5), mc.tensor(np.ones((1, 1, 3, 3), np.float32))), TypeError,
     r"input has dtype float64 but weight has dtype float32"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), _t(1, 1, 3, 3)), TypeError,
     r"input: expected a minicnn Tensor, got ndarray"),
    (lambda: conv2d(_t(1, 2, 5, 5), _t(3, 2, 3, 3), _t(2)), ValueError,
     r"bias: expected a tensor of shape \(3,\), got \(2,\)"),
    (lambda: conv_transpose2d(_t(1, 3, 5, 5), _t(4, 2, 3, 3)), ValueError,
     r"input has 3 channels but weight expects 4"),
    (lambda: conv_transpose2d(_t(1, 3, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError,
     r"groups=2 must divide the input channels, got 3"),
    (lambda: conv_transpose2d(_t(1, 2, 5, 5), _t(2, 2, 3, 3), stride=0), ValueError,
     r"stride: expected positive values, got 0"),
    (lambda: conv_transpose2d(_t(1, 2, 5, 5), _t(2, 2, 3, 3), stride=2, output_padding=2),
     ValueError, r"output_padding: must be smaller than stride or dilation"),
    (lambda: conv_transpose2d(_t(1, 2, 2, 2), _t(2, 2, 3, 3), padding=3), ValueError,
     r"output size -2x-2 is not positive"),
    (lambda: conv_transpose2d(_t(1, 2, 5, 5), _t(2, 2, 3)), ValueError,
     r"weight: expected a 4-D tensor"),
    (lambda: conv2d_weight(_t(1, 2, 5, 5), (3, 2, 3, 3), _t(1, 3, 2, 2)), ValueError,
     r"grad_output: expected shape \(1, 3, 3, 3\)"),
    (lambda: conv2d_weight(_t(1, 2, 5, 5), (3, 3, 3, 3), _t(1, 3, 3, 3)), ValueError,
     r"input has 2 channels but weight_size expects 3"),
    (lambda: conv2d_weight(_t(1, 2, 5, 5), (3, 3, 3), _t(1, 3, 3, 3)), ValueError,
     r"weight_size: expected 4 numbers"),
])
def test_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_conv2d_in_float16_runs_the_reference_and_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    x_t, w_t = (torch.tensor(a, requires_grad=True) for a in (x, w))
    expected = torch.nn.functional.conv2d(x_t, w_t, padding=1)
    expected.sum().backward()
    xm, wm = mc.tensor(x, requires_grad=True), mc.tensor(w, requires_grad=True)
    y = conv2d(xm, wm, padding=1)
    y.sum().backward()
    assert registry.last_used("conv2d") == "reference" and y.dtype == np.float16
    for ours, theirs in ((y, expected), (xm.grad, x_t.grad), (wm.grad, w_t.grad)):
        np.testing.assert_allclose(ours.array.astype(np.float32),
                                   theirs.detach().numpy().astype(np.float32), rtol=2e-2, atol=5e-2)
