r"""What the Numba CPU kernels run on: compiled loop nests, scratch buffers, worker threads,
and the one switch that limits BLAS threads.

* ``Kernel``: a loop nest compiled twice, parallel (``prange`` over Numba's threads) and
  serial; ``kernel(*arrays, work=n)`` picks the parallel version for big calls only.
* ``scratch(name, shape, dtype)``: an uninitialised array backed by a grow-only buffer of
  the calling thread (``release_buffers()`` frees them all).
* ``run_tasks(tasks, multiply_adds)``: run functions of no argument (one block of work
  each) on a pool of ``numba.get_num_threads()`` worker threads, each with a
  single-threaded BLAS, or on the calling thread when the op is small.
* ``blas_threads(count)``: a ``with`` block in which NumPy's BLAS (OpenBLAS, MKL ...) uses
  at most ``count`` threads (``None``: unchanged). ``minicnn.training.blas_threads`` and
  the worker pool both use it.

Arrays in, arrays out: nothing here knows about Tensors or ops. Used by ``cpu_conv.py``
and ``cpu_elementwise.py``.
"""
from __future__ import annotations

import contextlib
import os
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit
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
_buffers: dict = {}


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` backed by a reused buffer of the
    calling thread.

    Asking the OS for fresh pages on every call (page faults, zeroing) costs as much as
    filling them, so buffers live per thread and only grow. Only for values that die
    inside one call: the next call with the same ``name`` on the same thread overwrites it.
    """
    size = int(np.prod(shape))
    key = (threading.get_ident(), name, np.dtype(dtype).str)
    buffer = _buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = _buffers[key] = np.empty(max(size, 1), dtype=dtype)
    return buffer[:size].reshape(shape)


def release_buffers() -> None:
    """Free every thread's scratch buffers (they are rebuilt on the next call)."""
    _buffers.clear()


# ---------------------------------------------------------------------------------------
# BLAS threads
# ---------------------------------------------------------------------------------------
_blas: ThreadpoolController | None = None


def blas_threads(count: int | None, *, relist: bool = True):
    """A context manager: inside it, the BLAS libraries NumPy uses run at most ``count``
    threads; ``None`` leaves them alone. The limit is set when this is called and undone
    when the ``with`` block ends.

    ``relist=True`` lists the process's libraries now (about 0.6 ms), so a BLAS loaded
    since the last call is limited too: right for a training run. The worker pool, which
    limits every big op, passes False and reuses the list made on its first use.
    """
    global _blas
    if count is None:
        return contextlib.nullcontext()
    if relist or _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=int(count), user_api="blas")


# ---------------------------------------------------------------------------------------
# Worker threads, each with a single-threaded BLAS
# ---------------------------------------------------------------------------------------
PARALLEL_MIN_FLOPS = 1 << 24
"""Below this many multiply-adds an op runs its blocks on the calling thread."""

_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # POSIX: a forked child has none of the threads
    os.register_at_fork(after_in_child=_forget_pool)


def run_tasks(tasks, multiply_adds: int) -> None:
    """Run ``tasks`` (functions of no argument, one per block): on
    ``numba.get_num_threads()`` worker threads, or here when the op is small.

    Why not let BLAS use its own threads on one big product: OpenBLAS splits a product
    over its threads in small steps, and between two steps a thread busy-waits for the
    other. When another process holds one of the two cores even briefly, that waiting
    made the DCGAN layers' products 2-4x slower than on one thread. Here each worker
    takes whole blocks from a queue and never waits for the other until the last one;
    a worker that finds its core taken simply takes fewer blocks.
    """
    if multiply_adds < PARALLEL_MIN_FLOPS or len(tasks) == 1:
        for task in tasks:
            task()
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(numba.get_num_threads(), thread_name_prefix="minicnn-conv")
    with blas_threads(1, relist=False):
        for future in [_pool.submit(task) for task in tasks]:
            future.result()
