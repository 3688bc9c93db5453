"""Lesson 05: losses: the number a network minimises, and the gradient it hands back.

What you will learn:
  1. MSE, L1 and Huber as functions of the residual r = prediction - target, and their
     gradients by autograd: 2r (grows with the error), sign(r) (constant), and Huber's
     r clipped to [-delta, delta] (quadratic near 0, linear outside).
  2. What that means with an outlier: fitting one number to data by gradient descent
     gives the mean under MSE (dragged by the outlier), the median under L1, and
     something robust in between under Huber.
  3. Cross-entropy from logits: the loss is -log softmax(z)_y and its gradient is
     softmax(z) - onehot(y), checked here; computed as log_softmax (log-sum-exp), never as
     log(softmax(z)), which overflows.
  4. Label smoothing: without it the loss keeps pulling the logits apart forever; with
     smoothing epsilon the best logit gap is finite, log((1 - eps + eps/C) / (eps/C)).
  5. Binary cross-entropy on logits (softplus form) stays exact at logits of +-100 where
     sigmoid-then-log saturates.

What to look at: ``lessons/out/05_regression_losses.png`` (loss and gradient curves of the
three regression losses; the fits with an outlier) and ``lessons/out/05_cross_entropy.png``
(cross-entropy and its gradient against the logit margin, with and without label
smoothing; the logit gap during training).

Time: about 5 seconds on a laptop CPU (``--fast``: about 3 seconds).
Run: ``python lessons/05_losses.py``
"""
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.lesson import check, parse_args

DELTA = 1.0
REGRESSION = {
    "MSE": (lambda x, t: F.mse_loss(x, t, reduction="none"), lambda r: 2 * r),
    "L1": (lambda x, t: F.l1_loss(x, t, reduction="none"), np.sign),
    f"Huber (delta={DELTA:g})": (lambda x, t: F.huber_loss(x, t, reduction="none", delta=DELTA),
                                 lambda r: np.clip(r, -DELTA, DELTA)),
}


# ---------------------------------------------------------------------------------------
# 1-2. Regression losses
# ---------------------------------------------------------------------------------------
def regression_curves(residuals):
    """Loss and d loss / d prediction for each residual (target 0, prediction = r)."""
    print("1. Regression losses: gradients by autograd against the formulas")
    curves = {}
    target = mc.tensor(np.zeros_like(residuals))
    for name, (loss_fn, gradient_formula) in REGRESSION.items():
        prediction = mc.tensor(residuals, requires_grad=True)
        loss = loss_fn(prediction, target)
        (gradient,) = mc.grad(loss.sum(), prediction)
        curves[name] = (loss.numpy(), gradient.numpy())
        check(np.allclose(gradient.numpy(), gradient_formula(residuals)),
              f"{name:18s} gradient = {'2r' if name == 'MSE' else 'sign(r)' if name == 'L1' else 'clip(r, -delta, delta)'}")
    x = mc.tensor(np.array([0.3, -1.7, 2.4]), requires_grad=True)
    t = mc.tensor(np.array([0.0, 0.5, -0.5]), requires_grad=True)
    for name, (loss_fn, _) in REGRESSION.items():
        check(gradcheck(loss_fn, [x, t]) and gradgradcheck(loss_fn, [x, t]),
              f"{name:18s} gradcheck and gradgradcheck (prediction and target)")
    return curves


def fit_one_number(data, loss_name, steps, lr=0.05):
    """Gradient descent on a single parameter c to minimise mean loss(c, data)."""
    loss_fn = REGRESSION[loss_name][0]
    c = mc.tensor(np.array([0.0]), requires_grad=True)
    targets = mc.tensor(data)
    path = []
    for _ in range(steps):
        loss = loss_fn(c.expand(len(data)), targets).mean()
        (gradient,) = mc.grad(loss, c)
        c = mc.tensor(c.numpy() - lr * gradient.numpy(), requires_grad=True)
        path.append(c.item())
    return np.array(path)


