"""Leaky ReLU (forward) and its backward, as Numba CUDA kernels, with their launchers.

What they compute
-----------------
One pass over memory each (elementwise kernels are limited by memory traffic)::

    forward     y[i]  = x[i]    if x[i] > 0 else negative_slope * x[i]
    backward    dx[i] = dy[i]   if x[i] > 0 else negative_slope * dy[i]

The backward's mask is the sign of ``x``, which may be the input or the output: for
``negative_slope >= 0`` ``y > 0`` exactly when ``x > 0``. The registry only sends slopes
>= 0 here (``registrations.py``); the launchers refuse the others.

Thread/block mapping
--------------------
The arrays are passed flat (contiguous, ``size = N*C*H*W``); a 1-D grid of 1-D blocks
with a grid-stride loop, one element per thread per iteration. Consecutive threads touch
consecutive addresses: coalesced.

Launchers: ``leaky_relu_numba(x, negative_slope)`` and
``leaky_relu_backward_numba(grad_output, x, negative_slope)``, the signatures of the NumPy
references in ``minicnn/ops/activation.py``.
"""
from __future__ import annotations

from numba import cuda

from minicnn.backend import get_array_module

from .cuda_runtime import THREADS_PER_BLOCK, contiguous, grid_1d, launch, scalar


@cuda.jit(cache=True)
def leaky_relu_kernel(x, y, negative_slope):
    """y = x where x > 0, negative_slope * x elsewhere, over flat arrays."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        z = x[i]
        y[i] = z if z > 0 else negative_slope * z


@cuda.jit(cache=True)
def leaky_relu_backward_kernel(grad_y, x, grad_x, negative_slope):
    """dx = dy where x (the input, or the output: same sign) is positive, slope * dy elsewhere."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        g = grad_y[i]
        grad_x[i] = g if x[i] > 0 else negative_slope * g


# ----------------------------------------------------------------------------- launchers


def _check_slope(negative_slope):
    if negative_slope < 0:
        raise ValueError(f"negative_slope: the fused kernels need a value >= 0 (the backward "
                         f"reads the sign of the output), got {negative_slope}")


def leaky_relu_numba(x, negative_slope=0.01):
    """y = leaky_relu(x) in one pass (x's dtype)."""
    _check_slope(negative_slope)
    xp = get_array_module(x)
    x = contiguous(x)
    y = xp.empty_like(x)
    launch(leaky_relu_kernel, grid_1d(x.size), THREADS_PER_BLOCK, xp,
           x.reshape(-1), y.reshape(-1), scalar(x.dtype, negative_slope))
    return y


def leaky_relu_backward_numba(grad_output, x, negative_slope=0.01):
    """dx = dy * (1 if x > 0 else negative_slope); ``x`` may be the input or the output (same
    sign for a slope >= 0)."""
    _check_slope(negative_slope)
    xp = get_array_module(x)
    grad_output, x = contiguous(grad_output), contiguous(x)
    if grad_output.shape != x.shape:
        raise ValueError(f"grad_output: expected shape {tuple(x.shape)}, got "
                         f"{tuple(grad_output.shape)}")
    grad_x = xp.empty_like(grad_output)
    launch(leaky_relu_backward_kernel, grid_1d(x.size), THREADS_PER_BLOCK, xp,
           grad_output.reshape(-1), x.reshape(-1), grad_x.reshape(-1),
           scalar(grad_output.dtype, negative_slope))
    return grad_x
