"""On a real GPU: every kernel and every op on CuPy against the NumPy reference (float32).

Marker ``gpu``; the whole module skips cleanly where CuPy sees no CUDA device (and under
Numba's simulator). Criterion everywhere: relative error ``max|gpu - ref| / max|ref|``
below 1e-4 in float32. ``benchmarks/gpu_check.sh`` runs this file first.

* kernels: each implementation ("numba", "cuda_c" in both tile sizes, "im2col_cublas") of
  conv2d, its input and weight gradients and conv_transpose2d, on DCGAN-64 layers and on
  odd shapes with stride, padding, dilation and groups; pooling, im2col/col2im and leaky
  ReLU; compared with float64 references (``tests/conv_reference.py``). The launchers take
  the NumPy references' signatures (stride/dilation pairs, padding (top, bottom, left,
  right), no bias): ``kernels/cuda_conv_tiled.py``, ``cuda_c_host.py``, ``cuda_pool.py`` ...
* ops: every ``minicnn.functional`` op of DESIGN §4 on ``Tensor.to("cuda")`` against the same
  op on the CPU, forward and input gradients; and conv2d, conv_transpose2d, max/avg pooling
  and leaky ReLU once with each GPU implementation selected (``registry.use``). What is not
  there yet (the op, ``Tensor.to``, the registration) skips, saying so.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conv_reference as ref  # noqa: E402

from minicnn.geometry import (conv_geometry, conv_transpose_output_shape, padding4,  # noqa: E402
                              pair)
from minicnn.kernels import cuda_c_host, cuda_runtime  # noqa: E402

pytestmark = pytest.mark.gpu

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not cuda_runtime.cupy_available():
    pytest.skip("needs a CUDA GPU with CuPy (none here)", allow_module_level=True)

import cupy  # noqa: E402

TOLERANCE = 1e-4


def relative_error(actual, expected) -> float:
    actual = cupy.asnumpy(actual).astype(np.float64) if not isinstance(actual, np.ndarray) \
        else actual.astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))


def assert_close(actual, expected, what):
    error = relative_error(actual, expected)
    assert error < TOLERANCE, f"{what}: relative error {error:.3g} >= {TOLERANCE}"


@pytest.fixture(scope="module")
def numba_ready():
    if not cuda_runtime.numba_cuda_available():
        try:
            from numba import cuda
            cuda.detect()
        except Exception as error:  # the reason is the useful part of the skip
            pytest.skip(f"numba.cuda cannot launch on this GPU: {error!r} (pip install "
                        "numba-cuda[cu12] may be needed)")
        pytest.skip("numba.cuda cannot launch on this GPU (pip install numba-cuda[cu12]?)")


def _numba(module):
    """A Numba CUDA kernel module with its launchers (importing it imports numba.cuda)."""
    import importlib
    return importlib.import_module(f"minicnn.kernels.{module}")


# (name, N, C, H, W, K, R, S, stride, padding, dilation, groups)
CONV_CASES = [
    ("D 3->64 @64", 32, 3, 64, 64, 64, 4, 4, 2, 1, 1, 1),      # DCGAN-64 layers, batch 32
    ("D 64->128 @32", 32, 64, 32, 32, 128, 4, 4, 2, 1, 1, 1),  # (gpu_bench.py checks batch 64)
    ("D 256->512 @8", 32, 256, 8, 8, 512, 4, 4, 2, 1, 1, 1),
    ("D 512->1 @4", 32, 512, 4, 4, 1, 4, 4, 1, 0, 1, 1),
    ("odd groups/dilation", 3, 6, 13, 11, 9, 3, 2, (2, 1), (1, 2), (2, 1), 3),
    ("odd stride 3", 2, 5, 17, 10, 7, 5, 3, (3, 2), (2, 0), (1, 2), 1),
]
IMPLEMENTATIONS = [("numba", None), ("cuda_c", "64x64"), ("cuda_c", "128x128"),
                   ("im2col_cublas", None)]


_REFERENCES = {}


def _references(case, x, w, dy, g):
    """float64 forward, input grad and weight grad of a case, computed once per case."""
    if case[0] not in _REFERENCES:
        x64, w64, dy64 = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
        _REFERENCES[case[0]] = (
            ref.conv2d_reference(x64, w64, None, **g),
            ref.conv2d_input_grad_reference(dy64, w64, x.shape, **g),
            ref.conv2d_weight_grad_reference(x64, dy64, w.shape, **g))
    return _REFERENCES[case[0]]


def _conv_data(case, seed=0):
    _, N, C, H, W, K, R, S, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((K, C // groups, R, S)) / np.sqrt(C // groups * R * S)).astype(
        np.float32)
    geometry = dict(stride=pair(stride, "stride"), padding=padding4(padding),
                    dilation=pair(dilation, "dilation"), groups=groups)
    return x, w, geometry


def _functions(name, tile):
    options = {} if tile is None else {"tile": tile}
    if name == "numba":
        T = _numba("cuda_conv_tiled")
        functions = (T.conv2d_numba, T.conv2d_input_grad_numba, T.conv2d_weight_grad_numba)
    else:
        H = cuda_c_host
        functions = {"cuda_c": (H.conv2d_cuda_c, H.conv2d_input_grad_cuda_c,
                                H.conv2d_weight_grad_cuda_c),
                     "im2col_cublas": (H.conv2d_im2col_cublas, H.conv2d_input_grad_im2col_cublas,
                                       H.conv2d_weight_grad_im2col_cublas)}[name]
    return [lambda *a, f=f, **k: f(*a, **k, **options) for f in functions]


@pytest.mark.parametrize("implementation, tile", IMPLEMENTATIONS,
                         ids=[f"{n}-{t}" if t else n for n, t in IMPLEMENTATIONS])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_kernels(case, implementation, tile, request):
    if implementation == "numba":
        request.getfixturevalue("numba_ready")
    forward, input_grad, weight_grad = _functions(implementation, tile)
    x, w, g = _conv_data(case)
    _, N, C, H, W, K, R, S, *_ = case
    P, Q = conv_geometry(x.shape, w.shape, **g).output_hw
    dy = np.random.default_rng(1).standard_normal((N, K, P, Q)).astype(np.float32)
    y_ref, dx_ref, dw_ref = _references(case, x, w, dy, g)
    xd, wd, dyd = (cupy.asarray(a) for a in (x, w, dy))

    assert_close(forward(xd, wd, **g), y_ref, "conv2d")
    assert_close(input_grad(dyd, wd, (H, W), **g), dx_ref, "input grad")
    assert_close(weight_grad(xd, dyd, (R, S), **g), dw_ref, "weight grad")
    # conv_transpose2d(dy, w) (weight layout (C_in = K, C_out/groups, R, S)) is this input
    # gradient when output_padding restores x's size: the op computes it with input_grad
    s, d, (top, bottom, left, right) = g["stride"], g["dilation"], g["padding"]
    output_padding = tuple(size - ((out - 1) * s_ - pad + d_ * (k_ - 1) + 1) for size, out, s_,
                           pad, d_, k_ in zip((H, W), (P, Q), s, (top + bottom, left + right),
                                              d, (R, S)))
    if all(0 <= o < max(s_, d_) for o, s_, d_ in zip(output_padding, s, d)):
        assert conv_transpose_output_shape(dy.shape, w.shape, s, g["padding"], output_padding,
                                           g["groups"], d) == x.shape


def test_naive_conv_and_im2col(numba_ready):
    x, w, g = _conv_data(CONV_CASES[4])
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    xd = cupy.asarray(x)
    assert_close(_numba("cuda_conv_naive").conv2d_naive_numba(xd, cupy.asarray(w), **g),
                 ref.conv2d_reference(x64, w64, None, **g), "naive conv2d")
    u = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"])
    cols = ref.im2col_reference(x64, w.shape[2:], **u)
    im2col = _numba("cuda_im2col")
    assert_close(im2col.im2col_numba(xd, w.shape[2:], **u), cols, "im2col")
    back = im2col.col2im_numba(cupy.asarray(cols.astype(np.float32)), x.shape, w.shape[2:],
                               **u)
    assert_close(back, ref.col2im_reference(cols, x.shape, w.shape[2:], **u), "col2im")


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((3, 2), (2, 1), (1, 0), (2, 1), True),
])
def test_pool_kernels(numba_ready, kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(2)
    shape = (8, 16, 31, 29)
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) / 1000.0).astype(np.float32)
    xd = cupy.asarray(x)
    y_ref, idx_ref = ref.max_pool2d_reference(x.astype(np.float64), kernel, stride, padding,
                                              dilation, ceil_mode)
    L = _numba("cuda_pool")
    y, indices = L.max_pool2d_numba(xd, kernel, stride, padding, dilation, ceil_mode)
    assert_close(y, y_ref, "max_pool2d")
    assert np.array_equal(cupy.asnumpy(indices), idx_ref)
    dy = rng.standard_normal(y_ref.shape).astype(np.float32)
    assert_close(L.max_pool2d_backward_numba(cupy.asarray(dy), indices, shape, kernel, stride,
                                             padding, dilation),
                 ref.max_pool2d_backward_reference(dy.astype(np.float64), idx_ref, shape),
                 "max_pool2d backward")
    if dilation != (1, 1):
        return
    for include in (True, False):
        a = (kernel, stride, padding, ceil_mode, include)
        y_ref = ref.avg_pool2d_reference(x.astype(np.float64), *a)
        assert_close(L.avg_pool2d_numba(xd, *a), y_ref, "avg_pool2d")
        dy = rng.standard_normal(y_ref.shape).astype(np.float32)
        assert_close(L.avg_pool2d_backward_numba(cupy.asarray(dy), shape, *a),
                     ref.avg_pool2d_backward_reference(dy.astype(np.float64), shape, *a),
                     "avg_pool2d backward")


def test_leaky_relu_kernels(numba_ready):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 128, 16, 16)).astype(np.float32)
    z = x.astype(np.float64)
    L = _numba("cuda_elementwise")
    y = L.leaky_relu_numba(cupy.asarray(x), 0.2)
    assert_close(y, np.where(z > 0, z, 0.2 * z), "leaky relu")
    dy = rng.standard_normal(x.shape).astype(np.float32)
    dx = L.leaky_relu_backward_numba(cupy.asarray(dy), y, 0.2)     # the mask from the output
    assert_close(dx, np.where(z > 0, dy, 0.2 * dy), "leaky relu backward")


# ----------------------------------------------------------------------------- ops on Tensors


def _minicnn_on_gpu():
    try:
        import minicnn as mc
        import minicnn.functional as F
        mc.tensor(np.zeros(1, np.float32)).to("cuda")
    except Exception as error:
        pytest.skip(f"needs minicnn.functional and Tensor.to('cuda'): {error!r}")
    return mc, F


def _randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _op_cases():
    """(name, function(F, *tensors), input arrays, how many of them get gradients)."""
    rng = np.random.default_rng(4)
    x4 = _randn(rng, 4, 6, 9, 8)
    x2 = _randn(rng, 8, 10)
    t2 = _randn(rng, 8, 10)
    return [
        ("conv2d", lambda F, x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2),
         [x4, _randn(rng, 4, 3, 3, 3), _randn(rng, 4)], 3),
        ("conv_transpose2d", lambda F, x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2),
         [x4, _randn(rng, 6, 2, 4, 4), _randn(rng, 4)], 3),
        ("max_pool2d", lambda F, x: F.max_pool2d(x, 3, 2, 1), [x4], 1),
        ("avg_pool2d", lambda F, x: F.avg_pool2d(x, 2), [x4], 1),
        ("linear", lambda F, x, w, b: F.linear(x, w, b),
         [x2, _randn(rng, 5, 10), _randn(rng, 5)], 3),
        ("batch_norm", lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [x4, _randn(rng, 6), _randn(rng, 6)], 3),
        ("layer_norm", lambda F, x: F.layer_norm(x, (9, 8)), [x4], 1),
        ("group_norm", lambda F, x: F.group_norm(x, 2), [x4], 1),
        ("instance_norm", lambda F, x: F.instance_norm(x), [x4], 1),
        ("relu", lambda F, x: F.relu(x), [x4], 1),
        ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2), [x4], 1),
        ("sigmoid", lambda F, x: F.sigmoid(x), [x4], 1),
        ("tanh", lambda F, x: F.tanh(x), [x4], 1),
        ("softmax", lambda F, x: F.softmax(x, 1), [x2], 1),
        ("log_softmax", lambda F, x: F.log_softmax(x, 1), [x2], 1),
        ("mse_loss", lambda F, x, t: F.mse_loss(x, t), [x2, t2], 2),
        ("l1_loss", lambda F, x, t: F.l1_loss(x, t), [x2, t2], 2),
        ("huber_loss", lambda F, x, t: F.huber_loss(x, t), [x2, t2], 2),
        ("cross_entropy", lambda F, x, labels: F.cross_entropy(x, labels),
         [x2, rng.integers(0, 10, 8)], 1),
        ("binary_cross_entropy_with_logits",
         lambda F, x, t: F.binary_cross_entropy_with_logits(x, t),
         [x2, rng.random((8, 10)).astype(np.float32)], 1),
    ]


OP_CASES = _op_cases()


def _run_op(mc, F, case, device):
    """Forward and input gradients of one op case on one device, as NumPy arrays."""
    name, function, arrays, differentiable = case
    tensors = [mc.tensor(a).to(device) for a in arrays]
    for tensor in tensors[:differentiable]:
        tensor.requires_grad_()
    out = function(F, *tensors)
    weights = np.random.default_rng(5).standard_normal(out.shape).astype(np.float32)
    (out * mc.tensor(weights).to(device)).sum().backward()
    return _host(out.array), [_host(t.grad.array) for t in tensors[:differentiable]]


@pytest.mark.parametrize("case", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_on_gpu_matches_cpu(case):
    mc, F = _minicnn_on_gpu()
    name = case[0]
    if not hasattr(F, name):
        pytest.skip(f"minicnn.functional.{name} is not written yet")
    out_cpu, grads_cpu = _run_op(mc, F, case, "cpu")
    out_gpu, grads_gpu = _run_op(mc, F, case, "cuda")
    assert_close(out_gpu, out_cpu, f"{name} forward")
    for i, (gpu, cpu) in enumerate(zip(grads_gpu, grads_cpu)):
        assert_close(gpu, cpu, f"{name} gradient of input {i}")


def _host(array):
    return cupy.asnumpy(array) if isinstance(array, cupy.ndarray) else np.asarray(array)


# functional op -> the registry ops its forward and backward dispatch
REGISTRY_OPS = {
    "conv2d": ("conv2d", "conv2d_input_grad", "conv2d_weight_grad"),
    "conv_transpose2d": ("conv2d", "conv2d_input_grad", "conv2d_weight_grad"),
    "max_pool2d": ("max_pool2d", "max_pool2d_backward"),
    "avg_pool2d": ("avg_pool2d", "avg_pool2d_backward"),
    "leaky_relu": ("leaky_relu", "leaky_relu_backward"),
}


@pytest.mark.parametrize("implementation", ["numba", "cuda_c", "im2col_cublas"])
@pytest.mark.parametrize("op", list(REGISTRY_OPS))
def test_op_with_each_gpu_kernel(op, implementation):
    """The op on CuPy with one named implementation selected for all the registry ops its
    forward and backward use, against the op on the CPU."""
    import contextlib
    mc, F = _minicnn_on_gpu()
    from minicnn import registry
    registry_ops = REGISTRY_OPS[op]
    missing = [r for r in registry_ops if implementation not in registry.implementations(r, "cuda")]
    if len(missing) == len(registry_ops):
        pytest.skip(f"no {implementation!r} kernel registered for {op} "
                    "(kernels/registrations.py not registered, or unavailable here)")
    if implementation == "numba" and not cuda_runtime.numba_cuda_available():
        pytest.skip("numba.cuda cannot launch on this GPU")
    case = {c[0]: c for c in OP_CASES}[op]
    out_cpu, grads_cpu = _run_op(mc, F, case, "cpu")
    with contextlib.ExitStack() as stack:
        for registry_op in registry_ops:
            if registry_op not in missing:
                stack.enter_context(registry.use(registry_op, implementation, device="cuda"))
        out_gpu, grads_gpu = _run_op(mc, F, case, "cuda")
        used = {r: registry.last_used(r) for r in registry_ops}
    assert used[registry_ops[0]] == implementation, used
    assert_close(out_gpu, out_cpu, f"{op} forward with {implementation}")
    for i, (gpu, cpu) in enumerate(zip(grads_gpu, grads_cpu)):
        assert_close(gpu, cpu, f"{op} gradient of input {i} with {implementation}")
