"""Every accelerated implementation of every hot op, in one table, and what each supports.

The NumPy references register next to their ops (``minicnn/ops``: ``conv.py``,
``pool.py``, ``activation.py``, ``norm.py``) under the name ``"reference"``, for both
devices; they compute every call. The kernels below register under the same op names,
with exactly the references' signatures (keyword-only tuning knobs such as ``tile`` may
follow), so ``registry.run`` can call any of them the same way::

    conv2d(x, weight, stride, padding, dilation, groups, output_hw=None) -> y
    conv2d_input_grad(grad_output, weight, input_hw, stride, padding, dilation, groups)
    conv2d_weight_grad(x, grad_output, kernel_hw, stride, padding, dilation, groups)
        stride, dilation: pairs; padding: (top, bottom, left, right); no bias (the op adds it)
    max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)
        -> (y, indices)       indices: int64, h*W + w of each maximum, as PyTorch's
    max_pool2d_backward(grad_output, indices, input_shape, kernel_size=None, stride=None,
                        padding=0, dilation=1)
    avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None)
    avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None)
    leaky_relu(x, negative_slope) ; leaky_relu_backward(grad_output, x_or_y, negative_slope)
    batch_norm_stats, channel_affine, batch_norm_grad_sums, batch_norm_combine
        (minicnn/ops/norm.py)

Families (the implementation names; ``registry.use("numba")`` selects one for every op):

* ``"numba"`` on ``"cpu"``: ``cpu_conv.py``, ``cpu_elementwise.py`` (Numba CPU).
* ``"numba"`` on ``"cuda"``: the Numba CUDA kernels (``cuda_conv_tiled.py``,
  ``cuda_pool.py``, ``cuda_elementwise.py``), each launcher beside its kernel.
* ``"cuda_c"`` and ``"im2col_cublas"`` on ``"cuda"``: ``cuda_c_host.py`` (the .cu sources).

Each row says what the implementation computes as a ``supports(*args, **kwargs)``
predicate over the call (its docstring's first line is what ``registry.table()`` shows);
the registry runs the next implementation, in the end the reference, for every other
call, and ``registry.last_used`` names the one that ran. No kernel falls back on its own.

Kernels are registered by name (``"minicnn.kernels.cuda_pool:max_pool2d_numba"``): the
registry imports a module when its first kernel runs, so registering imports neither
CuPy nor ``numba.cuda`` (nor compiles anything), and a machine without a GPU never loads
them (``available`` says no first).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .cuda_runtime import cupy_available, numba_cuda_available

# ----------------------------------------------------------------------------- what they support


def supports_no_float16(*args, **kwargs) -> bool:
    """no float16 array (Numba has no float16 type)."""
    return all(getattr(a, "dtype", None) != np.float16 for a in args)


def supports_float32_or_float64(first, second, *args, **kwargs) -> bool:
    """float32 or float64 arrays of one dtype (Numba's tiled kernels)."""
    return first.dtype == second.dtype and first.dtype in (np.float32, np.float64)


def supports_float32(first, *args, **kwargs) -> bool:
    """float32 arrays only (the CUDA C kernels and im2col.cu)."""
    return first.dtype == np.float32


def supports_max_pool2d_backward(grad_output, indices, input_shape, kernel_size=None,
                                 *args, **kwargs) -> bool:
    """kernel_size given (the kernel gathers over the windows)."""
    return kernel_size is not None


def supports_avg_pool2d(*args, divisor_override=None, **kwargs) -> bool:
    """divisor_override is None."""
    return divisor_override is None


def supports_leaky_relu(x, negative_slope=0.01) -> bool:
    """negative_slope >= 0."""
    return negative_slope >= 0


def supports_leaky_relu_backward(grad_output, x, negative_slope=0.01) -> bool:
    """negative_slope >= 0 (callers may pass the output for x: same sign only then)."""
    return negative_slope >= 0


def supports_leaky_relu_backward_cpu(grad_output, x, negative_slope=0.01) -> bool:
    """negative_slope >= 0 (x may be the output: same sign only then), no float16."""
    return negative_slope >= 0 and supports_no_float16(grad_output, x)


# ----------------------------------------------------------------------------- the table


class Row(NamedTuple):
    op: str
    device: str
    name: str
    function: str                      # "module:function", the module relative to kernels/
    supports: Callable[..., bool] | None = None


CONV_OPS = ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")

IMPLEMENTATIONS = [
    # Numba CPU (cpu_conv.py, cpu_elementwise.py)
    *(Row(op, "cpu", "numba", f"cpu_conv:{op}", supports_no_float16) for op in CONV_OPS),
    Row("leaky_relu", "cpu", "numba", "cpu_elementwise:leaky_relu", supports_no_float16),
    Row("leaky_relu_backward", "cpu", "numba", "cpu_elementwise:leaky_relu_backward",
        supports_leaky_relu_backward_cpu),
    Row("batch_norm_stats", "cpu", "numba", "cpu_elementwise:channel_mean_var",
        supports_no_float16),
    Row("channel_affine", "cpu", "numba", "cpu_elementwise:scale_shift", supports_no_float16),
    Row("batch_norm_grad_sums", "cpu", "numba", "cpu_elementwise:channel_grad_sums",
        supports_no_float16),
    Row("batch_norm_combine", "cpu", "numba", "cpu_elementwise:channel_combine",
        supports_no_float16),
    # Numba CUDA, each launcher beside its kernel
    *(Row(op, "cuda", "numba", f"cuda_conv_tiled:{op}_numba", supports_float32_or_float64)
      for op in CONV_OPS),
    Row("max_pool2d", "cuda", "numba", "cuda_pool:max_pool2d_numba"),
    Row("max_pool2d_backward", "cuda", "numba", "cuda_pool:max_pool2d_backward_numba",
        supports_max_pool2d_backward),
    Row("avg_pool2d", "cuda", "numba", "cuda_pool:avg_pool2d_numba", supports_avg_pool2d),
    Row("avg_pool2d_backward", "cuda", "numba", "cuda_pool:avg_pool2d_backward_numba",
        supports_avg_pool2d),
    Row("leaky_relu", "cuda", "numba", "cuda_elementwise:leaky_relu_numba", supports_leaky_relu),
    Row("leaky_relu_backward", "cuda", "numba", "cuda_elementwise:leaky_relu_backward_numba",
        supports_leaky_relu_backward),
    # CUDA C (conv_implicit_gemm.cu) and im2col.cu + cuBLAS
    *(Row(op, "cuda", name, f"cuda_c_host:{op}_{name}", supports_float32)
      for name in ("cuda_c", "im2col_cublas") for op in CONV_OPS),
]

# Higher runs first when nothing is selected; the NumPy reference registers at 0.
# Measured (benchmarks/RESULTS.md, H200, 2026-11-28): the CUDA C kernels were the fastest
# on 6 of the 10 DCGAN-64 layers (fwd + bwd) and made the fastest DCGAN-64 training step
# (33.8 ms against 37.7 ms with im2col + cuBLAS, 121.5 ms with the Numba kernels).
PRIORITY = {"cuda_c": 30, "im2col_cublas": 20, "numba": 10}


def _always() -> bool:
    return True


def available(device: str, name: str) -> Callable[[], bool]:
    """Whether implementation ``name`` can run on this machine (asked at dispatch time)."""
    if device == "cpu":
        return _always
    return numba_cuda_available if name == "numba" else cupy_available


def target(row: Row) -> str:
    """The importable name of a row's function: "minicnn.kernels.cuda_pool:max_pool2d_numba"."""
    return f"{__package__}.{row.function}"


def register(registry=None) -> None:
    """Register every row with ``registry`` (``minicnn.registry`` by default). Cheap: it
    imports no kernel module."""
    if registry is None:
        from minicnn import registry
    for row in IMPLEMENTATIONS:
        registry.register(row.op, row.name, target(row), device=row.device,
                          priority=PRIORITY[row.name], available=available(row.device, row.name),
                          supports=row.supports)
