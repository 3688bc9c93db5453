"""The array-module switch and devices, as far as a machine without a GPU can check them."""
import subprocess
import sys

import numpy as np
import pytest

import minicnn as mc
from minicnn import backend, registry


def test_numpy_arrays_use_numpy():
    assert backend.get_array_module(np.zeros(2)) is np
    assert mc.tensor([1.0]).device == "cpu"


def test_importing_minicnn_imports_no_cupy_and_no_numba_cuda():
    code = ("import sys, minicnn, minicnn.functional, minicnn.nn; "
            "print('cupy' in sys.modules, 'numba.cuda' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(mc.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_says_what_to_install():
    assert mc.cuda.is_available() is False
    with pytest.raises(RuntimeError, match=r"cuda.*(pip install|GPU)"):
        mc.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match=r"cuda"):
        mc.nn.Linear(2, 3).to("cuda")


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda', got 'tpu'"):
        mc.tensor([1.0]).to(device="tpu")


def test_to_cpu_is_a_no_op_and_dtype_casts_are_differentiable():
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x
    y = x.to(np.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_registry_names_what_ran_and_can_be_forced():
    x = mc.randn(2, 3, 8, 8)
    w = mc.randn(4, 3, 3, 3)
    fast = mc.functional.conv2d(x, w)
    assert registry.last_used("conv2d") == registry.implementations("conv2d")[0]
    with registry.use("conv2d", "reference"):
        slow = mc.functional.conv2d(x, w)
        assert registry.last_used("conv2d") == "reference"
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="implementation: expected one of"):
        registry.select("conv2d", "no-such-kernel")
    assert "numba" in registry.implementations("conv2d", "cuda") or not mc.cuda.is_available()
