"""Host side of the CUDA C kernels: RawModule loading of the .cu files, launch plans, offset
tables, and the im2col + cuBLAS path. Arrays in, arrays out (no Tensor), NCHW.

* ``*_cuda_c``         the kernels of ``conv_implicit_gemm.cu``, compiled with
                       ``cupy.RawModule`` (CuPy arrays, float32 only, 32-bit index math:
                       every tensor < 2**31 elements, checked).
* ``*_im2col_cublas``  im2col (``im2col.cu``) + one batched cuBLAS matrix product per group
                       (``xp.matmul``) + col2im; float32 on CuPy arrays. On NumPy arrays
                       (Numba's simulator) it uses the Numba im2col/col2im (``cuda_im2col.py``)
                       and NumPy's matmul: the same algorithm, testable without a GPU.

The registered functions take exactly the signatures of the NumPy references in
``minicnn/ops/conv.py``: stride and dilation pairs, padding (top, bottom, left, right), no
bias (the op adds it), ``output_hw`` / ``input_hw`` / ``kernel_hw``; plus keyword-only
tuning knobs (``tile``, ``splits``). Their limits (float32) are declared to the registry in
``registrations.py``, which runs another implementation for other calls.

The launch plans (``forward_plan`` ...) hold all the host logic of a launch (grid, block,
int arguments, the shape written), so they are tested without a GPU: by
``tests/test_cuda_compile.py``, which runs the .cu kernels with them on a CPU emulator.
CuPy is imported when a kernel first runs, never at import time.
"""
from __future__ import annotations

import functools
import math
import os
from typing import NamedTuple

import numpy as np

from minicnn.backend import get_array_module, is_cupy_array
from minicnn.geometry import (conv_geometry, conv_grad_geometry, conv_input_shape,
                              conv_weight_shape, pair)

from .cuda_runtime import (THREADS_PER_BLOCK, choose_splits, contiguous, grid_1d,
                           multiprocessor_count)

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))

# name -> (BLOCK_M, BLOCK_N, BLOCK_K, THREADS_M, THREADS_N) of conv_implicit_gemm.cu
CUDA_C_TILES = {
    "64x64": (64, 64, 8, 16, 16),        # 4x4 outputs per thread: many blocks for small layers
    "128x128": (128, 128, 8, 16, 16),    # 8x8 outputs per thread: more reuse for large layers
    "128x64": (128, 64, 8, 16, 16),      # 8x4: many rows (channels), fewer columns
    "64x128": (64, 128, 8, 16, 16),      # 4x8: few rows, many columns (pixels)
    "16x16": (16, 16, 4, 4, 4),          # tiny, for the CPU emulation tests only
}
TILE_MACROS = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "THREADS_M", "THREADS_N")


def read_source(name: str) -> str:
    with open(os.path.join(KERNEL_DIR, name), encoding="utf-8") as file:
        return file.read()


def tile_options(tile_name: str) -> list[str]:
    """-DBLOCK_M=.. compiler options of one CUDA_C_TILES entry."""
    return [f"-D{n}={v}" for n, v in zip(TILE_MACROS, CUDA_C_TILES[tile_name])]


@functools.lru_cache(maxsize=None)
def _cuda_c_module(source_name: str, tile_name: str | None = None):
    import cupy
    options = ["--std=c++17"] + (tile_options(tile_name) if tile_name else [])
    return cupy.RawModule(code=read_source(source_name), options=tuple(options))


def _check_cuda_c(*arrays):
    for array in arrays:
        if not is_cupy_array(array):
            raise TypeError("the 'cuda_c' kernels need CuPy arrays on a GPU, got "
                            f"{type(array).__name__}")
        if array.dtype != np.float32:
            raise TypeError(f"the 'cuda_c' kernels are float32 only, got {array.dtype}")
        if array.size >= 2 ** 31:
            raise ValueError(f"the 'cuda_c' kernels use 32-bit indices: an array of "
                             f"{array.size} elements is too large")


# The tile the launchers use unless told otherwise. Measured on an H200 (benchmarks/RESULTS.md,
# 2026-11-28), forward + backward: 64x64 was the fastest of the four tiles on 7 of the 10
# DCGAN-64 layers, within 6% on two more, and 128x128 was never the fastest, even where its
# grid still had 4 blocks per multiprocessor (the head, 512 -> 1 channel, ran 28% faster with
# 128x64). The others stay selectable (tile=...) for the benchmark and for larger layers.
DEFAULT_CUDA_C_TILE = "64x64"


