"""Host side of the GPU kernels: check arguments, allocate outputs, pick grid and block, launch.

Every function here takes arrays and returns arrays (no Tensor, no autograd), in NCHW:

* ``*_numba``          the Numba CUDA kernels (``cuda_im2col``, ``cuda_conv_naive``,
                       ``cuda_conv_tiled``, ``cuda_pool``, ``cuda_elementwise``). They take
                       CuPy arrays on a GPU, and NumPy arrays under Numba's CUDA simulator
                       (``NUMBA_ENABLE_CUDASIM=1``), which is how they are tested without one.
* ``*_cuda_c``         the CUDA C kernels of ``conv_implicit_gemm.cu``, compiled with
                       ``cupy.RawModule`` (CuPy arrays, float32 only).
* ``*_im2col_cublas``  im2col (``im2col.cu``) + one batched cuBLAS matrix product per group
                       (``xp.matmul``) + col2im. On NumPy arrays (simulator) it uses the
                       Numba im2col/col2im and NumPy's matmul: the same algorithm.

Nothing here imports ``numba.cuda`` or CuPy at import time: each launcher imports what it
needs when first called, so ``import minicnn`` never needs a GPU.

Conventions (those of ``minicnn/ops/conv.py``): ``stride``/``dilation`` an int or a pair;
``padding`` an int, a pair or (top, bottom, left, right); ``output_hw`` = (P, Q) may ask for
fewer outputs than fit; ``input_hw`` = (H, W) (or the whole input shape) and ``kernel_hw`` =
(R, S) (or the whole weight shape). The kernels use the top/left padding in their index
math and take every size from the arrays' shapes.

Registry (``register()``)
-------------------------
``register()`` adds these functions to ``minicnn.registry`` for device ``"cuda"`` under the
names ``"numba"``, ``"cuda_c"`` and ``"im2col_cublas"``, with the signatures of the NumPy
references they replace (``minicnn/ops/conv.py``, ``pool.py``, ``activation.py``)::

    conv2d(x, weight, stride, padding, dilation, groups, output_hw=None) -> y
    conv2d_input_grad(grad_output, weight, input_hw, stride, padding, dilation, groups)
    conv2d_weight_grad(x, grad_output, kernel_hw, stride, padding, dilation, groups)
    max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)
        -> (y, indices)       indices: int64, h*W + w of each maximum, as PyTorch's
    max_pool2d_backward(grad_output, indices, input_shape, kernel_size, stride=None,
                        padding=0, dilation=1)
    avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True)
    avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True)
    leaky_relu(x, negative_slope) ; leaky_relu_backward(grad_output, x_or_y, negative_slope)

It imports nothing heavy and can run at ``import minicnn`` time; the ``available`` checks
(run at dispatch time) import CuPy / ``numba.cuda``. Also here, not registered (no NumPy
reference under that name): ``conv_transpose2d_*``, ``im2col_numba``/``col2im_numba``,
``bias_leaky_relu_numba``, ``conv2d_naive_numba``.

Known limits: the CUDA C kernels use 32-bit index math (every tensor < 2**31 elements,
checked) and float32 only (so do im2col + cuBLAS: they are registered with a ``supports``
that says so, and the registry runs the next implementation for other dtypes, e.g. float64
gradchecks); the Numba tiled kernels accept float32 and float64; the naive conv
accumulates in float32; pooling has no ``divisor_override`` and the fused leaky ReLU needs
a slope >= 0 (``supports`` again); a max-pooling window
lying entirely in the padding (possible only with dilation) gets the reference's index
(the nearest pixel) forward, but its gradient is dropped backward.
"""
from __future__ import annotations

import functools
import math
import os
from typing import NamedTuple

import numpy as np

from minicnn.geometry import (conv_output_size, conv_transpose_output_size, padding4, pair,
                              pool_output_size)

THREADS_PER_BLOCK = 256           # 1-D kernels (im2col, pooling, elementwise)
MAX_BLOCKS_1D = 65535 * 8         # grid-stride loops cover the rest

# ----------------------------------------------------------------------------- helpers


def _array_module(array):
    """numpy for NumPy arrays, cupy for CuPy arrays (CuPy is imported only if it already is)."""
    if type(array).__module__.startswith("cupy"):
        import cupy
        return cupy
    return np


def _is_cupy(array) -> bool:
    return type(array).__module__.startswith("cupy")


def _contiguous(array):
    return _array_module(array).ascontiguousarray(array)


class ConvGeometry(NamedTuple):
    """What the kernels need: stride, top/left padding, dilation, output size (P, Q)."""
    stride: tuple
    padding: tuple      # (top, left)
    dilation: tuple
    output_hw: tuple


