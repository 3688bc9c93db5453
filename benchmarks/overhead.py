"""Per-op overhead: a chain of 1,000 small elementwise ops, forward + backward, minicnn vs
PyTorch in the same process (rounds interleaved, medians). Prints the ratio.

    python benchmarks/overhead.py [--ops 1000] [--rounds 15]

What it measures: the fixed cost of one op in the engine (creating the Function and the
output Tensor, recording the graph, the walk), not arithmetic: the tensors have 16 elements.
"""
import argparse
import statistics
import time

import numpy as np


def minicnn_chain(ops):
    import minicnn as mc

    x = mc.tensor(np.linspace(-1, 1, 16, dtype=np.float32), requires_grad=True)

    def run():
        y = x
        for i in range(ops // 3):
            y = (y * 0.999 + 0.001).tanh()
        y.sum().backward()
        x.grad = None

    return run


def torch_chain(ops):
    import torch

    torch.set_num_threads(1)
    x = torch.linspace(-1, 1, 16, requires_grad=True)

    def run():
        y = x
        for i in range(ops // 3):
            y = (y * 0.999 + 0.001).tanh()
        y.sum().backward()
        x.grad = None

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=999)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    runners = {"minicnn": minicnn_chain(args.ops), "pytorch": torch_chain(args.ops)}
    times = {name: [] for name in runners}
    for name, run in runners.items():
        run()  # warm-up
    for _ in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(f"{name:8s} {median * 1e3:8.2f} ms per chain   {median / args.ops * 1e6:6.2f} us per op")
    print(f"ratio minicnn / pytorch: {medians['minicnn'] / medians['pytorch']:.2f}x "
          f"(goal: within 5x)")


if __name__ == "__main__":
    main()
