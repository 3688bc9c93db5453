r"""Numba CPU kernels for convolution: im2col/col2im in NHWC, by blocks of images on
worker threads, reused buffers.

Arrays in, arrays out (no Tensor). The three public functions have exactly the
signatures of the NumPy references in ``minicnn/ops/conv.py`` and are registered as
"numba" for device "cpu" (``registrations.py``; no float16: Numba has no such type):

* ``conv2d(x, weight, stride, padding, dilation, groups, output_hw=None)``
* ``conv2d_input_grad(grad_output, weight, input_hw, stride, padding, dilation, groups)``
  (= conv_transpose2d's forward)
* ``conv2d_weight_grad(x, grad_output, kernel_hw, stride, padding, dilation, groups)``

stride and dilation are pairs (sh, sw), (dh, dw); padding is (top, bottom, left, right).

What makes them faster than the reference (same math: im2col + one matrix product):

1. **NHWC inside.** With channels last, one patch row of the im2col matrix is R x S
   runs of C contiguous numbers (R runs of S C numbers when the kernel is not dilated),
   so im2col and col2im copy runs instead of single numbers: without groups and
   dilation, one run of S C numbers per kernel row. An NCHW input is turned into NHWC
   one image at a time inside im2col (the image fits in the L2 cache), and col2im turns
   each image back on its way out: no separate transposition passes. The matrix
   products are arranged so that their results come out in the layout needed
   (Y^T = W @ columns^T is NCHW up to a cheap copy of P Q-long runs). The output has the
   memory layout of the input, as in PyTorch: NCHW in, NCHW out; an NHWC-strided
   ("channels last") input gives a channels-last output.
2. **Blocks of images on the engine's threads.** Each op cuts the batch into blocks of a
   few images; a thread takes a block, builds its im2col matrix (about 2 MB, so it is
   still in the cache when the matrix product reads it), multiplies it with a
   single-threaded BLAS call and writes its own slice of the result. The threads
   never wait for each other until the last block, and a thread that finds its core
   taken by another process simply takes fewer blocks (``cpu_threads.run_tasks``). col2im
   is written as a *gather* (each input row sums the patch entries that read it), so
   blocks write disjoint memory and need no atomics. The blocks do not depend on the
   thread count, so neither do the results.
3. **Reused buffers.** Asking the OS for fresh pages on every call (page faults,
   zeroing) costs as much as filling them: scratch buffers live per thread and only
   grow (``cpu_runtime.scratch``; ``cpu_runtime.release_buffers()`` frees them).

All kernels are compiled for float32 and float64 on first use (``cache=True`` keeps the
machine code on disk, so later processes start fast).
"""
from __future__ import annotations

import numpy as np
from numba import njit, uint64

from minicnn.geometry import conv2d_output_hw

from .cpu_runtime import kernel, scratch
from .cpu_threads import run_tasks, split_range

# ---------------------------------------------------------------------------------------
# Blocks of images
# ---------------------------------------------------------------------------------------
MIN_BLOCKS = 8
"""At least this many blocks (when there are enough images), whatever the thread count:
several per thread balance the load when another process takes a core for a while."""

PARTIAL_BYTES = 1 << 24
"""The weight gradient keeps one partial sum (the size of the weight) per block: when the
weight is big, fewer, bigger blocks keep those partials within about this many bytes
(at least two blocks, so that two threads share the work)."""

PARALLEL_MIN_MULTIPLY_ADDS = 1 << 24
"""Below this many multiply-adds (about half a millisecond of matrix products, and
im2col's copies besides) an op runs its blocks on the calling thread: waking the pool,
slow on a busy machine, would cost a noticeable share of the work."""

BLOCK_BYTES = 1 << 21
"""The size of one block's im2col matrix: small enough to stay in the cache between
im2col writing it and the matrix product reading it."""

MIN_BLOCK_ROWS = 256
"""The fewest im2col rows (output pixels) per block: fewer make products so small that
BLAS spends more time packing the weight matrix than multiplying."""