class LaunchPlan(NamedTuple):
    """Everything a CUDA C launch needs besides the arrays: the host logic, testable alone.
    The offset table of the implicit-GEMM kernels is ``launch_table(plan.kernel, plan.ints)``."""
    kernel: str
    tile: str
    grid: tuple
    block: tuple
    ints: tuple           # the kernel's int arguments, in order
    out_shape: tuple      # shape of the array the kernel writes


def forward_plan(x_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                 has_bias=False, output_hw=None, multiprocessors=132, tile=None,
                 splits=None) -> LaunchPlan:
    """out_shape is (splits, N, K, P, Q): partial sums over slices of the depth (split-K),
    which the host adds up; the bias is in slice 0."""
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x_shape, weight_shape, stride, padding,
                                                         dilation, groups, output_hw)
    N, C, H, W = x_shape
    K, C_g, R, S = weight_shape
    rows, columns, depth = K // groups, N * P * Q, C_g * R * S
    tile = tile or DEFAULT_CUDA_C_TILE
    block_m, block_n, block_k, threads_m, threads_n = CUDA_C_TILES[tile]
    tiles = math.ceil(columns / block_n) * math.ceil(rows / block_m) * groups
    # split-K only where the output alone cannot keep the GPU busy (a 4x4 -> 1x1 head)
    if splits is None and tiles >= 2 * multiprocessors:
        splits = 1
    splits, chunk = choose_splits(tiles, depth, block_k, multiprocessors, splits)
    grid = (math.ceil(columns / block_n), math.ceil(rows / block_m), groups * splits)
    ints = (N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups, int(bool(has_bias)),
            splits, chunk)
    return LaunchPlan("conv2d_forward", tile, grid, (threads_n, threads_m), ints,
                      (splits, N, K, P, Q))


def input_grad_plan(grad_shape, weight_shape, input_shape, stride=1, padding=0, dilation=1,
                    groups=1, multiprocessors=132, tile=None) -> LaunchPlan:
    """input_shape: (N, C, H, W) of the gradient the kernel writes."""
    input_shape = tuple(int(v) for v in input_shape)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_grad_geometry(
        input_shape, weight_shape, grad_shape, stride, padding, dilation, groups)
    N, C, H, W = input_shape
    K, _, R, S = weight_shape
    step_r, step_s = sh // math.gcd(sh, dh), sw // math.gcd(sw, dw)
    largest_phase = N * math.ceil(H / sh) * math.ceil(W / sw)
    tile = tile or DEFAULT_CUDA_C_TILE
    block_m, block_n, _, threads_m, threads_n = CUDA_C_TILES[tile]
    grid = (math.ceil(largest_phase / block_n), math.ceil(C // groups / block_m),
            groups * sh * sw)
    phase_depth = (K // groups) * max(1, max(len(_phase_taps(phase_h, R, ph, dh, sh, step_r)) *
                                             len(_phase_taps(phase_w, S, pw, dw, sw, step_s))
                                             for phase_h in range(sh) for phase_w in range(sw)))
    ints = (N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups, step_r, step_s,
            phase_depth)
    return LaunchPlan("conv2d_input_grad", tile, grid, (threads_n, threads_m), ints, input_shape)


def weight_grad_plan(x_shape, grad_shape, weight_shape, stride=1, padding=0, dilation=1,
                     groups=1, multiprocessors=132, tile=None, splits=None) -> LaunchPlan:
    """out_shape is (splits, K, C_g, R, S): the partial sums the host adds up."""
    weight_shape = tuple(int(v) for v in weight_shape)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_grad_geometry(
        x_shape, weight_shape, grad_shape, stride, padding, dilation, groups)
    N, C, H, W = x_shape
    K, C_g, R, S = weight_shape
    rows, columns, depth = K // groups, C_g * R * S, N * P * Q
    tile = tile or DEFAULT_CUDA_C_TILE
    block_m, block_n, block_k, threads_m, threads_n = CUDA_C_TILES[tile]
    tiles = math.ceil(rows / block_m) * math.ceil(columns / block_n) * groups
    splits, chunk = choose_splits(tiles, depth, block_k, multiprocessors, splits)
    grid = (math.ceil(columns / block_n), math.ceil(rows / block_m), groups * splits)
    ints = (N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups, splits, chunk)
    return LaunchPlan("conv2d_weight_grad", tile, grid, (threads_n, threads_m), ints,
                      (splits,) + weight_shape)


