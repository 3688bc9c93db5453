"""What every GPU launcher needs: the array module, 1-D grids, Numba launches on CuPy's
stream, split-K, and whether a GPU is there at all.

The launchers (``cuda_*.py`` beside their Numba kernels, ``cuda_c_host.py`` for the CUDA C
sources) take CuPy arrays on a GPU, and NumPy arrays under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which is how the Numba kernels are tested without one.
Nothing here imports ``numba.cuda`` or CuPy at import time: ``_numba_cuda()`` and the
``*_available`` checks import them when first called, so ``import minicnn`` never needs a GPU.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from minicnn.backend import cuda_is_available, get_array_module

THREADS_PER_BLOCK = 256           # 1-D kernels (im2col, pooling, elementwise)
MAX_BLOCKS_1D = 65535 * 8         # grid-stride loops cover the rest


def contiguous(array):
    """``array`` as a C-contiguous array of its own module (NumPy or CuPy)."""
    return get_array_module(array).ascontiguousarray(array)


def grid_1d(total: int) -> int:
    """Blocks of ``THREADS_PER_BLOCK`` threads for ``total`` elements (grid-stride beyond)."""
    return max(1, min(MAX_BLOCKS_1D, math.ceil(total / THREADS_PER_BLOCK)))


def float_dtype(*arrays):
    """The common dtype of float32 or float64 arrays; TypeError for anything else."""
    dtype = arrays[0].dtype
    for array in arrays:
        if array.dtype != dtype or dtype not in (np.float32, np.float64):
            raise TypeError(f"expected float32 or float64 arrays of one dtype, got "
                            f"{[str(a.dtype) for a in arrays]}")
    return dtype


def scalar(dtype, value):
    """A float argument in the arrays' precision (a float64 slope would promote float32 math)."""
    return np.dtype(dtype).type(value)


def multiprocessor_count(xp) -> int:
    """Streaming multiprocessors of the current GPU (4 under the simulator: small grids)."""
    if xp is np:
        return 4
    return xp.cuda.Device().attributes["MultiProcessorCount"]


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


# ----------------------------------------------------------------------------- Numba launches


def _numba_cuda():
    numpy_compat_for_numba_cuda()
    from numba import cuda
    return cuda


def numpy_compat_for_numba_cuda() -> None:
    """numba-cuda 0.2x registers an overload for ``np.row_stack`` when its first kernel
    compiles, but NumPy 2.5 removed that alias of ``np.vstack``: the compile then fails with
    "module 'numpy' has no attribute 'row_stack'" (seen on the GPU machine: numba-cuda with
    NumPy 2.5.2). Put the alias back, only where it is missing, before anything compiles."""
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def launch(kernel, grid, block, xp, *args):
    """kernel[grid, block](*args) on CuPy's current stream (the default one in the simulator)."""
    cuda = _numba_cuda()
    if xp is np:
        kernel[grid, block](*args)
        return
    pointer = xp.cuda.get_current_stream().ptr
    stream = cuda.external_stream(pointer) if pointer else cuda.default_stream()
    kernel[grid, block, stream](*args)


# ----------------------------------------------------------------------------- availability


@functools.lru_cache(maxsize=None)
def cupy_available() -> bool:
    """CuPy imports and sees a CUDA device (``backend.cuda_is_available``, asked once)."""
    return cuda_is_available()


@functools.lru_cache(maxsize=None)
def numba_cuda_available() -> bool:
    """A real GPU that Numba can launch on (the simulator does not count: it runs on NumPy)."""
    try:
        from numba import cuda
        from numba.core import config
        return (not config.ENABLE_CUDASIM) and cuda.is_available() and cupy_available()
    except Exception:
        return False
