"""Lesson 01: tensors and automatic differentiation.

What you will learn:
  1. A computation is a graph: each op remembers its inputs (``y.creator``).
  2. Backward = the chain rule walked from the output to the inputs. We do it once by
     hand, once with ``y.backward()``, and once with finite differences; all three agree.
  3. The backward pass is built from the same ops, so it can be differentiated again:
     second derivatives, used here for Newton's method on a 1-D function.

What to look at: the printed gradients side by side, and ``lessons/out/01_newton.png``
(the function, its tangent steps and the Newton iterates converging to the minimum).

Time: about 2 seconds on a laptop CPU (``--fast``: under a second).
Run: ``python lessons/01_tensors_and_autograd.py``
"""
import numpy as np

import minicnn as mc
from minicnn.lesson import check, parse_args


def main(argv=None):
    args = parse_args(__doc__, argv)

    print("1. A small graph: y = (a * b + exp(a)) * b, at a = 1.5, b = -0.5")
    a = mc.tensor(np.array(1.5), requires_grad=True)
    b = mc.tensor(np.array(-0.5), requires_grad=True)
    u = a * b            # node 1
    v = a.exp()          # node 2
    w = u + v            # node 3
    y = w * b            # node 4: the output
    node, depth = y, 0
    while node.creator is not None:  # follow the first input back to the leaves
        print(f"   {'  ' * depth}{type(node.creator).__name__} made a tensor of value {node.item():.4f}")
        node, depth = node.creator.inputs[0], depth + 1

    print("\n2. Backward by hand, with the chain rule from the output down:")
    dy_dw = b.item()                      # y = w * b
    dy_db_direct = w.item()
    dy_du = dy_dw * 1.0                   # w = u + v
    dy_dv = dy_dw * 1.0
    dy_da = dy_du * b.item() + dy_dv * np.exp(a.item())   # u = a b, v = e^a
    dy_db = dy_du * a.item() + dy_db_direct               # b is used twice: the paths add up
    print(f"   by hand:  dy/da = {dy_da:.6f}   dy/db = {dy_db:.6f}")

    y.backward()
    print(f"   engine:   dy/da = {a.grad.item():.6f}   dy/db = {b.grad.item():.6f}")

    def f(a_value, b_value):
        return (a_value * b_value + np.exp(a_value)) * b_value

    eps = 1e-6
    numeric_a = (f(1.5 + eps, -0.5) - f(1.5 - eps, -0.5)) / (2 * eps)
    numeric_b = (f(1.5, -0.5 + eps) - f(1.5, -0.5 - eps)) / (2 * eps)
    print(f"   numeric:  dy/da = {numeric_a:.6f}   dy/db = {numeric_b:.6f}")
    check(abs(a.grad.item() - dy_da) < 1e-9 and abs(b.grad.item() - dy_db) < 1e-9,
          "the engine's gradients equal the hand-derived ones")
    check(abs(a.grad.item() - numeric_a) < 1e-6 and abs(b.grad.item() - numeric_b) < 1e-6,
          "and agree with central finite differences")

    print("\n3. Second derivatives: Newton's method on g(x) = x^4 - 3x^2 + x")
    print("   x <- x - g'(x) / g''(x), both derivatives from the engine (create_graph=True)")

    def g(x):
        return x ** 4 - 3 * x ** 2 + x

    x = mc.tensor(np.array(2.0), requires_grad=True)
    path = [x.item()]
    for step in range(8):  # quadratic convergence: 8 steps are plenty, even with --fast
        (slope,) = mc.grad(g(x), x, create_graph=True)   # g'(x), itself a graph
        (curvature,) = mc.grad(slope, x)                  # g''(x) = d/dx g'(x)
        with mc.no_grad():
            x = mc.tensor(x.numpy() - slope.numpy() / curvature.numpy(), requires_grad=True)
        path.append(x.item())
        print(f"   step {step + 1}: x = {x.item():.10f}   g'(x) = {slope.item():+.2e}   "
              f"g''(x) = {curvature.item():.4f}")
    final_slope = 4 * path[-1] ** 3 - 6 * path[-1] + 1
    check(abs(final_slope) < 1e-6, f"Newton found a stationary point, g'({path[-1]:.6f}) = 0")
    check(12 * path[-1] ** 2 - 6 > 0, "and it is a minimum (g'' > 0)")

    _draw(g, path, args.out / "01_newton.png")
    print(f"\nPicture: {args.out / '01_newton.png'}")


def _draw(g, path, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs = np.linspace(-2.2, 2.3, 400)
    figure = Figure(figsize=(6, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(xs, g(xs), label="g(x) = x^4 - 3x^2 + x")
    path = np.array(path)
    axes.plot(path, g(path), "o-", color="tab:red", label="Newton iterates")
    for i, (x0, y0) in enumerate(zip(path, g(path))):
        axes.annotate(str(i), (x0, y0), textcoords="offset points", xytext=(4, 6), fontsize=8)
    axes.set_xlabel("x")
    axes.set_title("Newton's method with second derivatives from autograd")
    axes.legend()
    figure.savefig(filename, dpi=100)


if __name__ == "__main__":
    main()
