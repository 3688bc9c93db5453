"""Fused bias + leaky ReLU (forward) and its backward, as Numba CUDA kernels.

What they compute
-----------------
After a convolution, adding the per-channel bias and applying the activation are
two passes over memory in NumPy/CuPy (``y = x + b[:, None, None]`` then
``where(y > 0, y, slope*y)``); elementwise kernels are limited by memory traffic, so
doing both in one pass halves the time::

    forward     y[i]  = z       if z > 0 else negative_slope * z,   z = x[i] + bias[c(i)]
    backward    dx[i] = dy[i]   if x[i] > 0 else negative_slope * dy[i]
                dbias[c] = sum over n, h, w of dx   (reduced by the host)

The backward's mask is the sign of ``x``, which may be the pre-activation z or the
output y: for ``negative_slope >= 0`` (checked by the host) ``y > 0`` exactly when
``z > 0``, so after the fused forward the pre-activation need not be kept.

Thread/block mapping and index math
-----------------------------------
The arrays are passed flat (contiguous NCHW, ``size = N*C*H*W``); a 1-D grid of 1-D
blocks with a grid-stride loop, one element per thread per iteration. The channel of
flat element ``i`` is ``c(i) = (i // (H*W)) % C``: ``plane = H*W`` is the distance between
channels. Consecutive threads touch consecutive addresses: coalesced.
"""
from __future__ import annotations

from numba import cuda


@cuda.jit(cache=True)
def bias_leaky_relu_kernel(x, bias, y, has_bias, negative_slope, channels, plane):
    """y = leaky_relu(x + bias[channel]) over flat arrays."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        z = x[i]
        if has_bias:
            z += bias[(i // plane) % channels]
        y[i] = z if z > 0 else negative_slope * z


@cuda.jit(cache=True)
def leaky_relu_backward_kernel(grad_y, x, grad_x, negative_slope):
    """dx = dy where x (the input, or the output: same sign) is positive, slope * dy elsewhere."""
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        g = grad_y[i]
        grad_x[i] = g if x[i] > 0 else negative_slope * g
