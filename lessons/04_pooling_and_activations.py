"""Lesson 04: pooling, resizing and activations: what they compute and where gradients go.

What you will learn:
  1. Max pooling as a loop over windows, checked against ``F.max_pool2d`` (with padding,
     dilation and ceil_mode), and its output size rule: floor vs ceil.
  2. Where max pooling sends its gradient: only to the winner of each window (a scatter to
     the argmax); average pooling spreads it evenly (1 / window size, and what
     ``count_include_pad`` changes at the border).
  3. Resizing (``F.interpolate``): nearest copies pixels, bilinear blends the four nearest;
     both are linear, y = M_h x M_w^T with two small matrices.
  4. Activations and their first and second derivatives, computed by autograd and checked
     against the formulas; why sigmoid saturates (its slope is at most 1/4) and leaky ReLU
     does not die.
  5. Softmax computed naively overflows at logits of 1000; the stable form (subtract the
     max) does not, and log_softmax stays exact where log(softmax) gives -inf.

What to look at: ``lessons/out/04_pooling.png`` (a real digit max/avg-pooled to 14x14 and
resized back to 28x28 with nearest and bilinear; the gradient maps of both poolings) and
``lessons/out/04_activations.png`` (six activations, their slopes and curvatures).

Time: about 5 seconds on a laptop CPU (``--fast``: about 3 seconds).
Run: ``python lessons/04_pooling_and_activations.py``
"""
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.lesson import check, parse_args
from minicnn.ops.pool import pool_output_size


# ---------------------------------------------------------------------------------------
# 1. Max pooling with loops: the definition, one window at a time
# ---------------------------------------------------------------------------------------
def max_pool_loops(x, kernel, stride, padding, dilation, ceil_mode):
    """y[n, c, p, q] = max of the window's cells that lie inside the image."""
    N, C, H, W = x.shape
    P = pool_output_size(H, kernel, stride, padding, dilation, ceil_mode)
    Q = pool_output_size(W, kernel, stride, padding, dilation, ceil_mode)
    y = np.full((N, C, P, Q), -np.inf)
    for p in range(P):
        for q in range(Q):
            for r in range(kernel):
                for s in range(kernel):
                    h = p * stride - padding + r * dilation
                    w = q * stride - padding + s * dilation
                    if 0 <= h < H and 0 <= w < W:       # padding never wins
                        y[:, :, p, q] = np.maximum(y[:, :, p, q], x[:, :, h, w])
    return y


def section_max_pooling(rng, fast):
    print("1. Max pooling: loops vs F.max_pool2d")
    configs = [(2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 2, 1, 2, False), (2, 3, 1, 1, True)]
    for kernel, stride, padding, dilation, ceil_mode in configs[:2] if fast else configs:
        x = rng.standard_normal((2, 3, 7, 6))
        ours = F.max_pool2d(mc.tensor(x), kernel, stride, padding, dilation, ceil_mode).numpy()
        loops = max_pool_loops(x, kernel, stride, padding, dilation, ceil_mode)
        check(np.array_equal(ours, loops),
              f"k={kernel} s={stride} p={padding} d={dilation} ceil={ceil_mode}: "
              f"{x.shape[2:]} -> {ours.shape[2:]}, equal to the loops")

    print("\n   Output size, floor vs ceil (input 7, kernel 2, stride 2):")
    floor, ceil = pool_output_size(7, 2, 2, 0, 1, False), pool_output_size(7, 2, 2, 0, 1, True)
    print(f"   floor((7 - 2) / 2) + 1 = {floor};  ceil((7 - 2) / 2) + 1 = {ceil}: ceil_mode "
          "keeps a last window that hangs over the edge")
    check((floor, ceil) == (3, 4), "floor gives 3 windows, ceil gives 4")


