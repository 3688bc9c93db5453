"""Lesson 02: write your own op and check its gradients.

What you will learn:
  1. How a ``Function`` is written: ``forward`` on raw arrays, ``backward`` with Tensor ops.
  2. ``gradcheck``: compares your backward with central finite differences, element by
     element (v^T J against (s(x + eps e_i) - s(x - eps e_i)) / 2 eps, s = sum(v * f)).
  3. ``gradgradcheck``: the same on the gradient itself, which checks second derivatives.
  4. What the report looks like when a backward is wrong, and why a backward that uses raw
     arrays (not Tensor ops) passes gradcheck but fails gradgradcheck.

What to look at: the three reports printed, and ``lessons/out/02_softsign.png`` (the op, its
true derivative and the wrong one).

Time: about 2 seconds on a laptop CPU.
Run: ``python lessons/02_checking_gradients.py``
"""
import numpy as np

import minicnn as mc
from minicnn.autograd import Function
from minicnn.backend import get_array_module
from minicnn.gradcheck import GradcheckError, gradcheck, gradgradcheck
from minicnn.lesson import check, parse_args


class Softsign(Function):
    """y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)^2."""

    def forward(self, x):
        xp = get_array_module(x)
        return x / (1 + xp.abs(x))

    def backward(self, grad_output):
        x = self.inputs[0]
        return grad_output / (1 + x.abs()) ** 2     # Tensor ops: differentiable again


class WrongSoftsign(Softsign):
    """A typical slip: forgot the square."""

    def backward(self, grad_output):
        return grad_output / (1 + self.inputs[0].abs())


class FrozenSoftsign(Softsign):
    """Right first derivative, computed on raw arrays: the gradient is a constant to the
    engine, so its own derivative comes out as zero."""

    def backward(self, grad_output):
        x = self.inputs[0].array
        return grad_output * mc.tensor(1 / (1 + np.abs(x)) ** 2)


def main(argv=None):
    args = parse_args(__doc__, argv)
    rng = np.random.default_rng(0)
    size = 4 if args.fast else 10
    # float64, and away from the kink of |x| at 0 where finite differences would straddle it
    values = rng.uniform(0.2, 2.0, size) * rng.choice([-1, 1], size)
    x = mc.tensor(values, requires_grad=True)

    print("1. The correct Softsign")
    check(gradcheck(Softsign.apply, [x]), "gradcheck passes")
    check(gradgradcheck(Softsign.apply, [x]), "gradgradcheck passes")

    print("\n2. The wrong backward: gradcheck's report")
    try:
        gradcheck(WrongSoftsign.apply, [x])
        caught = False
    except GradcheckError as error:
        caught = True
        print("   " + str(error).replace("\n", "\n   "))
    check(caught, "gradcheck caught the missing square")

    print("\n3. The frozen backward: first derivative right, second wrong")
    check(gradcheck(FrozenSoftsign.apply, [x]), "gradcheck passes (the values are right)")
    try:
        gradgradcheck(FrozenSoftsign.apply, [x])
        caught = False
    except GradcheckError as error:
        caught = True
        print("   " + str(error).splitlines()[1])
    check(caught, "gradgradcheck caught it: backward must use Tensor ops")

    _draw(args.out / "02_softsign.png")
    print(f"\nPicture: {args.out / '02_softsign.png'}")


def _draw(filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs = mc.tensor(np.linspace(-4, 4, 201), requires_grad=True)
    ys = Softsign.apply(xs)
    (right,) = mc.grad(ys.sum(), xs)
    (wrong,) = mc.grad(WrongSoftsign.apply(xs).sum(), xs)
    figure = Figure(figsize=(6, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(xs.numpy(), ys.numpy(), label="softsign(x)")
    axes.plot(xs.numpy(), right.numpy(), label="true derivative 1/(1+|x|)^2")
    axes.plot(xs.numpy(), wrong.numpy(), "--", label="wrong derivative 1/(1+|x|)")
    axes.legend()
    axes.set_title("A custom op and its derivatives")
    figure.savefig(filename, dpi=100)


if __name__ == "__main__":
    main()