def _check_conv(x_shape, weight_shape, groups, x_name="input"):
    if len(x_shape) != 4:
        raise ValueError(f"{x_name}: expected a 4-D (N, C, H, W) array, got shape {tuple(x_shape)}")
    if len(weight_shape) != 4:
        raise ValueError(f"weight: expected a 4-D (K, C/groups, R, S) array, got shape "
                         f"{tuple(weight_shape)}")
    if groups <= 0 or x_shape[1] % groups or weight_shape[0] % groups:
        raise ValueError(f"groups: expected a positive divisor of the {x_shape[1]} input and "
                         f"{weight_shape[0]} output channels, got {groups}")
    if weight_shape[1] * groups != x_shape[1]:
        raise ValueError(f"weight: expected {x_shape[1] // groups} input channels per group "
                         f"({x_name} has {x_shape[1]}, groups={groups}), got {weight_shape[1]}")


def conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups,
                  output_hw=None) -> ConvGeometry:
    """Check a conv2d's arguments; P, Q as many as fit unless ``output_hw`` asks for fewer."""
    stride = pair(stride, "stride", 1)
    dilation = pair(dilation, "dilation", 1)
    top, bottom, left, right = padding4(padding)
    _check_conv(x_shape, weight_shape, groups)
    P = conv_output_size(x_shape[2], weight_shape[2], stride[0], top + bottom, dilation[0])
    Q = conv_output_size(x_shape[3], weight_shape[3], stride[1], left + right, dilation[1])
    if P <= 0 or Q <= 0:
        raise ValueError(f"weight: kernel {tuple(weight_shape[2:])} with dilation {dilation} is "
                         f"larger than the padded input {x_shape[2] + top + bottom}x"
                         f"{x_shape[3] + left + right}")
    if output_hw is not None:
        if not (0 < output_hw[0] <= P and 0 < output_hw[1] <= Q):
            raise ValueError(f"output_hw: expected at most {(P, Q)} outputs, got "
                             f"{tuple(output_hw)}")
        P, Q = int(output_hw[0]), int(output_hw[1])
    return ConvGeometry(stride, (top, left), dilation, (P, Q))


def _grad_geometry(x_shape, weight_shape, grad_shape, stride, padding, dilation, groups):
    """Geometry of a gradient kernel: P, Q are grad_output's (at most as many as fit)."""
    N, K = x_shape[0], weight_shape[0]
    geometry = conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups)
    P, Q = geometry.output_hw
    if (len(grad_shape) != 4 or tuple(grad_shape[:2]) != (N, K)
            or not (0 < grad_shape[2] <= P and 0 < grad_shape[3] <= Q)):
        raise ValueError(f"grad_output: expected shape {(N, K, P, Q)} (or fewer outputs) for "
                         f"input {tuple(x_shape)} and weight {tuple(weight_shape)}, got "
                         f"{tuple(grad_shape)}")
    return geometry._replace(output_hw=(int(grad_shape[2]), int(grad_shape[3])))


def _input_shape(grad_output, weight, input_hw, groups):
    """(N, C, H, W) from (H, W) or from a whole shape."""
    if len(input_hw) == 4:
        return tuple(int(v) for v in input_hw)
    return (grad_output.shape[0], weight.shape[1] * groups, int(input_hw[0]), int(input_hw[1]))


def _weight_shape(x, grad_output, kernel_hw, groups):
    """(K, C/groups, R, S) from (R, S) or from a whole shape."""
    if len(kernel_hw) == 4:
        return tuple(int(v) for v in kernel_hw)
    return (grad_output.shape[1], x.shape[1] // groups, int(kernel_hw[0]), int(kernel_hw[1]))


def _grid_1d(total: int) -> int:
    return max(1, min(MAX_BLOCKS_1D, math.ceil(total / THREADS_PER_BLOCK)))


def _float_dtype(*arrays):
    dtype = arrays[0].dtype
    for array in arrays:
        if array.dtype != dtype or dtype not in (np.float32, np.float64):
            raise TypeError(f"expected float32 or float64 arrays of one dtype, got "
                            f"{[str(a.dtype) for a in arrays]}")
    return dtype


def _multiprocessors(xp) -> int:
    """Streaming multiprocessors of the current GPU (4 under the simulator: small grids)."""
    if xp is np:
        return 4
    return xp.cuda.Device().attributes["MultiProcessorCount"]


# ----------------------------------------------------------------------------- numba: launching


def _numba_cuda():
    _numpy_compat_for_numba_cuda()
    from numba import cuda
    return cuda


def _numpy_compat_for_numba_cuda() -> None:
    """numba-cuda 0.2x registers an overload for ``np.row_stack`` when its first kernel
    compiles, but NumPy 2.5 removed that alias of ``np.vstack``: the compile then fails with
    "module 'numpy' has no attribute 'row_stack'" (seen on the GPU machine: numba-cuda with
    NumPy 2.5.2). Put the alias back, only where it is missing, before anything compiles."""
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def _launch(kernel, grid, block, xp, *args):
    """kernel[grid, block](*args) on CuPy's current stream (the default one in the simulator)."""
    cuda = _numba_cuda()
    if xp is np:
        kernel[grid, block](*args)
        return
    pointer = xp.cuda.get_current_stream().ptr
    stream = cuda.external_stream(pointer) if pointer else cuda.default_stream()
    kernel[grid, block, stream](*args)


def _scalar(dtype, value):
    """A float argument in the arrays' precision (a float64 slope would promote float32 math)."""
    return np.dtype(dtype).type(value)


# ----------------------------------------------------------------------------- numba: im2col


def im2col_numba(x, kernel_size, stride=1, padding=0, dilation=1, output_hw=None):
    """cols (N, C*R*S, P*Q) of x (N, C, H, W), as torch.nn.functional.unfold."""
    from .cuda_im2col import im2col_kernel
    xp = _array_module(x)
    x = _contiguous(x)
    R, S = pair(kernel_size, "kernel_size", 1)
    N, C, H, W = x.shape
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, (C, C, R, S), stride,
                                                         padding, dilation, 1, output_hw)
    cols = xp.empty((N, C * R * S, P * Q), x.dtype)
    _launch(im2col_kernel, _grid_1d(cols.size), THREADS_PER_BLOCK, xp,
            x, cols, R, S, P, Q, sh, sw, ph, pw, dh, dw)
    return cols


