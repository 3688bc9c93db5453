"""Tiled implicit-GEMM convolution as Numba CUDA kernels: forward, input gradient, weight gradient.

What they compute
-----------------
PyTorch's ``conv2d`` in NCHW layout with stride, zero padding, dilation and groups
(``x : (N, C, H, W)``, ``w : (K, C_g, R, S)``, ``y : (N, K, P, Q)``, ``C_g = C/groups``,
``K_g = K/groups``, ``g`` the group), and its two gradients:

* forward       y[n, g*K_g+k, p, q]  = sum_{c,r,s} w[g*K_g+k, c, r, s] * x[n, g*C_g+c, h, v]
* input grad    dx[n, g*C_g+c, h, v] = sum_{k,r,s} w[g*K_g+k, c, r, s] * dy[n, g*K_g+k, p, q]
                (this is also ``conv_transpose2d``'s forward pass, with ``dy`` its input)
* weight grad   dw[g*K_g+k, c, r, s] = sum_{n,p,q} dy[n, g*K_g+k, p, q] * x[n, g*C_g+c, h, v]

always with ``h = p*stride_h - pad_h + r*dil_h`` and ``v = q*stride_w - pad_w + s*dil_w``
(input pixels outside the image are 0). ``pad_h``/``pad_w`` are the top/left padding; the
sizes P, Q, H, W come from the arrays' shapes, so the host decides them (asymmetric
padding, output_padding, fewer outputs than fit all follow).

Each is a matrix product per group, ``OUT[rows, columns] = A[rows, depth] @ B[depth, columns]``,
whose matrices are never built ("implicit" GEMM): every element of A and B is fetched
straight from the 4-D tensors with the index math above, at the moment it is needed.

===========  ===========  =================  =================  ===  ===========
kernel       rows         columns            depth (summed)     A    B (gathered)
===========  ===========  =================  =================  ===  ===========
forward      k  (K_g)     (n, p, q) N*P*Q    (c, r, s) C_g*R*S  w    x
input grad   c  (C_g)     (n, h, v) N*H*W    (k, r, s) K_g*R*S  w    dy
weight grad  k  (K_g)     (c, r, s) C_g*R*S  (n, p, q) N*P*Q    dy   x
===========  ===========  =================  =================  ===  ===========

Thread/block mapping (all three kernels)
----------------------------------------
One block computes one BLOCK_M x BLOCK_N tile of OUT with THREADS_M x THREADS_N threads;
``blockIdx.y`` picks the tile row, ``blockIdx.x`` the tile column, ``blockIdx.z`` the
group (and, below, the stride phase or the slice of the depth). The block walks the
depth BLOCK_K at a time. At each step:

1. all threads cooperatively copy a BLOCK_K x BLOCK_M slice of A and a BLOCK_K x BLOCK_N
   slice of B from global memory into shared memory (``a_tile``, ``b_tile``), writing 0
   where the index falls outside the matrix or into the zero padding;
2. ``cuda.syncthreads()``: the tiles are complete;
3. every thread multiplies the tiles into its THREAD_M x THREAD_N accumulators, which live
   in registers (``cuda.local.array``): "register blocking". Thread ``(ty, tx)`` owns rows
   ``ty + i*THREADS_M`` and columns ``tx + j*THREADS_N`` of the tile: neighbouring threads
   read neighbouring words of ``b_tile`` (no bank conflicts; ``a_tile`` reads are
   broadcasts) and write neighbouring output addresses (coalesced). (The transposing
   stores into ``a_tile`` do conflict; ``conv_implicit_gemm.cu`` pads its rows to avoid it);
4. ``cuda.syncthreads()``: nobody overwrites the tiles while others still read them.

Why it is fast: a value loaded from global memory into shared memory is used by
BLOCK_M (or BLOCK_N) threads, and a value loaded from shared memory into a register is
used THREAD_N (or THREAD_M) times. The naive kernel loads every operand for every use.

Two refinements
---------------
* Input gradient, stride > 1: most (r, s) taps do not reach a given pixel ``h``, because
  ``(h + pad_h - r*dil_h)`` must be a multiple of ``stride_h`` to come from some output row
  ``p``. Pixels with the same ``h mod stride_h`` ("phase") are reached by the same taps
  ``r = r_first + t*step_r`` (``step_r = stride_h / gcd(stride_h, dil_h)``), so each phase is
  its own smaller GEMM: ``blockIdx.z = group*stride_h*stride_w + phase``. For the DCGAN
  layers (kernel 4, stride 2) this skips the 3/4 of the products that would be 0.
* Weight gradient: its depth N*P*Q is huge and its output small, so the depth is split
  into ``splits`` slices (``blockIdx.z = group*splits + split``, "split-K"); each slice
  writes its partial sum to ``partial[split]`` and the host adds them up (deterministic,
  no atomics).

Tile sizes are compile-time constants (shared and local arrays need fixed shapes), so
``tiled_kernels(tile, dtype)`` builds and caches one set of kernels per configuration;
tests use a small one to cover many tiles on tiny shapes.

Launchers
---------
``conv2d_numba``, ``conv2d_input_grad_numba`` and ``conv2d_weight_grad_numba`` (at the end)
take the signatures of the NumPy references in ``minicnn/ops/conv.py`` (stride and
dilation pairs, padding (top, bottom, left, right); no bias: the op adds it), plus the
keyword-only tuning knobs ``tile`` (and ``splits``); they are registered as "numba" for
device "cuda" (``registrations.py``). Float32 and float64.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numba import cuda, float32, float64

from minicnn.backend import get_array_module
from minicnn.geometry import (conv_geometry, conv_grad_geometry, conv_input_shape,
                              conv_weight_shape)

from .cuda_runtime import (choose_splits, contiguous, float_dtype, launch,
                           multiprocessor_count)


class TileConfig(NamedTuple):
    """Tile of OUT per block, depth slice per step, and threads per block (rows x columns)."""
    block_m: int = 64
    block_n: int = 64
    block_k: int = 8
    threads_m: int = 16
    threads_n: int = 16

    @property
    def thread_m(self) -> int:   # accumulator rows per thread
        return self.block_m // self.threads_m

    @property
    def thread_n(self) -> int:   # accumulator columns per thread
        return self.block_n // self.threads_n

    @property
    def threads(self) -> int:
        return self.threads_m * self.threads_n


DEFAULT_TILE = TileConfig()                 # 256 threads, 4x4 outputs each
SMALL_TILE = TileConfig(8, 16, 4, 4, 8)     # 32 threads, 2x2 outputs each (simulator tests)


class TiledKernels(NamedTuple):
    forward: object
    input_grad: object
    weight_grad: object


@functools.lru_cache(maxsize=None)
def tiled_kernels(tile: TileConfig = DEFAULT_TILE, dtype: str = "float32") -> TiledKernels:
    """Compile-once kernels for one tile configuration and one float dtype."""
    BLOCK_M, BLOCK_N, BLOCK_K, THREADS_M, THREADS_N = tile
    THREAD_M, THREAD_N, THREADS = tile.thread_m, tile.thread_n, tile.threads
    if BLOCK_M % THREADS_M or BLOCK_N % THREADS_N:
        raise ValueError(f"tile: block sizes must be multiples of the thread counts, got {tile}")
    FLOAT = {"float32": float32, "float64": float64}[dtype]
    ZERO = np.dtype(dtype).type(0)

    @cuda.jit(device=True)
    def clear(acc):
        for i in range(THREAD_M):
            for j in range(THREAD_N):
                acc[i, j] = ZERO

    @cuda.jit(device=True)
    def multiply_tiles(a_tile, b_tile, acc, ty, tx):
        """acc[i, j] += sum_kk a_tile[kk, ty + i*THREADS_M] * b_tile[kk, tx + j*THREADS_N]."""
        a = cuda.local.array(THREAD_M, FLOAT)
        b = cuda.local.array(THREAD_N, FLOAT)
        for kk in range(BLOCK_K):
            for i in range(THREAD_M):
                a[i] = a_tile[kk, ty + i * THREADS_M]
            for j in range(THREAD_N):
                b[j] = b_tile[kk, tx + j * THREADS_N]
            for i in range(THREAD_M):
                for j in range(THREAD_N):
                    acc[i, j] += a[i] * b[j]

    @cuda.jit(device=True)
    def first_tap(offset, dilation, stride, step):
        """Smallest r in [0, step) with (offset - r*dilation) divisible by stride, else -1."""
        for r in range(step):
            if (offset - r * dilation) % stride == 0:
                return r
        return -1

    # ------------------------------------------------------------------ forward
    @cuda.jit
    def conv2d_forward(x, w, bias, y, has_bias, stride_h, stride_w, pad_h, pad_w,
                       dil_h, dil_w, groups):
        """y = conv2d(x, w) + bias: rows k, columns (n, p, q), depth (c, r, s)."""
        N, C, H, W = x.shape
        K, C_g, R, S = w.shape
        P, Q = y.shape[2], y.shape[3]
        K_g = K // groups
        rows, columns, depth = K_g, N * P * Q, C_g * R * S

        g = cuda.blockIdx.z
        row0 = cuda.blockIdx.y * BLOCK_M
        col0 = cuda.blockIdx.x * BLOCK_N
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        thread = ty * THREADS_N + tx

        a_tile = cuda.shared.array((BLOCK_K, BLOCK_M), FLOAT)
        b_tile = cuda.shared.array((BLOCK_K, BLOCK_N), FLOAT)
        acc = cuda.local.array((THREAD_M, THREAD_N), FLOAT)
        clear(acc)

        for d0 in range(0, depth, BLOCK_K):
            # A[k, (c, r, s)] = w[g*K_g + k, c, r, s]; neighbouring threads read neighbouring d
            for e in range(thread, BLOCK_M * BLOCK_K, THREADS):
                m, kk = e // BLOCK_K, e % BLOCK_K
                row, d = row0 + m, d0 + kk
                value = ZERO
                if row < rows and d < depth:
                    c, r, s = d // (R * S), (d // S) % R, d % S
                    value = w[g * K_g + row, c, r, s]
                a_tile[kk, m] = value
            # B[(c, r, s), (n, p, q)] = x[n, g*C_g + c, h, v], 0 in the padding
            for e in range(thread, BLOCK_K * BLOCK_N, THREADS):
                kk, j = e // BLOCK_N, e % BLOCK_N
                col, d = col0 + j, d0 + kk
                value = ZERO
                if col < columns and d < depth:
                    n, p, q = col // (P * Q), (col // Q) % P, col % Q
                    c, r, s = d // (R * S), (d // S) % R, d % S
                    h = p * stride_h - pad_h + r * dil_h
                    v = q * stride_w - pad_w + s * dil_w
                    if 0 <= h < H and 0 <= v < W:
                        value = x[n, g * C_g + c, h, v]
                b_tile[kk, j] = value
            cuda.syncthreads()
            multiply_tiles(a_tile, b_tile, acc, ty, tx)
            cuda.syncthreads()

        for i in range(THREAD_M):
            row = row0 + ty + i * THREADS_M
            if row < rows:
                k = g * K_g + row
                offset = bias[k] if has_bias else ZERO
                for j in range(THREAD_N):
                    col = col0 + tx + j * THREADS_N
                    if col < columns:
                        n, p, q = col // (P * Q), (col // Q) % P, col % Q
                        y[n, k, p, q] = acc[i, j] + offset

    # ------------------------------------------------------------------ input gradient
    @cuda.jit
    def conv2d_input_grad(grad_y, w, grad_x, stride_h, stride_w, pad_h, pad_w,
                          dil_h, dil_w, groups, step_r, step_s):
        """dx = conv_transpose(dy, w), one GEMM per (group, stride phase).

        Rows c, columns (n, i_h, i_v) = the pixels h = phase_h + i_h*stride_h,
        v = phase_w + i_v*stride_w, depth (k, t_r, t_s) = the taps r = r_first + t_r*step_r,
        s = s_first + t_s*step_s that reach this phase; p = (h + pad_h - r*dil_h) / stride_h
        is then an exact division.
        """
        N, C, H, W = grad_x.shape
        K, C_g, R, S = w.shape
        P, Q = grad_y.shape[2], grad_y.shape[3]
        K_g = K // groups

        phases = stride_h * stride_w
        g = cuda.blockIdx.z // phases
        phase = cuda.blockIdx.z % phases
        phase_h, phase_w = phase // stride_w, phase % stride_w
        H_phase = (H - phase_h + stride_h - 1) // stride_h     # pixels of this phase
        W_phase = (W - phase_w + stride_w - 1) // stride_w
        r_first = first_tap(phase_h + pad_h, dil_h, stride_h, step_r)
        s_first = first_tap(phase_w + pad_w, dil_w, stride_w, step_s)
        R_phase = 0 if r_first < 0 else (R - r_first + step_r - 1) // step_r
        S_phase = 0 if s_first < 0 else (S - s_first + step_s - 1) // step_s
        taps = R_phase * S_phase
        rows, columns, depth = C_g, N * H_phase * W_phase, K_g * taps

        row0 = cuda.blockIdx.y * BLOCK_M
        col0 = cuda.blockIdx.x * BLOCK_N
        if row0 >= rows or col0 >= columns:
            return                      # the whole block leaves together: no barrier is split
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        thread = ty * THREADS_N + tx

        a_tile = cuda.shared.array((BLOCK_K, BLOCK_M), FLOAT)
        b_tile = cuda.shared.array((BLOCK_K, BLOCK_N), FLOAT)
        acc = cuda.local.array((THREAD_M, THREAD_N), FLOAT)
        clear(acc)

        for d0 in range(0, depth, BLOCK_K):
            # A[c, (k, t_r, t_s)] = w[g*K_g + k, c, r, s]
            for e in range(thread, BLOCK_M * BLOCK_K, THREADS):
                m, kk = e // BLOCK_K, e % BLOCK_K
                row, d = row0 + m, d0 + kk
                value = ZERO
                if row < rows and d < depth:
                    k, t = d // taps, d % taps
                    r = r_first + (t // S_phase) * step_r
                    s = s_first + (t % S_phase) * step_s
                    value = w[g * K_g + k, row, r, s]
                a_tile[kk, m] = value
            # B[(k, t_r, t_s), (n, i_h, i_v)] = dy[n, g*K_g + k, p, q], 0 outside dy
            for e in range(thread, BLOCK_K * BLOCK_N, THREADS):
                kk, j = e // BLOCK_N, e % BLOCK_N
                col, d = col0 + j, d0 + kk
                value = ZERO
                if col < columns and d < depth:
                    n = col // (H_phase * W_phase)
                    h = phase_h + ((col // W_phase) % H_phase) * stride_h
                    v = phase_w + (col % W_phase) * stride_w
                    k, t = d // taps, d % taps
                    r = r_first + (t // S_phase) * step_r
                    s = s_first + (t % S_phase) * step_s
                    p = (h + pad_h - r * dil_h) // stride_h      # exact by construction
                    q = (v + pad_w - s * dil_w) // stride_w
                    if 0 <= p < P and 0 <= q < Q:
                        value = grad_y[n, g * K_g + k, p, q]
                b_tile[kk, j] = value
            cuda.syncthreads()
            multiply_tiles(a_tile, b_tile, acc, ty, tx)
            cuda.syncthreads()

        for i in range(THREAD_M):
            row = row0 + ty + i * THREADS_M
            if row < rows:
                for j in range(THREAD_N):
                    col = col0 + tx + j * THREADS_N
                    if col < columns:
                        n = col // (H_phase * W_phase)
                        h = phase_h + ((col // W_phase) % H_phase) * stride_h
                        v = phase_w + (col % W_phase) * stride_w
                        grad_x[n, g * C_g + row, h, v] = acc[i, j]

    # ------------------------------------------------------------------ weight gradient
    @cuda.jit
    def conv2d_weight_grad(x, grad_y, partial, stride_h, stride_w, pad_h, pad_w,
                           dil_h, dil_w, groups, splits, chunk):
        """partial[split] = dy @ x-patches over one slice of the depth (n, p, q).

        Rows k, columns (c, r, s), depth (n, p, q) restricted to
        [split*chunk, (split+1)*chunk); the host sums ``partial`` over its first axis.
        """
        N, C, H, W = x.shape
        K, P, Q = grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]
        C_g, R, S = partial.shape[2], partial.shape[3], partial.shape[4]
        K_g = K // groups
        rows, columns, depth = K_g, C_g * R * S, N * P * Q

        g = cuda.blockIdx.z // splits
        split = cuda.blockIdx.z % splits
        d_begin = split * chunk
        d_end = d_begin + chunk
        if d_end > depth:               # (no min(): Numba's CUDA target lacks min(a, b))
            d_end = depth
        row0 = cuda.blockIdx.y * BLOCK_M
        col0 = cuda.blockIdx.x * BLOCK_N
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        thread = ty * THREADS_N + tx

        a_tile = cuda.shared.array((BLOCK_K, BLOCK_M), FLOAT)
        b_tile = cuda.shared.array((BLOCK_K, BLOCK_N), FLOAT)
        acc = cuda.local.array((THREAD_M, THREAD_N), FLOAT)
        clear(acc)

        for d0 in range(d_begin, d_end, BLOCK_K):
            # A[k, (n, p, q)] = dy[n, g*K_g + k, p, q]
            for e in range(thread, BLOCK_M * BLOCK_K, THREADS):
                m, kk = e // BLOCK_K, e % BLOCK_K
                row, d = row0 + m, d0 + kk
                value = ZERO
                if row < rows and d < d_end:
                    n, p, q = d // (P * Q), (d // Q) % P, d % Q
                    value = grad_y[n, g * K_g + row, p, q]
                a_tile[kk, m] = value
            # B[(n, p, q), (c, r, s)] = x[n, g*C_g + c, h, v], 0 in the padding
            for e in range(thread, BLOCK_K * BLOCK_N, THREADS):
                kk, j = e // BLOCK_N, e % BLOCK_N
                col, d = col0 + j, d0 + kk
                value = ZERO
                if col < columns and d < d_end:
                    n, p, q = d // (P * Q), (d // Q) % P, d % Q
                    c, r, s = col // (R * S), (col // S) % R, col % S
                    h = p * stride_h - pad_h + r * dil_h
                    v = q * stride_w - pad_w + s * dil_w
                    if 0 <= h < H and 0 <= v < W:
                        value = x[n, g * C_g + c, h, v]
                b_tile[kk, j] = value
            cuda.syncthreads()
            multiply_tiles(a_tile, b_tile, acc, ty, tx)
            cuda.syncthreads()

        for i in range(THREAD_M):
            row = row0 + ty + i * THREADS_M
            if row < rows:
                for j in range(THREAD_N):
                    col = col0 + tx + j * THREADS_N
                    if col < columns:
                        c, r, s = col // (R * S), (col // S) % R, col % S
                        partial[split, g * K_g + row, c, r, s] = acc[i, j]

    return TiledKernels(conv2d_forward, conv2d_input_grad, conv2d_weight_grad)


# ----------------------------------------------------------------------------- launchers


def conv2d_numba(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                 output_hw=None, *, tile=None):
    """conv2d by the tiled implicit-GEMM kernel; grid (columns/BLOCK_N, K_g/BLOCK_M, groups)."""
    xp = get_array_module(x)
    x, weight = contiguous(x), contiguous(weight)
    dtype = float_dtype(x, weight)
    tile = DEFAULT_TILE if tile is None else tile
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding,
                                                         dilation, groups, output_hw)
    N, K = x.shape[0], weight.shape[0]
    y = xp.empty((N, K, P, Q), dtype)
    no_bias = xp.zeros(1, dtype)
    grid = (math.ceil(N * P * Q / tile.block_n), math.ceil(K // groups / tile.block_m), groups)
    kernel = tiled_kernels(tile, dtype.name).forward
    launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
           x, weight, no_bias, y, False, sh, sw, ph, pw, dh, dw, groups)
    return y


def conv2d_input_grad_numba(grad_output, weight, input_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                            dilation=(1, 1), groups=1, *, tile=None):
    """dx of conv2d (= conv_transpose2d of grad_output); grid z = groups * stride phases.
    ``input_hw`` is (H, W) or the whole input shape."""
    xp = get_array_module(grad_output)
    grad_output, weight = contiguous(grad_output), contiguous(weight)
    dtype = float_dtype(grad_output, weight)
    tile = DEFAULT_TILE if tile is None else tile
    input_shape = conv_input_shape(grad_output.shape, weight.shape, input_hw, groups)
    (sh, sw), (ph, pw), (dh, dw), _ = conv_grad_geometry(input_shape, weight.shape,
                                                         grad_output.shape, stride, padding,
                                                         dilation, groups)
    N, C, H, W = input_shape
    grad_x = xp.empty(input_shape, dtype)
    step_r, step_s = sh // math.gcd(sh, dh), sw // math.gcd(sw, dw)
    largest_phase = N * math.ceil(H / sh) * math.ceil(W / sw)
    grid = (math.ceil(largest_phase / tile.block_n), math.ceil(C // groups / tile.block_m),
            groups * sh * sw)
    kernel = tiled_kernels(tile, dtype.name).input_grad
    launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
           grad_output, weight, grad_x, sh, sw, ph, pw, dh, dw, groups, step_r, step_s)
    return grad_x


def conv2d_weight_grad_numba(x, grad_output, kernel_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                             dilation=(1, 1), groups=1, *, tile=None, splits=None):
    """dw of conv2d by split-K implicit GEMM; grid z = groups * splits, partial sums added here.
    ``kernel_hw`` is (R, S) or the whole weight shape."""
    xp = get_array_module(x)
    x, grad_output = contiguous(x), contiguous(grad_output)
    dtype = float_dtype(x, grad_output)
    tile = DEFAULT_TILE if tile is None else tile
    weight_shape = conv_weight_shape(x.shape, grad_output.shape, kernel_hw, groups)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_grad_geometry(x.shape, weight_shape,
                                                              grad_output.shape, stride, padding,
                                                              dilation, groups)
    K, C_g, R, S = weight_shape
    rows, columns, depth = K // groups, C_g * R * S, x.shape[0] * P * Q
    tiles = math.ceil(rows / tile.block_m) * math.ceil(columns / tile.block_n) * groups
    splits, chunk = choose_splits(tiles, depth, tile.block_k, multiprocessor_count(xp), splits)
    partial = xp.empty((splits,) + weight_shape, dtype)
    grid = (math.ceil(columns / tile.block_n), math.ceil(rows / tile.block_m), groups * splits)
    kernel = tiled_kernels(tile, dtype.name).weight_grad
    launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
           x, grad_output, partial, sh, sw, ph, pw, dh, dw, groups, splits, chunk)
    return partial[0] if splits == 1 else partial.sum(axis=0)
