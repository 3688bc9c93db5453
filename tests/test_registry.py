"""The registry never names an implementation that did not run.

Every case that used to fall back behind the registry's back (a negative leaky-ReLU slope
in the fused kernels, ``divisor_override`` in the Numba pooling kernels, float64 on the
CUDA C and im2col + cuBLAS paths) is checked here without a GPU: a fake device is
registered whose "kernels" record that they ran and compute with the reference, and which
declare the real kernels' ``supports`` predicates (kernels/registrations.py).
"""
import inspect

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import registry
from minicnn.kernels import registrations
from minicnn.ops import activation, conv, pool

FAKE = "fake-gpu"


class FakeDeviceArray(np.ndarray):
    """A NumPy array that the registry believes lives on the fake device."""


REFERENCES = {
    "conv2d": conv.conv2d_reference,
    "conv2d_input_grad": conv.conv2d_input_grad_reference,
    "conv2d_weight_grad": conv.conv2d_weight_grad_reference,
    "max_pool2d": pool.max_pool2d_reference,
    "max_pool2d_backward": pool.max_pool2d_backward_reference,
    "avg_pool2d": pool.avg_pool2d_reference,
    "avg_pool2d_backward": pool.avg_pool2d_backward_reference,
    "leaky_relu": activation.leaky_relu_reference,
    "leaky_relu_backward": activation.leaky_relu_backward_reference,
}
CUDA_ROWS = [row for row in registrations.IMPLEMENTATIONS if row.device == "cuda"]


@pytest.fixture
def fake_device(monkeypatch):
    """Register, for FAKE, the reference and stand-ins for every GPU implementation with the
    real ``supports``; returns the list of (op, name) that really ran."""
    monkeypatch.setattr(registry, "_implementations", dict(registry._implementations))
    monkeypatch.setattr(registry, "_selected", dict(registry._selected))
    monkeypatch.setattr(registry, "device_of", lambda array: FAKE
                        if isinstance(array, FakeDeviceArray) else "cpu")
    ran = []

    def stand_in(op, name):
        def function(*args, **kwargs):
            ran.append((op, name))
            return REFERENCES[op](*args, **kwargs)
        return function

    for op in REFERENCES:
        registry.register(op, "reference", stand_in(op, "reference"), device=FAKE)
    for row in CUDA_ROWS:
        registry.register(row.op, row.name, stand_in(row.op, row.name), device=FAKE,
                          priority=registrations.PRIORITY[row.name], supports=row.supports)
    return ran


def test_every_gpu_op_has_a_reference_here():
    assert {row.op for row in CUDA_ROWS} == set(REFERENCES)


def _on_fake(array):
    return np.ascontiguousarray(array).view(FakeDeviceArray)


CONV_CALLS = {
    "conv2d": lambda dtype: (np.ones((1, 2, 5, 5), dtype), np.ones((3, 2, 3, 3), dtype)),
    "conv2d_input_grad": lambda dtype: (np.ones((1, 3, 3, 3), dtype),
                                        np.ones((3, 2, 3, 3), dtype), (5, 5)),
    "conv2d_weight_grad": lambda dtype: (np.ones((1, 2, 5, 5), dtype),
                                         np.ones((1, 3, 3, 3), dtype), (3, 3)),
}


@pytest.mark.parametrize("op", sorted(CONV_CALLS))
@pytest.mark.parametrize("dtype, expected", [(np.float32, "cuda_c"), (np.float64, "numba")])
def test_conv_on_the_fake_gpu_names_what_ran(fake_device, op, dtype, expected):
    first, *rest = CONV_CALLS[op](dtype)
    registry.run(op, _on_fake(first), *rest)
    assert fake_device == [(op, expected)] and registry.last_used(op) == expected


def test_selected_cuda_c_with_float64_runs_and_names_the_next_one(fake_device):
    with registry.use("cuda_c", device=FAKE):
        registry.run("conv2d", _on_fake(np.ones((1, 1, 3, 3))), np.ones((1, 1, 2, 2)))
    assert fake_device == [("conv2d", "numba")] and registry.last_used("conv2d") == "numba"
    with registry.use("conv2d", "im2col_cublas", device=FAKE):
        registry.run("conv2d", _on_fake(np.ones((1, 1, 3, 3), np.float32)),
                     np.ones((1, 1, 2, 2), np.float32))
    assert registry.last_used("conv2d") == "im2col_cublas"


@pytest.mark.parametrize("divisor_override, expected", [(None, "numba"), (3, "reference")])
def test_avg_pool_on_the_fake_gpu_names_what_ran(fake_device, divisor_override, expected):
    x = _on_fake(np.arange(16.0).reshape(1, 1, 4, 4))
    y = registry.run("avg_pool2d", x, 2, divisor_override=divisor_override)
    registry.run("avg_pool2d_backward", _on_fake(np.ones_like(y)), x.shape, 2,
                 divisor_override=divisor_override)
    assert fake_device == [("avg_pool2d", expected), ("avg_pool2d_backward", expected)]
    assert registry.last_used("avg_pool2d") == registry.last_used("avg_pool2d_backward") == expected


@pytest.mark.parametrize("slope, expected", [(0.2, "numba"), (-0.5, "reference")])
def test_leaky_relu_on_the_fake_gpu_names_what_ran(fake_device, slope, expected):
    x = _on_fake(np.linspace(-1, 1, 6))
    registry.run("leaky_relu", x, slope)
    registry.run("leaky_relu_backward", _on_fake(np.ones(6)), x, slope)
    assert fake_device == [("leaky_relu", expected), ("leaky_relu_backward", expected)]


