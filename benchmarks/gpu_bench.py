"""Our GPU conv kernels against cuDNN (PyTorch, TF32 off), per DCGAN-64 layer at batch 64.

For every layer of the DCGAN-64 generator (transposed convs) and discriminator (convs),
forward and backward (input gradient + weight gradient) time of each implementation in
``kernels/`` — Numba tiled, CUDA C (the launcher's default tile, then each tile),
im2col + cuBLAS, and the naive Numba conv (forward of the discriminator only) — next to
PyTorch/cuDNN with ``cudnn.benchmark`` on and TF32 off. Device events, warm-up, median.
Then one DCGAN-64 training step (D step + G step, Adam, BCE with logits) of minicnn on the
GPU against the same model in PyTorch eager, if minicnn can run it yet, with the step's
host (Python) time unsynchronised and what ``minicnn.profiling.count_launches`` sees of it
on the GPU (Function applications, registered kernel runs, host syncs); ``--launch-count``
adds the full launch count of the step, counted on the CPU.

    python benchmarks/gpu_bench.py [--reps 15] [--batch 64] [--out table.md] [--budget 300]
                                   [--step-only] [--launch-count] [--profile-step]

Prints the table last. Each figure is a ratio "ours / PyTorch" measured in this process
(lower is better; <= 2.0 means at least half of cuDNN's throughput). Installs nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import statistics
import sys
import time
import traceback

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

# name, kind, C_in, C_out, input size, kernel, stride, padding  (DCGAN-64, ngf = ndf = 64)
LAYERS = [
    ("G1 100->512 1->4", "convT", 100, 512, 1, 4, 1, 0),
    ("G2 512->256 4->8", "convT", 512, 256, 4, 4, 2, 1),
    ("G3 256->128 8->16", "convT", 256, 128, 8, 4, 2, 1),
    ("G4 128->64 16->32", "convT", 128, 64, 16, 4, 2, 1),
    ("G5 64->3 32->64", "convT", 64, 3, 32, 4, 2, 1),
    ("D1 3->64 64->32", "conv", 3, 64, 64, 4, 2, 1),
    ("D2 64->128 32->16", "conv", 64, 128, 32, 4, 2, 1),
    ("D3 128->256 16->8", "conv", 128, 256, 16, 4, 2, 1),
    ("D4 256->512 8->4", "conv", 256, 512, 8, 4, 2, 1),
    ("D5 512->1 4->1", "conv", 512, 1, 4, 4, 1, 0),
]


def log(*parts):
    print(*parts, flush=True)


def import_launchers():
    """The CUDA C / cuBLAS launchers (kernels/cuda_c_host.py) and the availability checks
    (kernels/cuda_runtime.py) by name; the Numba ones are added by ``implementations``."""
    from types import SimpleNamespace

    from minicnn.kernels import cuda_c_host, cuda_runtime
    return SimpleNamespace(**{**vars(cuda_runtime), **vars(cuda_c_host)})


def implementations(L, numba_ok):
    """name -> (conv2d, input_grad, weight_grad), each taking CuPy arrays."""
    table = {}
    if numba_ok:
        from minicnn.kernels import cuda_conv_naive, cuda_conv_tiled
        T = cuda_conv_tiled
        table["numba"] = (T.conv2d_numba, T.conv2d_input_grad_numba, T.conv2d_weight_grad_numba)
    table["cuda_c"] = (L.conv2d_cuda_c, L.conv2d_input_grad_cuda_c, L.conv2d_weight_grad_cuda_c)
    for tile in ("64x64", "128x128", "128x64", "64x128"):
        table[f"cuda_c[{tile}]"] = tuple(
            (lambda *a, f=f, t=tile, **k: f(*a, tile=t, **k))
            for f in (L.conv2d_cuda_c, L.conv2d_input_grad_cuda_c, L.conv2d_weight_grad_cuda_c))
    table["im2col_cublas"] = (L.conv2d_im2col_cublas, L.conv2d_input_grad_im2col_cublas,
                              L.conv2d_weight_grad_im2col_cublas)
    if numba_ok:
        table["naive"] = (cuda_conv_naive.conv2d_naive_numba, None, None)
    return table


def time_cupy(cupy, function, reps, warmup=3):
    """Median milliseconds of function() by CUDA events on CuPy's current stream."""
    for _ in range(warmup):
        function()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        function()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def time_torch(torch, function, reps, warmup=3):
    for _ in range(warmup):
        function()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        function()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def relative_error(cupy, ours, theirs):
    a = cupy.asnumpy(ours).astype(np.float64)
    b = theirs.detach().double().cpu().numpy()
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def layer_case(layer, batch, torch, cupy):
    """Arrays of one layer in its conv view: conv2d(x_conv, w) -> y_conv, with torch twins."""
    name, kind, c_in, c_out, size, k, stride, padding = layer
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
    if kind == "conv":
        w = (rng.standard_normal((c_out, c_in, k, k)) * 0.02).astype(np.float32)
        out_size = (size + 2 * padding - k) // stride + 1
    else:   # ConvTranspose2d weight: (C_in, C_out, k, k)
        w = (rng.standard_normal((c_in, c_out, k, k)) * 0.02).astype(np.float32)
        out_size = (size - 1) * stride - 2 * padding + k
    dy = rng.standard_normal((batch, c_out, out_size, out_size)).astype(np.float32)
    flops = 2.0 * batch * c_out * out_size ** 2 * c_in * k * k if kind == "conv" else \
        2.0 * batch * c_in * size ** 2 * c_out * k * k
    return dict(name=name, kind=kind, stride=stride, padding=padding, flops=flops,
                x=cupy.asarray(x), w=cupy.asarray(w), dy=cupy.asarray(dy),
                tx=torch.tensor(x, device="cuda", requires_grad=True),
                tw=torch.tensor(w, device="cuda", requires_grad=True),
                tdy=torch.tensor(dy, device="cuda"))


