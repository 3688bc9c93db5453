"""Lesson 09: hyperparameter search - grid search against Bayesian optimisation.

What you will learn
  * How a Gaussian process (GP) turns a handful of evaluations into a guess of
    the whole function: a mean, and an uncertainty that is zero where we have
    measured and grows in between (minicnn/tune/gp.py).
  * How expected improvement (EI) chooses the next point: it is large where
    the GP predicts a low value (exploitation) or is very unsure (exploration)
    (minicnn/tune/bayes.py).
  * Why learning rate and weight decay are searched on a log scale, and how a
    3 x 3 grid compares with 9 runs of Bayesian optimisation on a small CNN
    classifying 8x8 digits. We tune on a validation split and keep the
    test split for the very end: tuning on the test set would report an
    optimistic accuracy.

What to look at
  * lessons/out/09_gp_ei.png - one column per step on a 1-D function: top, the
    true function (dashed), the observations, the GP mean and its +-2 std
    band; bottom, EI, whose peak (red line) is the next evaluation. Watch the
    band collapse at each observation and EI move between exploring and
    refining. With only 3 points, maximum likelihood cannot tell a wiggly
    function from noise: the first fit may be a flat mean with spikes (a
    tiny length scale). One or two more points fix it; this is why the
    search starts with a few random points before trusting the GP.
  * lessons/out/09_cnn_search.png - left, where each search evaluated in
    (learning rate, weight decay), on log axes (grid: squares, Bayesian:
    numbered circles, colour: validation loss); right, the best validation
    loss so far against the number of training runs.
  * The printed tables: every run, the best marked with '*'.

How long
  Part 1 (GP and EI in 1-D): a few seconds. Part 2 (the CNN): 19 training
  runs of 3 epochs, a few minutes on a laptop CPU. With --fast (or MINICNN_FAST=1)
  everything is cut down to finish in seconds.

Run
  python lessons/09_hyperparameter_search.py [--fast] [--out DIR]

All searches minimise: the CNN objective is the validation cross-entropy.
"""
import math
import time

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import minicnn as mc  # noqa: E402
import minicnn.functional as F  # noqa: E402
import minicnn.nn as nn  # noqa: E402
import minicnn.optim as optim  # noqa: E402
from minicnn.lesson import check, parse_args  # noqa: E402
from minicnn.tune import BayesianOptimizer, Real, Space, bayes_opt, grid_search  # noqa: E402


# --------------------------------------------------------------------------
# Part 1: a Gaussian process and expected improvement on a 1-D function
# --------------------------------------------------------------------------
def wiggly(x):
    """The 1-D function we minimise: two valleys on [-1, 2], the deeper one near x = -0.36."""
    return math.sin(3 * x) + x * x - 0.7 * x