@pytest.mark.parametrize("slope, expected", [(0.2, "numba"), (-0.5, "reference")])
def test_leaky_relu_backward_on_the_cpu_names_what_ran(slope, expected):
    x = mc.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    F.leaky_relu(x, slope).sum().backward()
    assert registry.last_used("leaky_relu_backward") == expected
    np.testing.assert_allclose(x.grad.array, np.where(x.array > 0, 1.0, slope))


def test_avg_pool_divisor_override_on_the_cpu_names_the_reference():
    x = mc.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.avg_pool2d(x, 2, divisor_override=3).sum().backward()
    assert registry.last_used("avg_pool2d") == registry.last_used("avg_pool2d_backward") \
        == "reference"
    np.testing.assert_allclose(x.grad.array, np.full((1, 1, 4, 4), 1 / 3))


def test_family_selection_covers_every_op_that_has_the_family():
    with registry.use("reference"):
        F.conv2d(mc.tensor(np.ones((1, 1, 3, 3))), mc.tensor(np.ones((1, 1, 2, 2))))
        F.leaky_relu(mc.tensor(np.ones(3)), 0.1)
        assert registry.last_used("conv2d") == registry.last_used("leaky_relu") == "reference"
    F.conv2d(mc.tensor(np.ones((1, 1, 3, 3))), mc.tensor(np.ones((1, 1, 2, 2))))
    assert registry.last_used("conv2d") == "numba"
    with pytest.raises(ValueError, match="no op on cpu has an implementation named 'cuda_c'"):
        with registry.use("cuda_c"):
            pass


def test_table_lists_every_implementation():
    table = registry.table()
    for op in ("conv2d", "leaky_relu_backward", "avg_pool2d"):
        assert op in table
    assert "negative_slope >= 0." in table and "float32 arrays only" in table
    assert "divisor_override is None." in table


@pytest.mark.parametrize("op, call", [
    ("conv2d", lambda: F.conv2d(mc.tensor(np.ones((1, 1, 3, 3), np.float16)),
                                mc.tensor(np.ones((1, 1, 2, 2), np.float16)))),
    ("leaky_relu", lambda: F.leaky_relu(mc.tensor(np.ones(3, np.float16)), 0.1)),
    ("batch_norm_stats", lambda: F.batch_norm(mc.tensor(np.ones((2, 3, 2, 2), np.float16)),
                                              None, None, training=True)),
])
def test_float16_on_the_cpu_runs_and_names_the_reference(op, call):
    """Numba has no float16: the CPU kernels say so, and the reference computes it."""
    assert call().dtype == np.float16
    assert registry.last_used(op) == "reference"


@pytest.mark.parametrize("slope_or_window, expected", [(2, "numba"), (None, "reference")])
def test_max_pool_backward_without_a_window_runs_the_reference(fake_device, slope_or_window,
                                                               expected):
    x = _on_fake(np.arange(16.0).reshape(1, 1, 4, 4))
    y, indices = registry.run("max_pool2d", x, 2)
    registry.run("max_pool2d_backward", _on_fake(np.ones_like(y)), indices, x.shape,
                 kernel_size=slope_or_window)
    assert registry.last_used("max_pool2d_backward") == expected


def test_kernels_are_registered_by_name_and_imported_on_first_use():
    """Registering imports no kernel module (the thread pool's and the allocator setting's
    modules, pure Python, are imported with minicnn), and every name points at a real
    function."""
    import subprocess
    import sys
    code = ("import sys, minicnn\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('minicnn.kernels.'))\n"
            "assert loaded == ['minicnn.kernels.cpu_memory', 'minicnn.kernels.cpu_threads',"
            " 'minicnn.kernels.cuda_runtime', 'minicnn.kernels.registrations'], loaded\n"
            "assert 'numba' not in sys.modules"
            ", loaded\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    cpu_rows = [row for row in registrations.IMPLEMENTATIONS if row.device == "cpu"]
    for row in cpu_rows:
        assert callable(registry.resolve(registrations.target(row))), row


def _reference_of(op):
    return registry._implementations[(op, "cpu")]["reference"].function


@pytest.mark.parametrize("row", registrations.IMPLEMENTATIONS,
                         ids=[f"{r.op}-{r.device}-{r.name}" for r in registrations.IMPLEMENTATIONS])
def test_kernels_take_exactly_the_reference_signatures(row):
    """One calling convention: every kernel takes the reference's parameters (names, kinds,
    defaults); keyword-only tuning knobs with defaults (``tile``, ``splits``) may follow."""
    if row.device == "cuda" and row.name == "numba":
        pytest.importorskip("numba.cuda")
    assert_same_signature(registry.resolve(registrations.target(row)), _reference_of(row.op),
                          row)


def assert_same_signature(function, reference, what):
    have = list(inspect.signature(function).parameters.values())
    wanted = list(inspect.signature(reference).parameters.values())
    assert [(p.name, p.kind, p.default) for p in have[:len(wanted)]] == \
        [(p.name, p.kind, p.default) for p in wanted], what
    extra = have[len(wanted):]
    assert all(p.kind == p.KEYWORD_ONLY and p.default is not p.empty for p in extra), what
