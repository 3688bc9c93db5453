"""Lesson 07: regularisation: overfit a tiny training set, then hold the model back.

What you will learn:
  1. Overfitting: a small MLP trained on 50 handwritten digits (8x8, scikit-learn's
     ``load_digits``) reaches 100% training accuracy while its loss on unseen digits gets
     *worse*: it memorises the 50 images, confidently.
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
held-out accuracy per epoch for the four runs. The unregularised run's held-out loss turns
upwards once its training loss approaches 0; the others stay lower.

Time: about 10 seconds on a laptop CPU (``--fast``: about 3 seconds).
Run: ``python lessons/07_regularization.py``
"""
import numpy as np

import minicnn as mc
import minicnn.functional as F
import minicnn.nn as nn
from minicnn.lesson import check, parse_args
from minicnn.optim import SGD, l1_penalty

TRAIN_SIZE = 50


def load_data(seed=0):
    """50 training digits and 1000 held-out ones, pixels scaled to [0, 1], float32."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    images = (digits.data / 16.0).astype(np.float32)
    train, test = order[:TRAIN_SIZE], order[TRAIN_SIZE:TRAIN_SIZE + 1000]
    return ((mc.tensor(images[train]), mc.tensor(digits.target[train])),
            (mc.tensor(images[test]), mc.tensor(digits.target[test])))


def make_model(dropout=0.0):
    """64 pixels -> 256 hidden units -> 10 classes: far more weights (19,210) than
    training images, so it can memorise them."""
    layers = [nn.Linear(64, 256), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(256, 10))
    return nn.Sequential(*layers)


def train(name, epochs, data, weight_decay=0.0, l1=0.0, dropout=0.0, seed=1):
    """Full-batch SGD with momentum; returns per-epoch curves and the trained model."""
    (x_train, y_train), (x_test, y_test) = data
    mc.manual_seed(seed)  # every run starts from the same weights
    model = make_model(dropout)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    # weight decay on the weights only: biases just shift, they do not add capacity
    optimizer = SGD([{"params": weights, "weight_decay": weight_decay},
                     {"params": biases, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    curves = {"train loss": [], "held-out loss": [], "held-out accuracy": []}
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train), y_train)
        if l1:
            loss = loss + l1_penalty(weights, l1)
        loss.backward()
        optimizer.step()
        model.eval()  # dropout off: evaluate the whole network
        with mc.no_grad():
            train_loss = F.cross_entropy(model(x_train), y_train).item()
            logits = model(x_test)
            test_loss = F.cross_entropy(logits, y_test).item()
            accuracy = float((logits.numpy().argmax(1) == y_test.numpy()).mean())
        curves["train loss"].append(train_loss)
        curves["held-out loss"].append(test_loss)
        curves["held-out accuracy"].append(accuracy)
    all_weights = np.concatenate([w.numpy().ravel() for w in weights])
    summary = {"norm": float(np.linalg.norm(all_weights)),
               "near zero": float((np.abs(all_weights) < 1e-3).mean())}
    print(f"   {name:10s} train loss {curves['train loss'][-1]:.4f}  held-out loss "
          f"{curves['held-out loss'][-1]:.3f} (best {min(curves['held-out loss']):.3f})  "
          f"held-out accuracy {curves['held-out accuracy'][-1]:.3f}  ||w|| {summary['norm']:.1f}  "
          f"|w| < 1e-3: {100 * summary['near zero']:.0f}%")
    return curves, summary


def main(argv=None):
    args = parse_args(__doc__, argv)
    epochs = 150 if args.fast else 400
    data = load_data()
    print(f"Training on {TRAIN_SIZE} digits for {epochs} epochs, judged on 1000 others:")
    runs = {
        "none": train("none", epochs, data),
        "L2": train("L2", epochs, data, weight_decay=0.01),
        "L1": train("L1", epochs, data, l1=1e-3),
        "dropout": train("dropout", epochs, data, dropout=0.5),
    }
    none, none_summary = runs["none"]

    check(none["train loss"][-1] < 0.01, "without regularisation the training loss goes to ~0")
    check(none["held-out loss"][-1] > 5 * none["train loss"][-1],
          "while the held-out loss stays far higher: the model memorised its 50 images")
    for name in ("L2", "L1", "dropout"):
        check(runs[name][0]["held-out loss"][-1] < none["held-out loss"][-1],
              f"{name} ends with a lower held-out loss than no regularisation")
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
            axes.plot(curves[key], label=name)
        if "loss" in key:
            axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_title(key)
        axes.legend()
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


if __name__ == "__main__":
    main()
