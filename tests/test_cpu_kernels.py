"""The Numba CPU kernels (kernels/cpu_conv.py, kernels/cpu_elementwise.py, on the runtime
of kernels/cpu_runtime.py) against the NumPy reference, on random configurations, in
float32 and float64, serial and parallel, in NCHW, channels-last and non-contiguous memory."""
from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minicnn.kernels import cpu_conv, cpu_elementwise, cpu_runtime, cpu_threads
from minicnn.ops import conv as reference

DTYPES = [np.float32, np.float64]
# Each op runs "serial" (all blocks of images on the calling thread, one thread) or
# "parallel" (blocks of one image, every loop cut into blocks, on two threads); how the
# work is split does not depend on the dtype. Both are checked in float32 (the training
# dtype) and the serial one in float64 (gradient checks, tiny arrays).
VERSIONS = pytest.mark.parametrize("dtype, threads", [
    (np.float32, "serial"), (np.float32, "parallel"), (np.float64, "serial")])


def _tolerance(dtype, terms=1):
    """float32 sums of ``terms`` products of O(1) numbers: rounding grows like sqrt(terms)."""
    if dtype == np.float32:
        return dict(rtol=1e-4, atol=1e-5 * max(terms, 1) ** 0.5 * 10)
    return dict(rtol=1e-10, atol=1e-10)


@contextlib.contextmanager
def parallel(enabled: bool):
    """Run every op on two threads as blocks of one image each, every elementwise loop in
    blocks, whatever the size (or everything on the calling thread)."""
    settings = ((cpu_threads, "PARALLEL_MIN_WORK"), (cpu_conv, "PARALLEL_MIN_MULTIPLY_ADDS"),
                (cpu_conv, "MIN_BLOCK_ROWS"), (cpu_conv, "BLOCK_BYTES"))
    saved = [getattr(module, name) for module, name in settings]
    saved_threads = cpu_threads.get_num_threads()
    values = (0, 0, 1, 1) if enabled else (1 << 62, 1 << 62) + tuple(saved[2:])
    for (module, name), value in zip(settings, values):
        setattr(module, name, value)
    cpu_threads.set_num_threads(2 if enabled else 1)
    try:
        yield
    finally:
        for (module, name), value in zip(settings, saved):
            setattr(module, name, value)
        cpu_threads.set_num_threads(saved_threads)


def _layout(array, layout):
    """The same values as (N, C, H, W) in NCHW, channels-last, or strided (gappy) memory."""
    if layout == "nchw":
        return np.ascontiguousarray(array)
    if layout == "channels_last":
        return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    padded = np.zeros(array.shape[:-1] + (array.shape[-1] * 2,), dtype=array.dtype)
    padded[..., ::2] = array
    return padded[..., ::2]


LAYOUTS = st.sampled_from(["nchw", "channels_last", "strided"])


@st.composite
def conv_config(draw):
    groups = draw(st.integers(1, 3))
    C, K = groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 4))
    R, S = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(4))  # top, bottom, left, right
    H, W = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    P, Q = reference.conv2d_output_hw((H, W), (R, S), stride, padding, dilation)
    assume(P >= 1 and Q >= 1)
    N = draw(st.integers(1, 3))
    return dict(N=N, C=C, K=K, H=H, W=W, R=R, S=S, P=P, Q=Q, stride=stride, padding=padding,
                dilation=dilation, groups=groups)


