r"""Where the memory of big arrays comes from: keep freed blocks for reuse.

A training step allocates and frees hundreds of arrays of megabytes (activations, their
gradients, im2col matrices). glibc's ``malloc`` serves a block of 128 kB or more with a
fresh ``mmap`` at first and returns it to the operating system on ``free``; the next
array of that size then starts as untouched pages, and the first write to each 4 kB page
is a page fault in which the kernel zeroes it. On the DCGAN-28 step (width 64, batch 64)
that was about 5,000 page faults per step and 12% of its time (131 -> 115 ms on 2 cores,
``benchmarks/step.py``'s setting, measured with ``/usr/bin/time``'s fault count).

``keep_freed_memory()`` (called when minicnn is imported) asks glibc to serve blocks up to
32 MB from its heap and to keep up to 256 MB of freed memory at the top of the heap:
the next array reuses pages that are already mapped. The peak memory of a step does not
change (the DCGAN-64 step: 896 and 894 MB); memory the process freed is handed back to
the OS later, when more than 256 MB lie unused at the heap's top.

Only on Linux with glibc (``mallopt``); elsewhere this does nothing. Pure Python (ctypes).
"""
from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>: keep this much free memory at the heap's top
M_MMAP_THRESHOLD = -3  # glibc <malloc.h>: blocks at least this big get their own mmap

MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 256 << 20

_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to reuse freed big blocks (see the module docstring), once.
    Returns whether it is set (False off glibc, or if ``mallopt`` refused)."""
    global _kept
    if _kept is None:
        _kept = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _kept = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                         and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _kept
