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
   runs of C contiguous numbers (R runs of S C numbers when the kernel is not dilated),
   so im2col and col2im copy runs instead of single numbers. An NCHW input is turned
   into NHWC one image at a time inside im2col (the image fits in the L2 cache), and
   col2im turns each row back on its way out: no separate transposition passes. The
   matrix products are arranged so that their results come out in the layout needed
   (Y^T = W @ columns^T is NCHW up to a cheap copy of P Q-long runs). The output has the
   memory layout of the input, as in PyTorch: NCHW in, NCHW out; an NHWC-strided
   ("channels last") input gives a channels-last output.
2. **Parallel loops** (``prange``) over images or image rows: no two threads write the
   same number, so no atomics; col2im is written as a *gather* (each input row sums the
   patch entries that read it) for that reason. Small problems run serially.
3. **Reused buffers.** The im2col matrix of a DCGAN layer is tens of MB; asking the OS
   for fresh pages on every call (page faults, zeroing) costs as much as filling them.
   Scratch buffers live per thread and only grow; ``release_buffers()`` frees them.

All kernels are compiled for float32 and float64 on first use (``cache=True`` keeps the
machine code on disk, so later processes start fast).
"""
from __future__ import annotations

import os
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, prange
from threadpoolctl import ThreadpoolController

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
# Matrix products: blocks on worker threads, each block a single-threaded BLAS call
# ---------------------------------------------------------------------------------------
PARALLEL_MIN_FLOPS = 1 << 24
"""Below this many multiply-adds a product is one ordinary ``np.matmul`` call."""

BLOCKS_PER_WORKER = 2
"""Blocks handed out per worker thread: more balance the load when another process takes
a core for a while, fewer keep each product large enough for BLAS to run at full speed."""

_blas = ThreadpoolController()  # NumPy's BLAS, to make it single-threaded in the workers
_pool: ThreadPoolExecutor | None = None


def _run_blocks(tasks) -> None:
    """Run ``tasks`` (functions of no argument) on ``numba.get_num_threads()`` threads.

    Why not let BLAS use its own threads: OpenBLAS splits one product over its threads
    in small steps, and between two steps a thread busy-waits for the other. When
    another process holds one of the two cores even briefly, that waiting makes the
    product 2-4x slower than on one thread (measured on the DCGAN layers). Here each
    thread takes whole blocks, one after another, from a queue: no waiting on each
    other until the last block, and a thread that got the core to itself simply takes
    more blocks.
    """
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(numba.get_num_threads(), thread_name_prefix="minicnn-gemm")
    with _blas.limit(limits=1, user_api="blas"):
        for future in [_pool.submit(task) for task in tasks]:
            future.result()


def _forget_pool() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)  # a forked child has none of the threads


def _bounds(length: int, blocks: int) -> list[tuple[int, int]]:
    """``blocks`` nearly equal, non-empty [start, end) ranges covering range(length)."""
    blocks = max(1, min(blocks, length))
    edges = [length * i // blocks for i in range(blocks + 1)]
    return list(zip(edges[:-1], edges[1:]))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, split: str) -> None:
    """out = a @ b for 2-D a (M, L), b (L, M'), out (M, M'), any of them strided.

    Large products are cut into blocks along ``split``: "rows" of out (each block reads
    its rows of a and all of b), "columns" of out (its columns of b, all of a), or
    "inner", the summed dimension L (each block a partial product; the partials are
    added at the end, so it suits a small out and a long L, like a weight gradient).
    """
    if a.shape[0] * a.shape[1] * b.shape[1] < PARALLEL_MIN_FLOPS:
        np.matmul(a, b, out=out)
        return
    blocks = numba.get_num_threads() * BLOCKS_PER_WORKER
    if split == "rows":
        tasks = [lambda i=i, j=j: np.matmul(a[i:j], b, out=out[i:j])
                 for i, j in _bounds(a.shape[0], blocks)]
    elif split == "columns":
        tasks = [lambda i=i, j=j: np.matmul(a, b[:, i:j], out=out[:, i:j])
                 for i, j in _bounds(b.shape[1], blocks)]
    else:
        bounds = _bounds(a.shape[1], blocks)
        partials = np.empty((len(bounds),) + out.shape, dtype=out.dtype)
        tasks = [lambda t=t, i=i, j=j: np.matmul(a[:, i:j], b[i:j], out=partials[t])
                 for t, (i, j) in enumerate(bounds)]
    _run_blocks(tasks)
    if split == "inner":
        np.sum(partials, axis=0, out=out)


# ---------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _transpose(source, target):
    """target[j, i] = source[i, j] for source (M, L) and target (L, M).

    Reads run along the source rows; the strided writes stay in cache for the sizes used
    here (one image, up to a few hundred KB). With more than 64 rows, 8 rows go together
    so that each target line is filled by 8 neighbouring writes (measured faster there;
    slower for few rows, such as the 3 channels of an RGB image).
    """
    M, L = source.shape
    rows_together = 1 if M <= 64 else 8
    for i0 in range(0, M, rows_together):
        i1 = min(i0 + rows_together, M)
        for j in range(L):
            for i in range(i0, i1):
                target[j, i] = source[i, j]


@Kernel
def transpose_last_two(source, target):
    """target[b, j, i] = source[b, i, j] for source (B, M, L) and target (B, L, M).

    One parallel task per matrix b. Used for the weights: (K, C/G, R S) <-> (K, R S, C/G).
    """
    for b in prange(source.shape[0]):
        _transpose(source[b], target[b])


def is_channels_last(x: np.ndarray) -> bool:
    """True when x (N, C, H, W) is stored as NHWC (C varies fastest), and not also NCHW."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def _weight_rows(weight: np.ndarray, groups: int) -> np.ndarray:
    """weight (K, C/G, R, S) -> (G, K/G, R S C/G): each filter in im2col's column order."""
    K, C_per_group, R, S = weight.shape
    rows = _scratch("weight_rows", (K, R * S, C_per_group), weight.dtype)
    transpose_last_two(np.ascontiguousarray(weight).reshape(K, C_per_group, R * S), rows,
                       work=weight.size)
    return rows.reshape(groups, K // groups, R * S * C_per_group)


def _by_filter(y: np.ndarray, name: str) -> np.ndarray:
    """y (N, K, P, Q) as a (K, N P Q) matrix: one row per filter, one column per pixel.

    Channels-last y is already that matrix, transposed (a view); NCHW y is copied in
    runs of P Q contiguous numbers (a cheap copy, not a transpose)."""
    N, K, P, Q = y.shape
    if is_channels_last(y):
        return y.transpose(0, 2, 3, 1).reshape(N * P * Q, K).T
    matrix = _scratch(name, (K, N, P * Q), y.dtype)
    np.copyto(matrix, y.reshape(N, K, P * Q).transpose(1, 0, 2))
    return matrix.reshape(K, N * P * Q)


# ---------------------------------------------------------------------------------------
# im2col / col2im, one image row at a time, in NHWC
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _tap_range(w0, kernel_w, width):
    """The kernel columns s in [lo, hi) whose w = w0 + s fall inside [0, width) (no
    dilation): the taps of one kernel row that read the image, not the padding."""
    lo = min(kernel_w, max(0, -w0))
    hi = max(lo, min(kernel_w, width - w0))
    return lo, hi


@njit(cache=True)
def _im2col_row(image, n, p, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, columns):
    """The Q rows of ``columns`` for output row p of image n; image (H, W C) is one NHWC
    image with each pixel row flattened.

    columns[g, (n P + p) Q + q, (r S + s) C/G + c] = x_pad[n, p sh + r dh, q sw + s dw, g C/G + c]

    Without groups and dilation, the S taps of kernel row r read S neighbouring pixels,
    i.e. one run of S C contiguous numbers of the NHWC row (12 numbers for a 3-channel
    4x4 kernel, 1024 for 64 channels): one tight copy loop per (q, r), clipped where the
    window hangs over the padding. Otherwise runs of C/G numbers, one per tap.
    """
    H = image.shape[0]
    groups = columns.shape[0]
    C_per_group = columns.shape[2] // (kernel_h * kernel_w)
    C = C_per_group * groups
    W = image.shape[1] // C
    one_run = groups == 1 and dilation_w == 1
    for q in range(out_w):
        w0 = q * stride_w - pad_left
        lo, hi = _tap_range(w0, kernel_w, W)
        for g in range(groups):
            out = columns[g, (n * out_h + p) * out_w + q]
            for r in range(kernel_h):
                h = p * stride_h - pad_top + r * dilation_h
                base = r * kernel_w * C_per_group
                if h < 0 or h >= H:  # the whole kernel row reads padding
                    for i in range(base, base + kernel_w * C_per_group):
                        out[i] = 0
                    continue
                source = image[h]
                if one_run:  # taps [lo, hi) in one run; padding before and after
                    for i in range(base, base + lo * C):
                        out[i] = 0
                    shift = w0 * C - base
                    for i in range(base + lo * C, base + hi * C):
                        out[i] = source[shift + i]
                    for i in range(base + hi * C, base + kernel_w * C):
                        out[i] = 0
                    continue
                for s in range(kernel_w):  # one run of C/G numbers per tap
                    w = w0 + s * dilation_w
                    column = base + s * C_per_group
                    if w >= 0 and w < W:
                        first = w * C + g * C_per_group
                        for c in range(C_per_group):
                            out[column + c] = source[first + c]
                    else:
                        for c in range(C_per_group):
                            out[column + c] = 0


@Kernel
def im2col_nhwc(x, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, columns):
    """im2col of a channels-last input: x (N, H, W C) (NHWC, pixel rows flattened);
    columns (G, N P Q, R S C/G).

    One parallel task per output row (n, p); every number of ``columns`` is written
    (zeros where a patch reads padding)."""
    N = x.shape[0]
    for task in prange(N * out_h):
        n = task // out_h
        _im2col_row(x[n], n, task % out_h, kernel_h, kernel_w, out_h, out_w, stride_h,
                    stride_w, pad_top, pad_left, dilation_h, dilation_w, columns)


@Kernel
def im2col_nchw(x, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, columns):
    """im2col of an NCHW input: x (N, C, H, W); columns (G, N P Q, R S C/G).

    One parallel task per image: turn the image into NHWC in a private buffer (it fits
    in the L2 cache), then write its rows as ``im2col_nhwc`` does. The transposition
    is fused into im2col: no extra pass over memory.
    """
    N, C, H, W = x.shape
    for n in prange(N):
        image = np.empty((H, W * C), dtype=x.dtype)
        _transpose(x[n].reshape(C, H * W), image.reshape(H * W, C))
        for p in range(out_h):
            _im2col_row(image, n, p, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                        pad_top, pad_left, dilation_h, dilation_w, columns)


@njit(cache=True)
def _col2im_row(columns, n, h, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                pad_top, pad_left, dilation_h, dilation_w, row_sum):
    """Add into row_sum (W C,) (one NHWC pixel row, flattened) every column entry that
    read input row h of image n.

    Kernel row r read input row h from output row p when h = p sh - top + r dh, so
    p = (h + top - r dh) / sh must be a whole number in [0, P). Along the row, output
    column q read the S taps w = q sw - left + s dw; without groups and dilation those
    are one run of S C contiguous numbers, as in ``_im2col_row``.
    """
    groups = columns.shape[0]
    C_per_group = columns.shape[2] // (kernel_h * kernel_w)
    C = C_per_group * groups
    W = row_sum.shape[0] // C
    one_run = groups == 1 and dilation_w == 1
    for r in range(kernel_h):
        shifted = h + pad_top - r * dilation_h
        if shifted < 0 or shifted % stride_h != 0 or shifted // stride_h >= out_h:
            continue
        p = shifted // stride_h
        base = r * kernel_w * C_per_group
        for q in range(out_w):
            w0 = q * stride_w - pad_left
            row = (n * out_h + p) * out_w + q
            if one_run:
                lo, hi = _tap_range(w0, kernel_w, W)
                source = columns[0, row]
                shift = w0 * C - base
                for i in range(base + lo * C, base + hi * C):
                    row_sum[shift + i] += source[i]
                continue
            for g in range(groups):
                source = columns[g, row]
                for s in range(kernel_w):
                    w = w0 + s * dilation_w
                    if w >= 0 and w < W:
                        first = w * C + g * C_per_group
                        column = base + s * C_per_group
                        for c in range(C_per_group):
                            row_sum[first + c] += source[column + c]


@Kernel
def col2im_nhwc(columns, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, grad_x):
    """The adjoint of im2col, channels-last: grad_x (N, H, W C) (pixel rows flattened) is
    overwritten with, for each input number, the sum of the column entries that read it.

    A gather, one parallel task per input row (n, h): no two tasks write the same
    number, so no atomics are needed.
    """
    N, H = grad_x.shape[:2]
    for task in prange(N * H):
        n = task // H
        h = task % H
        row_sum = grad_x[n, h]
        row_sum[:] = 0
        _col2im_row(columns, n, h, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                    pad_top, pad_left, dilation_h, dilation_w, row_sum)


@Kernel
def col2im_nchw(columns, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, grad_x):
    """col2im into an NCHW grad_x (N, C, H, W): each row is summed in NHWC order in a
    private buffer, then written out channel by channel (the transposition fused)."""
    N, C, H, W = grad_x.shape
    for task in prange(N * H):
        n = task // H
        h = task % H
        row_sum = np.zeros(W * C, dtype=grad_x.dtype)
        _col2im_row(columns, n, h, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                    pad_top, pad_left, dilation_h, dilation_w, row_sum)
        for c in range(C):
            for w in range(W):
                grad_x[n, c, h, w] = row_sum[w * C + c]


# ---------------------------------------------------------------------------------------
# The three ops
# ---------------------------------------------------------------------------------------
def _output_hw(input_hw, kernel_hw, stride, padding, dilation):
    top, bottom, left, right = padding
    return ((input_hw[0] + top + bottom - dilation[0] * (kernel_hw[0] - 1) - 1) // stride[0] + 1,
            (input_hw[1] + left + right - dilation[1] * (kernel_hw[1] - 1) - 1) // stride[1] + 1)


def _im2col(x, kernel_hw, output_hw, stride, padding, dilation, groups):
    """columns (G, N P Q, R S C/G) of x (N, C, H, W), in a reused buffer."""
    N, C, H, W = x.shape
    (R, S), (P, Q) = kernel_hw, output_hw
    columns = _scratch("columns", (groups, N * P * Q, R * S * (C // groups)), x.dtype)
    hyper = (R, S, P, Q, stride[0], stride[1], padding[0], padding[2], dilation[0], dilation[1])
    if is_channels_last(x):
        im2col_nhwc(x.transpose(0, 2, 3, 1).reshape(N, H, W * C), *hyper, columns,
                    work=columns.size)
    else:
        im2col_nchw(np.ascontiguousarray(x), *hyper, columns, work=columns.size)
    return columns


def conv2d(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
           output_hw=None):
    """y (N, K, P, Q) = conv2d(x (N, C, H, W), weight (K, C/G, R, S)).

    Per group g:  Y_g^T (K/G, N P Q) = W_g (K/G, R S C/G) @ columns_g^T.
    """
    N, C, H, W = x.shape
    K, _, R, S = weight.shape
    if output_hw is None:
        output_hw = _output_hw((H, W), (R, S), stride, padding, dilation)
    P, Q = output_hw
    columns = _im2col(x, (R, S), (P, Q), stride, padding, dilation, groups)
    weight_rows = _weight_rows(weight.astype(x.dtype, copy=False), groups)
    K_per_group = K // groups
    if is_channels_last(x):  # rows (N P Q, K) are the NHWC output itself
        rows = np.empty((N * P * Q, K), dtype=x.dtype)
        for g in range(groups):
            matmul(columns[g], weight_rows[g].T,
                   rows[:, g * K_per_group:(g + 1) * K_per_group], split="rows")
        return rows.reshape(N, P, Q, K).transpose(0, 3, 1, 2)
    by_filter = _scratch("output_by_filter", (K, N * P * Q), x.dtype)
    for g in range(groups):
        matmul(weight_rows[g], columns[g].T,
               by_filter[g * K_per_group:(g + 1) * K_per_group], split="columns")
    y = np.empty((N, K, P, Q), dtype=x.dtype)
    np.copyto(y.reshape(N, K, P * Q).transpose(1, 0, 2), by_filter.reshape(K, N, P * Q))
    return y


def conv2d_input_grad(grad_output, weight, input_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                      dilation=(1, 1), groups=1):
    """grad_x (N, C, H, W) from grad_output (N, K, P, Q) and weight (K, C/G, R, S):
    grad_columns_g = grad_Y_g @ W_g, then col2im. Also conv_transpose2d's forward."""
    N, K, P, Q = grad_output.shape
    _, C_per_group, R, S = weight.shape
    H, W = input_hw
    C = C_per_group * groups
    dtype = grad_output.dtype
    grad_by_filter = _by_filter(grad_output, "grad_output_by_filter")    # (K, N P Q)
    weight_rows = _weight_rows(weight.astype(dtype, copy=False), groups)
    grad_columns = _scratch("columns", (groups, N * P * Q, R * S * C_per_group), dtype)
    K_per_group = K // groups
    for g in range(groups):
        matmul(grad_by_filter[g * K_per_group:(g + 1) * K_per_group].T, weight_rows[g],
               grad_columns[g], split="rows")
    hyper = (R, S, P, Q, stride[0], stride[1], padding[0], padding[2], dilation[0], dilation[1])
    if is_channels_last(grad_output):
        grad_x = np.empty((N, H, W * C), dtype=dtype)
        col2im_nhwc(grad_columns, *hyper, grad_x, work=grad_columns.size)
        return grad_x.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    grad_x = np.empty((N, C, H, W), dtype=dtype)
    col2im_nchw(grad_columns, *hyper, grad_x, work=grad_columns.size)
    return grad_x


def conv2d_weight_grad(x, grad_output, kernel_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                       dilation=(1, 1), groups=1):
    """grad_weight (K, C/G, R, S) = per group grad_Y_g^T (K/G, N P Q) @ columns_g."""
    N, C, H, W = x.shape
    _, K, P, Q = grad_output.shape
    R, S = kernel_hw
    columns = _im2col(x, (R, S), (P, Q), stride, padding, dilation, groups)
    grad_by_filter = _by_filter(grad_output.astype(x.dtype, copy=False),
                                "grad_output_by_filter")
    K_per_group, C_per_group = K // groups, C // groups
    grad_rows = _scratch("weight_rows", (groups, K_per_group, R * S * C_per_group), x.dtype)
    # The sum runs over N P Q pixels: split it when it is longer than a filter's
    # R S C/G numbers (the partial products are then the smaller arrays), else split
    # the filter's numbers.
    split = "inner" if N * P * Q > R * S * C_per_group else "columns"
    for g in range(groups):
        matmul(grad_by_filter[g * K_per_group:(g + 1) * K_per_group], columns[g],
               grad_rows[g], split=split)
    grad_weight = np.empty((K, C_per_group, R, S), dtype=x.dtype)
    transpose_last_two(grad_rows.reshape(K, R * S, C_per_group),
                       grad_weight.reshape(K, C_per_group, R * S), work=grad_weight.size)
    return grad_weight