def im2col_plan(x_shape, kernel_size, stride=1, padding=0, dilation=1, output_hw=None,
                kernel="im2col") -> LaunchPlan:
    """im2col.cu's im2col (out: cols (C*R*S, N*P*Q)) or col2im (out: x); x_shape: (N, C, H, W)."""
    N, C, H, W = x_shape
    R, S = pair(kernel_size, "kernel_size", 1)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x_shape, (C, C, R, S), stride, padding,
                                                         dilation, 1, output_hw)
    out_shape = (C * R * S, N * P * Q) if kernel == "im2col" else tuple(x_shape)
    ints = (N, C, H, W, R, S, P, Q, sh, sw, ph, pw, dh, dw)
    return LaunchPlan(kernel, "", (grid_1d(math.prod(out_shape)), 1, 1),
                      (THREADS_PER_BLOCK, 1, 1), ints, out_shape)


def _phase_taps(phase: int, taps: int, pad: int, dilation: int, stride: int, step: int) -> list:
    """The taps r (ascending) of a kernel dimension that reach the output pixels h = phase +
    i*stride, i.e. (phase + pad - r*dilation) divisible by stride: r_first, r_first + step, ...
    (step = stride / gcd(stride, dilation)), as ``first_tap`` in conv_implicit_gemm.cu."""
    first = next((r for r in range(step) if (phase + pad - r * dilation) % stride == 0), None)
    return [] if first is None else list(range(first, taps, step))


@functools.lru_cache(maxsize=64)
def launch_table(kernel: str, ints: tuple) -> np.ndarray:
    """The offset table (entries, 4) int32 of one conv_implicit_gemm.cu launch: where depth
    index d of the implicit GEMM lands, so that the kernels' inner loop has no division.
    Built once per conv geometry (``ints`` are the launch plan's int arguments).

    conv2d_forward      d = (c, r, s):  [c*H*W + r*dh*W + s*dw, r*dh, s*dw, 0]
    conv2d_input_grad   phase-major, d = (k, tap (r, s) reaching the phase), padded to
                        phase_depth: [k*C_g*R*S + r*S + s, k*P*Q + p_off*Q + q_off, p_off,
                        q_off], p_off = (phase_h + ph - r*dh) / sh (exact)
    conv2d_weight_grad  d = (n, p, q):  [n*K*P*Q + p*Q + q, n*C*H*W + p*sh*W + q*sw, p*sh, q*sw]
    """
    N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups = ints[:16]
    C_g, K_g = C // groups, K // groups
    if kernel == "conv2d_forward":
        c, r, s = (a.ravel() for a in np.meshgrid(np.arange(C_g), np.arange(R), np.arange(S),
                                                  indexing="ij"))
        table = np.stack([c * H * W + r * dh * W + s * dw, r * dh, s * dw, 0 * c], axis=1)
    elif kernel == "conv2d_input_grad":
        step_r, step_s, phase_depth = ints[16:19]
        table = np.zeros((sh * sw, phase_depth, 4), np.int64)
        for phase in range(sh * sw):
            phase_h, phase_w = divmod(phase, sw)
            taps = [(r, s) for r in _phase_taps(phase_h, R, ph, dh, sh, step_r)
                    for s in _phase_taps(phase_w, S, pw, dw, sw, step_s)]
            if not taps:
                continue
            r, s = np.array(taps).T
            p_off, q_off = (phase_h + ph - r * dh) // sh, (phase_w + pw - s * dw) // sw
            k = np.repeat(np.arange(K_g), len(taps))
            r, s, p_off, q_off = (np.tile(a, K_g) for a in (r, s, p_off, q_off))
            table[phase, :len(k)] = np.stack([k * C_g * R * S + r * S + s,
                                              k * P * Q + p_off * Q + q_off, p_off, q_off], 1)
        table = table.reshape(-1, 4)
    elif kernel == "conv2d_weight_grad":
        n, p, q = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(P), np.arange(Q),
                                                  indexing="ij"))
        table = np.stack([n * K * P * Q + p * Q + q, n * C * H * W + p * sh * W + q * sw,
                          p * sh, q * sw], axis=1)
    else:
        raise ValueError(f"kernel: expected one of conv_implicit_gemm.cu's, got {kernel!r}")
    table = np.ascontiguousarray(table, dtype=np.int32)
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=64)
def _device_table(kernel: str, ints: tuple):
    import cupy
    return cupy.asarray(launch_table(kernel, ints))