def gp_and_ei_in_1d(out, steps_to_plot):
    """Run 12 evaluations of Bayesian optimisation on ``wiggly``, drawing the first steps."""
    space = Space({"x": Real(-1.0, 2.0)})
    xs = np.linspace(-1.0, 2.0, 400)
    true_values = np.array([wiggly(x) for x in xs])
    true_min = float(np.min([wiggly(x) for x in np.linspace(-1, 2, 200_001)]))
    grid_units = np.array([space.to_unit({"x": x}) for x in xs])     # the GP lives in [0, 1]

    optimizer = BayesianOptimizer(space, n_init=3, seed=1)
    for _ in range(optimizer.n_init):                    # 3 random points to start from
        params = optimizer.ask()
        optimizer.tell(params, wiggly(params["x"]))

    figure, axes = plt.subplots(2, steps_to_plot, figsize=(4 * steps_to_plot, 5.5), sharex=True,
                                gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    total_evaluations = 12
    for step in range(total_evaluations - optimizer.n_init):
        params = optimizer.ask()                         # fits the GP, maximises EI
        if step < steps_to_plot:
            gp = optimizer.gp
            mean, std = gp.predict(grid_units, return_std=True)
            ei = optimizer.expected_improvement(grid_units)
            seen_x = [e.params["x"] for e in optimizer.result.history]
            top, bottom = axes[0, step], axes[1, step]
            top.plot(xs, true_values, "k--", lw=1, label="true f")
            top.plot(xs, mean, "C0", label="GP mean")
            top.fill_between(xs, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.2, label="+-2 std")
            top.plot(seen_x, optimizer.result.values, "ko", ms=5, label="observed")
            top.axvline(params["x"], color="C3", lw=1)
            top.set_title(f"step {step + 1}: {len(seen_x)} observations")
            bottom.plot(xs, ei, "C2")
            bottom.axvline(params["x"], color="C3", lw=1)
            bottom.set_xlabel("x")
            if step == 0:
                top.legend(fontsize=8, loc="upper left")
                top.set_ylabel("f(x)")
                bottom.set_ylabel("EI")
            print(f"  step {step + 1}: GP length scale {gp.length_scale[0]:.3g} (of the unit interval), "
                  f"noise variance {gp.noise_variance:.2g}; next x = {params['x']:.4f}")
        optimizer.tell(params, wiggly(params["x"]))

    figure.suptitle("Bayesian optimisation in 1-D: GP posterior (top) and expected improvement (bottom)")
    figure.tight_layout()
    figure.savefig(out / "09_gp_ei.png", dpi=110)
    plt.close(figure)
    print(f"  wrote {out / '09_gp_ei.png'}")

    result = optimizer.result
    print(result.table())
    gap = result.best_value - true_min
    print(f"  true minimum {true_min:.6f}, found {result.best_value:.6f} in {len(result)} evaluations")
    check(gap < 1e-3, "Bayesian optimisation gets within 1e-3 of the minimum in 12 evaluations")


# --------------------------------------------------------------------------
# Part 2: grid vs Bayesian search over a small CNN's learning rate and weight decay
# --------------------------------------------------------------------------
def load_digit_splits(fast, seed=0):
    """8x8 digits, float32 (N, 1, 8, 8) in [0, 1], int64 labels: train, validation and test splits.

    The validation split (a quarter of the training digits) scores each
    hyperparameter setting; the test split is used once, at the very end.
    """
    x_train, y_train, x_test, y_test = mc.data.load_digits(dtype="float32")
    order = np.random.default_rng(seed).permutation(len(x_train))
    n_val = len(x_train) // 4
    val, train = order[:n_val], order[n_val:]
    if fast:
        train, val = train[:128], val[:64]
    return (x_train[train], y_train[train]), (x_train[val], y_train[val]), (x_test, y_test)


def make_cnn():
    """A tiny CNN for 8x8 digits: (N, 1, 8, 8) -> (N, 8, 8, 8) -> (N, 16, 4, 4) -> 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
    )


def evaluate(model, x, y):
    """Mean cross-entropy and accuracy of ``model`` on (x, y)."""
    with mc.no_grad():
        logits = model(mc.tensor(x))
        loss = F.cross_entropy(logits, mc.tensor(y)).item()
        accuracy = float(np.mean(logits.numpy().argmax(axis=1) == y))
    return loss, accuracy


def train(params, train_split, epochs, seed=0, batch_size=32):
    """Train a fresh CNN with Adam(lr, weight_decay); None if the loss diverges (nan/inf)."""
    x, y = train_split
    mc.manual_seed(seed)                         # the same initial weights for every setting
    model = make_cnn()
    optimizer = optim.Adam(model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    rng = np.random.default_rng(seed)            # the same batches for every setting
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(mc.tensor(x[batch])), mc.tensor(y[batch]))
            if not math.isfinite(loss.item()):
                return None
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def cnn_search(out, fast):
    """Grid search and Bayesian optimisation with the same budget; the winner meets the test split."""
    train_split, val_split, test_split = load_digit_splits(fast)
    epochs = 1 if fast else 3
    # log scales: 1e-4 -> 1e-3 matters as much as 1e-2 -> 1e-1
    space = Space({"lr": Real(1e-4, 0.3, log=True), "weight_decay": Real(1e-6, 1e-1, log=True)})
    accuracies = {}

    def validation_loss(params):
        """The objective: train, then the validation cross-entropy (nan if training diverged)."""
        model = train(params, train_split, epochs)
        if model is None:
            return float("nan")
        loss, accuracy = evaluate(model, *val_split)
        accuracies[(params["lr"], params["weight_decay"])] = accuracy
        return loss

    points = 2 if fast else 3                              # per dimension: points^2 runs
    budget = points * points
    print(f"  {len(train_split[0])} training / {len(val_split[0])} validation digits, {epochs} epoch(s) "
          f"per run, {budget} runs per search")

    start = time.perf_counter()
    grid = grid_search(validation_loss, space, points_per_dim=points)
    print(f"\ngrid search ({time.perf_counter() - start:.1f} s):\n{grid.table()}")

    start = time.perf_counter()
    n_init = 2 if fast else 3
    bayes = bayes_opt(validation_loss, space, n_iter=budget - n_init, n_init=n_init, seed=0)
    print(f"\nBayesian optimisation ({time.perf_counter() - start:.1f} s):\n{bayes.table()}\n")

    for result in (grid, bayes):
        best = result.best_params
        accuracy = accuracies[(best["lr"], best["weight_decay"])]
        print(f"  {result.method:>21}: best validation loss {result.best_value:.4f} (accuracy {accuracy:.3f}) "
              f"at lr={best['lr']:.3g}, weight_decay={best['weight_decay']:.3g}")

    # only now, and once, the test split: retrain the winner of the two searches
    winner = min([grid, bayes], key=lambda r: r.best_value)
    model = train(winner.best_params, train_split, epochs)
    test_loss, test_accuracy = evaluate(model, *test_split)
    print(f"  test split, best setting ({winner.method}): loss {test_loss:.4f}, accuracy {test_accuracy:.4f}")

    plot_cnn_search(out, grid, bayes)
    check(math.isfinite(grid.best_value) and math.isfinite(bayes.best_value),
          "both searches found a setting that trains")
    if not fast:
        check(test_accuracy > 0.9, "the tuned CNN classifies more than 90% of the 8x8 test digits")
        check(bayes.best_value <= 1.1 * grid.best_value,
              "with the same budget, Bayesian search does about as well as the grid, or better")


def plot_cnn_search(out, grid, bayes):
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    values = np.concatenate([grid.values, bayes.values])
    finite = values[np.isfinite(values)]
    norm = matplotlib.colors.LogNorm(vmin=finite.min(), vmax=finite.max())
    for result, marker in [(grid, "s"), (bayes, "o")]:
        lr = np.array([p["lr"] for p in result.params])
        wd = np.array([p["weight_decay"] for p in result.params])
        ok = np.isfinite(result.values)
        scatter = left.scatter(lr[ok], wd[ok], c=result.values[ok], norm=norm, cmap="viridis_r",
                               marker=marker, s=70, edgecolors="k", label=result.method)
        left.scatter(lr[~ok], wd[~ok], marker="x", c="r", s=60)
        if result is bayes:
            for i, (a, b) in enumerate(zip(lr, wd)):
                left.annotate(str(i + 1), (a, b), textcoords="offset points", xytext=(5, 5), fontsize=8)
    left.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="weight decay",
             title="evaluated settings (red x: training diverged)")
    left.legend(loc="lower left", fontsize=8)
    figure.colorbar(scatter, ax=left, label="validation loss")
    for result in (grid, bayes):
        right.plot(np.arange(1, len(result) + 1), result.best_so_far(), marker=".", label=result.method)
    right.set(yscale="log", xlabel="training runs", ylabel="best validation loss so far", title="best so far")
    right.legend()
    figure.tight_layout()
    figure.savefig(out / "09_cnn_search.png", dpi=110)
    plt.close(figure)
    print(f"  wrote {out / '09_cnn_search.png'}")


def main(argv=None):
    args = parse_args(__doc__, argv)
    print("Part 1: a Gaussian process and expected improvement on a 1-D function")
    gp_and_ei_in_1d(args.out, steps_to_plot=3 if args.fast else 4)
    print("\nPart 2: grid vs Bayesian search over a small CNN's learning rate and weight decay")
    cnn_search(args.out, args.fast)


if __name__ == "__main__":
    main()
