r"""A LeNet-style digit classifier, and ``train_classifier``: a complete, resumable run.

The network (LeCun et al., 1998, in today's parts: ReLU and max pooling instead of tanh
and average pooling, dropout before the last layer)::

    input            (N,  1, 28, 28)
    conv 5x5, pad 2  (N, C1, 28, 28)   ReLU   max pool 2x2 -> (N, C1, 14, 14)
    conv 5x5         (N, C2, 10, 10)   ReLU   max pool 2x2 -> (N, C2,  5,  5)
    flatten          (N, C2 * 25)
    linear           (N, F)            ReLU              <- features(x): the penultimate layer
    dropout p
    linear           (N, 10)                             <- logits

The convolutions learn local detectors (strokes, then stroke combinations); pooling makes
them tolerant to small shifts and shrinks the maps; the two linear layers combine the
detections into a decision. With the defaults (C1 = 16, C2 = 32, F = 128) it has
117,066 parameters and reaches 98.0% (seed 0) on the 1,000 test digits of MNIST-5k after
training on its 4,000 training digits for 8 epochs (about 70 s on two CPU cores).

``features(x)`` returns the F activations just before the last layer. A frozen, trained
classifier turns an image into such a vector, and comparing the distributions of those
vectors for real and generated images is how ``minicnn.metrics`` scores a GAN (the idea of
the Fréchet Inception Distance, with this network in place of Inception).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..autograd import Tensor, no_grad
from ..data import DataLoader, TensorDataset, load_mnist5k
from ..data.transforms import random_shift
from ..random import manual_seed
from ..serialization import load, save
from ..distributed.batch_split import BatchSplit
from ..training import TrainingRun, blas_threads, read_checkpoint


class DigitClassifier(nn.Module):
    """LeNet-style CNN for 28x28 single-channel digits (see the module docstring).

    Args:
        channels: (C1, C2), the filters of the two convolutions.
        hidden: F, the width of the penultimate (feature) layer.
        dropout: p of the dropout before the last layer.
        num_classes: outputs (10 digits).

    Shapes: input (N, 1, 28, 28) -> logits (N, num_classes); ``features``: (N, hidden).
    """

    def __init__(self, channels=(16, 32), hidden: int = 128, dropout: float = 0.25,
                 num_classes: int = 10):
        super().__init__()
        c1, c2 = channels
        self.config = {"channels": [int(c1), int(c2)], "hidden": int(hidden),
                       "dropout": float(dropout), "num_classes": int(num_classes)}
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5)
        self.fc1 = nn.Linear(c2 * 5 * 5, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer: (N, 1, 28, 28) -> (N, hidden), after its ReLU."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"DigitClassifier: input: expected shape (N, 1, 28, 28), got "
                             f"{tuple(x.shape)}")
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)      # (N, C1, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)      # (N, C2, 5, 5)
        x = x.reshape(x.shape[0], -1)                   # (N, C2 * 25)
        return F.relu(self.fc1(x))                      # (N, F)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, num_classes): softmax of them gives class probabilities."""
        return self.fc2(self.dropout(self.features(x)))

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.config.items())


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------
def predict(model: nn.Module, images, batch_size: int = 500) -> np.ndarray:
    """Predicted classes (N,) for images (N, 1, 28, 28) as floats in [0, 1]; eval mode,
    no graph. The model's training/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    predictions = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            logits = model(batch if isinstance(batch, Tensor) else Tensor._wrap(batch))
            predictions.append(logits.numpy().argmax(axis=1))
    model.train(was_training)
    return np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)


def accuracy(model: nn.Module, images, labels) -> float:
    """Fraction of ``images`` whose predicted class equals ``labels``."""
    labels = np.asarray(labels)
    return float((predict(model, images) == labels).mean()) if len(labels) else float("nan")


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------
@dataclass
class ClassifierResult:
    """What ``train_classifier`` returns."""

    model: DigitClassifier
    run: TrainingRun
    test_accuracy: float
    test_predictions: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    seconds: float
    finished: bool = True       # False when stopped early by ``stop_after_steps``
    files: dict = field(default_factory=dict)


DEFAULTS = {
    "epochs": 8, "batch_size": 64, "lr": 2e-3, "seed": 0, "channels": [16, 32],
    "hidden": 128, "dropout": 0.25, "max_shift": 1, "lr_decay": 0.8, "limit_train": None,
    "limit_test": None, "blas_threads": 1,
}


def _make_run(config: dict, split, checkpoint_path):
    """Model, optimizer, schedule, loader and augmentation generator for ``config``, built
    in a fixed order from the seed (so two runs with the same seed start identically)."""
    manual_seed(config["seed"])
    model = DigitClassifier(config["channels"], config["hidden"], config["dropout"])
    optimizer = optim.Adam(model.parameters(), lr=config["lr"])
    # lr x lr_decay after each epoch: big steps first, finer ones at the end
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=config["lr_decay"])
    train_images, train_labels = split.train_images, split.train_labels
    loader = DataLoader(TensorDataset(train_images, train_labels),
                        batch_size=config["batch_size"], shuffle=True, drop_last=False,
                        seed=config["seed"])
    augmentation = np.random.default_rng(config["seed"] + 1)
    run = TrainingRun(models={"model": model}, optimizers={"optimizer": optimizer},
                      schedulers={"scheduler": scheduler}, loaders={"train": loader},
                      generators={"augmentation": augmentation}, config=config,
                      checkpoint_path=checkpoint_path)
    return run, model, loader


def _load_split(config: dict):
    split = load_mnist5k(dtype=np.float32, value_range=(0.0, 1.0))
    limit_train, limit_test = config.get("limit_train"), config.get("limit_test")
    return type(split)(split.train_images[:limit_train], split.train_labels[:limit_train],
                       split.test_images[:limit_test], split.test_labels[:limit_test])


def train_classifier(epochs: int | None = None, batch_size: int | None = None,
                     lr: float | None = None, seed: int | None = None, out_dir=None,
                     resume: bool | str = False, checkpoint_every: int | None = None,
                     progress: bool = False, log=None, stop_after_steps: int | None = None,
                     split: BatchSplit | None = None, **options) -> ClassifierResult:
    """Train ``DigitClassifier`` on MNIST-5k (4,000 train / 1,000 test digits).

    Deterministic: the same arguments on the same machine give the same weights and the
    same losses, bit for bit, and so does a run interrupted and resumed from its
    checkpoint. Recipe: Adam (lr 2e-3, x0.8 per epoch), batches of 64, cross-entropy,
    dropout 0.25, random shifts of up to 1 pixel as augmentation, 8 epochs.

    Args:
        epochs, batch_size, lr, seed: the usual (defaults in ``DEFAULTS``).
        out_dir: folder for ``checkpoint.ckpt`` (the whole run, saved after every epoch
            and every ``checkpoint_every`` steps) and ``model.ckpt`` (the trained weights and
            architecture, for ``load_classifier``). None: save nothing.
        resume: True to continue from ``out_dir/checkpoint.ckpt``, or a checkpoint path.
            The saved settings are used (``epochs`` may be raised to train longer).
        progress: show a tqdm progress bar.
        log: called with one line of text per epoch (e.g. ``print``); None: silent.
        stop_after_steps: stop (as an interruption would) after this many optimizer
            steps in total; the checkpoint is saved first. For tests and demonstrations.
        split: under ``mpiexec``, this rank's ``minicnn.distributed.BatchSplit``: each rank
            computes its slice of every global batch of ``batch_size``, the gradients are
            summed weighted by the slices' sizes, and only rank 0 writes files and logs.
        options: other ``DEFAULTS`` keys (channels, hidden, dropout, max_shift, lr_decay,
            limit_train / limit_test: use only the first N digits, for quick runs;
            blas_threads: BLAS threads during the run, default 1, see
            ``minicnn.training.blas_threads``: the same result on any number of cores, and
            faster for this small network; None: the BLAS library's default).

    Returns:
        ``ClassifierResult`` (model, run with its history, test accuracy and predictions).

    Raises:
        NonFiniteLossError: a NaN or infinite loss, with the step number; the checkpoint
            on disk stays the last good one.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"train_classifier: unknown option(s) {sorted(unknown)}; known: "
                        f"{sorted(DEFAULTS)}")
    named = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    config = {**DEFAULTS, **{k: v for k, v in named.items() if v is not None}, **options}
    checkpoint_path = None if out_dir is None else os.path.join(os.fspath(out_dir),
                                                                "checkpoint.ckpt")
    if resume:
        resume_path = checkpoint_path if resume is True else os.fspath(resume)
        if resume_path is None:
            raise ValueError("resume=True needs out_dir (where checkpoint.ckpt is)")
        saved = read_checkpoint(resume_path)["config"]
        if epochs is not None and epochs != saved["epochs"]:
            saved = {**saved, "epochs": epochs}
        config = {**DEFAULTS, **saved}
    _check_config(config)

    ranks = split if split is not None else BatchSplit()
    split = _load_split(config)
    run, model, loader = _make_run(config, split, checkpoint_path)
    ranks.broadcast_module(model)
    if resume:
        run.load(resume_path)
        run.config = config
    if not ranks.writes:
        run.checkpoint_path, log = None, None
    total_steps = config["epochs"] * len(loader)
    bar = None
    if progress and ranks.writes:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=min(run.step, total_steps), unit="step",
                   dynamic_ncols=True, desc="train classifier")
    started = time.perf_counter()
    try:
        with blas_threads(config["blas_threads"]):
            finished = _train_epochs(run, split, bar, checkpoint_every, stop_after_steps, log,
                                     ranks)
            predictions = predict(model, split.test_images)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started

    result = ClassifierResult(
        model=model, run=run,
        test_accuracy=float((predictions == split.test_labels).mean()),
        test_predictions=predictions, test_images=split.test_images,
        test_labels=split.test_labels, seconds=seconds, finished=finished)
    if out_dir is not None and ranks.writes:
        result.files["checkpoint"] = checkpoint_path
        if finished:
            result.files["model"] = save_classifier(model, os.path.join(os.fspath(out_dir),
                                                                        "model.ckpt"))
    return result