def _run_plan(plan: LaunchPlan, source: str, arrays: tuple):
    """Launch; the implicit-GEMM kernels take their offset table after the input arrays."""
    module = _cuda_c_module(source, plan.tile or None)
    if plan.kernel in ("conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad"):
        arrays = arrays[:-1] + (_device_table(plan.kernel, plan.ints), arrays[-1])
    module.get_function(plan.kernel)(plan.grid, plan.block,
                                     arrays + tuple(np.int32(v) for v in plan.ints))


def conv2d_cuda_c(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                  output_hw=None, *, tile=None, splits=None):
    """conv2d by ``conv2d_forward`` of conv_implicit_gemm.cu (float32, CuPy arrays)."""
    _check_cuda_c(x, weight)
    import cupy
    x, weight = cupy.ascontiguousarray(x), cupy.ascontiguousarray(weight)
    plan = forward_plan(x.shape, weight.shape, stride, padding, dilation, groups, False,
                        output_hw, multiprocessor_count(cupy), tile, splits)
    partial = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(partial)
    no_bias = cupy.zeros(1, np.float32)
    _run_plan(plan, "conv_implicit_gemm.cu", (x, weight, no_bias, partial))
    return partial[0] if plan.out_shape[0] == 1 else partial.sum(axis=0)


def conv2d_input_grad_cuda_c(grad_output, weight, input_hw, stride=(1, 1),
                             padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, *, tile=None):
    """dx of conv2d by ``conv2d_input_grad`` of conv_implicit_gemm.cu."""
    _check_cuda_c(grad_output, weight)
    import cupy
    grad_output, weight = cupy.ascontiguousarray(grad_output), cupy.ascontiguousarray(weight)
    input_shape = conv_input_shape(grad_output.shape, weight.shape, input_hw, groups)
    plan = input_grad_plan(grad_output.shape, weight.shape, input_shape, stride, padding,
                           dilation, groups, multiprocessor_count(cupy), tile)
    grad_x = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(grad_x)
    _run_plan(plan, "conv_implicit_gemm.cu", (grad_output, weight, grad_x))
    return grad_x


def conv2d_weight_grad_cuda_c(x, grad_output, kernel_hw, stride=(1, 1), padding=(0, 0, 0, 0),
                              dilation=(1, 1), groups=1, *, tile=None, splits=None):
    """dw of conv2d by ``conv2d_weight_grad`` of conv_implicit_gemm.cu (split-K)."""
    _check_cuda_c(x, grad_output)
    import cupy
    x, grad_output = cupy.ascontiguousarray(x), cupy.ascontiguousarray(grad_output)
    weight_shape = conv_weight_shape(x.shape, grad_output.shape, kernel_hw, groups)
    plan = weight_grad_plan(x.shape, grad_output.shape, weight_shape, stride, padding,
                            dilation, groups, multiprocessor_count(cupy), tile, splits)
    partial = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(partial)
    _run_plan(plan, "conv_implicit_gemm.cu", (x, grad_output, partial))
    return partial[0] if plan.out_shape[0] == 1 else partial.sum(axis=0)


# ----------------------------------------------------------------------------- im2col + cuBLAS


def _gemm_cols(x, kernel, stride, padding, dilation, output_hw):
    """cols (C*R*S, N*P*Q): im2col.cu on CuPy; under the simulator (NumPy arrays), the Numba
    kernel's (N, C*R*S, P*Q) layout transposed by NumPy."""
    xp = get_array_module(x)
    plan = im2col_plan(x.shape, kernel, stride, padding, dilation, output_hw, "im2col")
    if xp is np:
        from .cuda_im2col import im2col_numba
        cols = im2col_numba(x, kernel, stride, padding, dilation, output_hw)
        return np.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(plan.out_shape)
    cols = xp.empty(plan.out_shape, x.dtype)
    _check_cuda_c(x, cols)
    _run_plan(plan, "im2col.cu", (x, cols))
    return cols