def section_outlier(steps):
    print("\n2. Fitting one number to [1, 2, 3, 4, 5] plus an outlier at 30")
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 30.0])
    paths = {name: fit_one_number(data, name, steps) for name in REGRESSION}
    for name, path in paths.items():
        print(f"   {name:18s} -> {path[-1]:6.3f}")
    print(f"   mean = {data.mean():.3f}, median = {np.median(data):.3f}")
    mse, l1, huber = (paths[name][-1] for name in REGRESSION)
    check(abs(mse - data.mean()) < 0.05, "MSE finds the mean (the outlier drags it to 7.5)")
    check(3.0 - 0.1 <= l1 <= 4.0 + 0.1, "L1 lands in the median interval [3, 4]")
    check(l1 - 0.1 < huber < mse - 2, "Huber stays near the bulk of the data")
    return data, paths


# ---------------------------------------------------------------------------------------
# 3-4. Cross-entropy
# ---------------------------------------------------------------------------------------
def section_cross_entropy():
    print("\n3. Cross-entropy from logits")
    rng = np.random.default_rng(0)
    logits = mc.tensor(rng.standard_normal((4, 5)) * 3, requires_grad=True)
    labels = np.array([0, 3, 3, 1])
    loss = F.cross_entropy(logits, labels, reduction="sum")
    (gradient,) = mc.grad(loss, logits)
    expected = F.softmax(logits.detach(), dim=1).numpy() - F.one_hot(labels, 5).numpy()
    check(np.allclose(gradient.numpy(), expected), "d loss / d logits = softmax - onehot")
    check(gradcheck(lambda z: F.cross_entropy(z, labels, label_smoothing=0.1), [logits]) and
          gradgradcheck(lambda z: F.cross_entropy(z, labels, label_smoothing=0.1), [logits]),
          "gradcheck and gradgradcheck (with label smoothing 0.1)")

    big = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = -np.log(np.exp(big[0, 1]) / np.exp(big).sum())
    ours = F.cross_entropy(mc.tensor(big), np.array([1])).item()
    print(f"   logits [1000, 0, -1000], label 1: -log(softmax) naive = {naive}, "
          f"cross_entropy = {ours:.1f}")
    check(np.isclose(ours, 1000.0), "log-sum-exp gives the exact 1000")


def margin_curves(margins, smoothing):
    """Loss and its gradient wrt the true logit, for logits [m, 0, 0] and label 0."""
    z = mc.tensor(np.stack([margins, np.zeros_like(margins), np.zeros_like(margins)], 1),
                  requires_grad=True)
    loss = F.cross_entropy(z, np.zeros(len(margins), dtype=np.int64), reduction="none",
                           label_smoothing=smoothing)
    (gradient,) = mc.grad(loss.sum(), z)
    return loss.numpy(), gradient.numpy()[:, 0]


def logit_gap_during_training(smoothing, steps, classes=3, lr=1.0):
    """Gradient descent on free logits for one example of class 0: the gap z_0 - z_1."""
    z = mc.tensor(np.zeros((1, classes)), requires_grad=True)
    gaps = []
    for _ in range(steps):
        loss = F.cross_entropy(z, np.array([0]), label_smoothing=smoothing)
        (gradient,) = mc.grad(loss, z)
        z = mc.tensor(z.numpy() - lr * gradient.numpy(), requires_grad=True)
        gaps.append(z.numpy()[0, 0] - z.numpy()[0, 1])
    return np.array(gaps)


