r"""Numba CPU kernels for convolution: parallel im2col/col2im in NHWC, reused buffers.

Arrays in, arrays out (no Tensor). The three public functions have exactly the
signatures of the NumPy reference in ``minicnn/ops/conv.py`` and register there under
the name "numba":

* ``conv2d(x, weight, stride, padding, dilation, groups, output_hw=None)``
* ``conv2d_input_grad(grad_output, weight, input_hw, stride, padding, dilation, groups)``
  (= conv_transpose2d's forward)
* ``conv2d_weight_grad(x, grad_output, kernel_hw, stride, padding, dilation, groups)``

stride and dilation are pairs (sh, sw), (dh, dw); padding is (top, bottom, left, right).

What makes them faster than the reference (same math: im2col + one matrix product):

1. **NHWC inside.** With channels last, one patch row of the im2col matrix is R x S
   runs of C contiguous numbers, so im2col and col2im copy whole runs instead of single
   numbers. Inputs in NCHW are turned around once per call by a blocked parallel
   transpose; the output comes back in the memory layout of the input (NCHW in, NCHW
   out, as PyTorch does; an NHWC-strided "channels last" input gives a channels-last
   output and skips both transposes).
2. **Parallel loops** (``prange``) over output rows: no two threads write the same
   number, so no atomics; col2im is written as a *gather* (each input pixel sums the
   patch entries that read it) for that reason.
3. **Reused buffers.** The im2col matrix of a DCGAN layer is tens of MB; asking the OS
   for fresh pages on every call (page faults, zeroing) costs as much as filling them.
   Scratch buffers live per thread and only grow; ``release_buffers()`` frees them.

All kernels are compiled for float32 and float64 on first use (``cache=True`` keeps the
machine code on disk, so later processes start fast).
"""
from __future__ import annotations

import threading
import types

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------------------------------
# Two compiled versions of every loop nest: parallel and serial.
# ---------------------------------------------------------------------------------------
PARALLEL_MIN_WORK = 1 << 16
"""Below this many elements a kernel runs on one thread: waking the thread pool costs
tens of microseconds on a quiet machine (milliseconds on a busy one), more than the work."""


class Kernel:
    """A loop nest compiled twice: ``prange`` loops split over threads, or run as ``range``.

    ``kernel(*arrays, work=n)`` picks the parallel version when ``n`` (the number of
    elements the call touches) is at least ``PARALLEL_MIN_WORK``. Both versions are
    cached on disk; the serial one is a renamed copy of the function so that the two
    cache entries do not collide.
    """

    def __init__(self, function, fastmath=False):
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__
        self.parallel = njit(parallel=True, cache=True, fastmath=fastmath)(function)
        serial = types.FunctionType(function.__code__, function.__globals__,
                                    function.__name__ + "_serial")
        serial.__qualname__ = function.__qualname__ + "_serial"
        self.serial = njit(cache=True, fastmath=fastmath)(serial)

    def __call__(self, *arrays, work: int):
        version = self.parallel if work >= PARALLEL_MIN_WORK else self.serial
        return version(*arrays)


# ---------------------------------------------------------------------------------------
# Scratch buffers: one grow-only flat array per (thread, name, dtype).
# ---------------------------------------------------------------------------------------
_local = threading.local()


