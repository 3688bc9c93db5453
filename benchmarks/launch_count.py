"""Launches per DCGAN-64 training step, counted on the CPU (issue 16: count before you cut).

On a GPU each array operation of a step is a kernel launch with a few microseconds of host
time, so the count bounds the step's speed whatever the kernels cost. The CPU step runs
the same code through NumPy, so ``minicnn.profiling.count_launches`` counts it here, on
any machine: one step of ``GANTraining("dcgan64")`` (D step + G step, Adam, BCE with
logits; ``minicnn/gan/dcgan.py``), after one uncounted warm-up step.

    python benchmarks/launch_count.py [--batch 64] [--width 64] [--steps 1] [--top 15]
                                      [--foreach / --no-foreach]

Prints launches per step (and how many were registered kernel runs), the ``--top`` launch
kinds, Function applications (by class) and host synchronisations. ``--no-foreach``
counts the per-parameter optimizer loop instead of the fused step. Not a timing
benchmark: the counter's own bookkeeping slows the step several times.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def dcgan64_training(batch: int, width: int, foreach: bool = True):
    """A DCGAN-64 ``GANTraining`` on random images (two batches' worth), its optimizers'
    ``foreach`` set as asked."""
    from minicnn.gan.train import GANTraining
    images = np.random.default_rng(0).uniform(-1, 1, (2 * batch, 1, 64, 64)).astype(np.float32)
    training = GANTraining("dcgan64", dict(batch_size=batch, width=width), images=images)
    for optimizer in training.parts.optimizers.values():
        optimizer.foreach = foreach
    return training


def count_training_steps(training, steps: int = 1):
    """``LaunchCounts`` of ``steps`` steps of ``training`` (after one warm-up step)."""
    from minicnn.profiling import count_launches
    training.train_step()
    objects = list(training.parts.models.values()) + list(training.parts.optimizers.values())
    with count_launches(*objects) as counts:
        for _ in range(steps):
            training.train_step()
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--foreach", action=argparse.BooleanOptionalAction, default=True,
                        help="the optimizers' fused step (default) or the per-parameter loop")
    args = parser.parse_args(argv)
    training = dcgan64_training(args.batch, args.width, args.foreach)
    counts = count_training_steps(training, args.steps)
    print(f"DCGAN-64 step (batch {args.batch}, width {args.width}, Adam "
          f"foreach={args.foreach}), per step, counted on the CPU:")
    print(counts.report(args.top, per=args.steps))
    print("Function applications by class:")
    for name, n in counts.functions.most_common():
        print(f"  {n / args.steps:>6.0f}  {name}")
    if counts.syncs:
        print("host syncs: " + ", ".join(f"{k} {v / args.steps:.0f}"
                                         for k, v in counts.syncs.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