def our_passes(case, functions):
    """(forward, backward) closures of one implementation for one layer."""
    conv, input_grad, weight_grad = functions
    x, w, dy = case["x"], case["w"], case["dy"]
    s, p = (case["stride"],) * 2, (case["padding"],) * 4    # the references' convention
    if case["kind"] == "conv":
        forward = lambda: conv(x, w, s, p)                                     # noqa: E731
        if input_grad is None:
            return forward, None
        backward = lambda: (input_grad(dy, w, x.shape, s, p),                  # noqa: E731
                            weight_grad(x, dy, w.shape, s, p))
    else:
        # conv_transpose2d(x, w) is conv2d's input gradient with grad_output = x;
        # its gradients are conv2d(dy, w) (input) and the weight gradient with roles swapped
        if input_grad is None:
            return None, None
        forward = lambda: input_grad(x, w, dy.shape, s, p)                     # noqa: E731
        backward = lambda: (conv(dy, w, s, p),                                 # noqa: E731
                            weight_grad(dy, x, w.shape, s, p))
    return forward, backward


def torch_passes(case, torch):
    """(forward, backward, output) of the layer in PyTorch; backward = both gradients."""
    F = torch.nn.functional
    tx, tw, tdy, s, p = case["tx"], case["tw"], case["tdy"], case["stride"], case["padding"]
    op = F.conv2d if case["kind"] == "conv" else F.conv_transpose2d

    def forward():
        with torch.no_grad():
            return op(tx, tw, None, s, p)

    y = op(tx, tw, None, s, p)

    def backward():
        return torch.autograd.grad(y, (tx, tw), tdy, retain_graph=True)

    return forward, backward, y


def check_outputs(case, functions, torch_y, torch_grads, cupy):
    """Largest relative error of our forward and gradients against PyTorch's."""
    forward, backward = our_passes(case, functions)
    errors = [relative_error(cupy, forward(), torch_y)]
    if backward is not None:
        first, second = backward()
        errors += [relative_error(cupy, first, torch_grads[0]),
                   relative_error(cupy, second, torch_grads[1])]
    return max(errors)


def bench_layers(args, L, torch, cupy, numba_ok, deadline):
    rows = []
    table = implementations(L, numba_ok)
    for layer in LAYERS:
        if time.monotonic() > deadline:
            rows.append(dict(name=layer[0], skipped="time budget spent"))
            continue
        case = layer_case(layer, args.batch, torch, cupy)
        torch_forward, torch_backward, torch_y = torch_passes(case, torch)
        torch_grads = torch_backward()
        row = dict(name=case["name"], flops=case["flops"],
                   torch=(time_torch(torch, torch_forward, args.reps),
                          time_torch(torch, torch_backward, args.reps)), ours={})
        for name, functions in table.items():
            forward, backward = our_passes(case, functions)
            if forward is None:
                continue
            try:
                error = check_outputs(case, functions, torch_y, torch_grads, cupy)
                forward_ms = time_cupy(cupy, forward, args.reps)
                backward_ms = time_cupy(cupy, backward, args.reps) if backward else None
                row["ours"][name] = (forward_ms, backward_ms, error)
            except Exception as error:  # one broken kernel must not hide the others
                row["ours"][name] = (None, None, f"{type(error).__name__}: {error}"[:120])
                traceback.print_exc()
        rows.append(row)
        log(f"  {case['name']}: done")
    return rows


