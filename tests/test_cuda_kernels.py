"""Numba CUDA kernels against NumPy references, in Numba's CUDA simulator; host-side launch logic.

How the simulator tests run
---------------------------
``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, and in this pytest
process numba is usually imported already (the CPU kernels, other tests). So each
``test_simulator[family]`` starts one fresh Python process running
``tests/cudasim_cases.py FAMILY`` with the variable set, and reads back one JSON line
per case; a failing case's traceback is shown in the test failure. Nothing else is
needed in CI: ``python -m pytest tests/test_cuda_kernels.py`` runs them (marker
``cudasim``: ``-m "not cudasim"`` skips them). One case by hand::

    python tests/cudasim_cases.py conv_input_grad

Never import ``cudasim_cases`` in this process: it sets the variable for everything after it.
The other tests here need no simulator: the float64 references against PyTorch, the
launch plans and argument checks (``kernels/cuda_c_host.py``), the registrations
(``kernels/registrations.py``), and that the host modules import lazily.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conv_reference as ref  # noqa: E402

from minicnn.geometry import (conv_transpose_output_shape, padding4, pair,  # noqa: E402
                              pool_output_size)
from minicnn.kernels import cuda_c_host, cuda_runtime, registrations  # noqa: E402

FAMILIES = ["im2col", "conv_naive", "conv_forward", "conv_input_grad", "conv_weight_grad",
            "im2col_cublas", "pool", "elementwise"]
CASES_SCRIPT = os.path.join(HERE, "cudasim_cases.py")


def _simulator_env():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    return env


def _run_cases(*arguments, timeout=300):
    return subprocess.run([sys.executable, CASES_SCRIPT, *arguments], cwd=REPO,
                          env=_simulator_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.cudasim
def test_simulator_family_list_is_complete():
    result = _run_cases("--list", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == FAMILIES


@pytest.mark.cudasim
@pytest.mark.parametrize("family", FAMILIES)
def test_simulator(family):
    result = _run_cases(family)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert records, f"no case ran (exit {result.returncode}):\n{result.stderr[-3000:]}"
    failed = [r for r in records if not r["ok"]]
    report = "\n\n".join(f"--- {r['case']}\n{r['error']}" for r in failed)
    assert not failed, f"{len(failed)} of {len(records)} cases failed:\n{report}"
    assert result.returncode == 0, result.stderr[-3000:]


# ----------------------------------------------------------------------------- imports


def test_import_is_lazy():
    """Importing minicnn, the registrations and the CUDA C host side imports neither CuPy
    nor numba.cuda."""
    code = ("import sys\n"
            "import minicnn\n"
            "import minicnn.kernels.registrations, minicnn.kernels.cuda_c_host\n"
            "heavy = [m for m in ('cupy', 'numba.cuda') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


class _FakeRegistry:
    def __init__(self):
        self.calls = []

    def register(self, op, name, function, device="cpu", priority=0, available=None,
                 supports=None):
        self.calls.append((op, name, device, priority, available, supports))


def test_numba_cuda_gets_the_row_stack_alias_numpy_2_5_removed(monkeypatch):
    """numba-cuda's first compile looks up np.row_stack (gone in NumPy 2.5): seen on the GPU."""
    monkeypatch.delattr(np, "row_stack", raising=False)
    cuda_runtime.numpy_compat_for_numba_cuda()
    assert np.row_stack is np.vstack


def test_register_names_and_devices():
    fake = _FakeRegistry()
    registrations.register(fake)
    fake.calls = [call for call in fake.calls if call[2] == "cuda"]
    names = {(op, name) for op, name, *_ in fake.calls}
    for op in ("conv2d", "conv2d_input_grad", "conv2d_weight_grad"):
        assert {(op, "numba"), (op, "cuda_c"), (op, "im2col_cublas")} <= names
    assert {op for op, *_ in fake.calls} == {
        "conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d", "max_pool2d_backward",
        "avg_pool2d", "avg_pool2d_backward", "leaky_relu", "leaky_relu_backward"}
    assert all(device == "cuda" for _, _, device, *_ in fake.calls)
    limited = {(op, name) for op, name, *_, supports in fake.calls if supports is not None}
    assert limited == {(op, name) for op in ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")
                       for name in ("cuda_c", "im2col_cublas", "numba")} | {
        (op, "numba") for op in ("max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
                                 "leaky_relu", "leaky_relu_backward")}


