r"""What the Numba CPU kernels run on: compiled loop nests, blocks of work on the
engine's threads, scratch buffers.

* ``@kernel`` / ``@reduction_kernel``: a loop nest compiled serial and ``nogil`` (so that
  several blocks of one op run side by side on the threads of ``cpu_threads``); a
  reduction kernel may reorder its sums (fastmath 'reassoc': SIMD adds).
* ``parallel_for(loop, count, work, *arguments)``: ``loop(*arguments, start, stop)`` over
  blocks [start, stop) of range(count), on the engine's threads (``cpu_threads.run_tasks``).
* ``scratch(name, shape, dtype)``: an uninitialised array backed by a grow-only buffer of
  the calling thread (``release_buffers()`` frees them all).

Arrays in, arrays out: nothing here knows about Tensors or ops. Used by ``cpu_conv.py``
and ``cpu_elementwise.py``. The thread pool and the BLAS thread switch are in
``cpu_threads.py``.
"""
from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit

from . import cpu_threads
from .cpu_threads import get_num_threads, run_tasks, split_range

# ---------------------------------------------------------------------------------------
# Compiled loop nests, run by blocks
# ---------------------------------------------------------------------------------------
BLOCKS_PER_THREAD = 2
"""An elementwise or per-channel op is cut into this many blocks per thread: more balance
the load when another process takes a core for a while."""


def kernel(function):
    """Compile ``function`` with Numba: serial, ``nogil`` (other threads run while it
    does), cached on disk so later processes start fast."""
    return njit(cache=True, nogil=True)(function)


def reduction_kernel(function):
    """A ``kernel`` whose sums may be reordered (fastmath 'reassoc'), so that LLVM can add
    8 numbers at a time with SIMD instead of one after the other. The result differs from
    the strict left-to-right sum by rounding only."""
    return njit(cache=True, nogil=True, fastmath={"reassoc"})(function)


def parallel_for(loop, count: int, work: int, *arguments) -> None:
    """Call ``loop(*arguments, start, stop)`` for blocks [start, stop) covering
    range(count): on the engine's threads when ``work`` (numbers touched) is at least
    ``cpu_threads.PARALLEL_MIN_WORK``, else as one block here. ``loop`` must write
    disjoint memory for disjoint ranges."""
    if work < cpu_threads.PARALLEL_MIN_WORK or get_num_threads() == 1:
        loop(*arguments, 0, count)
        return
    blocks = split_range(count, BLOCKS_PER_THREAD * get_num_threads())
    run_tasks([lambda start=start, stop=stop: loop(*arguments, start, stop)
               for start, stop in blocks], work)


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
    size = math.prod(shape)
    key = (threading.get_ident(), name, np.dtype(dtype).str)
    buffer = _buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = _buffers[key] = np.empty(max(size, 1), dtype=dtype)
    return buffer[:size].reshape(shape)


def release_buffers() -> None:
    """Free every thread's scratch buffers (they are rebuilt on the next call)."""
    _buffers.clear()