def _scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` backed by a reused buffer.

    Only for values that die inside one call: the next call with the same ``name``
    overwrites it.
    """
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    size = int(np.prod(shape))
    key = (name, np.dtype(dtype).str)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = np.empty(max(size, 1), dtype=dtype)
    return buffer[:size].reshape(shape)


def release_buffers() -> None:
    """Free this thread's scratch buffers (they are rebuilt on the next call)."""
    _local.buffers = {}


# ---------------------------------------------------------------------------------------
# Layout: NCHW <-> NHWC by a blocked transpose of the last two axes.
# ---------------------------------------------------------------------------------------
_BLOCK = 32  # 32 x 32 tiles: a tile of the source and of the target both stay in L1


@Kernel
def transpose_last_two(source, target):
    """target[b, j, i] = source[b, i, j] for source (B, M, L) and target (B, L, M).

    Tiles of 32 x 32 so that reads and writes both move along cache lines.
    """
    B, M, L = source.shape
    tiles_m = (M + _BLOCK - 1) // _BLOCK
    tiles_l = (L + _BLOCK - 1) // _BLOCK
    for task in prange(B * tiles_m * tiles_l):
        b = task // (tiles_m * tiles_l)
        i0 = (task // tiles_l) % tiles_m * _BLOCK
        j0 = task % tiles_l * _BLOCK
        for i in range(i0, min(i0 + _BLOCK, M)):
            for j in range(j0, min(j0 + _BLOCK, L)):
                target[b, j, i] = source[b, i, j]


def is_channels_last(x: np.ndarray) -> bool:
    """True when x (N, C, H, W) is stored as NHWC (C varies fastest), and not also NCHW."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def _nhwc(x: np.ndarray, name: str) -> np.ndarray:
    """x (N, C, H, W) as a C-contiguous (N, H, W, C) array: a view if it already is one,
    else a transposed copy in a scratch buffer."""
    view = x.transpose(0, 2, 3, 1)
    if view.flags.c_contiguous:
        return view
    N, C, H, W = x.shape
    source = np.ascontiguousarray(x).reshape(N, C, H * W)
    target = _scratch(name, (N, H * W, C), x.dtype)
    transpose_last_two(source, target, work=source.size)
    return target.reshape(N, H, W, C)


def _from_nhwc(y_nhwc: np.ndarray, channels_last: bool) -> np.ndarray:
    """A fresh (N, C, H, W) array from y (N, H, W, C): NCHW memory, or NHWC memory viewed
    as (N, C, H, W) when ``channels_last``."""
    N, H, W, C = y_nhwc.shape
    if channels_last:
        return y_nhwc.copy().transpose(0, 3, 1, 2)
    y = np.empty((N, C, H, W), dtype=y_nhwc.dtype)
    transpose_last_two(y_nhwc.reshape(N, H * W, C), y.reshape(N, C, H * W), work=y.size)
    return y


# ---------------------------------------------------------------------------------------
# im2col / col2im in NHWC
# ---------------------------------------------------------------------------------------
@Kernel
def im2col_nhwc(x, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, groups, columns):
    """columns[g, (n P + p) Q + q, (r S + s) C/G + c] = x_pad[n, p sh + r dh, q sw + s dw, g C/G + c]

    x (N, H, W, C) C-contiguous; columns (G, N P Q, R S C/G), written completely
    (zeros where the patch reads padding). One parallel task per output row (n, p).
    """
    N, H, W, C = x.shape
    C_per_group = C // groups
    for task in prange(N * out_h):
        n = task // out_h
        p = task % out_h
        for q in range(out_w):
            row = (n * out_h + p) * out_w + q
            for r in range(kernel_h):
                h = p * stride_h - pad_top + r * dilation_h
                for s in range(kernel_w):
                    w = q * stride_w - pad_left + s * dilation_w
                    column = (r * kernel_w + s) * C_per_group
                    inside = h >= 0 and h < H and w >= 0 and w < W
                    for g in range(groups):
                        if inside:
                            for c in range(C_per_group):
                                columns[g, row, column + c] = x[n, h, w, g * C_per_group + c]
                        else:
                            for c in range(C_per_group):
                                columns[g, row, column + c] = 0


@Kernel
def col2im_nhwc(columns, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, grad_x):
    """The adjoint of ``im2col_nhwc``: grad_x[n, h, w, c] = sum of the column entries that
    read x[n, h, w, c].

    columns (G, N P Q, R S C/G); grad_x (N, H, W, C) C-contiguous, overwritten.
    Written as a gather, one parallel task per input row (n, h): the kernel row r reads
    input row h from output row p = (h + top - r dh) / sh when that is a whole number in
    [0, P); the same for columns. No two tasks write the same number.
    """
    N, H, W, C = grad_x.shape
    groups = columns.shape[0]
    C_per_group = C // groups
    for task in prange(N * H):
        n = task // H
        h = task % H
        for w in range(W):
            for c in range(C):
                grad_x[n, h, w, c] = 0
        for r in range(kernel_h):
            shifted_h = h + pad_top - r * dilation_h
            if shifted_h < 0 or shifted_h % stride_h != 0:
                continue
            p = shifted_h // stride_h
            if p >= out_h:
                continue
            for w in range(W):
                for s in range(kernel_w):
                    shifted_w = w + pad_left - s * dilation_w
                    if shifted_w < 0 or shifted_w % stride_w != 0:
                        continue
                    q = shifted_w // stride_w
                    if q >= out_w:
                        continue
                    row = (n * out_h + p) * out_w + q
                    column = (r * kernel_w + s) * C_per_group
                    for g in range(groups):
                        for c in range(C_per_group):
                            grad_x[n, h, w, g * C_per_group + c] += columns[g, row, column + c]


# ---------------------------------------------------------------------------------------
# The three ops
# ---------------------------------------------------------------------------------------
def _output_hw(input_hw, kernel_hw, stride, padding, dilation):
    top, bottom, left, right = padding
    return ((input_hw[0] + top + bottom - dilation[0] * (kernel_hw[0] - 1) - 1) // stride[0] + 1,
            (input_hw[1] + left + right - dilation[1] * (kernel_hw[1] - 1) - 1) // stride[1] + 1)


def _weight_rows(weight: np.ndarray, groups: int) -> np.ndarray:
    """weight (K, C/G, R, S) -> (G, K/G, R S C/G), the column order of ``im2col_nhwc``."""
    K, C_per_group, R, S = weight.shape
    rows = weight.reshape(groups, K // groups, C_per_group, R, S).transpose(0, 1, 3, 4, 2)
    return np.ascontiguousarray(rows).reshape(groups, K // groups, R * S * C_per_group)


def _im2col(x, kernel_hw, output_hw, stride, padding, dilation, groups):
    x_nhwc = _nhwc(x, "input_nhwc")
    N, H, W, C = x_nhwc.shape
    (R, S), (P, Q) = kernel_hw, output_hw
    columns = _scratch("columns", (groups, N * P * Q, R * S * (C // groups)), x.dtype)
    im2col_nhwc(x_nhwc, R, S, P, Q, stride[0], stride[1], padding[0], padding[2],
                dilation[0], dilation[1], groups, columns, work=columns.size)
    return columns


def conv2d(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
           output_hw=None):
    """y (N, K, P, Q) = conv2d(x (N, C, H, W), weight (K, C/G, R, S)).

    Per group: Y_g (N P Q, K/G) = columns_g (N P Q, R S C/G) @ W_g^T, in NHWC.
    """
    N, C, H, W = x.shape
    K, _, R, S = weight.shape
    if output_hw is None:
        output_hw = _output_hw((H, W), (R, S), stride, padding, dilation)
    P, Q = output_hw
    columns = _im2col(x, (R, S), (P, Q), stride, padding, dilation, groups)
    weight_rows = _weight_rows(weight.astype(x.dtype, copy=False), groups)
    channels_last = is_channels_last(x)
    # Channels-last: these rows are the result. NCHW: a temporary, transposed at the end.
    y_rows = (np.empty((N * P * Q, K), dtype=x.dtype) if channels_last
              else _scratch("output_rows", (N * P * Q, K), x.dtype))
    if groups == 1:
        np.matmul(columns[0], weight_rows[0].T, out=y_rows)
    else:
        K_per_group = K // groups
        for g in range(groups):
            y_rows[:, g * K_per_group:(g + 1) * K_per_group] = columns[g] @ weight_rows[g].T
    y_nhwc = y_rows.reshape(N, P, Q, K)
    if channels_last:
        return y_nhwc.transpose(0, 3, 1, 2)
    return _from_nhwc(y_nhwc, channels_last=False)


def conv2d_input_grad(grad_output, weight, input_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                      dilation=(1, 1), groups=1):
    """grad_x (N, C, H, W) from grad_output (N, K, P, Q) and weight (K, C/G, R, S):
    grad_columns_g = grad_Y_g @ W_g, then col2im. Also conv_transpose2d's forward."""
    N, K, P, Q = grad_output.shape
    _, C_per_group, R, S = weight.shape
    H, W = input_hw
    C = C_per_group * groups
    dtype = grad_output.dtype
    grad_rows = _nhwc(grad_output, "grad_output_nhwc").reshape(N * P * Q, K)
    weight_rows = _weight_rows(weight.astype(dtype, copy=False), groups)
    grad_columns = _scratch("columns", (groups, N * P * Q, R * S * C_per_group), dtype)
    K_per_group = K // groups
    for g in range(groups):
        np.matmul(grad_rows[:, g * K_per_group:(g + 1) * K_per_group], weight_rows[g],
                  out=grad_columns[g])
    channels_last = is_channels_last(grad_output)
    grad_x_nhwc = (np.empty((N, H, W, C), dtype=dtype) if channels_last
                   else _scratch("input_grad_nhwc", (N, H, W, C), dtype))
    col2im_nhwc(grad_columns, R, S, P, Q, stride[0], stride[1], padding[0], padding[2],
                dilation[0], dilation[1], grad_x_nhwc, work=grad_columns.size)
    if channels_last:
        return grad_x_nhwc.transpose(0, 3, 1, 2)
    return _from_nhwc(grad_x_nhwc, channels_last=False)


def conv2d_weight_grad(x, grad_output, kernel_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                       dilation=(1, 1), groups=1):
    """grad_weight (K, C/G, R, S) = per group grad_Y_g^T (K/G, N P Q) @ columns_g."""
    N, C, H, W = x.shape
    _, K, P, Q = grad_output.shape
    R, S = kernel_hw
    columns = _im2col(x, (R, S), (P, Q), stride, padding, dilation, groups)
    grad_rows = _nhwc(grad_output.astype(x.dtype, copy=False),
                      "grad_output_nhwc").reshape(N * P * Q, K)
    K_per_group, C_per_group = K // groups, C // groups
    grad_weight_rows = np.empty((groups, K_per_group, R * S * C_per_group), dtype=x.dtype)
    for g in range(groups):
        np.matmul(grad_rows[:, g * K_per_group:(g + 1) * K_per_group].T, columns[g],
                  out=grad_weight_rows[g])
    grad_weight = grad_weight_rows.reshape(K, R, S, C_per_group).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(grad_weight)