def _arrays(config, dtype, seed, layout_x, layout_g):
    rng = np.random.default_rng(seed)
    c = config
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)
    w = rng.standard_normal((c["K"], c["C"] // c["groups"], c["R"], c["S"])).astype(dtype)
    g = rng.standard_normal((c["N"], c["K"], c["P"], c["Q"])).astype(dtype)
    return _layout(x, layout_x), w, _layout(g, layout_g)


@VERSIONS
@given(config=conv_config(), seed=st.integers(0, 2**31), layout_x=LAYOUTS, layout_g=LAYOUTS)
def test_numba_conv_matches_reference(dtype, threads, config, seed, layout_x, layout_g):
    x, w, g = _arrays(config, dtype, seed, layout_x, layout_g)
    params = {k: config[k] for k in ("stride", "padding", "dilation", "groups")}
    terms = config["C"] // config["groups"] * config["R"] * config["S"]
    with parallel(threads == "parallel"):
        y = cpu_conv.conv2d(x, w, **params)
        grad_x = cpu_conv.conv2d_input_grad(g, w, x.shape[2:], **params)
        grad_w = cpu_conv.conv2d_weight_grad(x, g, w.shape[2:], **params)
    np.testing.assert_allclose(y, reference.conv2d_reference(x, w, **params),
                               **_tolerance(dtype, terms))
    np.testing.assert_allclose(grad_x, reference.conv2d_input_grad_reference(
        g, w, x.shape[2:], **params), **_tolerance(dtype, config["K"] * terms))
    np.testing.assert_allclose(grad_w, reference.conv2d_weight_grad_reference(
        x, g, w.shape[2:], **params), **_tolerance(dtype, g.size))
    for result in (y, grad_x, grad_w):
        assert result.dtype == dtype
    # the memory layout follows the input's: channels-last in, channels-last out
    for result, layout in ((y, layout_x), (grad_x, layout_g)):
        if layout == "channels_last" and cpu_conv.is_channels_last(x if result is y else g):
            assert result.transpose(0, 2, 3, 1).flags.c_contiguous
        else:
            assert result.flags.c_contiguous
    assert grad_w.flags.c_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_size_smaller_than_fits(dtype):
    """``output_hw`` may ask for fewer outputs (the adjoint of a large output_padding)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 9)).astype(dtype)
    w = rng.standard_normal((4, 3, 2, 2)).astype(dtype)
    params = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(2, 2), groups=1)
    y = cpu_conv.conv2d(x, w, output_hw=(5, 6), **params)
    np.testing.assert_allclose(
        y, reference.conv2d_reference(x, w, output_hw=(5, 6), **params), **_tolerance(dtype, 12))
    np.testing.assert_allclose(y, reference.conv2d_reference(x, w, **params)[:, :, :5, :6],
                               **_tolerance(dtype, 12))


def test_dcgan_sized_layer_runs_parallel_and_matches():
    """A float32 k4 s2 p1 layer big enough to take the parallel path by itself."""
    dtype = np.float32
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 16, 16, 16)).astype(dtype)
    w = rng.standard_normal((32, 16, 4, 4)).astype(dtype)
    g = rng.standard_normal((32, 32, 8, 8)).astype(dtype)
    params = dict(stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    assert 32 * 8 * 8 * 16 * 16 * 32 >= cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS
    saved = cpu_threads.get_num_threads()
    cpu_threads.set_num_threads(2)
    try:
        tol = _tolerance(dtype, 256)
        np.testing.assert_allclose(cpu_conv.conv2d(x, w, **params),
                                   reference.conv2d_reference(x, w, **params), **tol)
        np.testing.assert_allclose(cpu_conv.conv2d_input_grad(g, w, (16, 16), **params),
                                   reference.conv2d_input_grad_reference(g, w, (16, 16), **params),
                                   **tol)
        np.testing.assert_allclose(cpu_conv.conv2d_weight_grad(x, g, (4, 4), **params),
                                   reference.conv2d_weight_grad_reference(x, g, (4, 4), **params),
                                   **_tolerance(dtype, 32 * 64 * 16))
    finally:
        cpu_threads.set_num_threads(saved)


def test_results_do_not_alias_the_reused_buffers():
    """The scratch buffers are reused: a returned array must never be one of them."""
    rng = np.random.default_rng(2)
    params = dict(stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    w = rng.standard_normal((3, 2, 3, 3))
    for layout in ("nchw", "channels_last"):
        x1 = _layout(rng.standard_normal((2, 2, 5, 5)), layout)
        x2 = _layout(rng.standard_normal((2, 2, 5, 5)), layout)
        y1 = cpu_conv.conv2d(x1, w, **params)
        kept = y1.copy()
        g1 = cpu_conv.conv2d_input_grad(y1, w, (5, 5), **params)
        kept_g = g1.copy()
        cpu_conv.conv2d(x2, w, **params)
        cpu_conv.conv2d_input_grad(cpu_conv.conv2d(x2, w, **params), w, (5, 5), **params)
        np.testing.assert_array_equal(y1, kept)
        np.testing.assert_array_equal(g1, kept_g)
    cpu_runtime.release_buffers()
    np.testing.assert_allclose(cpu_conv.conv2d(x1, w, **params),
                               reference.conv2d_reference(x1, w, **params))


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("C, H, W, R, S, stride, padding", [
    (3, 12, 10, 4, 4, (2, 2), (1, 1, 1, 1)),   # a DCGAN layer on an RGB image
    (3, 3, 2, 4, 4, (1, 1), (1, 2, 1, 1)),     # windows hang over both sides of a row
    (4, 5, 7, 2, 3, (1, 3), (0, 0, 3, 0)),     # padding wider than a window
    (1, 6, 6, 3, 3, (2, 1), (1, 1, 0, 2)),     # one channel
])
def test_whole_runs_of_pixels(layout, C, H, W, R, S, stride, padding):
    """Without groups and dilation, im2col copies (and col2im adds) each kernel row as
    one run of S C numbers, clipped at the padding: check the clipping at both edges."""
    rng = np.random.default_rng(6)
    x = _layout(rng.standard_normal((2, C, H, W)), layout)
    w = rng.standard_normal((5, C, R, S))
    params = dict(stride=stride, padding=padding, dilation=(1, 1), groups=1)
    P, Q = reference.conv2d_output_hw((H, W), (R, S), stride, padding, (1, 1))
    g = _layout(rng.standard_normal((2, 5, P, Q)), layout)
    tol = _tolerance(np.float64)
    np.testing.assert_allclose(cpu_conv.conv2d(x, w, **params),
                               reference.conv2d_reference(x, w, **params), **tol)
    np.testing.assert_allclose(cpu_conv.conv2d_input_grad(g, w, (H, W), **params),
                               reference.conv2d_input_grad_reference(g, w, (H, W), **params),
                               **tol)
    np.testing.assert_allclose(cpu_conv.conv2d_weight_grad(x, g, (R, S), **params),
                               reference.conv2d_weight_grad_reference(x, g, (R, S), **params),
                               **tol)


@pytest.mark.parametrize("N, pixels, row_bytes", [(1, 1, 4), (64, 1024, 192), (64, 256, 4096),
                                                   (64, 16, 16384), (5, 7, 1 << 30)])
def test_image_blocks_cover_the_batch(N, pixels, row_bytes):
    blocks = cpu_conv._image_blocks(N, pixels, row_bytes)
    assert blocks[0][0] == 0 and blocks[-1][1] == N
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(blocks))
    sizes = {n1 - n0 for n0, n1 in blocks[:-1]}
    assert len(sizes) <= 1 and all(n1 > n0 for n0, n1 in blocks)
    if N >= cpu_conv.MIN_BLOCKS:  # enough images: several blocks for every thread
        assert len(blocks) >= cpu_conv.MIN_BLOCKS


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
def test_blocks_on_two_worker_threads(layout):
    """Two threads share the blocks: each uses its own scratch buffers, and the weight
    gradient's partial sums are added in a fixed order, so runs give the same bits."""
    rng = np.random.default_rng(5)
    x = _layout(rng.standard_normal((6, 5, 9, 8)).astype(np.float32), layout)
    w = rng.standard_normal((6, 5, 4, 4)).astype(np.float32)
    params = dict(stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    g = _layout(rng.standard_normal((6, 6, 4, 4)).astype(np.float32), layout)
    with parallel(True):
        runs = [(cpu_conv.conv2d(x, w, **params),
                 cpu_conv.conv2d_input_grad(g, w, (9, 8), **params),
                 cpu_conv.conv2d_weight_grad(x, g, (4, 4), **params)) for _ in range(3)]
    expected = (reference.conv2d_reference(x, w, **params),
                reference.conv2d_input_grad_reference(g, w, (9, 8), **params),
                reference.conv2d_weight_grad_reference(x, g, (4, 4), **params))
    for run in runs:
        for result, value, terms in zip(run, expected, (80, 480, 96)):
            np.testing.assert_allclose(result, value, **_tolerance(np.float32, terms))
        for result, first in zip(run, runs[0]):
            np.testing.assert_array_equal(result, first)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 5, 7), (3, 4, 1), (4, 64, 256)])