def _train_epochs(run: TrainingRun, split, bar, checkpoint_every, stop_after_steps,
                  log, ranks: BatchSplit) -> bool:
    """The training loop, from wherever ``run`` stands to ``run.config["epochs"]``.
    Returns False when stopped early by ``stop_after_steps``. With ``ranks`` split over
    processes, each computes its rows of the global batch (augmented as a whole first, so
    the augmentation generator stays equal on every rank)."""
    config = run.config
    model, optimizer = run.models["model"], run.optimizers["optimizer"]
    scheduler, loader = run.schedulers["scheduler"], run.loaders["train"]
    augmentation = run.generators["augmentation"]
    save = run.checkpoint_path is not None
    model.train()
    while run.epoch < config["epochs"]:
        if "correct" not in run.extra:  # a resumed run continues the epoch's counts
            run.extra.update(correct=0, seen=0)
        for images, labels in loader:          # a resumed loader continues mid-epoch
            if config["max_shift"]:
                images = Tensor._wrap(random_shift(images.array, config["max_shift"], augmentation))
            if ranks.distributed:
                value, correct = _split_step(run, model, optimizer, images, labels, ranks)
            else:
                logits = model(images)
                loss = F.cross_entropy(logits, labels)
                value = run.check_finite("loss", loss)   # NaN/inf: stop, keep the checkpoint
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                correct = int((logits.array.argmax(axis=1) == labels.array).sum())
            run.step += 1
            run.log("loss", value)
            run.extra["correct"] += correct
            run.extra["seen"] += int(labels.shape[0])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=run.epoch + 1, loss=f"{value:.4f}")
            stop = stop_after_steps is not None and run.step >= stop_after_steps
            if save and (stop or (checkpoint_every and run.step % checkpoint_every == 0)):
                run.save()
            if stop:
                return False
        run.epoch += 1
        scheduler.step()
        correct, seen = run.extra.pop("correct"), run.extra.pop("seen")
        run.log("train accuracy", correct / max(seen, 1), step=run.step)
        test_accuracy = accuracy(model, split.test_images, split.test_labels)
        run.log("test accuracy", test_accuracy, step=run.step)
        if log is not None:
            log(f"epoch {run.epoch}/{config['epochs']}: loss {run.history['loss']['value'][-1]:.4f}, "
                f"test accuracy {test_accuracy:.4f}")
        if save:
            run.save()
    return True