def format_ms(ms):
    return "-" if ms is None else f"{ms:.3f}"


def format_ratio(ours, theirs):
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}x"


def layer_table(rows):
    names = sorted({n for r in rows for n in r.get("ours", {})},
                   key=lambda n: ["numba", "cuda_c", "cuda_c[64x64]", "cuda_c[128x128]",
                                  "cuda_c[128x64]", "cuda_c[64x128]", "im2col_cublas",
                                  "naive"].index(n))
    header = ["layer", "cuDNN fwd ms", "cuDNN bwd ms"]
    for n in names:
        header += [f"{n} fwd", f"{n} bwd"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    problems = []
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['name']} | skipped: {r['skipped']} |")
            continue
        tf, tb = r["torch"]
        cells = [r["name"], format_ms(tf), format_ms(tb)]
        for n in names:
            forward, backward, error = r["ours"].get(n, (None, None, None))
            if isinstance(error, str):
                cells += ["error", "error"]
                problems.append(f"{r['name']} {n}: {error}")
                continue
            if error is not None and error > 1e-4:
                problems.append(f"{r['name']} {n}: relative error {error:.2g} vs PyTorch")
            cells += [f"{format_ms(forward)} ({format_ratio(forward, tf)})",
                      f"{format_ms(backward)} ({format_ratio(backward, tb)})"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines, problems


def target_summary(rows):
    """Best custom kernel (numba / cuda_c) vs cuDNN on the layers with >= 64 channels."""
    lines = []
    for r in rows:
        if "skipped" in r or not r.get("ours"):
            continue
        layer = next(l for l in LAYERS if l[0] == r["name"])
        if min(layer[2], layer[3]) < 64:
            continue
        tf, tb = r["torch"]
        best = {}
        for n, (forward, backward, error) in r["ours"].items():
            if n in ("im2col_cublas", "naive") or isinstance(error, str) or forward is None:
                continue
            total = forward + (backward or 0)
            if "total" not in best or total < best["total"]:
                best = dict(name=n, total=total)
        if best:
            throughput = (tf + tb) / best["total"]
            verdict = "meets" if throughput >= 0.5 else "MISSES"
            lines.append(f"  {r['name']}: best custom {best['name']} fwd+bwd at "
                         f"{throughput:.2f}x cuDNN throughput ({verdict} the 0.5x target); "
                         f"{r['flops'] * 3 / best['total'] / 1e9:.1f} TFLOP/s")
    return lines


# ----------------------------------------------------------------------------- training step


def profile_step(step, steps=5):
    """Where a minicnn step's host time goes: Function applications per step and the
    functions with the most time of their own (cProfile), printed to the log."""
    import cProfile
    import pstats

    from minicnn.autograd import Function
    applications = [0]
    original = Function.apply.__func__

    def counting(cls, *args, **kwargs):
        applications[0] += 1
        return original(cls, *args, **kwargs)

    Function.apply = classmethod(counting)
    try:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(steps):
            step()
        profiler.disable()
    finally:
        Function.apply = classmethod(original)
    log(f"profile: {applications[0] / steps:.0f} Function applications per step")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)