def test_swap_leading_axes(dtype, shape):
    source = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    target = np.empty((shape[1], shape[0], shape[2]), dtype=dtype)
    cpu_conv.swap_leading_axes(source, target)
    np.testing.assert_array_equal(target, source.transpose(1, 0, 2))


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 5, 7), (3, 33, 65), (1, 64, 32)])
def test_transpose_last_two(shape):
    source = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    target = np.empty((shape[0], shape[2], shape[1]), dtype=np.float32)
    cpu_conv.transpose_last_two(source, target)
    np.testing.assert_array_equal(target, source.transpose(0, 2, 1))


# ---------------------------------------------------------------------------------------
# Elementwise kernels
# ---------------------------------------------------------------------------------------
ELEMENTWISE_LAYOUTS = ["nchw", "channels_last", "strided"]


def _activation(dtype, layout, seed=0, shape=(3, 4, 5, 6)):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    values[0, 0, 0, :3] = [0.0, -0.0, 1e-30]  # the kink itself: x > 0 decides
    return _layout(values, layout)


@VERSIONS
@pytest.mark.parametrize("layout", ELEMENTWISE_LAYOUTS)
def test_leaky_relu_kernels(dtype, layout, threads):
    x = _activation(dtype, layout)
    g = _activation(dtype, layout, seed=1)
    slope = 0.2
    expected_y = np.where(x > 0, x, x * dtype(slope))
    expected_mask = np.where(x > 0, 1, slope).astype(dtype)
    with parallel(threads == "parallel"):
        y = cpu_elementwise.leaky_relu(x, slope)
        grad = cpu_elementwise.leaky_relu_backward(g, x, slope)
    for result, expected in ((y, expected_y), (grad, g * expected_mask)):
        assert result.dtype == dtype and result.shape == x.shape
        np.testing.assert_array_equal(result, expected)
    if layout == "channels_last":
        assert cpu_conv.is_channels_last(y) and cpu_conv.is_channels_last(grad)


