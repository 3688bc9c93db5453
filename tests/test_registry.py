"""The registry never names an implementation that did not run.

Every case that used to fall back behind the registry's back (a negative leaky-ReLU slope
in the fused kernels, ``divisor_override`` in the Numba pooling kernels, float64 on the
CUDA C and im2col + cuBLAS paths) is checked here without a GPU: a fake device is
registered whose "kernels" record that they ran and compute with the reference, and which
declare the real kernels' ``supports`` predicates (kernels/cuda_launch.py).
"""
import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from kernels import cuda_launch
from minicnn import registry
from minicnn.ops import activation, conv, pool

FAKE = "fake-gpu"


class FakeDeviceArray(np.ndarray):
    """A NumPy array that the registry believes lives on the fake device."""


REFERENCES = {
    "conv2d": conv.conv2d_reference,
    "conv2d_input_grad": conv.conv2d_input_grad_reference,
    "conv2d_weight_grad": conv.conv2d_weight_grad_reference,
    "avg_pool2d": pool.avg_pool2d_reference,
    "avg_pool2d_backward": pool.avg_pool2d_backward_reference,
    "leaky_relu": activation.leaky_relu_reference,
    "leaky_relu_backward": activation.leaky_relu_backward_reference,
}


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

    for op, reference in REFERENCES.items():
        registry.register(op, "reference", stand_in(op, "reference"), device=FAKE)
        for name in cuda_launch.IMPLEMENTATIONS[op]:
            registry.register(op, name, stand_in(op, name), device=FAKE,
                              priority=cuda_launch.PRIORITY[name],
                              supports=cuda_launch.SUPPORTS.get(op, {}).get(name))
    return ran


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