def col2im_numba(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1,
                 output_hw=None):
    """x (N, C, H, W) = the adjoint of im2col: column entries summed back onto their pixels."""
    from .cuda_im2col import col2im_kernel
    xp = _array_module(cols)
    cols = _contiguous(cols)
    N, C, H, W = (int(v) for v in input_shape)
    R, S = pair(kernel_size, "kernel_size", 1)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry((N, C, H, W), (C, C, R, S), stride,
                                                         padding, dilation, 1, output_hw)
    if tuple(cols.shape) != (N, C * R * S, P * Q):
        raise ValueError(f"cols: expected shape {(N, C * R * S, P * Q)}, got {tuple(cols.shape)}")
    x = xp.empty((N, C, H, W), cols.dtype)
    _launch(col2im_kernel, _grid_1d(x.size), THREADS_PER_BLOCK, xp,
            cols, x, R, S, P, Q, sh, sw, ph, pw, dh, dw)
    return x


# ----------------------------------------------------------------------------- numba: conv


def conv2d_naive_numba(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                       output_hw=None):
    """conv2d with one thread per output element (``cuda_conv_naive.py``)."""
    from .cuda_conv_naive import conv2d_naive_kernel
    xp = _array_module(x)
    x, weight = _contiguous(x), _contiguous(weight)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding,
                                                         dilation, groups, output_hw)
    N, K = x.shape[0], weight.shape[0]
    y = xp.empty((N, K, P, Q), x.dtype)
    bias_array = xp.zeros(1, x.dtype) if bias is None else _contiguous(bias)
    blocks = math.ceil(y.size / THREADS_PER_BLOCK)
    _launch(conv2d_naive_kernel, blocks, THREADS_PER_BLOCK, xp,
            x, weight, bias_array, y, bias is not None, sh, sw, ph, pw, dh, dw, groups)
    return y


def _tile_or_default(tile):
    from .cuda_conv_tiled import DEFAULT_TILE
    return DEFAULT_TILE if tile is None else tile