def test_leaky_relu_backward_with_mixed_layouts():
    x = _activation(np.float32, "channels_last")
    g = _activation(np.float32, "nchw", seed=1)
    np.testing.assert_array_equal(cpu_elementwise.leaky_relu_backward(g, x, 0.1),
                                  np.where(x > 0, g, g * np.float32(0.1)))


@VERSIONS
@pytest.mark.parametrize("layout", ELEMENTWISE_LAYOUTS)
def test_batch_norm_helpers(dtype, layout, threads):
    rng = np.random.default_rng(3)
    x = _layout((rng.standard_normal((4, 3, 5, 6)) * 3 + 100).astype(dtype), layout)
    with parallel(threads == "parallel"):
        mean, var = cpu_elementwise.channel_mean_var(x)
        scale, shift = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
        y = cpu_elementwise.scale_shift(x, scale, shift)
    x64 = x.astype(np.float64)
    tol = dict(rtol=1e-5) if dtype == np.float32 else dict(rtol=1e-12)
    assert mean.dtype == dtype and var.dtype == dtype
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2, 3)), **tol)
    # two-pass variance: exact up to rounding even with a large mean (100 here)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2, 3)), **tol)
    np.testing.assert_allclose(y, x64 * scale.reshape(1, 3, 1, 1) + shift.reshape(1, 3, 1, 1),
                               **tol)
    assert y.dtype == dtype and y.flags.c_contiguous


def test_leaky_relu_kernels_match_the_registered_reference():
    """Same signatures and bit-for-bit the same numbers as the NumPy reference of
    ``minicnn.ops.activation``, so they can be registered under "leaky_relu" and
    "leaky_relu_backward"."""
    from minicnn.ops.activation import leaky_relu_backward_reference, leaky_relu_reference

    for dtype in DTYPES:
        x = _activation(dtype, "nchw")
        g = _activation(dtype, "nchw", seed=1)
        np.testing.assert_array_equal(cpu_elementwise.leaky_relu(x, 0.2),
                                      leaky_relu_reference(x, 0.2))
        np.testing.assert_array_equal(cpu_elementwise.leaky_relu_backward(g, x, 0.2),
                                      leaky_relu_backward_reference(g, x, 0.2))


def test_blas_threads_is_the_one_switch():
    """cpu_threads.blas_threads sets every BLAS library's thread count for a block and
    restores it (minicnn holds it to one thread); the training runs' switch
    (minicnn.training.blas_threads) is the same mechanism."""
    import threadpoolctl

    from minicnn.training import blas_threads as training_blas_threads

    def counts():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = counts()
    for switch in (cpu_threads.blas_threads, training_blas_threads):
        with switch(2):
            assert counts() and set(counts()) == {2}
        assert counts() == before
        with switch(1):
            assert set(counts()) == {1}
        assert counts() == before
    with cpu_threads.blas_threads(2, relist=False):
        assert set(counts()) == {2}
    with cpu_threads.blas_threads(None):
        assert counts() == before
    assert counts() == before
    assert counts() == before
