"""Lesson 07: regularisation: overfit a tiny training set, then hold the model back.

What you will learn:
  1. Overfitting: a small MLP trained on 200 handwritten digits (8x8, scikit-learn's
     ``load_digits``), 30% of them with a wrong (random) label, learns those wrong labels
     by heart: its training loss keeps falling while its loss on 359 unseen digits rises.
  2. Three ways to hold it back, each a one-line change:
     - L2 / weight decay: ``SGD(..., weight_decay=wd)`` adds wd * w to every gradient
       (the gradient of wd/2 * ||w||^2): weights shrink towards 0.
     - L1: ``loss + l1_penalty(weights, strength)`` adds strength * sign(w): small weights
       are pushed to exactly 0 (sparse weights).
     - Dropout: ``nn.Dropout(p)`` zeroes random hidden units in training, so no unit can
       rely on another; ``model.eval()`` switches it off for evaluation.
  3. How to see the effect: held-out loss and accuracy, weight norms, the share of
     near-zero weights.

What to look at: ``lessons/out/07_regularization.png``: training loss, held-out loss and
held-out accuracy over the epochs for the four runs. Without regularisation the held-out
loss turns upwards while the training loss keeps falling (memorising the noise); the
regularised runs give up some training loss and stay better on unseen digits. Note where
the unregularised held-out loss is lowest (printed as "best"): stopping training there,
*early stopping*, is a fourth regulariser.

Time: about 10 seconds on a laptop CPU (``--fast``: about 7 seconds, mostly imports).
Run: ``python lessons/07_regularization.py``
"""
import numpy as np

import minicnn as mc
import minicnn.functional as F
import minicnn.nn as nn
from minicnn.data import load_digits
from minicnn.lesson import check, parse_args
from minicnn.optim import SGD, l1_penalty

TRAIN_SIZE, LABEL_NOISE = 200, 0.3


def load_data(seed=0):
    """200 training digits (30% of them given a random label) and the 359 held-out test
    digits of ``minicnn.data.load_digits`` (true labels); pixels in [0, 1], float32,
    flattened to 64 features."""
    split = load_digits(np.float32)
    rng = np.random.default_rng(seed)
    train = rng.permutation(len(split.train_labels))[:TRAIN_SIZE]
    labels = split.train_labels[train].copy()
    noisy = rng.random(TRAIN_SIZE) < LABEL_NOISE
    labels[noisy] = rng.integers(0, 10, noisy.sum())
    return ((mc.tensor(split.train_images[train].reshape(TRAIN_SIZE, 64)), mc.tensor(labels)),
            (mc.tensor(split.test_images.reshape(-1, 64)), mc.tensor(split.test_labels)))


def make_model(dropout=0.0):
    """64 pixels -> 128 hidden units -> 10 classes: 9,610 weights for 200 images, enough
    to memorise every one of them, wrong labels included."""
    layers = [nn.Linear(64, 128), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(128, 10))
    return nn.Sequential(*layers)


def train(name, epochs, data, weight_decay=0.0, l1=0.0, dropout=0.0, seed=1, every=5):
    """Full-batch SGD with momentum; returns the curves (measured every ``every`` epochs)
    and a summary of the trained weights."""
    (x_train, y_train), (x_test, y_test) = data
    mc.manual_seed(seed)  # every run starts from the same weights
    model = make_model(dropout)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    # weight decay on the weights only: biases just shift, they do not add capacity
    optimizer = SGD([{"params": weights, "weight_decay": weight_decay},
                     {"params": biases, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    curves = {"epoch": [], "train loss": [], "held-out loss": [], "held-out accuracy": []}
    for epoch in range(1, epochs + 1):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train), y_train)
        if l1:
            loss = loss + l1_penalty(weights, l1)
        loss.backward()
        optimizer.step()
        if epoch % every:
            continue
        model.eval()  # dropout off: evaluate the whole network
        with mc.no_grad():
            train_loss = F.cross_entropy(model(x_train), y_train).item()
            logits = model(x_test)
            test_loss = F.cross_entropy(logits, y_test).item()
            accuracy = float((logits.numpy().argmax(1) == y_test.numpy()).mean())
        curves["epoch"].append(epoch)
        curves["train loss"].append(train_loss)
        curves["held-out loss"].append(test_loss)
        curves["held-out accuracy"].append(accuracy)
    all_weights = np.concatenate([w.numpy().ravel() for w in weights])
    summary = {"norm": float(np.linalg.norm(all_weights)),
               "near zero": float((np.abs(all_weights) < 1e-3).mean())}
    best = int(np.argmin(curves["held-out loss"]))
    print(f"   {name:8s} train loss {curves['train loss'][-1]:.3f}  held-out loss "
          f"{curves['held-out loss'][-1]:.3f} (best {curves['held-out loss'][best]:.3f} at epoch "
          f"{curves['epoch'][best]})  "
          f"held-out accuracy {curves['held-out accuracy'][-1]:.3f}  ||w|| {summary['norm']:.1f}  "
          f"|w| < 1e-3: {100 * summary['near zero']:.0f}%")
    return curves, summary


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 150 if args.fast else 400
    data = load_data()
    print(f"Training on {TRAIN_SIZE} digits ({LABEL_NOISE:.0%} mislabelled) for {epochs} "
          f"epochs, judged on {len(data[1][1])} others:")
    runs = {
        "none": train("none", epochs, data),
        "L2": train("L2", epochs, data, weight_decay=0.01),
        "L1": train("L1", epochs, data, l1=2e-3),
        "dropout": train("dropout", epochs, data, dropout=0.5),
    }
    none, none_summary = runs["none"]

    check(none["train loss"][-1] < 0.5 * none["train loss"][len(none["epoch"]) // 3],
          "without regularisation the training loss keeps falling (it learns the wrong labels)")
    check(none["held-out loss"][-1] > 1.15 * min(none["held-out loss"]),
          "while its held-out loss has risen well above its best: overfitting")
    for name in ("L2", "L1", "dropout"):
        check(runs[name][0]["held-out loss"][-1] < 0.95 * none["held-out loss"][-1],
              f"{name} ends with a held-out loss at least 5% lower than no regularisation")
    check(max(runs[name][0]["held-out accuracy"][-1] for name in ("L2", "L1", "dropout"))
          > none["held-out accuracy"][-1] + 0.05,
          "and the best regularised run classifies 5 points more unseen digits correctly")
    check(runs["L2"][1]["norm"] < 0.8 * none_summary["norm"], "L2 shrinks the weights")
    check(runs["L1"][1]["near zero"] > 5 * max(none_summary["near zero"], 0.01),
          "L1 drives many more weights to (almost) exactly zero")

    filename = args.out / "07_regularization.png"
    draw(runs, filename)
    print(f"\nPicture: {filename}")


def draw(runs, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.5))
    FigureCanvasAgg(figure)
    for i, key in enumerate(["train loss", "held-out loss", "held-out accuracy"]):
        axes = figure.add_subplot(1, 3, i + 1)
        for name, (curves, _) in runs.items():
            axes.plot(curves["epoch"], curves[key], label=name)
        if "loss" in key:
            axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_title(key)
        axes.legend()
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


if __name__ == "__main__":
    main()
