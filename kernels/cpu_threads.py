r"""How minicnn uses the CPU's cores: one pool of worker threads, blocks of work taken from
a shared queue, and a single-threaded BLAS.

    import minicnn as mc
    mc.get_num_threads()     # the cores this process may use (os.sched_getaffinity)
    mc.set_num_threads(1)    # as torch.set_num_threads: every parallel op on one core

**The model.** A parallel op (a convolution, a big elementwise loop, a big matrix
product) cuts its work into independent blocks and calls ``run_tasks(blocks, work)``.
The calling thread and ``get_num_threads() - 1`` pool threads each take the next block
from a shared counter until none is left, then the caller waits for the last one. No
thread ever waits for another in the middle of an op, and nobody spins: an idle pool
thread sleeps on a queue (no CPU), so a core taken by another process costs only the
blocks that core would have run.

**Why not the libraries' own threads.** Three pools fought over two cores before: NumPy's
OpenBLAS splits one product over its threads in small steps and *busy-waits* between
them (and for a while after each call); Numba's OpenMP layer busy-waits after each
parallel loop; the conv workers wanted the same cores. On a 2-core machine the DCGAN-28
step got slower with a second thread (199 -> 253 ms). So: OpenBLAS runs one thread
(held at import, ``hold_blas_to_one_thread``; a product big enough to share is cut into
row blocks on this pool instead), and the Numba kernels are compiled serial and
``nogil``, one call per block.

**Thread count.** ``OMP_NUM_THREADS`` when set (as PyTorch reads it), else the usable
cores. Results do not depend on it: ops cut their work the same way whatever the count
(only who runs which block changes), and blocks write disjoint memory or partial sums
that are added in a fixed order.

Pure Python (threading + threadpoolctl): no Numba, no Tensor.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading

PARALLEL_MIN_WORK = 1 << 21
"""The default least work (numbers touched) for which ``run_tasks`` hands blocks to the
pool. Waking a sleeping thread costs 10-50 us on a quiet machine and up to a scheduler
time slice on a busy one, while a fused elementwise loop is bound by memory bandwidth
(800k float32 numbers: 190 us on one thread or two, measured): only loops of millions of
numbers gain from a second thread."""


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where the
    platform has none)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _default_threads() -> int:
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return usable_cores()


_num_threads = _default_threads()
_chosen = "OMP_NUM_THREADS" in os.environ  # by the user: share_cores leaves it alone


def get_num_threads() -> int:
    """How many threads (the caller included) run the blocks of a parallel op."""
    return _num_threads


def set_num_threads(count: int) -> None:
    """Run parallel ops on ``count`` threads (the calling one included), as
    ``torch.set_num_threads``. More than ``usable_cores()`` is allowed but only slows down."""
    global _num_threads, _chosen
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads: count must be a positive int, got {count!r}")
    _num_threads, _chosen = count, True


def share_cores(processes: int) -> None:
    """When ``processes`` engine processes run side by side on this machine (``mpiexec -n``),
    give this one its share: ``usable_cores() // processes`` threads (at least 1), unless
    the count was chosen (``OMP_NUM_THREADS``, ``set_num_threads``). Called by
    ``minicnn.distributed.init_process_group``."""
    global _num_threads
    if not _chosen:
        _num_threads = max(1, usable_cores() // max(1, int(processes)))


# ---------------------------------------------------------------------------------------
# The single-threaded BLAS
# ---------------------------------------------------------------------------------------
_blas_held = False


def hold_blas_to_one_thread() -> None:
    """Set the BLAS libraries loaded in this process (NumPy's OpenBLAS or MKL) to one
    thread, once. Called when minicnn is imported; ``threadpoolctl`` can raise it again for
    code of your own (``threadpoolctl.threadpool_limits(n, "blas")``)."""
    global _blas_held
    if _blas_held:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl BLAS keeps its own threads
        return
    threadpool_limits(limits=1, user_api="blas")
    _blas_held = True


_controller = None


def blas_threads(count: int | None, *, relist: bool = True):
    """A context manager: inside it, the BLAS libraries NumPy uses run at most ``count``
    threads; ``None`` leaves them alone. The limit is set when this is called and undone
    when the ``with`` block ends (back to one thread, minicnn's setting, or whatever the
    caller had set).

    ``relist=True`` lists the process's libraries now (about 1 ms), so that a BLAS loaded
    since the last call is limited too; False reuses the list of the last call.
    """
    global _controller
    if count is None:
        return contextlib.nullcontext()
    from threadpoolctl import ThreadpoolController

    if relist or _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=int(count), user_api="blas")


# ---------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------
class _Job:
    """The blocks of one op: threads take the next index until none is left."""

    def __init__(self, tasks):
        self.tasks = tasks
        self.next_index = itertools.count()  # next() is atomic under the GIL
        self.lock = threading.Lock()
        self.unfinished = len(tasks)
        self.done = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        """Run blocks until none is left (called by the caller and by pool threads)."""
        count = len(self.tasks)
        while True:
            index = next(self.next_index)
            if index >= count:
                return
            try:
                if self.error is None:
                    self.tasks[index]()
            except BaseException as error:  # handed to the caller, which raises it
                self.error = error
            finally:
                with self.lock:
                    self.unfinished -= 1
                    if self.unfinished == 0:
                        self.done.set()


_jobs: queue.SimpleQueue = queue.SimpleQueue()
_workers: list[threading.Thread] = []
_workers_lock = threading.Lock()


def _worker_loop() -> None:
    while True:
        job = _jobs.get()  # sleeps (no CPU) until an op hands out blocks
        if job is None:
            return
        job.work()


def _ensure_workers(count: int) -> None:
    with _workers_lock:
        while len(_workers) < count:
            thread = threading.Thread(target=_worker_loop, daemon=True,
                                      name=f"minicnn-worker-{len(_workers) + 1}")
            thread.start()
            _workers.append(thread)


def _forget_workers() -> None:
    """In a forked child the pool threads do not exist: start new ones when needed."""
    global _jobs, _workers_lock
    _workers.clear()
    _jobs = queue.SimpleQueue()
    _workers_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def run_tasks(tasks, work: int, min_work: int | None = None) -> None:
    """Run ``tasks`` (functions of no argument, one per block of an op): on this thread
    and ``get_num_threads() - 1`` pool threads, or all here when ``work`` (elements
    touched or multiply-adds) is below ``min_work`` (default ``PARALLEL_MIN_WORK``) or
    there is one thread or one block.

    Blocks must release the GIL to run side by side (Numba ``nogil`` kernels, NumPy's
    BLAS and large ufunc loops do) and must not share output memory. The first error a
    block raises is raised here after every block has stopped.
    """
    helpers = min(_num_threads, len(tasks)) - 1
    if helpers <= 0 or work < (PARALLEL_MIN_WORK if min_work is None else min_work):
        for task in tasks:
            task()
        return
    _ensure_workers(helpers)
    job = _Job(tasks)
    for _ in range(helpers):
        _jobs.put(job)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error


def split_range(count: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` (or fewer, never empty) [start, stop) ranges covering range(count), in
    order, sizes differing by at most one."""
    parts = max(1, min(parts, count))
    return [(count * i // parts, count * (i + 1) // parts) for i in range(parts)]
