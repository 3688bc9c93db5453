"""The engine's one threading model (kernels/cpu_threads.py): every block runs once, errors
reach the caller, nothing spins while idle, BLAS is held to one thread, and results do not
depend on the thread count."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import minicnn as mc
from minicnn.kernels import cpu_conv, cpu_elementwise, cpu_threads


@pytest.fixture
def two_threads():
    saved = (mc.get_num_threads(), cpu_threads.PARALLEL_MIN_WORK,
             cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS)
    mc.set_num_threads(2)
    cpu_threads.PARALLEL_MIN_WORK = cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS = 0
    yield
    mc.set_num_threads(saved[0])
    cpu_threads.PARALLEL_MIN_WORK, cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS = saved[1:]


def test_every_block_runs_once_on_several_threads(two_threads):
    counts = [0] * 40
    names = set()

    def block(i):
        time.sleep(0.002)  # releases the GIL, as the kernels do
        counts[i] += 1
        names.add(threading.current_thread().name)

    cpu_threads.run_tasks([lambda i=i: block(i) for i in range(40)], work=1)
    assert counts == [1] * 40
    assert threading.current_thread().name in names and len(names) == 2


def test_a_failing_block_raises_in_the_caller_after_the_others_stop(two_threads):
    finished = []

    def block(i):
        if i == 3:
            raise KeyError("block 3")
        time.sleep(0.001)
        finished.append(i)

    with pytest.raises(KeyError, match="block 3"):
        cpu_threads.run_tasks([lambda i=i: block(i) for i in range(10)], work=1)
    snapshot = list(finished)
    time.sleep(0.02)
    assert finished == snapshot  # nothing still running after the raise
    cpu_threads.run_tasks([lambda: None] * 4, work=1)  # the pool still works


def test_blocks_may_run_parallel_ops_themselves(two_threads):
    x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
    results = [None] * 6

    def block(i):
        results[i] = cpu_elementwise.leaky_relu(x * (i + 1), 0.1)

    cpu_threads.run_tasks([lambda i=i: block(i) for i in range(6)], work=1)
    for i, y in enumerate(results):
        np.testing.assert_array_equal(y, np.where(x * (i + 1) > 0, x * (i + 1), x * (i + 1) * np.float32(0.1)))


def test_idle_threads_do_not_spin(two_threads):
    """After a parallel op the pool threads sleep: the process uses (almost) no CPU while
    the caller waits. OpenMP and OpenBLAS pools busy-wait here for milliseconds."""
    x = np.random.default_rng(1).standard_normal((8, 16, 16, 16)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((16, 16, 3, 3)).astype(np.float32)
    for _ in range(3):
        cpu_conv.conv2d(x, w, (1, 1), (1, 1, 1, 1))
        cpu_elementwise.leaky_relu(x, 0.2)
    started = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - started < 0.05


def test_numpy_blas_is_held_to_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import subprocess
    import sys

    code = ("import minicnn, threadpoolctl; print(sorted({p['num_threads'] for p in "
            "threadpoolctl.threadpool_info() if p['user_api'] == 'blas'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env={k: v for k, v in __import__("os").environ.items()
                                              if k not in ("OPENBLAS_NUM_THREADS",
                                                           "OMP_NUM_THREADS")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1]"
    assert threadpoolctl  # imported for the skip only


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_results_are_the_same_bits_on_one_and_two_threads(layout):
    """The blocks of an op do not depend on the thread count, so neither do the results
    (the weight gradient's partial sums are added in a fixed order)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 8, 12, 12)).astype(np.float32)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((16, 8, 4, 4)).astype(np.float32)
    g = rng.standard_normal((32, 16, 6, 6)).astype(np.float32)
    params = dict(stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)

    def run():
        return (cpu_conv.conv2d(x, w, **params),
                cpu_conv.conv2d_input_grad(g, w, (12, 12), **params),
                cpu_conv.conv2d_weight_grad(x, g, (4, 4), **params),
                *cpu_elementwise.channel_mean_var(x),
                cpu_elementwise.leaky_relu_backward(g, g, 0.2))

    saved = (mc.get_num_threads(), cpu_threads.PARALLEL_MIN_WORK,
             cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS)
    try:
        cpu_threads.PARALLEL_MIN_WORK = cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS = 0
        mc.set_num_threads(1)
        one = run()
        mc.set_num_threads(2)
        two = run()
    finally:
        mc.set_num_threads(saved[0])
        cpu_threads.PARALLEL_MIN_WORK, cpu_conv.PARALLEL_MIN_MULTIPLY_ADDS = saved[1:]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_set_num_threads_names_a_bad_count(bad):
    with pytest.raises(ValueError, match="set_num_threads: count must be a positive int"):
        mc.set_num_threads(bad)


def test_split_range_covers_in_order():
    for count in (0, 1, 5, 17, 64):
        for parts in (1, 2, 3, 8, 100):
            ranges = cpu_threads.split_range(count, parts)
            flat = [i for start, stop in ranges for i in range(start, stop)]
            assert flat == list(range(count))
            assert all(stop > start for start, stop in ranges) or count == 0
            assert len(ranges) <= max(1, parts)


def test_ranks_on_one_machine_share_its_cores(monkeypatch):
    """mpiexec -n P on one machine: each rank gets usable_cores() // P threads, unless the
    count was chosen (OMP_NUM_THREADS or set_num_threads)."""
    monkeypatch.setattr(cpu_threads, "_num_threads", cpu_threads._num_threads)
    monkeypatch.setattr(cpu_threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(cpu_threads, "_chosen", False)
    cpu_threads.share_cores(2)
    assert mc.get_num_threads() == 4
    cpu_threads.share_cores(16)
    assert mc.get_num_threads() == 1
    mc.set_num_threads(3)
    cpu_threads.share_cores(2)
    assert mc.get_num_threads() == 3
