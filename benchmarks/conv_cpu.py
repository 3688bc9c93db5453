"""CPU convolution, minicnn against PyTorch: the DCGAN layers, forward + backward.

Run:  python benchmarks/conv_cpu.py            (batch 64, 7 rounds: a few minutes)
      python benchmarks/conv_cpu.py --quick    (smoke run: batch 8, 2 rounds, seconds)

The layers are a DCGAN's 4x4, stride 2, padding 1 convolutions at batch 64: the
discriminator's conv2d (3->64 at 64x64, 64->128 at 32x32, 128->256 at 16x16, 256->512 at
8x8) and the generator's conv_transpose2d (512->256 at 4x4, 256->128 at 8x8, 128->64 at
16x16, 64->3 at 32x32). One measurement is forward + backward (gradients of the input
and the weight, no bias), float32.

minicnn and PyTorch each run in a process of their own (two thread pools on two cores
would fight), both with 2 threads, driven by this script one at a time: each round
asks every layer of minicnn, then the same layer of PyTorch, so slow drift of a shared
machine hits both alike. The table shows medians and their ratio (minicnn / PyTorch);
the target is a summed ratio of at most 1.25 and no layer above 1.5.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

THREADS = 2
# (name, kind, in channels, out channels, input size)
LAYERS = [
    ("D1 conv 3->64 @64", "conv", 3, 64, 64),
    ("D2 conv 64->128 @32", "conv", 64, 128, 32),
    ("D3 conv 128->256 @16", "conv", 128, 256, 16),
    ("D4 conv 256->512 @8", "conv", 256, 512, 8),
    ("G1 convT 512->256 @4", "transpose", 512, 256, 4),
    ("G2 convT 256->128 @8", "transpose", 256, 128, 8),
    ("G3 convT 128->64 @16", "transpose", 128, 64, 16),
    ("G4 convT 64->3 @32", "transpose", 64, 3, 32),
]
TARGET_SUM, TARGET_LAYER = 1.25, 1.5


# ---------------------------------------------------------------------------------------
# Workers: one process per library, answering "run LAYER REPEATS" with a list of seconds.
# ---------------------------------------------------------------------------------------
def _arrays(kind, c_in, c_out, size, batch, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
    weight_shape = (c_out, c_in, 4, 4) if kind == "conv" else (c_in, c_out, 4, 4)
    w = (rng.standard_normal(weight_shape) * 0.05).astype(np.float32)
    out = size // 2 if kind == "conv" else size * 2
    g = rng.standard_normal((batch, c_out, out, out)).astype(np.float32)
    return x, w, g


def _minicnn_step(batch):
    import minicnn as mc
    from minicnn.ops.conv import conv2d, conv_transpose2d

    def make(kind, c_in, c_out, size, seed):
        x, w, g = (mc.tensor(a) for a in _arrays(kind, c_in, c_out, size, batch, seed))
        x.requires_grad_()
        w.requires_grad_()
        op = conv2d if kind == "conv" else conv_transpose2d

        def step():
            x.grad = w.grad = None
            op(x, w, stride=2, padding=1).backward(g)
        return step
    return make


def _torch_step(batch):
    import torch

    torch.set_num_threads(THREADS)

    def make(kind, c_in, c_out, size, seed):
        x, w, g = (torch.from_numpy(a) for a in _arrays(kind, c_in, c_out, size, batch, seed))
        x.requires_grad_()
        w.requires_grad_()
        op = (torch.nn.functional.conv2d if kind == "conv"
              else torch.nn.functional.conv_transpose2d)

        def step():
            x.grad = w.grad = None
            op(x, w, stride=2, padding=1).backward(g)
        return step
    return make


def worker(library: str, batch: int) -> None:
    make = _minicnn_step(batch) if library == "minicnn" else _torch_step(batch)
    steps = [make(kind, c_in, c_out, size, seed)
             for seed, (_, kind, c_in, c_out, size) in enumerate(LAYERS)]
    for step in steps:  # warm-up: JIT compilation (or the disk cache), allocator, caches
        step()
        step()
    info = {"library": library}
    if library == "minicnn":
        from minicnn import registry

        info["implementations"] = {op: registry.last_used(op) for op in
                                   ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")}
        import minicnn as mc

        info["minicnn_threads"] = mc.get_num_threads()  # OMP_NUM_THREADS below
    else:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        _, layer, repeats = line.split()
        times = []
        for _ in range(int(repeats)):
            start = time.perf_counter()
            steps[int(layer)]()
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)


# ---------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------
def _start(library: str, batch: int) -> subprocess.Popen:
    env = dict(os.environ)
    # Both libraries get the same two cores' worth of threads (minicnn: its own pool,
    # with NumPy's BLAS held to one thread inside it; PyTorch: its OpenMP and BLAS).
    env.update(OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", library, "--batch", str(batch)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def _ask(process: subprocess.Popen, layer: int, repeats: int) -> list[float]:
    process.stdin.write(f"run {layer} {repeats}\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"benchmark worker {process.args[3]} died (exit code "
                           f"{process.wait()})")
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: batch 8, 2 rounds of 1 repeat")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 64)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (7)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps per layer per round (3)")
    parser.add_argument("--worker", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    batch = args.batch or (8 if args.quick else 64)
    if args.worker:
        worker(args.worker, batch)
        return
    rounds = args.rounds or (2 if args.quick else 7)
    repeats = args.repeats or (1 if args.quick else 3)

    print(f"minicnn vs PyTorch, CPU conv forward+backward, float32, batch {batch}, "
          f"{THREADS} threads each, {rounds} rounds x {repeats} steps")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    processes = {name: _start(name, batch) for name in ("minicnn", "torch")}
    try:
        for name, process in processes.items():
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"benchmark worker {name} failed to start")
            print(f"  {name}: {line.strip()}")
        times = {name: [[] for _ in LAYERS] for name in processes}
        for _ in range(rounds):
            for layer in range(len(LAYERS)):
                for name, process in processes.items():
                    times[name][layer] += _ask(process, layer, repeats)
                    time.sleep(0.05)  # let the other process's spinning threads go idle
    finally:
        for process in processes.values():
            process.stdin.close()
            process.wait()

    print()
    print(f"{'layer':<24}{'minicnn ms':>12}{'PyTorch ms':>12}{'ratio':>8}")
    total_mc = total_torch = 0.0
    worst = 0.0
    for layer, (name, *_rest) in enumerate(LAYERS):
        mc_ms = statistics.median(times["minicnn"][layer]) * 1e3
        torch_ms = statistics.median(times["torch"][layer]) * 1e3
        total_mc, total_torch = total_mc + mc_ms, total_torch + torch_ms
        worst = max(worst, mc_ms / torch_ms)
        print(f"{name:<24}{mc_ms:>12.1f}{torch_ms:>12.1f}{mc_ms / torch_ms:>8.2f}")
    summed = total_mc / total_torch
    print(f"{'sum':<24}{total_mc:>12.1f}{total_torch:>12.1f}{summed:>8.2f}")
    verdict = "meets" if summed <= TARGET_SUM and worst <= TARGET_LAYER else "misses"
    print(f"\nsummed ratio {summed:.2f} (target <= {TARGET_SUM}), worst layer {worst:.2f} "
          f"(target <= {TARGET_LAYER}): {verdict} the target"
          + (" (quick run: not a measurement)" if args.quick else ""))


if __name__ == "__main__":
    main()