def _split_step(run: TrainingRun, model, optimizer, images, labels,
                ranks: BatchSplit) -> tuple[float, int]:
    """One step on this rank's rows of the global batch: the global mean loss and the
    number of correct predictions in the whole batch (both summed over the ranks)."""
    n = int(labels.shape[0])
    images, labels = ranks.local(images), ranks.local(labels)
    share = ranks.share(n)
    ranks.reseed_dropout(run.config["seed"], run.step)   # a resume redraws the same masks
    optimizer.zero_grad()
    if labels.shape[0]:
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        local = {"loss": share * float(loss.item()),
                 "correct": float((logits.array.argmax(axis=1) == labels.array).sum())}
    else:  # a last batch smaller than the number of ranks leaves some ranks nothing
        loss, local = None, {"loss": 0.0, "correct": 0.0}
    total = ranks.sum(local)
    value = run.check_finite("loss", total["loss"])   # the same verdict on every rank
    if loss is not None:
        loss.backward()
    ranks.average_gradients(model.parameters(), share)
    optimizer.step()
    return value, int(total["correct"])


def _check_config(config: dict) -> None:
    for key in ("epochs", "batch_size", "hidden"):
        if not isinstance(config[key], (int, np.integer)) or config[key] <= 0:
            raise ValueError(f"train_classifier: {key}: expected a positive int, got "
                             f"{config[key]!r}")
    if not isinstance(config["seed"], (int, np.integer)) or config["seed"] < 0:
        raise ValueError(f"train_classifier: seed: expected a non-negative int, got "
                         f"{config['seed']!r}")
    if not float(config["lr"]) > 0:
        raise ValueError(f"train_classifier: lr: expected a positive number, got "
                         f"{config['lr']!r}")
    for key in ("limit_train", "limit_test"):
        if config[key] is not None and (not isinstance(config[key], (int, np.integer))
                                        or config[key] <= 0):
            raise ValueError(f"train_classifier: {key}: expected a positive int or None, got "
                             f"{config[key]!r}")