def conv2d_numba(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                 output_hw=None, tile=None):
    """conv2d by the tiled implicit-GEMM kernel; grid (columns/BLOCK_N, K_g/BLOCK_M, groups)."""
    from .cuda_conv_tiled import tiled_kernels
    xp = _array_module(x)
    x, weight = _contiguous(x), _contiguous(weight)
    dtype = _float_dtype(x, weight)
    tile = _tile_or_default(tile)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding,
                                                         dilation, groups, output_hw)
    N, K = x.shape[0], weight.shape[0]
    y = xp.empty((N, K, P, Q), dtype)
    bias_array = xp.zeros(1, dtype) if bias is None else _contiguous(bias).astype(dtype, copy=False)
    grid = (math.ceil(N * P * Q / tile.block_n), math.ceil(K // groups / tile.block_m), groups)
    kernel = tiled_kernels(tile, dtype.name).forward
    _launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
            x, weight, bias_array, y, bias is not None, sh, sw, ph, pw, dh, dw, groups)
    return y


def conv2d_input_grad_numba(grad_output, weight, input_hw, stride=1, padding=0, dilation=1,
                            groups=1, tile=None):
    """dx of conv2d (= conv_transpose2d of grad_output); grid z = groups * stride phases."""
    from .cuda_conv_tiled import tiled_kernels
    xp = _array_module(grad_output)
    grad_output, weight = _contiguous(grad_output), _contiguous(weight)
    dtype = _float_dtype(grad_output, weight)
    tile = _tile_or_default(tile)
    input_shape = _input_shape(grad_output, weight, input_hw, groups)
    (sh, sw), (ph, pw), (dh, dw), _ = _grad_geometry(input_shape, weight.shape,
                                                     grad_output.shape, stride, padding,
                                                     dilation, groups)
    N, C, H, W = input_shape
    grad_x = xp.empty(input_shape, dtype)
    step_r, step_s = sh // math.gcd(sh, dh), sw // math.gcd(sw, dw)
    largest_phase = N * math.ceil(H / sh) * math.ceil(W / sw)
    grid = (math.ceil(largest_phase / tile.block_n), math.ceil(C // groups / tile.block_m),
            groups * sh * sw)
    kernel = tiled_kernels(tile, dtype.name).input_grad
    _launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
            grad_output, weight, grad_x, sh, sw, ph, pw, dh, dw, groups, step_r, step_s)
    return grad_x


def choose_splits(tiles: int, depth: int, block_k: int, multiprocessors: int,
                  splits: int | None = None) -> tuple[int, int]:
    """(splits, chunk) for split-K: enough blocks to fill the GPU about 4 times over,
    each slice a multiple of block_k and at least 16 steps long."""
    if splits is None:
        wanted = math.ceil(4 * multiprocessors / max(tiles, 1))
        splits = max(1, min(wanted, depth // (16 * block_k)))
    splits = max(1, min(int(splits), math.ceil(depth / block_k)))
    chunk = math.ceil(math.ceil(depth / splits) / block_k) * block_k
    return math.ceil(depth / chunk), chunk


def conv2d_weight_grad_numba(x, grad_output, kernel_hw, stride=1, padding=0, dilation=1,
                             groups=1, tile=None, splits=None):
    """dw of conv2d by split-K implicit GEMM; grid z = groups * splits, partial sums added here."""
    from .cuda_conv_tiled import tiled_kernels
    xp = _array_module(x)
    x, grad_output = _contiguous(x), _contiguous(grad_output)
    dtype = _float_dtype(x, grad_output)
    tile = _tile_or_default(tile)
    weight_shape = _weight_shape(x, grad_output, kernel_hw, groups)
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = _grad_geometry(x.shape, weight_shape,
                                                          grad_output.shape, stride, padding,
                                                          dilation, groups)
    K, C_g, R, S = weight_shape
    rows, columns, depth = K // groups, C_g * R * S, x.shape[0] * P * Q
    tiles = math.ceil(rows / tile.block_m) * math.ceil(columns / tile.block_n) * groups
    splits, chunk = choose_splits(tiles, depth, tile.block_k, _multiprocessors(xp), splits)
    partial = xp.empty((splits,) + weight_shape, dtype)
    grid = (math.ceil(columns / tile.block_n), math.ceil(rows / tile.block_m), groups * splits)
    kernel = tiled_kernels(tile, dtype.name).weight_grad
    _launch(kernel, grid, (tile.threads_n, tile.threads_m), xp,
            x, grad_output, partial, sh, sw, ph, pw, dh, dw, groups, splits, chunk)
    return partial[0] if splits == 1 else partial.sum(axis=0)


def conv_transpose_output_shape(x_shape, weight_shape, stride, padding, output_padding, groups,
                                dilation):
    """(N, C_out, H_out, W_out) with H_out = (H-1)*stride - 2*padding + dilation*(R-1)
    + output_padding + 1; weight: (C_in, C_out/groups, R, S) as PyTorch's ConvTranspose2d."""
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ValueError(f"conv_transpose2d: expected 4-D input and weight, got shapes "
                         f"{tuple(x_shape)} and {tuple(weight_shape)}")
    if weight_shape[0] != x_shape[1]:
        raise ValueError(f"weight: expected {x_shape[1]} input channels (dim 0) to match the "
                         f"input, got {weight_shape[0]}")
    (sh, sw), (dh, dw) = pair(stride, "stride", 1), pair(dilation, "dilation", 1)
    top, bottom, left, right = padding4(padding)
    oph, opw = pair(output_padding, "output_padding")
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError(f"output_padding: expected values smaller than stride or dilation, got "
                         f"{(oph, opw)}")
    H = conv_transpose_output_size(x_shape[2], weight_shape[2], sh, top + bottom, dh, oph)
    W = conv_transpose_output_size(x_shape[3], weight_shape[3], sw, left + right, dw, opw)
    return (x_shape[0], weight_shape[1] * groups, H, W)


def _conv_transpose2d(input_grad, x, weight, bias, stride, padding, output_padding, groups,
                      dilation, **options):
    """conv_transpose2d(x, w) = conv2d's input gradient with grad_output = x, plus the bias."""
    shape = conv_transpose_output_shape(x.shape, weight.shape, stride, padding, output_padding,
                                        groups, dilation)
    y = input_grad(x, weight, shape, stride, padding, dilation, groups, **options)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1).astype(y.dtype, copy=False)
    return y


def conv_transpose2d_numba(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                           groups=1, dilation=1, tile=None):
    """PyTorch's conv_transpose2d by the tiled input-gradient kernel."""
    return _conv_transpose2d(conv2d_input_grad_numba, x, weight, bias, stride, padding,
                             output_padding, groups, dilation, tile=tile)


# ----------------------------------------------------------------------------- numba: pooling


def _pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    if len(shape) != 4:
        raise ValueError(f"input: expected a 4-D (N, C, H, W) array, got shape {tuple(shape)}")
    R, S = pair(kernel_size, "kernel_size", 1)
    sh, sw = (R, S) if stride is None or stride == () else pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation", 1)
    if not (0 <= ph <= R // 2 and 0 <= pw <= S // 2):
        raise ValueError(f"padding: expected at most half the kernel size {(R, S)}, got {(ph, pw)}")
    P = pool_output_size(shape[2], R, sh, ph, dh, ceil_mode)
    Q = pool_output_size(shape[3], S, sw, pw, dw, ceil_mode)
    if P <= 0 or Q <= 0:
        raise ValueError(f"kernel_size: window {(R, S)} larger than the padded input "
                         f"{tuple(shape[2:])}")
    return (R, S), (sh, sw), (ph, pw), (dh, dw), (P, Q)


def max_pool2d_numba(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(y, indices) of max pooling; indices hold h*W + w of each maximum (int64)."""
    from .cuda_pool import max_pool2d_forward_kernel
    xp = _array_module(x)
    x = _contiguous(x)
    (R, S), (sh, sw), (ph, pw), (dh, dw), (P, Q) = _pool_geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    y = xp.empty(x.shape[:2] + (P, Q), x.dtype)
    indices = xp.empty(y.shape, np.int64)
    _launch(max_pool2d_forward_kernel, _grid_1d(y.size), THREADS_PER_BLOCK, xp,
            x, y, indices, R, S, sh, sw, ph, pw, dh, dw)
    return y, indices


def max_pool2d_backward_numba(grad_output, indices, input_shape, kernel_size, stride=None,
                              padding=0, dilation=1):
    """dx: each dy goes to the argmax of its window (gathered per input pixel, no atomics)."""
    from .cuda_pool import max_pool2d_backward_kernel
    xp = _array_module(grad_output)
    grad_output, indices = _contiguous(grad_output), _contiguous(indices)
    input_shape = tuple(int(v) for v in input_shape)
    (R, S), (sh, sw), (ph, pw), (dh, dw), _ = _pool_geometry(
        input_shape, kernel_size, stride, padding, dilation, False)
    grad_x = xp.empty(input_shape, grad_output.dtype)
    _launch(max_pool2d_backward_kernel, _grid_1d(grad_x.size), THREADS_PER_BLOCK, xp,
            grad_output, indices, grad_x, R, S, sh, sw, ph, pw, dh, dw)
    return grad_x


def _check_no_divisor_override(divisor_override):
    if divisor_override is not None:
        raise ValueError(f"divisor_override: the Numba pooling kernels need None, got "
                         f"{divisor_override!r} (the registry runs the reference for it)")


def supports_avg_pool2d(*args, divisor_override=None, **kwargs) -> bool:
    """divisor_override is None."""
    return divisor_override is None


def avg_pool2d_numba(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None):
    """Average pooling with PyTorch's divisor rules (no ``divisor_override``)."""
    _check_no_divisor_override(divisor_override)
    from .cuda_pool import avg_pool2d_forward_kernel
    xp = _array_module(x)
    x = _contiguous(x)
    (R, S), (sh, sw), (ph, pw), _, (P, Q) = _pool_geometry(
        x.shape, kernel_size, stride, padding, 1, ceil_mode)
    y = xp.empty(x.shape[:2] + (P, Q), x.dtype)
    _launch(avg_pool2d_forward_kernel, _grid_1d(y.size), THREADS_PER_BLOCK, xp,
            x, y, R, S, sh, sw, ph, pw, bool(count_include_pad))
    return y


def avg_pool2d_backward_numba(grad_output, input_shape, kernel_size, stride=None, padding=0,
                              ceil_mode=False, count_include_pad=True, divisor_override=None):
    """dx of average pooling: dy / divisor spread over each window (gathered per pixel)."""
    _check_no_divisor_override(divisor_override)
    from .cuda_pool import avg_pool2d_backward_kernel
    xp = _array_module(grad_output)
    grad_output = _contiguous(grad_output)
    input_shape = tuple(int(v) for v in input_shape)
    (R, S), (sh, sw), (ph, pw), _, (P, Q) = _pool_geometry(
        input_shape, kernel_size, stride, padding, 1, ceil_mode)
    if tuple(grad_output.shape) != input_shape[:2] + (P, Q):
        raise ValueError(f"grad_output: expected shape {input_shape[:2] + (P, Q)}, got "
                         f"{tuple(grad_output.shape)}")
    grad_x = xp.empty(input_shape, grad_output.dtype)
    _launch(avg_pool2d_backward_kernel, _grid_1d(grad_x.size), THREADS_PER_BLOCK, xp,
            grad_output, grad_x, R, S, sh, sw, ph, pw, bool(count_include_pad))
    return grad_x


# ----------------------------------------------------------------------------- numba: elementwise


def _check_slope(negative_slope):
    if negative_slope < 0:
        raise ValueError(f"negative_slope: the fused kernels need a value >= 0 (the backward "
                         f"reads the sign of the output), got {negative_slope}")


def supports_leaky_relu(x, negative_slope=0.01) -> bool:
    """negative_slope >= 0."""
    return negative_slope >= 0


def supports_leaky_relu_backward(grad_output, x, negative_slope=0.01) -> bool:
    """negative_slope >= 0."""
    return negative_slope >= 0


def bias_leaky_relu_numba(x, bias=None, negative_slope=0.01):
    """y = leaky_relu(x + bias[None, :, None, None]) in one pass (bias may be None)."""
    from .cuda_elementwise import bias_leaky_relu_kernel
    _check_slope(negative_slope)
    xp = _array_module(x)
    x = _contiguous(x)
    channels = x.shape[1] if x.ndim > 1 else 1
    plane = int(np.prod(x.shape[2:])) if x.ndim > 2 else 1
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ValueError(f"bias: expected shape ({channels},), got {tuple(bias.shape)}")
    bias_array = xp.zeros(1, x.dtype) if bias is None else _contiguous(bias).astype(x.dtype,
                                                                                     copy=False)
    y = xp.empty_like(x)
    _launch(bias_leaky_relu_kernel, _grid_1d(x.size), THREADS_PER_BLOCK, xp,
            x.reshape(-1), bias_array, y.reshape(-1), bias is not None,
            _scalar(x.dtype, negative_slope), channels, plane)
    return y


def leaky_relu_numba(x, negative_slope=0.01):
    return bias_leaky_relu_numba(x, None, negative_slope)


def leaky_relu_backward_numba(grad_output, x, negative_slope=0.01):
    """dx = dy * (1 if x > 0 else negative_slope); ``x`` may be the input or the output (same
    sign for a slope >= 0). The bias gradient of the fused forward is dx.sum(axis=(0, 2, 3))."""
    from .cuda_elementwise import leaky_relu_backward_kernel
    _check_slope(negative_slope)
    xp = _array_module(x)
    grad_output, x = _contiguous(grad_output), _contiguous(x)
    if grad_output.shape != x.shape:
        raise ValueError(f"grad_output: expected shape {tuple(x.shape)}, got "
                         f"{tuple(grad_output.shape)}")
    grad_x = xp.empty_like(grad_output)
    _launch(leaky_relu_backward_kernel, _grid_1d(x.size), THREADS_PER_BLOCK, xp,
            grad_output.reshape(-1), x.reshape(-1), grad_x.reshape(-1),
            _scalar(grad_output.dtype, negative_slope))
    return grad_x


# ----------------------------------------------------------------------------- CUDA C (RawModule)

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
        if not _is_cupy(array):
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
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = _grad_geometry(input_shape, weight_shape, grad_shape,
                                                          stride, padding, dilation, groups)
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
    (sh, sw), (ph, pw), (dh, dw), (P, Q) = _grad_geometry(x_shape, weight_shape, grad_shape,
                                                          stride, padding, dilation, groups)
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
    return LaunchPlan(kernel, "", (_grid_1d(math.prod(out_shape)), 1, 1),
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


def conv2d_cuda_c(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                  output_hw=None, tile=None, splits=None):
    """conv2d by ``conv2d_forward`` of conv_implicit_gemm.cu (float32, CuPy arrays)."""
    _check_cuda_c(x, weight)
    import cupy
    x, weight = cupy.ascontiguousarray(x), cupy.ascontiguousarray(weight)
    plan = forward_plan(x.shape, weight.shape, stride, padding, dilation, groups,
                        bias is not None, output_hw, _multiprocessors(cupy), tile, splits)
    partial = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(partial)
    bias_array = (cupy.zeros(1, np.float32) if bias is None
                  else cupy.ascontiguousarray(bias, dtype=np.float32))
    _run_plan(plan, "conv_implicit_gemm.cu", (x, weight, bias_array, partial))
    return partial[0] if plan.out_shape[0] == 1 else partial.sum(axis=0)


def conv2d_input_grad_cuda_c(grad_output, weight, input_hw, stride=1, padding=0, dilation=1,
                             groups=1, tile=None):
    """dx of conv2d by ``conv2d_input_grad`` of conv_implicit_gemm.cu."""
    _check_cuda_c(grad_output, weight)
    import cupy
    grad_output, weight = cupy.ascontiguousarray(grad_output), cupy.ascontiguousarray(weight)
    plan = input_grad_plan(grad_output.shape, weight.shape,
                           _input_shape(grad_output, weight, input_hw, groups), stride, padding,
                           dilation, groups, _multiprocessors(cupy), tile)
    grad_x = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(grad_x)
    _run_plan(plan, "conv_implicit_gemm.cu", (grad_output, weight, grad_x))
    return grad_x


def conv2d_weight_grad_cuda_c(x, grad_output, kernel_hw, stride=1, padding=0, dilation=1,
                              groups=1, tile=None, splits=None):
    """dw of conv2d by ``conv2d_weight_grad`` of conv_implicit_gemm.cu (split-K)."""
    _check_cuda_c(x, grad_output)
    import cupy
    x, grad_output = cupy.ascontiguousarray(x), cupy.ascontiguousarray(grad_output)
    plan = weight_grad_plan(x.shape, grad_output.shape,
                            _weight_shape(x, grad_output, kernel_hw, groups), stride, padding,
                            dilation, groups, _multiprocessors(cupy), tile, splits)
    partial = cupy.empty(plan.out_shape, np.float32)
    _check_cuda_c(partial)
    _run_plan(plan, "conv_implicit_gemm.cu", (x, grad_output, partial))
    return partial[0] if plan.out_shape[0] == 1 else partial.sum(axis=0)


def conv_transpose2d_cuda_c(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                            groups=1, dilation=1, tile=None):
    return _conv_transpose2d(conv2d_input_grad_cuda_c, x, weight, bias, stride, padding,
                             output_padding, groups, dilation, tile=tile)


# ----------------------------------------------------------------------------- im2col + cuBLAS


def _gemm_cols(x, kernel, stride, padding, dilation, output_hw):
    """cols (C*R*S, N*P*Q): im2col.cu on CuPy; under the simulator (NumPy arrays), the Numba
    kernel's (N, C*R*S, P*Q) layout transposed by NumPy."""
    xp = _array_module(x)
    plan = im2col_plan(x.shape, kernel, stride, padding, dilation, output_hw, "im2col")
    if xp is np:
        cols = im2col_numba(x, kernel, stride, padding, dilation, output_hw)
        return np.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(plan.out_shape)
    cols = xp.empty(plan.out_shape, x.dtype)
    _check_cuda_c(x, cols)
    _run_plan(plan, "im2col.cu", (x, cols))
    return cols


def _gemm_col2im(cols, input_shape, kernel, stride, padding, dilation, output_hw):
    """x (N, C, H, W) from cols (C*R*S, N*P*Q): the adjoint of _gemm_cols."""
    xp = _array_module(cols)
    plan = im2col_plan(input_shape, kernel, stride, padding, dilation, output_hw, "col2im")
    if xp is np:
        N, C, _, _ = input_shape
        P, Q = output_hw
        unfolded = cols.reshape(C * kernel[0] * kernel[1], N, P * Q).transpose(1, 0, 2)
        return col2im_numba(unfolded, input_shape, kernel, stride, padding, dilation, output_hw)
    x = xp.empty(plan.out_shape, cols.dtype)
    cols = xp.ascontiguousarray(cols)
    _check_cuda_c(cols, x)
    _run_plan(plan, "im2col.cu", (cols, x))
    return x


def conv2d_im2col_cublas(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                         output_hw=None):
    """y_g (K_g, N*P*Q) = w_g (K_g, C_g*R*S) @ cols_g (C_g*R*S, N*P*Q), one batched GEMM."""
    xp = _array_module(x)
    x, weight = _contiguous(x), _contiguous(weight)
    _, _, _, (P, Q) = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups,
                                    output_hw)
    N = x.shape[0]
    K, C_g, R, S = weight.shape
    cols = _gemm_cols(x, (R, S), stride, padding, dilation, (P, Q))
    y = xp.matmul(weight.reshape(groups, K // groups, C_g * R * S),
                  cols.reshape(groups, C_g * R * S, N * P * Q))          # (G, K_g, N*P*Q)
    y = xp.ascontiguousarray(y.reshape(K, N, P, Q).transpose(1, 0, 2, 3))
    if bias is not None:
        y += bias.reshape(1, K, 1, 1).astype(y.dtype, copy=False)
    return y


def conv2d_input_grad_im2col_cublas(grad_output, weight, input_hw, stride=1, padding=0,
                                    dilation=1, groups=1):
    """dcols_g = w_g^T @ dy_g (one batched GEMM), then col2im."""
    xp = _array_module(grad_output)
    grad_output, weight = _contiguous(grad_output), _contiguous(weight)
    input_shape = _input_shape(grad_output, weight, input_hw, groups)
    _grad_geometry(input_shape, weight.shape, grad_output.shape, stride, padding, dilation,
                   groups)
    N, K, P, Q = grad_output.shape
    _, C_g, R, S = weight.shape
    dy = grad_output.transpose(1, 0, 2, 3).reshape(groups, K // groups, N * P * Q)
    w = weight.reshape(groups, K // groups, C_g * R * S)
    dcols = xp.matmul(w.transpose(0, 2, 1), dy)                         # (G, C_g*R*S, N*P*Q)
    return _gemm_col2im(dcols.reshape(-1, N * P * Q), input_shape, (R, S), stride, padding,
                        dilation, (P, Q))


def conv2d_weight_grad_im2col_cublas(x, grad_output, kernel_hw, stride=1, padding=0,
                                     dilation=1, groups=1):
    """dw_g = dy_g (K_g, N*P*Q) @ cols_g^T (N*P*Q, C_g*R*S), one batched GEMM."""
    xp = _array_module(x)
    x, grad_output = _contiguous(x), _contiguous(grad_output)
    weight_shape = _weight_shape(x, grad_output, kernel_hw, groups)
    _, _, _, (P, Q) = _grad_geometry(x.shape, weight_shape, grad_output.shape, stride, padding,
                                     dilation, groups)
    K, C_g, R, S = weight_shape
    N = x.shape[0]
    cols = _gemm_cols(x, (R, S), stride, padding, dilation, (P, Q))
    dy = grad_output.transpose(1, 0, 2, 3).reshape(groups, K // groups, N * P * Q)
    dw = xp.matmul(dy, cols.reshape(groups, C_g * R * S, N * P * Q).transpose(0, 2, 1))
    return dw.reshape(weight_shape)


def conv_transpose2d_im2col_cublas(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                                   groups=1, dilation=1):
    return _conv_transpose2d(conv2d_input_grad_im2col_cublas, x, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# ----------------------------------------------------------------------------- registry


@functools.lru_cache(maxsize=None)
def cupy_available() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@functools.lru_cache(maxsize=None)
def numba_cuda_available() -> bool:
    """A real GPU that Numba can launch on (the simulator does not count: it runs on NumPy)."""
    try:
        from numba import cuda
        from numba.core import config
        return (not config.ENABLE_CUDASIM) and cuda.is_available() and cupy_available()
    except Exception:
        return False


def supports_float32(first, *args, **kwargs) -> bool:
    """float32 arrays only (the CUDA C kernels and im2col.cu)."""
    return first.dtype == np.float32


def _as_reference_conv2d(conv2d):
    """conv2d with the reference's signature (no bias; output_hw)."""
    def function(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                 output_hw=None):
        return conv2d(x, weight, None, stride, padding, dilation, groups, output_hw=output_hw)
    function.__name__ = function.__qualname__ = conv2d.__name__
    function.__doc__ = conv2d.__doc__
    return function


# op -> {implementation name: function with the reference's signature}
IMPLEMENTATIONS = {
    "conv2d": {"numba": _as_reference_conv2d(conv2d_numba),
               "cuda_c": _as_reference_conv2d(conv2d_cuda_c),
               "im2col_cublas": _as_reference_conv2d(conv2d_im2col_cublas)},
    "conv2d_input_grad": {"numba": conv2d_input_grad_numba,
                          "cuda_c": conv2d_input_grad_cuda_c,
                          "im2col_cublas": conv2d_input_grad_im2col_cublas},
    "conv2d_weight_grad": {"numba": conv2d_weight_grad_numba,
                           "cuda_c": conv2d_weight_grad_cuda_c,
                           "im2col_cublas": conv2d_weight_grad_im2col_cublas},
    "max_pool2d": {"numba": max_pool2d_numba},
    "max_pool2d_backward": {"numba": max_pool2d_backward_numba},
    "avg_pool2d": {"numba": avg_pool2d_numba},
    "avg_pool2d_backward": {"numba": avg_pool2d_backward_numba},
    "leaky_relu": {"numba": leaky_relu_numba},
    "leaky_relu_backward": {"numba": leaky_relu_backward_numba},
}

# op -> {implementation name: what it computes (its ``supports`` predicate)}; the registry
# runs the next implementation (in the end the reference) for every other call.
SUPPORTS = {
    **{op: {"cuda_c": supports_float32, "im2col_cublas": supports_float32}
       for op in ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")},
    "avg_pool2d": {"numba": supports_avg_pool2d},
    "avg_pool2d_backward": {"numba": supports_avg_pool2d},
    "leaky_relu": {"numba": supports_leaky_relu},
    "leaky_relu_backward": {"numba": supports_leaky_relu_backward},
}

# Higher runs first when nothing is selected; the NumPy reference registers at 0.
# Measured (benchmarks/RESULTS.md, H200, 2026-11-28): the CUDA C kernels were the fastest
# on 6 of the 10 DCGAN-64 layers (fwd + bwd) and made the fastest DCGAN-64 training step
# (33.8 ms against 37.7 ms with im2col + cuBLAS, 121.5 ms with the Numba kernels).
PRIORITY = {"cuda_c": 30, "im2col_cublas": 20, "numba": 10}
AVAILABLE = {"numba": numba_cuda_available, "cuda_c": cupy_available,
             "im2col_cublas": cupy_available}


def register(registry=None) -> None:
    """Register every GPU implementation for device 'cuda'. Cheap: imports nothing heavy."""
    if registry is None:
        from minicnn import registry
    for op, functions in IMPLEMENTATIONS.items():
        for name, function in functions.items():
            registry.register(op, name, function, device="cuda", priority=PRIORITY[name],
                              available=AVAILABLE[name], supports=SUPPORTS.get(op, {}).get(name))