def _gemm_col2im(cols, input_shape, kernel, stride, padding, dilation, output_hw):
    """x (N, C, H, W) from cols (C*R*S, N*P*Q): the adjoint of _gemm_cols."""
    xp = get_array_module(cols)
    plan = im2col_plan(input_shape, kernel, stride, padding, dilation, output_hw, "col2im")
    if xp is np:
        N, C, _, _ = input_shape
        P, Q = output_hw
        from .cuda_im2col import col2im_numba
        unfolded = cols.reshape(C * kernel[0] * kernel[1], N, P * Q).transpose(1, 0, 2)
        return col2im_numba(unfolded, input_shape, kernel, stride, padding, dilation, output_hw)
    x = xp.empty(plan.out_shape, cols.dtype)
    cols = xp.ascontiguousarray(cols)
    _check_cuda_c(cols, x)
    _run_plan(plan, "im2col.cu", (cols, x))
    return x


def conv2d_im2col_cublas(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                         groups=1, output_hw=None):
    """y_g (K_g, N*P*Q) = w_g (K_g, C_g*R*S) @ cols_g (C_g*R*S, N*P*Q), one batched GEMM."""
    xp = get_array_module(x)
    x, weight = contiguous(x), contiguous(weight)
    _, _, _, (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups,
                                    output_hw)
    N = x.shape[0]
    K, C_g, R, S = weight.shape
    cols = _gemm_cols(x, (R, S), stride, padding, dilation, (P, Q))
    y = xp.matmul(weight.reshape(groups, K // groups, C_g * R * S),
                  cols.reshape(groups, C_g * R * S, N * P * Q))          # (G, K_g, N*P*Q)
    return xp.ascontiguousarray(y.reshape(K, N, P, Q).transpose(1, 0, 2, 3))


def conv2d_input_grad_im2col_cublas(grad_output, weight, input_hw, stride=(1, 1),
                                    padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """dcols_g = w_g^T @ dy_g (one batched GEMM), then col2im."""
    xp = get_array_module(grad_output)
    grad_output, weight = contiguous(grad_output), contiguous(weight)
    input_shape = conv_input_shape(grad_output.shape, weight.shape, input_hw, groups)
    conv_grad_geometry(input_shape, weight.shape, grad_output.shape, stride, padding, dilation,
                       groups)
    N, K, P, Q = grad_output.shape
    _, C_g, R, S = weight.shape
    dy = grad_output.transpose(1, 0, 2, 3).reshape(groups, K // groups, N * P * Q)
    w = weight.reshape(groups, K // groups, C_g * R * S)
    dcols = xp.matmul(w.transpose(0, 2, 1), dy)                         # (G, C_g*R*S, N*P*Q)
    return _gemm_col2im(dcols.reshape(-1, N * P * Q), input_shape, (R, S), stride, padding,
                        dilation, (P, Q))


def conv2d_weight_grad_im2col_cublas(x, grad_output, kernel_hw, stride=(1, 1),
                                     padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """dw_g = dy_g (K_g, N*P*Q) @ cols_g^T (N*P*Q, C_g*R*S), one batched GEMM."""
    xp = get_array_module(x)
    x, grad_output = contiguous(x), contiguous(grad_output)
    weight_shape = conv_weight_shape(x.shape, grad_output.shape, kernel_hw, groups)
    _, _, _, (P, Q) = conv_grad_geometry(x.shape, weight_shape, grad_output.shape, stride,
                                         padding, dilation, groups)
    K, C_g, R, S = weight_shape
    N = x.shape[0]
    cols = _gemm_cols(x, (R, S), stride, padding, dilation, (P, Q))
    dy = grad_output.transpose(1, 0, 2, 3).reshape(groups, K // groups, N * P * Q)
    dw = xp.matmul(dy, cols.reshape(groups, C_g * R * S, N * P * Q).transpose(0, 2, 1))
    return dw.reshape(weight_shape)
