"""Lesson 16: data parallelism. Two processes, one model, gradients averaged by MPI.

What you will learn:
  1. Why averaging gradients equals one big batch. The loss of a batch of 2B samples is the
     mean of two half-batch losses, so its gradient is the mean of the two half-batch
     gradients. Each process (rank) computes the gradient of its half; an all-reduce adds
     them up on every rank; divided by 2, every rank holds the big batch's gradient and
     takes the same step. Shown here in float64: the two agree to the last bits (the sums
     run in another order, so a difference of about 1e-16 relative can remain).
  2. What an all-reduce costs: every step sends every gradient, 4 bytes per float32
     parameter, 2 (N - 1) / N times over in MPI's ring (reduce-scatter, then all-gather).
     Measured below in bytes and milliseconds per step.
  3. What it buys on this machine: the same training step timed as 1 process on 1 thread,
     1 process on 2 threads, and 2 processes on 1 thread each (``mpiexec -n 2``), each rank
     doing half of the batch.

What to look at: ``lessons/out/16_data_parallel.png``: time per training step of the
three set-ups, with the all-reduce's share of the 2-process step. The printed table has
the numbers. The same code trains on a cluster: ``mpiexec -n 8 -f hosts python ...``
(a host file lists the machines), nothing else changes.

The training commands do the same: ``mpiexec -n 2 minicnn train dcgan --batch-size 64``
trains on the global batches of 64 that ``minicnn train dcgan --batch-size 64`` uses, 32
per rank (``minicnn/distributed/batch_split.py`` shows how: the slice, the weighted
gradient sum, the random numbers drawn for the global batch, rank 0 alone writing).

Needs ``pip install "minicnn[distributed]"`` (mpi4py and MPICH: ``mpiexec``); without it
parts 2 and 3 are skipped with a note. Time: about 10 seconds on a 2-core laptop CPU
(``--fast``: about 5).
Run: ``python lessons/16_data_parallel.py``
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn import functional as F
from minicnn import nn, optim
from minicnn.lesson import check, parse_args

BATCH = 64


def cnn() -> nn.Sequential:
    mc.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def batches(steps: int, batch: int):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((steps, batch, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, (steps, batch)))


def part_one_equivalence() -> None:
    print("1. The gradient of one batch of 8 = the mean of the gradients of its two halves")
    model = cnn().double()
    x, y = batches(1, 8)
    x, y = mc.tensor(x[0].astype(np.float64)), mc.tensor(y[0])
    whole = mc.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    halves = [mc.grad(F.cross_entropy(model(x[k * 4:(k + 1) * 4]), y[k * 4:(k + 1) * 4]),
                      list(model.parameters())) for k in range(2)]
    worst = max(float(np.abs(w.numpy() - (a.numpy() + b.numpy()) / 2).max()
                      / (np.abs(w.numpy()).max() + 1e-300))
                for w, a, b in zip(whole, *halves))
    print(f"   largest relative difference over {len(whole)} parameter gradients: {worst:.1e}")
    check(worst < 1e-14, "averaging the halves' gradients gives the whole batch's (float64)")


def worker(steps: int) -> None:
    """Run by each rank under mpiexec: timed training steps with DDP, and the all-reduce."""
    import minicnn.distributed as dist
    from minicnn.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = DistributedDataParallel(cnn())
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    x, y = batches(steps + 1, BATCH)
    shard = BATCH // world
    times = []
    for step in range(steps + 1):  # step 0 compiles the kernels: not timed
        dist.barrier()
        start = time.perf_counter()
        loss = F.cross_entropy(model(mc.tensor(x[step, rank * shard:(rank + 1) * shard])),
                               mc.tensor(y[step, rank * shard:(rank + 1) * shard]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    flat = mc.zeros(sum(p.numel() for p in model.parameters()))
    reduce_times = []
    for _ in range(max(steps, 3)):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        reduce_times.append(time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"step": float(np.median(times[1:])),
                          "allreduce": float(np.median(reduce_times)),
                          "bytes": int(flat.array.nbytes), "world": world}))


def single_process(steps: int) -> float:
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    x, y = batches(steps + 1, BATCH)
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = F.cross_entropy(model(mc.tensor(x[step])), mc.tensor(y[step]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def run(command: list[str], threads: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    env.update(OMP_NUM_THREADS=str(threads))  # minicnn's thread count (mc.get_num_threads())
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def main(argv=None):
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--worker":
        return worker(int(sys.argv[2]))
    args = parse_args(__doc__, argv)
    steps = 2 if args.fast else 12
    part_one_equivalence()
    mpiexec = shutil.which("mpiexec") or str(Path(sys.executable).parent / "mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ModuleNotFoundError:
        print("\nmpi4py is not installed: parts 2 and 3 skipped "
              '(pip install "minicnn[distributed]")')
        return
    if not Path(mpiexec).exists():
        print("\nmpiexec not found: parts 2 and 3 skipped")
        return

    print(f"\n2./3. The training step (batch {BATCH}, a 2-conv CNN), median of {steps} steps")
    me = [sys.executable, __file__]
    results = {}
    for label, threads in (("1 process, 1 thread", 1), ("1 process, 2 threads", 2)):
        results[label] = float(run(me + ["--single", str(steps)], threads))
    two = json.loads(run([mpiexec, "-n", "2"] + me + ["--worker", str(steps)], 1))
    results["2 processes, 1 thread each"] = two["step"]
    sent = 2 * (two["world"] - 1) / two["world"] * two["bytes"]
    print(f"   all-reduce of the {two['bytes']:,} gradient bytes: {two['allreduce'] * 1e3:.2f} ms "
          f"(each rank sends and receives {sent:,.0f} bytes a step)")
    base = results["1 process, 1 thread"]
    print("   set-up                        ms/step   speed-up")
    for label, seconds in results.items():
        print(f"   {label:28s}  {seconds * 1e3:7.1f}   {base / seconds:5.2f}x")
    check(all(np.isfinite(list(results.values()))), "every set-up trained")
    check(two["allreduce"] < two["step"], "the all-reduce is a part of the step, not all of it")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3))
    labels = list(results)
    axis.barh(labels, [results[k] * 1e3 for k in labels], color=["#888", "#58a", "#5a8"])
    axis.barh(labels[-1:], [two["allreduce"] * 1e3], color="#c55", label="all-reduce")
    axis.set_xlabel("ms per training step (lower is faster)")
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(args.out / "16_data_parallel.png", dpi=100)
    print(f"\nPicture: {args.out}/16_data_parallel.png")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--single":
        print(single_process(int(sys.argv[2])))
    else:
        main()
