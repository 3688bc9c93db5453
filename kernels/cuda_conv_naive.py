"""Direct conv2d as a Numba CUDA kernel: one thread per output element (the teaching version).

What it computes
----------------
PyTorch's ``conv2d`` (cross-correlation) with stride, zero padding, dilation and
groups, in NCHW layout::

    x : (N, C, H, W)      w : (K, C/groups, R, S)      y : (N, K, P, Q)
    P = (H + pad_top + pad_bottom - dil_h*(R - 1) - 1) // stride_h + 1     (Q likewise)

    y[n, k, p, q] = bias[k] + sum_{c, r, s} w[k, c, r, s]
                              * x[n, g*C_g + c, p*stride_h - pad_h + r*dil_h,
                                                q*stride_w - pad_w + s*dil_w]

where ``g = k // K_g`` is the group of output channel ``k``, ``C_g = C/groups`` and
``K_g = K/groups``; input pixels outside the image count as 0 (zero padding).
``pad_h``/``pad_w`` are the top/left padding; P and Q come from ``y``'s shape, so the
host decides them (bottom/right padding, or fewer outputs than fit).

Thread/block mapping
--------------------
A 1-D grid of 1-D blocks; thread ``i = blockIdx.x*blockDim.x + threadIdx.x`` owns the
output element with flat index ``i`` of ``y`` and computes its whole sum alone::

    i = ((n*K + k)*P + p)*Q + q

so consecutive threads write consecutive ``q`` (coalesced writes). Each thread
reads C_g*R*S weights and as many input pixels straight from global memory: no
data is shared between threads, which is why this kernel is simple and slow.
``cuda_conv_tiled.py`` is the same sum reorganised so that a block of threads
shares every value it loads. Accumulation is in float32, as cuDNN's fp32 path.

The launcher ``conv2d_naive_numba`` (after the kernel) takes the NumPy reference's
signature (``conv2d(x, weight, stride, padding, dilation, groups, output_hw)``, no bias:
the op adds it), so it passes ``has_bias=False``. Not registered: it is for reading.
"""
from __future__ import annotations

import math

from numba import cuda, float32

from minicnn.backend import get_array_module
from minicnn.geometry import conv_geometry

from .cuda_runtime import THREADS_PER_BLOCK, contiguous, launch


@cuda.jit(cache=True)
def conv2d_naive_kernel(x, w, bias, y, has_bias, stride_h, stride_w, pad_h, pad_w,
                        dil_h, dil_w, groups):
    """One thread computes y[n, k, p, q] (see the module docstring for the math)."""
    N, C, H, W = x.shape
    K, C_g, R, S = w.shape
    P, Q = y.shape[2], y.shape[3]
    K_g = K // groups

    i = cuda.grid(1)
    if i >= N * K * P * Q:
        return                       # the last block is only partly used
    q = i % Q
    p = (i // Q) % P
    k = (i // (Q * P)) % K
    n = i // (Q * P * K)
    g = k // K_g                     # the group of this output channel

    total = float32(0.0)
    if has_bias:
        total = float32(bias[k])
    h0 = p * stride_h - pad_h        # top-left corner of the receptive field
    w0 = q * stride_w - pad_w
    for c in range(C_g):
        for r in range(R):
            h = h0 + r * dil_h
            if h < 0 or h >= H:
                continue             # zero padding contributes nothing
            for s in range(S):
                col = w0 + s * dil_w
                if 0 <= col < W:
                    total += w[k, c, r, s] * x[n, g * C_g + c, h, col]
    y[n, k, p, q] = total


def conv2d_naive_numba(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                       groups=1, output_hw=None):
    """conv2d with one thread per output element; ``padding`` (top, bottom, left, right)."""
    xp = get_array_module(x)
    x, weight = contiguous(x), contiguous(weight)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding,
                                                         dilation, groups, output_hw)
    N, K = x.shape[0], weight.shape[0]
    y = xp.empty((N, K, P, Q), x.dtype)
    no_bias = xp.zeros(1, x.dtype)
    blocks = math.ceil(y.size / THREADS_PER_BLOCK)
    launch(conv2d_naive_kernel, blocks, THREADS_PER_BLOCK, xp,
           x, weight, no_bias, y, False, sh, sw, ph, pw, dh, dw, groups)
    return y
