"""Training-step time, minicnn against PyTorch CPU, in every setting a user meets.

    python benchmarks/step.py                          # everything (about 6 minutes)
    python benchmarks/step.py --gans dcgan28 --rounds 5 --settings idle
    python benchmarks/step.py --settings idle,busy --blas unset
    python benchmarks/step.py --memory --gans dcgan64    # peak memory of a step instead

For each GAN (DCGAN-28 at width 64, DCGAN-64 at width 64, WGAN-GP at width 32, batch 64,
float32, Adam) the same models start from the same weights and take the same steps on
the same batches (``gan_twin.py``'s twins); minicnn's and PyTorch's steps alternate in
one process and the median wall time of each is printed with the ratio, at one thread
and at the default thread count (minicnn's ``mc.get_num_threads()`` and PyTorch's own
default, which is what a user gets), in four settings:

* ``--blas set``/``unset``: with the machine's ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``
  as they are, and with both removed from the child process (users' machines do not
  have them); the BLAS kernel each side uses is printed (threadpoolctl).
* ``--settings idle``/``busy``: alone, and with one competing busy process (a Python loop
  at normal priority) for the whole measurement.

``--memory`` measures peak memory instead of time: each side runs its steps alone in a
fresh child process (both models are built in both, so the libraries loaded are the
same). Printed: the resident set size with the libraries loaded and the models built,
after one step of a tiny twin (width 4, batch 4: Numba's kernels loaded from its cache,
PyTorch's first-call set-up), the peak (``getrusage``) over the steps, and the peak's
growth over the warm size: the memory the step itself needs. A last row runs minicnn's
steps in a process that never loads PyTorch, as a user runs them (the PyTorch side has
no such row: its twin is built from minicnn's weights, so minicnn is loaded there too).

Each setting runs in a fresh child process. The WGAN-GP step is 5 critic steps (gradient
penalty: a double backward) and one generator step. PyTorch is needed; minicnn never
imports it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GANS = {"dcgan28": ("dcgan", 64, 28), "dcgan64": ("dcgan64", 64, 64),
        "wgan-gp": ("wgan-gp", 32, 28)}
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_kernels() -> str:
    """The BLAS libraries loaded in this process and their CPU kernels."""
    from threadpoolctl import threadpool_info

    return ", ".join(f"{os.path.basename(p['filepath']).split('.')[0]}: "
                     f"{p.get('architecture')}" for p in threadpool_info()
                     if p["user_api"] == "blas")


def time_gan(name: str, threads, rounds: int, warmup: int = 2) -> dict:
    """Median wall ms per step of each side, the rounds interleaved."""
    import torch

    import minicnn as mc
    from gan_twin import Twins

    kind, width, size = GANS[name]
    default_mc, default_torch = mc.get_num_threads(), torch.get_num_threads()
    mc.set_num_threads(default_mc if threads == "default" else threads)
    torch.set_num_threads(default_torch if threads == "default" else threads)
    try:
        twins = Twins(kind, width, seed=0, dtype=np.float32)
        rng = np.random.default_rng(0)
        batch = 64 * twins.batches_per_step()
        times = {"minicnn": [], "pytorch": []}
        for index in range(warmup + rounds):
            real = rng.uniform(-1, 1, (batch, 1, size, size)).astype(np.float32)
            for side, step in (("minicnn", twins.step_minicnn), ("pytorch", twins.step_torch)):
                started = time.perf_counter()
                step(real)
                if index >= warmup:
                    times[side].append((time.perf_counter() - started) * 1000)
        return {"gan": name, "threads": threads if threads != "default" else
                f"default ({mc.get_num_threads()} / {torch.get_num_threads()})",
                "minicnn": statistics.median(times["minicnn"]),
                "pytorch": statistics.median(times["pytorch"])}
    finally:
        mc.set_num_threads(default_mc)
        torch.set_num_threads(default_torch)


def child(arguments) -> None:
    sys.path.insert(0, HERE)
    import torch  # noqa: F401  (loaded before the kernels are listed)

    import minicnn  # noqa: F401  (holds NumPy's BLAS to one thread)

    print(json.dumps({"blas_kernels": blas_kernels()}), flush=True)
    for name in arguments.gans.split(","):
        for threads in (1, "default"):
            print(json.dumps(time_gan(name, threads, arguments.rounds)), flush=True)


def memory_child(arguments) -> None:
    """Peak RSS of steps of one side only (``arguments.memory_side``), in MB."""
    import resource

    sys.path.insert(0, HERE)
    from gan_twin import Twins

    kind, width, size = GANS[arguments.gans]
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if arguments.memory_side == "minicnn-alone":  # as a user runs it: PyTorch never loaded
        from gan_twin import RECIPES

        import minicnn as mc

        recipe = RECIPES[kind]()
        parts = recipe.build(recipe.config(width=width, lr=2e-4))
        rng = np.random.default_rng(0)
        batch = 64 * (int(recipe.config().get("n_critic", 1)) if kind == "wgan-gp" else 1)
        for step in range(arguments.rounds):
            real = rng.uniform(-1, 1, (batch, 1, size, size)).astype(np.float32)
            recipe.train_step(parts, mc.tensor(real), step, rng)
        assert "torch" not in sys.modules
        print(json.dumps({"peak": peak_mb()}), flush=True)
        return
    twins, tiny = (Twins(kind, w, seed=0, dtype=np.float32) for w in (width, 4))
    side = arguments.memory_side
    step, tiny_step = ((t.step_minicnn if side == "minicnn" else t.step_torch)
                       for t in (twins, tiny))
    rng = np.random.default_rng(0)
    batch = 64 * twins.batches_per_step()
    reals = [rng.uniform(-1, 1, (batch, 1, size, size)).astype(np.float32)
             for _ in range(arguments.rounds)]
    built = peak_mb()
    tiny_step(reals[0][:4 * twins.batches_per_step()])
    warm = peak_mb()
    for real in reals:
        step(real)
    print(json.dumps({"built": built, "warm": warm, "peak": peak_mb()}), flush=True)


def run_memory(arguments) -> None:
    print(f"# benchmarks/step.py --memory, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{arguments.rounds} steps per side, each side alone in its own process")
    print("| GAN | side | RSS built MB | RSS warm MB | peak RSS MB | step's growth MB |")
    print("|---|---|---|---|---|---|")
    growth = {}
    for name in arguments.gans.split(","):
        for side in ("minicnn", "pytorch"):
            output = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--memory-side", side, "--gans",
                 name, "--rounds", str(arguments.rounds)], capture_output=True, text=True,
                check=True).stdout
            row = json.loads(output.splitlines()[-1])
            growth[side] = (row["peak"], row["peak"] - row["warm"])
            print(f"| {name} | {side} | {row['built']:.0f} | {row['warm']:.0f} | "
                  f"{row['peak']:.0f} | {growth[side][1]:.0f} |", flush=True)
        alone = json.loads(subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--memory-side", "minicnn-alone",
             "--gans", name, "--rounds", str(arguments.rounds)], capture_output=True,
            text=True, check=True).stdout.splitlines()[-1])["peak"]
        print(f"| {name} | minicnn, PyTorch not loaded | | | {alone:.0f} | |")
        print(f"| {name} | minicnn / PyTorch | | | "
              f"{growth['minicnn'][0] / growth['pytorch'][0]:.2f}x | "
              f"{growth['minicnn'][1] / growth['pytorch'][1]:.2f}x |")


def run_setting(arguments, blas: str, setting: str) -> list[dict]:
    environment = dict(os.environ)
    if blas == "unset":
        for variable in BLAS_OVERRIDES:
            environment.pop(variable, None)
    busy = None
    if setting == "busy":
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", "--gans", arguments.gans,
             "--rounds", str(arguments.rounds)], env=environment, capture_output=True,
            text=True, check=True).stdout
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gans", default="dcgan28,dcgan64,wgan-gp",
                        help="comma-separated, of: " + ", ".join(GANS))
    parser.add_argument("--rounds", type=int, default=7, help="timed steps per side")
    parser.add_argument("--blas", default="set,unset", help="set, unset or both")
    parser.add_argument("--settings", default="idle,busy", help="idle, busy or both")
    parser.add_argument("--memory", action="store_true",
                        help="peak memory of the steps instead of their time")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-side", choices=("minicnn", "pytorch", "minicnn-alone"),
                        help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    for name in arguments.gans.split(","):
        if name not in GANS:
            parser.error(f"--gans: unknown GAN {name!r} (choose from {', '.join(GANS)})")
    if arguments.memory_side:
        memory_child(arguments)
        return
    if arguments.child:
        child(arguments)
        return
    if arguments.memory:
        run_memory(arguments)
        return
    print(f"# benchmarks/step.py, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    print("| BLAS override | setting | GAN | threads | minicnn ms | PyTorch ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    kernels = {}
    one_thread = {}
    for blas in arguments.blas.split(","):
        for setting in arguments.settings.split(","):
            rows = run_setting(arguments, blas, setting)
            kernels[blas] = rows[0]["blas_kernels"]
            for row in rows[1:]:
                key = (blas, row["gan"])
                if row["threads"] == 1 and setting == "idle":
                    one_thread[key] = row["minicnn"]
                note = ""
                if row["threads"] != 1 and key in one_thread:
                    note = f" (minicnn {one_thread[key] / row['minicnn']:.2f}x its 1-thread speed)"
                print(f"| {blas} | {setting} | {row['gan']} | {row['threads']} | "
                      f"{row['minicnn']:.1f} | {row['pytorch']:.1f} | "
                      f"{row['minicnn'] / row['pytorch']:.2f}x{note} |", flush=True)
    for blas, line in kernels.items():
        print(f"BLAS override {blas}: {line}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
