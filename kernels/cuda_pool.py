"""Max and average pooling, forward and backward, as Numba CUDA kernels.

What they compute (PyTorch's ``max_pool2d`` / ``avg_pool2d``, NCHW)
------------------------------------------------------------------
``x : (N, C, H, W)``, ``y : (N, C, P, Q)``; the window of output ``(p, q)`` starts at
``(h0, v0) = (p*stride_h - pad_h, q*stride_w - pad_w)`` and has taps
``(h0 + r*dil_h, v0 + s*dil_w)`` for ``r < R``, ``s < S``. P and Q (with ``ceil_mode``)
are computed by the host, as PyTorch does.

* max forward     y[n, c, p, q] = max over the taps inside the image;
                  index[n, c, p, q] = h*W + v of the first maximum (PyTorch's ``indices``;
                  a NaN in the window wins, as in PyTorch)
* max backward    dx[n, c, h, v] = sum of dy[n, c, p, q] over the windows whose maximum
                  was at (h, v): the gradient goes to the argmax only
* avg forward     y[n, c, p, q] = (sum of the taps inside the image) / divisor, where
                  the divisor counts the window clipped to the padded image
                  (``count_include_pad=True``) or to the image itself (``False``)
* avg backward    dx[n, c, h, v] = sum of dy[n, c, p, q] / divisor(p, q) over the windows
                  that contain (h, v)

Thread/block mapping
--------------------
1-D grid of 1-D blocks, one thread per element written, with a grid-stride loop:
the forward kernels own one output each; the backward kernels own one *input* pixel
each and **gather** from the outputs whose window covers it, instead of scattering
with atomic adds: no atomics, the same sum order on every run.

Index math of the gather: tap ``r`` of output row ``p`` lands on pixel row
``h = p*stride_h - pad_h + r*dil_h``, so for a given ``h`` and ``r`` the only candidate is
``p = (h + pad_h - r*dil_h) / stride_h``, valid when the division is exact and
``0 <= p < P`` (the same arithmetic as col2im in ``cuda_im2col.py``).

Launchers
---------
``max_pool2d_numba``, ``max_pool2d_backward_numba``, ``avg_pool2d_numba`` and
``avg_pool2d_backward_numba`` (at the end) take the signatures of the NumPy references in
``minicnn/ops/pool.py``. Two limits, declared to the registry (``registrations.py``) so
that it runs the reference instead: no ``divisor_override``, and the max backward needs
the window (``kernel_size``) because it gathers. A max window lying entirely in the
padding (possible only with dilation) gets the reference's index (the nearest pixel)
forward, but its gradient is dropped backward.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from minicnn.backend import get_array_module
from minicnn.geometry import pool_geometry

from .cuda_runtime import THREADS_PER_BLOCK, contiguous, grid_1d, launch


@cuda.jit(device=True)
def average_divisor(p, q, H, W, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                    count_include_pad):
    """Number of elements output (p, q) divides by, exactly as PyTorch counts them."""
    # (plain ifs, no min()/max(): Numba's CUDA target lacks the two-argument forms)
    h_start = p * stride_h - pad_h
    v_start = q * stride_w - pad_w
    h_end = h_start + kernel_h           # the window clipped to the padded image ...
    if h_end > H + pad_h:
        h_end = H + pad_h
    v_end = v_start + kernel_w
    if v_end > W + pad_w:
        v_end = W + pad_w
    if count_include_pad:
        return (h_end - h_start) * (v_end - v_start)
    if h_start < 0:                      # ... and to the image itself
        h_start = 0
    if v_start < 0:
        v_start = 0
    if h_end > H:
        h_end = H
    if v_end > W:
        v_end = W
    return (h_end - h_start) * (v_end - v_start)


@cuda.jit(cache=True)
def max_pool2d_forward_kernel(x, y, indices, kernel_h, kernel_w, stride_h, stride_w,
                              pad_h, pad_w, dil_h, dil_w):
    """One thread per output: the maximum of its window and where it was."""
    N, C, H, W = x.shape
    P, Q = y.shape[2], y.shape[3]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for index in range(start, N * C * P * Q, step):
        q = index % Q
        p = (index // Q) % P
        c = (index // (Q * P)) % C
        n = index // (Q * P * C)
        best = -math.inf
        best_index = -1
        for r in range(kernel_h):
            h = p * stride_h - pad_h + r * dil_h
            if h < 0 or h >= H:
                continue                 # padding never wins a max
            for s in range(kernel_w):
                v = q * stride_w - pad_w + s * dil_w
                if 0 <= v < W:
                    value = x[n, c, h, v]
                    # '>' keeps the first maximum; a NaN wins and propagates, as in PyTorch
                    if value > best or value != value or best_index < 0:
                        best = value
                        best_index = h * W + v
        if best_index < 0:
            # the whole window lies in the padding (possible with dilation): -inf, and the
            # index of the nearest pixel to the window's first tap, as the reference does
            h = p * stride_h - pad_h
            h = 0 if h < 0 else (H - 1 if h > H - 1 else h)
            v = q * stride_w - pad_w
            v = 0 if v < 0 else (W - 1 if v > W - 1 else v)
            best_index = h * W + v
        y[n, c, p, q] = best
        indices[n, c, p, q] = best_index


@cuda.jit(cache=True)
def max_pool2d_backward_kernel(grad_y, indices, grad_x, kernel_h, kernel_w, stride_h,
                               stride_w, pad_h, pad_w, dil_h, dil_w):
    """One thread per input pixel: gather dy from the windows whose argmax is this pixel."""
    N, C, H, W = grad_x.shape
    P, Q = grad_y.shape[2], grad_y.shape[3]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for index in range(start, N * C * H * W, step):
        v = index % W
        h = (index // W) % H
        c = (index // (W * H)) % C
        n = index // (W * H * C)
        here = h * W + v
        total = 0.0                  # float64: a few terms each, and the kernel is memory-bound
        for r in range(kernel_h):
            p_times_stride = h + pad_h - r * dil_h
            if p_times_stride < 0 or p_times_stride % stride_h != 0:
                continue
            p = p_times_stride // stride_h
            if p >= P:
                continue
            for s in range(kernel_w):
                q_times_stride = v + pad_w - s * dil_w
                if q_times_stride < 0 or q_times_stride % stride_w != 0:
                    continue
                q = q_times_stride // stride_w
                if q < Q and indices[n, c, p, q] == here:
                    total += grad_y[n, c, p, q]
        grad_x[n, c, h, v] = total


@cuda.jit(cache=True)
def avg_pool2d_forward_kernel(x, y, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                              count_include_pad):
    """One thread per output: the sum of its window over PyTorch's divisor."""
    N, C, H, W = x.shape
    P, Q = y.shape[2], y.shape[3]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for index in range(start, N * C * P * Q, step):
        q = index % Q
        p = (index // Q) % P
        c = (index // (Q * P)) % C
        n = index // (Q * P * C)
        total = 0.0
        for r in range(kernel_h):
            h = p * stride_h - pad_h + r
            if h < 0 or h >= H:
                continue
            for s in range(kernel_w):
                v = q * stride_w - pad_w + s
                if 0 <= v < W:
                    total += x[n, c, h, v]
        divisor = average_divisor(p, q, H, W, kernel_h, kernel_w, stride_h, stride_w,
                                  pad_h, pad_w, count_include_pad)
        y[n, c, p, q] = total / divisor


@cuda.jit(cache=True)
def avg_pool2d_backward_kernel(grad_y, grad_x, kernel_h, kernel_w, stride_h, stride_w,
                               pad_h, pad_w, count_include_pad):
    """One thread per input pixel: sum dy / divisor over the windows that contain it."""
    N, C, H, W = grad_x.shape
    P, Q = grad_y.shape[2], grad_y.shape[3]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for index in range(start, N * C * H * W, step):
        v = index % W
        h = (index // W) % H
        c = (index // (W * H)) % C
        n = index // (W * H * C)
        total = 0.0
        for r in range(kernel_h):
            p_times_stride = h + pad_h - r
            if p_times_stride < 0 or p_times_stride % stride_h != 0:
                continue
            p = p_times_stride // stride_h
            if p >= P:
                continue
            for s in range(kernel_w):
                q_times_stride = v + pad_w - s
                if q_times_stride < 0 or q_times_stride % stride_w != 0:
                    continue
                q = q_times_stride // stride_w
                if q < Q:
                    divisor = average_divisor(p, q, H, W, kernel_h, kernel_w, stride_h,
                                              stride_w, pad_h, pad_w, count_include_pad)
                    total += grad_y[n, c, p, q] / divisor
        grad_x[n, c, h, v] = total


# ----------------------------------------------------------------------------- launchers


def max_pool2d_numba(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(y, indices) of max pooling; indices hold h*W + w of each maximum (int64)."""
    xp = get_array_module(x)
    x = contiguous(x)
    (R, S), (sh, sw), (ph, pw), (dh, dw), (P, Q) = pool_geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    y = xp.empty(x.shape[:2] + (P, Q), x.dtype)
    indices = xp.empty(y.shape, np.int64)
    launch(max_pool2d_forward_kernel, grid_1d(y.size), THREADS_PER_BLOCK, xp,
           x, y, indices, R, S, sh, sw, ph, pw, dh, dw)
    return y, indices


def max_pool2d_backward_numba(grad_output, indices, input_shape, kernel_size=None, stride=None,
                              padding=0, dilation=1):
    """dx: each dy goes to the argmax of its window (gathered per input pixel, no atomics)."""
    if kernel_size is None:
        raise ValueError("kernel_size: the Numba max-pooling backward gathers over the windows "
                         "and needs them, got None (the registry runs the reference for it)")
    xp = get_array_module(grad_output)
    grad_output, indices = contiguous(grad_output), contiguous(indices)
    input_shape = tuple(int(v) for v in input_shape)
    (R, S), (sh, sw), (ph, pw), (dh, dw), _ = pool_geometry(
        input_shape, kernel_size, stride, padding, dilation, False)
    grad_x = xp.empty(input_shape, grad_output.dtype)
    launch(max_pool2d_backward_kernel, grid_1d(grad_x.size), THREADS_PER_BLOCK, xp,
           grad_output, indices, grad_x, R, S, sh, sw, ph, pw, dh, dw)
    return grad_x


def _check_no_divisor_override(divisor_override):
    if divisor_override is not None:
        raise ValueError(f"divisor_override: the Numba pooling kernels need None, got "
                         f"{divisor_override!r} (the registry runs the reference for it)")


def avg_pool2d_numba(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None):
    """Average pooling with PyTorch's divisor rules (no ``divisor_override``)."""
    _check_no_divisor_override(divisor_override)
    xp = get_array_module(x)
    x = contiguous(x)
    (R, S), (sh, sw), (ph, pw), _, (P, Q) = pool_geometry(
        x.shape, kernel_size, stride, padding, 1, ceil_mode)
    y = xp.empty(x.shape[:2] + (P, Q), x.dtype)
    launch(avg_pool2d_forward_kernel, grid_1d(y.size), THREADS_PER_BLOCK, xp,
           x, y, R, S, sh, sw, ph, pw, bool(count_include_pad))
    return y


def avg_pool2d_backward_numba(grad_output, input_shape, kernel_size, stride=None, padding=0,
                              ceil_mode=False, count_include_pad=True, divisor_override=None):
    """dx of average pooling: dy / divisor spread over each window (gathered per pixel)."""
    _check_no_divisor_override(divisor_override)
    xp = get_array_module(grad_output)
    grad_output = contiguous(grad_output)
    input_shape = tuple(int(v) for v in input_shape)
    (R, S), (sh, sw), (ph, pw), _, (P, Q) = pool_geometry(
        input_shape, kernel_size, stride, padding, 1, ceil_mode)
    if tuple(grad_output.shape) != input_shape[:2] + (P, Q):
        raise ValueError(f"grad_output: expected shape {input_shape[:2] + (P, Q)}, got "
                         f"{tuple(grad_output.shape)}")
    grad_x = xp.empty(input_shape, grad_output.dtype)
    launch(avg_pool2d_backward_kernel, grid_1d(grad_x.size), THREADS_PER_BLOCK, xp,
           grad_output, grad_x, R, S, sh, sw, ph, pw, bool(count_include_pad))
    return grad_x
