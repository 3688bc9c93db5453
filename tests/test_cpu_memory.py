"""kernels/cpu_memory.py: after ``import minicnn``, big arrays reuse freed pages (glibc)."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

CODE = """
import resource
{setup}
import numpy as np
def step():
    arrays = []
    for megabytes in (3, 9, 1, 6, 12, 2, 5, 8):   # alive together, as a step's activations
        a = np.empty(megabytes << 18, dtype=np.float32)
        a.fill(1.0)                               # touches every page
        arrays.append(a)
    return len(arrays)                            # all freed here
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(setup: str) -> int:
    result = subprocess.run([sys.executable, "-c", CODE.format(setup=setup)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_big_arrays_reuse_freed_pages_after_import():
    """Ten 'steps', each allocating arrays of 1-12 MB that live together and are freed at
    the end: with glibc's defaults every step maps fresh pages again (a page fault for
    every 4 kB: about 46,000 in all); once minicnn has set malloc to keep freed blocks the
    second step on reuses the first one's pages."""
    import minicnn  # noqa: F401
    from minicnn.kernels.cpu_memory import keep_freed_memory

    assert keep_freed_memory()
    default = _page_faults("")
    kept = _page_faults("import minicnn")
    assert default > 10_000 and kept < 1_000, (default, kept)