def test_cuda_c_declares_float32_only_and_numpy_arrays_get_a_clear_error():
    """The CUDA C / cuBLAS registrations support float32 only (the registry runs the next
    implementation for other dtypes: tests/test_registry.py); NumPy arrays are refused."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 3))
    params = dict(stride=(2, 1), padding=(1, 0, 1, 1), dilation=(1, 1), groups=2)
    (row,) = [r for r in registrations.IMPLEMENTATIONS
              if (r.op, r.device, r.name) == ("conv2d", "cuda", "cuda_c")]
    assert not row.supports(x, w, **params)
    assert row.supports(x.astype(np.float32), w, **params)
    with pytest.raises(TypeError, match="need CuPy arrays on a GPU"):
        cuda_c_host.conv2d_cuda_c(x.astype(np.float32), w.astype(np.float32), **params)


def test_registered_into_minicnn_registry_but_unavailable_without_gpu():
    registry = pytest.importorskip("minicnn.registry")
    registrations.register(registry)
    if cuda_runtime.cupy_available():
        pytest.skip("this machine has a GPU")
    for op in ("conv2d", "conv2d_weight_grad", "max_pool2d"):
        assert not {"numba", "cuda_c", "im2col_cublas"} & set(registry.implementations(op, "cuda"))


# ----------------------------------------------------------------------------- host logic


def test_forward_plan_grid_covers_the_output():
    plan = cuda_c_host.forward_plan((64, 64, 32, 32), (128, 64, 4, 4), 2, 1, 1, 1, True,
                                    multiprocessors=132)
    block_m, block_n, *_ = cuda_c_host.CUDA_C_TILES[plan.tile]
    assert plan.grid[0] * block_n >= 64 * 16 * 16 and plan.grid[1] * block_m >= 128
    assert plan.ints[15:17] == (1, 1)         # groups, has_bias
    splits, chunk = plan.ints[17:]
    assert plan.out_shape == (splits, 64, 128, 16, 16)
    assert (splits - 1) * chunk < 64 * 4 * 4 <= splits * chunk


def test_forward_plan_splits_the_depth_only_when_the_output_is_small():
    """A 4x4 -> 1x1 head (one output tile) is cut into depth slices; a wide layer is not."""
    head = cuda_c_host.forward_plan((64, 512, 4, 4), (1, 512, 4, 4), 1, 0, multiprocessors=132)
    assert head.grid[2] > 1 and head.out_shape[0] == head.grid[2]
    wide = cuda_c_host.forward_plan((64, 64, 32, 32), (128, 64, 4, 4), 2, 1, multiprocessors=132)
    assert wide.grid[2] == 1 and wide.out_shape[0] == 1


def test_input_grad_plan_has_one_grid_layer_per_group_and_phase():
    plan = cuda_c_host.input_grad_plan((2, 6, 4, 4), (6, 2, 4, 4), (2, 6, 8, 8), 2, 1, 1, 3,
                                       tile="16x16")
    assert plan.grid[2] == 3 * 2 * 2
    assert plan.ints[16:18] == (2, 2)         # step_r, step_s: stride / gcd(stride, dilation)


@pytest.mark.parametrize("depth, tiles, sms", [(65536, 8, 132), (100, 1, 132), (4096, 512, 132),
                                               (17, 1, 4)])
def test_choose_splits_covers_the_depth_exactly_once(depth, tiles, sms):
    splits, chunk = cuda_runtime.choose_splits(tiles, depth, 8, sms)
    assert chunk % 8 == 0 and splits >= 1
    assert (splits - 1) * chunk < depth <= splits * chunk


def _numba_launchers(module):
    """A Numba CUDA kernel module (it imports numba.cuda; its checks run before any launch)."""
    pytest.importorskip("numba.cuda")
    import importlib
    return importlib.import_module(f"minicnn.kernels.{module}")


@pytest.mark.parametrize("call, message", [
    (lambda: cuda_c_host.forward_plan((1, 4, 8, 8), (2, 3, 3, 3), 1, 0, 1, 1, False),
     "weight: expected 4 input channels"),
    (lambda: cuda_c_host.forward_plan((1, 4, 8, 8), (3, 2, 3, 3), 1, 0, 1, 2, False),
     "groups: expected a positive divisor"),
    (lambda: cuda_c_host.forward_plan((1, 4, 3, 3), (2, 4, 5, 5), 1, 0, 1, 1, False),
     "larger than the padded input"),
    (lambda: cuda_c_host.forward_plan((1, 4, 8, 8), (2, 4, 3, 3), 0, 0, 1, 1, False),
     "stride: expected positive"),
    (lambda: cuda_c_host.input_grad_plan((1, 2, 7, 6), (2, 4, 3, 3), (1, 4, 8, 8), 1, 0, 1, 1),
     "grad_output: expected shape (1, 2, 6, 6)"),
    (lambda: cuda_c_host.forward_plan((1, 4, 8, 8), (2, 4, 3, 3), 1, 0, 1, 1, output_hw=(7, 6)),
     "output_hw: expected at most (6, 6)"),
    (lambda: conv_transpose_output_shape((1, 4, 3, 3), (4, 2, 3, 3), 2, 0, 2, 1, 1),
     "output_padding"),
    (lambda: _numba_launchers("cuda_elementwise").leaky_relu_numba(np.zeros((1, 1)), -0.1),
     "negative_slope"),
    (lambda: _numba_launchers("cuda_pool").max_pool2d_backward_numba(
        np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int64), (1, 1, 4, 4)),
     "kernel_size"),
])
def test_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError)) as error:
        call()
    assert message in str(error.value)


def test_pool_output_size_matches_pytorch_ceil_mode_rule():
    # 5 wide, kernel 2, stride 2, ceil_mode: the last window would start at 4 < 5 -> 3 outputs
    assert pool_output_size(5, 2, 2, 0, 1, True) == 3
    # padding 1: a window starting in the right padding is dropped
    assert pool_output_size(4, 2, 2, 1, 1, True) == 3


# ----------------------------------------------------------------------------- the references


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


CONFIGS = [
    (2, 4, 9, 7, 6, 3, 2, (2, 1), (1, 0), (1, 2), 2),
    (1, 6, 9, 8, 9, 4, 4, (2, 2), (1, 1), (1, 1), 3),
    (3, 2, 5, 9, 3, 2, 3, (3, 2), (0, 2), (2, 1), 1),
]


@pytest.mark.parametrize("config", CONFIGS + [(2, 3, 6, 7, 4, 3, 2, (2, 1), (0, 1, 2, 0),
                                                (1, 2), 1)])
def test_own_references_agree_with_the_projects(config):
    """tests/conv_reference.py's loops against minicnn/ops' im2col references, which take
    the kernels' convention (stride and dilation pairs, padding (top, bottom, left, right):
    uneven here too)."""
    conv = pytest.importorskip("minicnn.ops.conv")
    N, C, H, W, K, R, S, stride, padding, dilation, groups = config
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C // groups, R, S))
    g = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = dict(stride=pair(stride, "stride"), padding=padding4(padding),
                 dilation=pair(dilation, "dilation"), groups=groups)
    y = ref.conv2d_reference(x, w, None, **g)
    np.testing.assert_allclose(y, conv.conv2d_reference(x, w, **exact), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(ref.conv2d_input_grad_reference(dy, w, x.shape, **g),
                               conv.conv2d_input_grad_reference(dy, w, (H, W), **exact),
                               atol=1e-12)
    np.testing.assert_allclose(ref.conv2d_weight_grad_reference(x, dy, w.shape, **g),
                               conv.conv2d_weight_grad_reference(x, dy, (R, S), **exact),
                               atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_conv_references_match_pytorch(torch, config):
    N, C, H, W, K, R, S, stride, padding, dilation, groups = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C // groups, R, S))
    b = rng.standard_normal(K)
    g = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, torch.tensor(b), **g)
    y = ref.conv2d_reference(x, w, b, **g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dxt, dwt = torch.autograd.grad(yt, (xt, wt), torch.tensor(dy))
    np.testing.assert_allclose(ref.conv2d_input_grad_reference(dy, w, x.shape, **g), dxt.numpy(),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ref.conv2d_weight_grad_reference(x, dy, w.shape, **g),
                               dwt.numpy(), rtol=1e-10, atol=1e-10)
    u = dict(stride=stride, padding=padding, dilation=dilation)
    cols = ref.im2col_reference(x, (R, S), **u)
    np.testing.assert_array_equal(cols, torch.nn.functional.unfold(torch.tensor(x), (R, S), **u))
    folded = torch.nn.functional.fold(torch.tensor(cols), (H, W), (R, S), **u)
    np.testing.assert_allclose(ref.col2im_reference(cols, x.shape, (R, S), **u), folded.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 2), (2, 1), (1, 1), (1, 1), True),
    ((3, 3), (2, 3), (1, 0), (2, 1), True),
])
def test_pool_references_match_pytorch(torch, kernel, stride, padding, dilation, ceil_mode):
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 2 * 9 * 8).reshape(2, 2, 9, 8) / 7.0
    xt = torch.tensor(x, requires_grad=True)
    yt, it = F.max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    y, indices = ref.max_pool2d_reference(x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(indices, it.numpy())
    dy = rng.standard_normal(y.shape)
    (dxt,) = torch.autograd.grad(yt, xt, torch.tensor(dy))
    np.testing.assert_allclose(ref.max_pool2d_backward_reference(dy, indices, x.shape),
                               dxt.numpy(), rtol=1e-12, atol=1e-12)
    if dilation != (1, 1):
        return
    for include in (True, False):
        yt = F.avg_pool2d(xt, kernel, stride, padding, ceil_mode, include)
        y = ref.avg_pool2d_reference(x, kernel, stride, padding, ceil_mode, include)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        (dxt,) = torch.autograd.grad(yt, xt, torch.tensor(dy))
        np.testing.assert_allclose(
            ref.avg_pool2d_backward_reference(dy, x.shape, kernel, stride, padding, ceil_mode,
                                              include), dxt.numpy(), rtol=1e-12, atol=1e-12)