# ---------------------------------------------------------------------------------------
# 2. Where the gradients go
# ---------------------------------------------------------------------------------------
def section_gradients():
    print("\n2. Where the gradient goes")
    x = mc.tensor(np.array([[[[1.0, 5.0, 2.0, 0.0],
                              [3.0, 4.0, 8.0, 1.0],
                              [0.0, 2.0, 1.0, 1.5],
                              [7.0, 1.0, 0.5, 3.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    print("   max pooling 2x2, d(sum of outputs)/dx: 1 at each window's maximum, 0 elsewhere")
    print("   " + str(x.grad.numpy()[0, 0]).replace("\n", "\n   "))
    check(x.grad.numpy().sum() == 4 and x.grad.numpy()[0, 0, 1, 2] == 1.0,
          "four windows, four winners (8 gets the top-right window's gradient)")

    x.grad = None
    F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True).sum().backward()
    include = x.grad.numpy()[0, 0].copy()
    x.grad = None
    F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False).sum().backward()
    exclude = x.grad.numpy()[0, 0]
    print("   average pooling 3x3, stride 1, padding 1: every window divides by 9 when padding")
    print("   counts, so a corner pixel (in 4 windows) gets 4/9; without counting the padding")
    print("   the border windows divide by 4 or 6 and the corner gets more:")
    print(f"   corner: {include[0, 0]:.4f} (count_include_pad=True), "
          f"{exclude[0, 0]:.4f} (False); centre: {include[1, 1]:.4f} / {exclude[1, 1]:.4f}")
    check(np.isclose(include[0, 0], 4 / 9) and np.isclose(exclude[0, 0], 1/4 + 2/6 + 1/9),
          "corner gradients: 4/9, and 1/4 + 1/6 + 1/6 + 1/9 without the padding")

    print("   the backward ops are closed under differentiation (second derivatives):")
    x = mc.tensor(np.random.default_rng(1).permutation(36).reshape(1, 1, 6, 6) * 0.1,
                  requires_grad=True)
    for name, fn in (("max_pool2d", lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
                     ("avg_pool2d", lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True)),
                     ("interpolate bilinear", lambda t: F.interpolate(t, size=(5, 9),
                                                                      mode="bilinear"))):
        check(gradcheck(fn, [x]) and gradgradcheck(fn, [x]), f"{name}: gradcheck and "
              "gradgradcheck pass")


# ---------------------------------------------------------------------------------------
# 3. Resizing
# ---------------------------------------------------------------------------------------
def section_resizing():
    print("\n3. Resizing a 1-D signal [0, 1, 2, 3] to 8 samples")
    row = mc.tensor(np.arange(4.0).reshape(1, 1, 1, 4))
    nearest = F.interpolate(row, size=(1, 8)).numpy().ravel()
    bilinear = F.interpolate(row, size=(1, 8), mode="bilinear").numpy().ravel()
    print(f"   nearest : {nearest}")
    print(f"   bilinear: {bilinear}  (pixel centres aligned: the ends repeat)")
    check(np.array_equal(nearest, [0, 0, 1, 1, 2, 2, 3, 3]), "nearest repeats each pixel")
    check(np.allclose(bilinear, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]),
          "bilinear samples at (i + 0.5) / 2 - 0.5")


# ---------------------------------------------------------------------------------------
# 4. Activations
# ---------------------------------------------------------------------------------------
ACTIVATIONS = {
    "relu": (F.relu, lambda x: (x > 0) * 1.0, lambda x: 0 * x),
    "leaky_relu(0.1)": (lambda t: F.leaky_relu(t, 0.1), lambda x: np.where(x > 0, 1, 0.1),
                        lambda x: 0 * x),
    "sigmoid": (F.sigmoid, lambda x: _s(x) * (1 - _s(x)),
                lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x))),
    "tanh": (F.tanh, lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "softplus": (F.softplus, lambda x: _s(x), lambda x: _s(x) * (1 - _s(x))),
    "elu": (F.elu, lambda x: np.where(x > 0, 1, np.exp(x)), lambda x: np.where(x > 0, 0, np.exp(x))),
}


def _s(x):
    return 1 / (1 + np.exp(-x))


def derivatives(fn, xs):
    """f(x), f'(x), f''(x) by autograd: grad of the sum, then grad of that gradient's sum
    (each output depends on its own input only, so the sums pick the diagonal)."""
    x = mc.tensor(xs, requires_grad=True)
    y = fn(x)
    (first,) = mc.grad(y.sum(), x, create_graph=True)
    second = mc.grad(first.sum(), x, allow_unused=True)[0] if first.requires_grad else None
    return y.numpy(), first.numpy(), np.zeros_like(xs) if second is None else second.numpy()


def section_activations(xs):
    print("\n4. Activations: slopes and curvatures from autograd vs the formulas")
    curves = {}
    for name, (fn, slope, curvature) in ACTIVATIONS.items():
        y, first, second = derivatives(fn, xs)
        curves[name] = (y, first, second)
        check(np.allclose(first, slope(xs)) and np.allclose(second, curvature(xs), atol=1e-12),
              f"{name:16s} f' and f'' match")
    best_sigmoid_slope = curves["sigmoid"][1].max()
    print(f"   sigmoid's slope peaks at 1/4 at x = 0 ({best_sigmoid_slope:.3f} on this grid): "
          f"through 10 sigmoid layers a gradient shrinks by at least 4^10 = {4**10:,}x "
          "(vanishing gradients)")
    print("   relu's slope is 0 for x < 0 (a unit stuck there learns nothing: 'dying relu');")
    print("   leaky_relu keeps a slope of 0.1 there")
    return curves


# ---------------------------------------------------------------------------------------
# 5. Softmax stability
# ---------------------------------------------------------------------------------------
def section_softmax():
    print("\n5. Softmax of logits [1000, 999, 0]")
    logits = np.array([[1000.0, 999.0, 0.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(logits) / np.exp(logits).sum()
    stable = F.softmax(mc.tensor(logits), dim=1).numpy()
    print(f"   naive exp(x) / sum exp(x): {naive.ravel()}   (inf / inf = nan)")
    print(f"   stable, exp(x - max):       {stable.ravel()}")
    check(np.isnan(naive).any() and np.isfinite(stable).all(), "only the stable form is finite")
    with np.errstate(divide="ignore"):
        log_of_softmax = np.log(stable)
    log_softmax = F.log_softmax(mc.tensor(logits), dim=1).numpy()
    print(f"   log(softmax):  {log_of_softmax.ravel()}   (softmax rounded to 0: log = -inf)")
    print(f"   log_softmax:   {log_softmax.ravel()}   (x - max - log sum exp(x - max))")
    check(np.isclose(log_softmax[0, 2], -1000 - np.log1p(np.exp(-1.0))),
          "log_softmax keeps the exact -1000.31")


# ---------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------
def draw_pooling(digit, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = mc.tensor(digit.reshape(1, 1, 28, 28).astype(np.float64), requires_grad=True)
    max_pooled = F.max_pool2d(x, 2)
    (max_grad,) = mc.grad(max_pooled.sum(), x)
    avg_pooled = F.avg_pool2d(x, 2)
    (avg_grad,) = mc.grad(avg_pooled.sum(), x)
    small = max_pooled.detach()
    # (title, image, top of the grey scale: None = the image's max; gradients on [0, 1])
    panels = [("digit 28x28", x, None), ("max pool 2x2 -> 14x14", max_pooled, None),
              ("avg pool 2x2 -> 14x14", avg_pooled, None),
              ("max-pooled, nearest -> 28", F.interpolate(small, size=28), None),
              ("max-pooled, bilinear -> 28", F.interpolate(small, size=28, mode="bilinear"),
               None),
              ("max pool gradient: the winners\n(on black, ties go to the first)", max_grad, 1),
              ("avg pool gradient:\n1/4 to every pixel", avg_grad, 1)]
    figure = Figure(figsize=(14, 2.8))
    FigureCanvasAgg(figure)
    for i, (title, image, top) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), i + 1)
        axes.imshow(image.numpy()[0, 0], cmap="gray", vmin=0, vmax=top)
        axes.set_title(title, fontsize=8)
        axes.axis("off")
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


def draw_activations(xs, curves, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 3.6))
    FigureCanvasAgg(figure)
    titles = ["f(x)", "f'(x) (autograd)", "f''(x) (autograd, create_graph=True)"]
    for column, title in enumerate(titles):
        axes = figure.add_subplot(1, 3, column + 1)
        for name, values in curves.items():
            axes.plot(xs, values[column], label=name)
        axes.set_title(title)
        axes.axhline(0, color="gray", linewidth=0.5)
        if column == 0:
            axes.set_ylim(-1.5, 3)
            axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


def main(argv=None):
    args = parse_args(__doc__, argv)
    rng = np.random.default_rng(0)
    section_max_pooling(rng, args.fast)
    section_gradients()
    section_resizing()
    xs = np.linspace(-3, 3, 61 if args.fast else 301)
    xs = xs[np.abs(xs) > 1e-9]   # skip the kink of relu at exactly 0
    curves = section_activations(xs)
    section_softmax()

    from minicnn.data import load_mnist5k

    digit = load_mnist5k(dtype=np.float32).test_images[0, 0]
    draw_pooling(digit, args.out / "04_pooling.png")
    draw_activations(xs, curves, args.out / "04_activations.png")
    print(f"\nPictures: {args.out / '04_pooling.png'}, {args.out / '04_activations.png'}")


if __name__ == "__main__":
    main()