def section_label_smoothing(steps):
    print("\n4. Label smoothing: the best logit gap")
    eps, classes = 0.1, 3
    plain = logit_gap_during_training(0.0, steps)
    smooth = logit_gap_during_training(eps, steps)
    best = np.log((1 - eps + eps / classes) / (eps / classes))
    print(f"   after {steps} steps: gap {plain[-1]:.2f} without smoothing (still growing), "
          f"{smooth[-1]:.3f} with eps={eps} (best: log((1 - eps + eps/C) / (eps/C)) = {best:.3f})")
    check(plain[-1] > plain[len(plain) // 2] + 0.1, "without smoothing the gap keeps growing")
    check(abs(smooth[-1] - best) < 0.05, "with smoothing it settles at the predicted gap")
    return plain, smooth, best


# ---------------------------------------------------------------------------------------
# 5. Binary cross-entropy on logits
# ---------------------------------------------------------------------------------------
def section_binary():
    print("\n5. Binary cross-entropy, logit x = 40 and -100, target 0 (float32)")
    x = mc.tensor(np.array([40.0, -100.0], dtype=np.float32), requires_grad=True)
    target = mc.tensor(np.zeros(2, dtype=np.float32))
    via_sigmoid = F.binary_cross_entropy(F.sigmoid(x), target, reduction="none")
    on_logits = F.binary_cross_entropy_with_logits(x, target, reduction="none")
    print(f"   sigmoid then BCE:  {via_sigmoid.numpy()}   (sigmoid(40) rounds to 1: log(0) "
          "clamped to -100)")
    print(f"   BCE with logits:   {on_logits.numpy()}   (softplus(x) - t x: exact)")
    check(np.allclose(on_logits.numpy(), [40.0, 0.0], atol=1e-30) and
          via_sigmoid.numpy()[0] == 100.0, "only the logit form gives the true loss 40")
    (gradient,) = mc.grad(on_logits.sum(), x)
    check(np.allclose(gradient.numpy(), [1.0, 0.0]), "its gradient sigmoid(x) - t is exact too")


# ---------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------
def _figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def draw_regression(residuals, curves, data, paths, filename):
    figure = _figure((13, 3.8))
    loss_axes, gradient_axes, fit_axes = (figure.add_subplot(1, 3, i) for i in (1, 2, 3))
    for name, (loss, gradient) in curves.items():
        loss_axes.plot(residuals, loss, label=name)
        gradient_axes.plot(residuals, gradient, label=name)
    loss_axes.set(title="loss", xlabel="residual r = prediction - target", ylim=(0, 6))
    gradient_axes.set(title="d loss / d prediction", xlabel="residual r", ylim=(-4.5, 4.5))
    loss_axes.legend()
    for name, path in paths.items():
        fit_axes.plot(path, label=f"{name}: {path[-1]:.2f}")
    fit_axes.axhline(data.mean(), color="gray", linestyle=":", label="mean")
    fit_axes.axhline(np.median(data), color="black", linestyle=":", label="median")
    fit_axes.set(title="fitting one number to [1..5, 30]", xlabel="gradient step")
    fit_axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


def draw_cross_entropy(margins, plain, smooth, best, filename):
    figure = _figure((13, 3.8))
    loss_axes, gradient_axes, gap_axes = (figure.add_subplot(1, 3, i) for i in (1, 2, 3))
    for eps in (0.0, 0.1):
        loss, gradient = margin_curves(margins, eps)
        loss_axes.plot(margins, loss, label=f"label_smoothing={eps}")
        gradient_axes.plot(margins, gradient, label=f"label_smoothing={eps}")
    loss_axes.set(title="cross-entropy, logits [m, 0, 0], label 0", xlabel="margin m")
    gradient_axes.axhline(0, color="gray", linewidth=0.5)
    gradient_axes.set(title="d loss / d (true logit) = p_0 - target_0", xlabel="margin m")
    loss_axes.legend()
    gap_axes.plot(plain, label="no smoothing")
    gap_axes.plot(smooth, label="label_smoothing=0.1")
    gap_axes.axhline(best, color="gray", linestyle=":", label=f"predicted {best:.2f}")
    gap_axes.set(title="logit gap z_true - z_other during training", xlabel="gradient step")
    gap_axes.legend()
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


def main(argv=None):
    args = parse_args(__doc__, argv)
    residuals = np.linspace(-3, 3, 61 if args.fast else 601)
    curves = regression_curves(residuals)
    data, paths = section_outlier(steps=300 if args.fast else 600)
    section_cross_entropy()
    plain, smooth, best = section_label_smoothing(steps=150 if args.fast else 400)
    section_binary()
    draw_regression(residuals, curves, data, paths, args.out / "05_regression_losses.png")
    draw_cross_entropy(np.linspace(-6, 10, 81 if args.fast else 321), plain, smooth, best,
                       args.out / "05_cross_entropy.png")
    print(f"\nPictures: {args.out / '05_regression_losses.png'}, "
          f"{args.out / '05_cross_entropy.png'}")


if __name__ == "__main__":
    main()