def dcgan_step_comparison(args, torch, cupy):
    """Median seconds of one DCGAN-64 step in minicnn (GPU) and PyTorch eager, or why not."""
    try:
        import minicnn as mc
        import minicnn.functional as F
        import minicnn.nn as nn
        import minicnn.optim  # noqa: F401  (mc.optim below)
        needed = ["Sequential", "ConvTranspose2d", "Conv2d", "BatchNorm2d", "ReLU", "Tanh",
                  "LeakyReLU", "Flatten"]
        missing = [n for n in needed if not hasattr(nn, n)]
        missing += [] if hasattr(mc, "optim") and hasattr(mc.optim, "Adam") else ["optim.Adam"]
        missing += [] if hasattr(F, "binary_cross_entropy_with_logits") else \
            ["functional.binary_cross_entropy_with_logits"]
        if missing:
            return f"skipped: needs minicnn.nn/optim/functional: {', '.join(missing)}"
        mc.tensor(np.zeros(1, np.float32)).to("cuda")
        if not hasattr(nn.Module, "to"):
            return "skipped: needs Module.to('cuda')"
    except Exception as error:
        return f"skipped: needs minicnn on the GPU ({type(error).__name__}: {error})"

    def build(library):
        n = library.nn
        G = n.Sequential(
            n.ConvTranspose2d(100, 512, 4, 1, 0, bias=False), n.BatchNorm2d(512), n.ReLU(),
            n.ConvTranspose2d(512, 256, 4, 2, 1, bias=False), n.BatchNorm2d(256), n.ReLU(),
            n.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), n.BatchNorm2d(128), n.ReLU(),
            n.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), n.BatchNorm2d(64), n.ReLU(),
            n.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), n.Tanh())
        D = n.Sequential(
            n.Conv2d(3, 64, 4, 2, 1, bias=False), n.LeakyReLU(0.2),
            n.Conv2d(64, 128, 4, 2, 1, bias=False), n.BatchNorm2d(128), n.LeakyReLU(0.2),
            n.Conv2d(128, 256, 4, 2, 1, bias=False), n.BatchNorm2d(256), n.LeakyReLU(0.2),
            n.Conv2d(256, 512, 4, 2, 1, bias=False), n.BatchNorm2d(512), n.LeakyReLU(0.2),
            n.Conv2d(512, 1, 4, 1, 0, bias=False), n.Flatten())
        return G.to("cuda"), D.to("cuda")

    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (args.batch, 3, 64, 64)).astype(np.float32)
    noises = [rng.standard_normal((args.batch, 100, 1, 1)).astype(np.float32) for _ in range(4)]

    def make_step(library, tensor, functional, synchronize):
        G, D = build(library)
        opt_g = library.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = library.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        real_batch = tensor(real)
        ones, zeros = tensor(np.ones((args.batch, 1), np.float32)), tensor(
            np.zeros((args.batch, 1), np.float32))
        bce = functional.binary_cross_entropy_with_logits
        counter = [0]

        def step():
            z = tensor(noises[counter[0] % len(noises)])
            counter[0] += 1
            fake = G(z)
            opt_d.zero_grad()
            loss_d = bce(D(real_batch), ones) + bce(D(fake.detach()), zeros)
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(D(fake), ones)
            loss_g.backward()
            opt_g.step()
            synchronize()
        return step

    def host_and_counts(synchronize):
        """Host (Python) time of an unsynchronised step (median of 5, the device drained
        between steps) and the launch counter's view of one more step."""
        from minicnn.profiling import count_launches
        step = make_step(mc, lambda a: mc.tensor(a).to("cuda"), F, lambda: None)
        for _ in range(3):
            step()
            synchronize()
        host = []
        for _ in range(5):
            start = time.perf_counter()
            step()
            host.append(time.perf_counter() - start)
            synchronize()
        with count_launches() as counts:
            step()
            synchronize()
        return statistics.median(host), counts

    def median_seconds(step, reps=10, warmup=3):
        for _ in range(warmup):
            step()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    from minicnn import registry
    conv_ops = ("conv2d", "conv2d_input_grad", "conv2d_weight_grad")
    try:
        torch_step = make_step(torch, lambda a: torch.tensor(a, device="cuda"),
                               torch.nn.functional, torch.cuda.synchronize)
        torch_seconds = median_seconds(torch_step)
        ours = {}
        # the registry's default pick first, then each conv implementation forced
        for name in (None,) + tuple(n for n in registry.implementations("conv2d", "cuda")
                                    if n != "reference"):
            with contextlib.ExitStack() as stack:
                for op in conv_ops:
                    if name is not None:
                        stack.enter_context(registry.use(op, name, "cuda"))
                ours_step = make_step(mc, lambda a: mc.tensor(a).to("cuda"), F,
                                      lambda: cupy.cuda.Device().synchronize())
                ours[name or f"default ({registry.get('conv2d', 'cuda').name})"] = \
                    median_seconds(ours_step)
                if args.profile_step and name == "cuda_c":
                    profile_step(ours_step)
                if name is None:
                    host_seconds, counts = host_and_counts(
                        lambda: cupy.cuda.Device().synchronize())
    except Exception as error:
        traceback.print_exc()
        return f"failed: {type(error).__name__}: {error}"[:300]
    lines = [f"DCGAN-64 training step, batch {args.batch}: PyTorch eager "
             f"{torch_seconds * 1e3:.1f} ms; minicnn with the convolutions by:"]
    for name, seconds in ours.items():
        lines.append(f"  {name}: {seconds * 1e3:.1f} ms, ratio {seconds / torch_seconds:.2f}x "
                     "(target <= 1.5x)")
    lines.append(f"  default, per step: host (Python) time {host_seconds * 1e3:.1f} ms "
                 f"unsynchronised; {counts.applications} Function applications, "
                 f"{counts.kernels()} registered kernel runs, {sum(counts.syncs.values())} "
                 "host syncs counted (CuPy's own launches are counted on the CPU: "
                 "--launch-count, benchmarks/launch_count.py)")
    return "\n".join(lines)


