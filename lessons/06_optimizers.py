"""Lesson 06: optimizers, watched on a 2-D surface.

What you will learn:
  1. What one optimizer step is: read ``p.grad``, change ``p.array`` in place. Plain
     gradient descent (GD) is ``p <- p - lr * grad``; we check minicnn's SGD against that.
  2. Why GD is slow in a long, curved valley (the Rosenbrock function): the gradient points
     across the valley, not along it, so the learning rate that is safe across is tiny along.
  3. How the fixes work: momentum accumulates speed along the valley floor; RMSprop divides
     each coordinate's gradient by its typical size, so both coordinates move at similar
     speeds; Adam does both, with bias correction for the first steps.

What to look at: ``lessons/out/06_optimizers.png``. Left: the contour lines of the valley and
each optimizer's path from the same start (GD crawls, momentum swings along the floor and
overshoots, RMSprop and Adam take near-constant-size steps). Right: the loss per step on a
log scale; RMSprop's spikes near the end are its constant-size steps bouncing around the
bottom (a decaying learning rate, ``minicnn.optim.lr_scheduler``, calms them).

Time: about 3 seconds on a laptop CPU (``--fast``: about 1 second).
Run: ``python lessons/06_optimizers.py``
"""
import numpy as np

from minicnn.lesson import check, parse_args
from minicnn.nn import Parameter
from minicnn.optim import SGD, Adam, RMSprop

START = (-1.5, 2.0)
MINIMUM = (1.0, 1.0)


def rosenbrock(p):
    """f(x, y) = (1 - x)^2 + 10 (y - x^2)^2: a curved valley along y = x^2, minimum at (1, 1).
    Works on a minicnn Tensor of shape (2,) and on NumPy grids (p[0], p[1] arrays)."""
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 10 * (y - x * x) ** 2


def run(make_optimizer, steps):
    """Minimise ``rosenbrock`` from START; returns the path (steps + 1, 2) and the losses."""
    point = Parameter(np.array(START))  # float64: the path is exact, not float32-noisy
    optimizer = make_optimizer([point])
    path, losses = [point.numpy().copy()], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = rosenbrock(point)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        path.append(point.numpy().copy())
    return np.array(path), np.array(losses)


def main(argv=None):
    args = parse_args(__doc__, argv)
    steps = 300 if args.fast else 1000

    print("1. One SGD step is p <- p - lr * grad:")
    point = Parameter(np.array(START))
    rosenbrock(point).backward()
    expected = point.numpy() - 0.01 * point.grad.numpy()
    SGD([point], lr=0.01).step()
    print(f"   gradient at {START}: {point.grad.numpy()}, new point {point.numpy()}")
    check(np.allclose(point.numpy(), expected, rtol=1e-15), "SGD's step is p - lr * grad")

    print(f"\n2. {steps} steps of each optimizer from {START} (minimum at {MINIMUM}):")
    optimizers = {
        "GD (lr 0.01)": lambda p: SGD(p, lr=0.01),
        "momentum 0.9 (lr 0.01)": lambda p: SGD(p, lr=0.01, momentum=0.9),
        "RMSprop (lr 0.01)": lambda p: RMSprop(p, lr=0.01),
        "Adam (lr 0.05)": lambda p: Adam(p, lr=0.05),
    }
    results = {}
    for name, make in optimizers.items():
        path, losses = run(make, steps)
        results[name] = (path, losses)
        distance = np.linalg.norm(path[-1] - MINIMUM)
        print(f"   {name:24s} final point ({path[-1][0]:+.4f}, {path[-1][1]:+.4f})  "
              f"loss {losses[-1]:.2e}  distance to minimum {distance:.2e}")

    def distance(name):
        return np.linalg.norm(results[name][0][-1] - MINIMUM)

    check(all(losses[-1] < losses[0] for _, losses in results.values()),
          "every optimizer lowered the loss")
    check(distance("momentum 0.9 (lr 0.01)") < distance("GD (lr 0.01)") / 10,
          "momentum ends 10x closer to the minimum than GD with the same learning rate")
    check(distance("Adam (lr 0.05)") < distance("GD (lr 0.01)"),
          "Adam ends closer than GD")
    gd_path = results["GD (lr 0.01)"][0]
    gd_steps = np.linalg.norm(np.diff(gd_path[steps // 2:], axis=0), axis=1)
    print(f"   GD's median step size over the second half: {np.median(gd_steps):.1e} "
          "(the gradient along the valley floor is tiny)")

    print("\n3. Why momentum helps: along the floor every gradient points the same way, so the")
    print("   velocity b = 0.9 b + g grows towards g / (1 - 0.9) = 10 g: ten times GD's step.")
    print("   Why RMSprop/Adam help: g / sqrt(mean g^2) is about +-1 whatever the gradient's scale,")
    print("   so the step is about lr in every coordinate, steep or flat.")

    filename = args.out / "06_optimizers.png"
    draw(results, filename)
    print(f"\nPicture: {filename}")


def draw(results, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5))
    FigureCanvasAgg(figure)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    xs, ys = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3.5, 300))
    left.contour(xs, ys, rosenbrock((xs, ys)), levels=np.logspace(-1.5, 2.5, 15), colors="0.6",
                 linewidths=0.7)
    for name, (path, losses) in results.items():
        left.plot(path[:, 0], path[:, 1], ".-", markersize=2, linewidth=1, label=name)
        right.semilogy(losses, label=name)
    left.plot(*START, "ko")
    left.plot(*MINIMUM, "r*", markersize=12)
    left.set_xlim(-2, 2)
    left.set_ylim(-1, 3.5)
    left.set_title("paths on f(x, y) = (1 - x)^2 + 10 (y - x^2)^2")
    left.legend(fontsize=8)
    right.set_ylim(1e-16, None)
    right.set_xlabel("step")
    right.set_ylabel("loss")
    right.set_title("loss per step")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


if __name__ == "__main__":
    main()