def _image_blocks(N: int, pixels_per_image: int, row_bytes: int) -> list[tuple[int, int]]:
    """[n0, n1) ranges covering the N images, sized by ``BLOCK_BYTES``, ``MIN_BLOCK_ROWS``
    and ``MIN_BLOCKS`` (an im2col row holds ``row_bytes``)."""
    rows = max(MIN_BLOCK_ROWS, BLOCK_BYTES // max(row_bytes, 1))
    most = -(-N // MIN_BLOCKS)  # ceil
    images = max(1, min(rows // max(pixels_per_image, 1), most))
    return [(n0, min(n0 + images, N)) for n0 in range(0, N, images)]


# ---------------------------------------------------------------------------------------
# Runs of contiguous numbers
# ---------------------------------------------------------------------------------------
# The run helpers index with unsigned integers. A signed index may be negative, and
# Numba then counts it from the end of the array, as Python does: that check on every
# element keeps LLVM from turning the loop into vector instructions (measured 3-7x
# slower on runs of 12 and 256 numbers).
@njit(cache=True)
def _copy_run(target, start, source, source_start, count):
    """target[start:start + count] = source[source_start:source_start + count]"""
    start, source_start = uint64(start), uint64(source_start)
    for i in range(uint64(count)):
        target[start + i] = source[source_start + i]


@njit(cache=True)
def _add_run(target, start, source, source_start, count):
    """target[start:start + count] += source[source_start:source_start + count]"""
    start, source_start = uint64(start), uint64(source_start)
    for i in range(uint64(count)):
        target[start + i] += source[source_start + i]


@njit(cache=True)
def _zero_run(target, start, count):
    """target[start:start + count] = 0"""
    start = uint64(start)
    for i in range(uint64(count)):
        target[start + i] = 0


# ---------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _transpose(source, target):
    """target[j, i] = source[i, j] for C-contiguous source (M, L) and target (L, M).

    Strips of 8 source rows: the reads run along 8 rows at once, and each group of 8
    writes fills neighbouring numbers of one target row. Flat unsigned indices, as in
    ``_copy_run`` (with 2-D signed indices this was 3-4x slower).
    """
    M, L = uint64(source.shape[0]), uint64(source.shape[1])
    flat_source, flat_target = source.reshape(-1), target.reshape(-1)
    for i0 in range(uint64(0), M, uint64(8)):
        i1 = min(i0 + uint64(8), M)
        for j in range(L):
            for i in range(i0, i1):
                flat_target[j * M + i] = flat_source[i * L + j]


@kernel
def transpose_last_two(source, target):
    """target[b, j, i] = source[b, i, j] for source (B, M, L) and target (B, L, M).

    Used for the weights: (K, C/G, R S) <-> (K, R S, C/G).
    """
    for b in range(source.shape[0]):
        _transpose(source[b], target[b])


@njit(cache=True, nogil=True)
def swap_leading_axes(source, target):
    """target[b, a, :] = source[a, b, :] for C-contiguous source (A, B, L) and target
    (B, A, L): A B runs of L contiguous numbers (a cheap copy, not a transpose). Used
    between NCHW images (n, K, P Q) and the product's layout (K, n, P Q); 2-4x faster
    than ``np.copyto`` through a transposed view when the runs are long."""
    A, B, L = source.shape
    flat_source, flat_target = source.reshape(-1), target.reshape(-1)
    for a in range(A):
        for b in range(B):
            _copy_run(flat_target, (b * A + a) * L, flat_source, (a * B + b) * L, L)


def is_channels_last(x: np.ndarray) -> bool:
    """True when x (N, C, H, W) is stored as NHWC (C varies fastest), and not also NCHW."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def _weight_rows(weight: np.ndarray, groups: int) -> np.ndarray:
    """weight (K, C/G, R, S) -> (G, K/G, R S C/G): each filter in im2col's column order."""
    K, C_per_group, R, S = weight.shape
    rows = scratch("weight_rows", (K, R * S, C_per_group), weight.dtype)
    transpose_last_two(np.ascontiguousarray(weight).reshape(K, C_per_group, R * S), rows)
    return rows.reshape(groups, K // groups, R * S * C_per_group)


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
    4x4 kernel, 1024 for 64 channels): one copy per (q, r), clipped where the window
    hangs over the padding. Otherwise runs of C/G numbers, one per tap.
    """
    H, row_length = image.shape
    groups, rows, row_width = columns.shape
    C_per_group = row_width // (kernel_h * kernel_w)
    C = C_per_group * groups
    W = row_length // C
    one_run = groups == 1 and dilation_w == 1
    pixels, out = image.reshape(-1), columns.reshape(-1)  # flat: offsets computed here
    for q in range(out_w):
        w0 = q * stride_w - pad_left
        lo, hi = _tap_range(w0, kernel_w, W)
        for g in range(groups):
            row_start = (g * rows + (n * out_h + p) * out_w + q) * row_width
            for r in range(kernel_h):
                h = p * stride_h - pad_top + r * dilation_h
                start = row_start + r * kernel_w * C_per_group
                if h < 0 or h >= H:  # the whole kernel row reads padding
                    _zero_run(out, start, kernel_w * C_per_group)
                elif one_run:  # taps [lo, hi) in one run; padding before and after
                    _zero_run(out, start, lo * C)
                    _copy_run(out, start + lo * C, pixels, h * row_length + (w0 + lo) * C,
                              (hi - lo) * C)
                    _zero_run(out, start + hi * C, (kernel_w - hi) * C)
                else:  # one run of C/G numbers per tap
                    for s in range(kernel_w):
                        w = w0 + s * dilation_w
                        if w >= 0 and w < W:
                            _copy_run(out, start + s * C_per_group, pixels,
                                      h * row_length + w * C + g * C_per_group, C_per_group)
                        else:
                            _zero_run(out, start + s * C_per_group, C_per_group)


@njit(cache=True, nogil=True)
def im2col_nhwc(x, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, columns):
    """im2col of a channels-last input: x (N, H, W C) (NHWC, pixel rows flattened);
    columns (G, N P Q, R S C/G).

    Every number of ``columns`` is written (zeros where a patch reads padding)."""
    for n in range(x.shape[0]):
        for p in range(out_h):
            _im2col_row(x[n], n, p, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                        pad_top, pad_left, dilation_h, dilation_w, columns)


@njit(cache=True, nogil=True)
def im2col_nchw(x, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, columns):
    """im2col of an NCHW input: x (N, C, H, W); columns (G, N P Q, R S C/G).

    Image by image: turn the image into NHWC in a buffer (it fits in the L2 cache), then
    write its rows as ``im2col_nhwc`` does. The transposition is fused into im2col: no
    extra pass over memory.
    """
    N, C, H, W = x.shape
    image = np.empty((H, W * C), dtype=x.dtype)
    for n in range(N):
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
    groups, rows, row_width = columns.shape
    C_per_group = row_width // (kernel_h * kernel_w)
    C = C_per_group * groups
    W = row_sum.shape[0] // C
    one_run = groups == 1 and dilation_w == 1
    entries = columns.reshape(-1)  # flat: offsets computed here
    for r in range(kernel_h):
        shifted = h + pad_top - r * dilation_h
        if shifted < 0 or shifted % stride_h != 0 or shifted // stride_h >= out_h:
            continue
        p = shifted // stride_h
        for q in range(out_w):
            w0 = q * stride_w - pad_left
            for g in range(groups):
                start = ((g * rows + (n * out_h + p) * out_w + q) * row_width
                         + r * kernel_w * C_per_group)
                if one_run:
                    lo, hi = _tap_range(w0, kernel_w, W)
                    _add_run(row_sum, (w0 + lo) * C, entries, start + lo * C, (hi - lo) * C)
                    continue
                for s in range(kernel_w):
                    w = w0 + s * dilation_w
                    if w >= 0 and w < W:
                        _add_run(row_sum, w * C + g * C_per_group, entries,
                                 start + s * C_per_group, C_per_group)


@njit(cache=True, nogil=True)
def col2im_nhwc(columns, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, grad_x):
    """The adjoint of im2col, channels-last: grad_x (N, H, W C) (pixel rows flattened) is
    overwritten with, for each input number, the sum of the column entries that read it.

    A gather, input row by input row (n, h): each row is written by one call only, so
    blocks of images can run on different threads without atomics.
    """
    N, H = grad_x.shape[:2]
    for n in range(N):
        for h in range(H):
            row_sum = grad_x[n, h]
            row_sum[:] = 0
            _col2im_row(columns, n, h, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                        pad_top, pad_left, dilation_h, dilation_w, row_sum)


@njit(cache=True, nogil=True)
def col2im_nchw(columns, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w, pad_top,
                pad_left, dilation_h, dilation_w, grad_x):
    """col2im into an NCHW grad_x (N, C, H, W): each image is summed in NHWC order in a
    buffer (it fits in the L2 cache), then turned into NCHW (the transposition fused)."""
    N, C, H, W = grad_x.shape
    image = np.empty((H, W * C), dtype=grad_x.dtype)
    for n in range(N):
        for h in range(H):
            row_sum = image[h]
            row_sum[:] = 0
            _col2im_row(columns, n, h, kernel_h, kernel_w, out_h, out_w, stride_h, stride_w,
                        pad_top, pad_left, dilation_h, dilation_w, row_sum)
        _transpose(image.reshape(H * W, C), grad_x[n].reshape(C, H * W))


# ---------------------------------------------------------------------------------------
# The three ops
# ---------------------------------------------------------------------------------------
def _hyper(kernel_hw, output_hw, stride, padding, dilation):
    """The loop bounds and steps the im2col/col2im kernels take, in their order."""
    return (*kernel_hw, *output_hw, *stride, padding[0], padding[2], *dilation)


def _im2col_source(x: np.ndarray):
    """x (N, C, H, W) as the im2col kernels read it: (kernel, array)."""
    N, C, H, W = x.shape
    if is_channels_last(x):  # a view: (N, H, W C)
        return im2col_nhwc, x.transpose(0, 2, 3, 1).reshape(N, H, W * C)
    return im2col_nchw, np.ascontiguousarray(x)


def _columns(kernel, source, n0, n1, hyper, groups, C):
    """The im2col matrix (G, (n1 - n0) P Q, R S C/G) of images n0..n1, in a buffer of
    the calling thread."""
    R, S, P, Q = hyper[:4]
    columns = scratch("columns", (groups, (n1 - n0) * P * Q, R * S * (C // groups)),
                      source.dtype)
    kernel(source[n0:n1], *hyper, columns)
    return columns


def _by_filter(y: np.ndarray, n0: int, n1: int) -> np.ndarray:
    """Images n0..n1 of y (N, K, P, Q) as a (K, (n1 - n0) P Q) matrix: one row per
    filter, one column per pixel.

    Channels-last y is already that matrix, transposed (a view); other y is copied in
    runs of P Q contiguous numbers (a cheap copy, not a transpose), into a buffer of the
    calling thread."""
    _, K, P, Q = y.shape
    if is_channels_last(y):
        return y[n0:n1].transpose(0, 2, 3, 1).reshape((n1 - n0) * P * Q, K).T
    matrix = scratch("by_filter", (K, n1 - n0, P * Q), y.dtype)
    swap_leading_axes(np.ascontiguousarray(y[n0:n1]).reshape(n1 - n0, K, P * Q), matrix)
    return matrix.reshape(K, (n1 - n0) * P * Q)


def conv2d(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
           output_hw=None):
    """y (N, K, P, Q) = conv2d(x (N, C, H, W), weight (K, C/G, R, S)).

    Per block of images and group g:  Y_g^T (K/G, n P Q) = W_g (K/G, R S C/G) @ columns_g^T,
    then copied into the block's NCHW output (runs of P Q numbers). For a channels-last
    x, Y_g = columns_g @ W_g^T is the NHWC output itself.
    """
    N, C, H, W = x.shape
    K, _, R, S = weight.shape
    if output_hw is None:
        output_hw = conv2d_output_hw((H, W), (R, S), stride, padding, dilation)
    P, Q = output_hw
    hyper = _hyper((R, S), (P, Q), stride, padding, dilation)
    kernel, source = _im2col_source(x)
    weight_rows = _weight_rows(weight.astype(x.dtype, copy=False), groups)
    K_per_group = K // groups
    channels_last = is_channels_last(x)
    if channels_last:
        rows = np.empty((N * P * Q, K), dtype=x.dtype)        # NHWC
    else:
        y = np.empty((N, K, P, Q), dtype=x.dtype)

    def block(n0, n1):
        columns = _columns(kernel, source, n0, n1, hyper, groups, C)
        if channels_last:
            block_rows = rows[n0 * P * Q:n1 * P * Q]
            for g in range(groups):
                np.matmul(columns[g], weight_rows[g].T,
                          out=block_rows[:, g * K_per_group:(g + 1) * K_per_group])
            return
        by_filter = scratch("by_filter", (K, (n1 - n0) * P * Q), x.dtype)
        for g in range(groups):
            np.matmul(weight_rows[g], columns[g].T,
                      out=by_filter[g * K_per_group:(g + 1) * K_per_group])
        swap_leading_axes(by_filter.reshape(K, n1 - n0, P * Q),
                          y[n0:n1].reshape(n1 - n0, K, P * Q))

    blocks = _image_blocks(N, P * Q, R * S * C * x.itemsize)
    run_tasks([lambda b=b: block(*b) for b in blocks], N * P * Q * K * R * S * C // groups,
              PARALLEL_MIN_MULTIPLY_ADDS)
    return rows.reshape(N, P, Q, K).transpose(0, 3, 1, 2) if channels_last else y


def conv2d_input_grad(grad_output, weight, input_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                      dilation=(1, 1), groups=1):
    """grad_x (N, C, H, W) from grad_output (N, K, P, Q) and weight (K, C/G, R, S):
    per block of images, grad_columns_g = grad_Y_g @ W_g, then col2im. Also
    conv_transpose2d's forward."""
    N, K, P, Q = grad_output.shape
    _, C_per_group, R, S = weight.shape
    H, W = input_hw
    C = C_per_group * groups
    dtype = grad_output.dtype
    hyper = _hyper((R, S), (P, Q), stride, padding, dilation)
    weight_rows = _weight_rows(weight.astype(dtype, copy=False), groups)
    K_per_group = K // groups
    channels_last = is_channels_last(grad_output)
    if channels_last:
        grad_x = np.empty((N, H, W * C), dtype=dtype)        # NHWC, pixel rows flattened
    else:
        grad_x = np.empty((N, C, H, W), dtype=dtype)
    col2im = col2im_nhwc if channels_last else col2im_nchw

    def block(n0, n1):
        grad_by_filter = _by_filter(grad_output, n0, n1)    # (K, n P Q)
        grad_columns = scratch("columns", (groups, (n1 - n0) * P * Q, R * S * C_per_group),
                               dtype)
        for g in range(groups):
            np.matmul(grad_by_filter[g * K_per_group:(g + 1) * K_per_group].T, weight_rows[g],
                      out=grad_columns[g])
        col2im(grad_columns, *hyper, grad_x[n0:n1])

    blocks = _image_blocks(N, P * Q, R * S * C * grad_output.itemsize)
    run_tasks([lambda b=b: block(*b) for b in blocks], N * P * Q * K * R * S * C_per_group,
              PARALLEL_MIN_MULTIPLY_ADDS)
    return grad_x.reshape(N, H, W, C).transpose(0, 3, 1, 2) if channels_last else grad_x


def conv2d_weight_grad(x, grad_output, kernel_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                       dilation=(1, 1), groups=1):
    """grad_weight (K, C/G, R, S) = per group grad_Y_g^T (K/G, N P Q) @ columns_g.

    The sum over the N P Q pixels is cut into blocks of images: each block's partial
    product has its own slot, and the slots are added in a fixed order at the end, so
    the result does not depend on which thread ran which block.
    """
    N, C = x.shape[:2]
    _, K, P, Q = grad_output.shape
    R, S = kernel_hw
    hyper = _hyper((R, S), (P, Q), stride, padding, dilation)
    kernel, source = _im2col_source(x)
    grad_output = grad_output.astype(x.dtype, copy=False)
    K_per_group, C_per_group = K // groups, C // groups
    blocks = _image_blocks(N, P * Q, R * S * C * x.itemsize)
    most = max(2, PARTIAL_BYTES // (K * C_per_group * R * S * x.itemsize))
    if len(blocks) > most:  # a big weight: merge neighbouring blocks (still fixed by sizes)
        blocks = [(blocks[start][0], blocks[stop - 1][1])
                  for start, stop in split_range(len(blocks), most)]
    partials = scratch("partials", (len(blocks), groups, K_per_group, R * S * C_per_group),
                       x.dtype)

    def block(i, n0, n1):
        columns = _columns(kernel, source, n0, n1, hyper, groups, C)
        grad_by_filter = _by_filter(grad_output, n0, n1)
        for g in range(groups):
            np.matmul(grad_by_filter[g * K_per_group:(g + 1) * K_per_group], columns[g],
                      out=partials[i, g])

    run_tasks([lambda i=i, b=b: block(i, *b) for i, b in enumerate(blocks)],
              N * P * Q * K * R * S * C_per_group, PARALLEL_MIN_MULTIPLY_ADDS)
    grad_rows = partials[0] if len(blocks) == 1 else partials.sum(axis=0)
    grad_weight = np.empty((K, C_per_group, R, S), dtype=x.dtype)
    transpose_last_two(grad_rows.reshape(K, R * S, C_per_group),
                       grad_weight.reshape(K, C_per_group, R * S))
    return grad_weight
