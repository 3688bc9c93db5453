"""im2col and col2im as Numba CUDA kernels: the data movement behind "conv = one matmul".

What they compute
-----------------
``im2col`` unfolds every receptive field of the input into a column, so that a
convolution becomes one matrix product (as ``torch.nn.functional.unfold`` does)::

    x     : (N, C, H, W)
    cols  : (N, C*R*S, P*Q)
    cols[n, (c*R + r)*S + s, p*Q + q] = x[n, c, p*stride_h - pad_h + r*dil_h,
                                             q*stride_w - pad_w + s*dil_w]
            (0 where that row/column falls into the zero padding)

    P = (H + pad_top + pad_bottom - dil_h*(R - 1) - 1) // stride_h + 1     (Q likewise)

(``pad_h``/``pad_w`` in the kernels are the top/left padding; the bottom/right padding
only decides P and Q, which the host passes in.)

``col2im`` is its adjoint (its transpose as a linear map): every column entry is
added back to the input pixel it was copied from. Overlapping windows make one
pixel receive several entries::

    x[n, c, h, w] = sum over (r, s, p, q) with p*stride_h - pad_h + r*dil_h == h
                                         and q*stride_w - pad_w + s*dil_w == w
                    of cols[n, (c*R + r)*S + s, p*Q + q]

Thread/block mapping
--------------------
Both kernels are "one thread per element of the array they write", over a 1-D grid
of 1-D blocks (``cuda.grid(1)``), with a grid-stride loop so any grid size covers
any array size:

* im2col: one thread per element of ``cols`` (N*C*R*S*P*Q of them). Neighbouring
  threads write neighbouring ``q``: the writes are coalesced.
* col2im: one thread per input pixel (N*C*H*W). Instead of *scattering* each column
  entry into x (which would need atomic adds where windows overlap), each thread
  *gathers* the few entries that land on its pixel. No atomics, deterministic.

Index math of the gather
------------------------
For a pixel row ``h`` and kernel row ``r``, the output row that copied it would be
``p = (h + pad_h - r*dil_h) / stride_h``; it exists only when that division is
exact and ``0 <= p < P``. Same for columns. That is the whole of col2im.

Launchers
---------
``im2col_numba(x, kernel_size, stride, padding, dilation, output_hw=None)`` and
``col2im_numba(cols, input_shape, kernel_size, ...)`` check the geometry, allocate the
output and launch (CuPy arrays, or NumPy arrays under the simulator). They are not
registered ops: ``cuda_c_host.py``'s im2col + cuBLAS path uses them under the simulator.
"""
from __future__ import annotations

from numba import cuda

from minicnn.backend import get_array_module
from minicnn.geometry import conv_geometry, pair

from .cuda_runtime import THREADS_PER_BLOCK, contiguous, grid_1d, launch


@cuda.jit(cache=True)
def im2col_kernel(x, cols, kernel_h, kernel_w, P, Q, stride_h, stride_w, pad_h, pad_w,
                  dil_h, dil_w):
    """cols[n, (c*R + r)*S + s, p*Q + q] = x[n, c, h, w] or 0 in the padding."""
    N, C, H, W = x.shape
    R, S = kernel_h, kernel_w
    total = N * C * R * S * P * Q
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for index in range(start, total, step):
        # index = ((((n*C + c)*R + r)*S + s)*P + p)*Q + q, peeled from the right
        q = index % Q
        p = (index // Q) % P
        s = (index // (Q * P)) % S
        r = (index // (Q * P * S)) % R
        c = (index // (Q * P * S * R)) % C
        n = index // (Q * P * S * R * C)
        h = p * stride_h - pad_h + r * dil_h
        w = q * stride_w - pad_w + s * dil_w
        value = 0.0
        if 0 <= h < H and 0 <= w < W:
            value = x[n, c, h, w]
        cols[n, (c * R + r) * S + s, p * Q + q] = value


@cuda.jit(cache=True)
def col2im_kernel(cols, x, kernel_h, kernel_w, P, Q, stride_h, stride_w, pad_h, pad_w,
                  dil_h, dil_w):
    """x[n, c, h, w] = sum of the column entries that im2col copied from (h, w)."""
    N, C, H, W = x.shape
    R, S = kernel_h, kernel_w
    total = N * C * H * W
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for index in range(start, total, step):
        w = index % W
        h = (index // W) % H
        c = (index // (W * H)) % C
        n = index // (W * H * C)
        acc = 0.0                    # float64: a few terms each, and the kernel is memory-bound
        for r in range(R):
            p_times_stride = h + pad_h - r * dil_h
            if p_times_stride < 0 or p_times_stride % stride_h != 0:
                continue
            p = p_times_stride // stride_h
            if p >= P:
                continue
            for s in range(S):
                q_times_stride = w + pad_w - s * dil_w
                if q_times_stride < 0 or q_times_stride % stride_w != 0:
                    continue
                q = q_times_stride // stride_w
                if q >= Q:
                    continue
                acc += cols[n, (c * R + r) * S + s, p * Q + q]
        x[n, c, h, w] = acc


# ----------------------------------------------------------------------------- launchers


def im2col_numba(x, kernel_size, stride=1, padding=0, dilation=1, output_hw=None):
    """cols (N, C*R*S, P*Q) of x (N, C, H, W), as torch.nn.functional.unfold."""
    xp = get_array_module(x)
    x = contiguous(x)
    R, S = pair(kernel_size, "kernel_size", 1)
    N, C, H, W = x.shape
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, (C, C, R, S), stride,
                                                         padding, dilation, 1, output_hw)
    cols = xp.empty((N, C * R * S, P * Q), x.dtype)
    launch(im2col_kernel, grid_1d(cols.size), THREADS_PER_BLOCK, xp,
           x, cols, R, S, P, Q, sh, sw, ph, pw, dh, dw)
    return cols


def col2im_numba(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1,
                 output_hw=None):
    """x (N, C, H, W) = the adjoint of im2col: column entries summed back onto their pixels."""
    xp = get_array_module(cols)
    cols = contiguous(cols)
    N, C, H, W = (int(v) for v in input_shape)
    R, S = pair(kernel_size, "kernel_size", 1)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry((N, C, H, W), (C, C, R, S), stride,
                                                         padding, dilation, 1, output_hw)
    if tuple(cols.shape) != (N, C * R * S, P * Q):
        raise ValueError(f"cols: expected shape {(N, C * R * S, P * Q)}, got {tuple(cols.shape)}")
    x = xp.empty((N, C, H, W), cols.dtype)
    launch(col2im_kernel, grid_1d(x.size), THREADS_PER_BLOCK, xp,
           cols, x, R, S, P, Q, sh, sw, ph, pw, dh, dw)
    return x