def cpu_launch_count(batch: int) -> str:
    """The host-side launch count of a DCGAN-64 step, counted on the CPU (the same code
    through NumPy; ``benchmarks/launch_count.py``)."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from launch_count import count_training_steps, dcgan64_training
        counts = count_training_steps(dcgan64_training(batch, 64))
    except Exception as error:
        traceback.print_exc()
        return f"launch count failed: {type(error).__name__}: {error}"[:300]
    return (f"DCGAN-64 step launches, counted on the CPU (batch {batch}, Adam foreach):\n"
            + counts.report(15))


# ----------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for everything")
    parser.add_argument("--out", help="also write the report (markdown) to this file")
    parser.add_argument("--step-only", action="store_true",
                        help="skip the per-layer table: only the DCGAN-64 training step")
    parser.add_argument("--launch-count", action="store_true",
                        help="also count a DCGAN-64 step's launches on the CPU "
                        "(benchmarks/launch_count.py; numba compiles its CPU kernels first)")
    parser.add_argument("--profile-step", action="store_true",
                        help="also profile minicnn's step (cuda_c convolutions) with cProfile")
    args = parser.parse_args(argv)
    started = time.monotonic()
    deadline = started + args.budget - 60     # keep time for the training step

    L = import_launchers()
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not L.cupy_available():
        log("gpu_bench: skipped: needs a CUDA GPU with CuPy (none here)")
        return 0
    try:
        import torch
    except ImportError:
        log("gpu_bench: skipped: needs PyTorch with CUDA for the cuDNN baseline")
        return 0
    if not torch.cuda.is_available():
        log("gpu_bench: skipped: PyTorch sees no CUDA device")
        return 0
    import cupy

    torch.backends.cuda.matmul.allow_tf32 = False      # fp32 against fp32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    numba_ok = L.numba_cuda_available()
    device = torch.cuda.get_device_name()
    header = [f"# GPU benchmark, {datetime.date.today()}, {device}",
              f"cupy {cupy.__version__}, torch {torch.__version__} (cuDNN "
              f"{torch.backends.cudnn.version()}), TF32 off, batch {args.batch}, "
              f"median of {args.reps} after warm-up, CUDA events",
              "numba kernels: " + ("yes" if numba_ok else
                                   "skipped: numba.cuda cannot launch here")]
    log("\n".join(header))
    log("warming up and timing each layer ...")
    rows = [] if args.step_only else bench_layers(args, L, torch, cupy, numba_ok, deadline)
    table, problems = layer_table(rows)

    def report(step_line):
        lines = header + [
            "", "Per layer: time in ms (ratio ours / cuDNN; forward; backward = input grad + "
            "weight grad). G layers are ConvTranspose2d, D layers Conv2d.", ""] + table
        lines += ["", "Target (best custom kernel >= 0.5x cuDNN throughput, layers >= 64 "
                  "channels):"]
        lines += target_summary(rows) or ["  no layer measured"]
        lines += ["", step_line]
        if problems:
            lines += ["", "PROBLEMS:"] + [f"  {p}" for p in problems]
        lines += ["", f"total {time.monotonic() - started:.0f} s"]
        text = "\n".join(lines)
        if args.out:     # written before the training step too, in case a time limit hits
            with open(args.out, "w", encoding="utf-8") as file:
                file.write(text + "\n")
        return text

    report("DCGAN-64 training step: not finished (the time limit hit it?)")
    log("DCGAN-64 training step ...")
    step_line = dcgan_step_comparison(args, torch, cupy)
    if args.launch_count:
        step_line += "\n\n" + cpu_launch_count(args.batch)
    log("\n" + report(step_line))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