# ---------------------------------------------------------------------------------------
# Saving and loading the trained model alone
# ---------------------------------------------------------------------------------------
def save_classifier(model: DigitClassifier, path) -> str:
    """Save the architecture and weights (not the training state) to ``path``."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save({"format": "minicnn-digit-classifier", "config": model.config,
          "state_dict": model.state_dict()}, path)
    return path


def load_classifier(path) -> DigitClassifier:
    """A ``DigitClassifier`` in eval mode from ``save_classifier``'s file or from a
    training checkpoint (``checkpoint.ckpt``) of ``train_classifier``."""
    state = load(path)
    if not (isinstance(state, dict) and state.get("format") in (
            "minicnn-digit-classifier", "minicnn-training-run")):
        raise ValueError(f"{os.fspath(path)}: not a digit classifier or a train_classifier "
                         "checkpoint")
    try:   # a hand-edited or damaged file: one ValueError naming it, whatever broke
        if state["format"] == "minicnn-digit-classifier":
            config, weights = state["config"], state["state_dict"]
        else:
            config = {key: state["config"][key] for key in ("channels", "hidden", "dropout")}
            weights = state["models"]["model"]
        model = DigitClassifier(config["channels"], config["hidden"], config["dropout"],
                                config.get("num_classes", 10))
        model.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        what = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"{os.fspath(path)}: its classifier settings and weights do not "
                         f"rebuild a DigitClassifier ({what})") from None
    return model.eval()
