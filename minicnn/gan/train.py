"""The one training loop every GAN recipe shares, with exact resume.

``train_gan("dcgan", steps=1000, out="runs/dcgan")`` writes into ``out``:

==========================  ==========================================================
``checkpoint.ckpt``         both models (and the EMA copy), both optimizers, the step,
                            minicnn's RNG and the noise generator's state, the
                            DataLoader's position, the tricks' state, the config and the
                            loss history; written atomically every ``checkpoint_every``
                            steps and at the end
``losses.csv``              one row per step: ``step,loss_d,loss_g,...``
``samples_stepNNNNNN.png``  the generator on the same fixed evaluation noise every
                            ``sample_every`` steps: the grids show one set of latents
                            turning into digits
``samples.png``             the last grid; ``losses.png`` the curves
==========================  ==========================================================

Exact resume: ``train_gan(..., resume=True)`` (``minicnn train dcgan --resume``) loads the
checkpoint and goes on to ``steps``. Every random number of a step comes from minicnn's
generator (initialisation), the DataLoader's own generator (shuffling) or the loop's
noise generator (latents, WGAN-GP's epsilon), and all three states are in the checkpoint,
so the resumed run's losses and weights equal an uninterrupted run's bit for bit (same
machine, same library versions and thread counts).

NaN guard: each recipe checks its losses *before* the update they drive; a NaN or inf
stops training with ``NonFiniteLossError`` naming the step, and the checkpoint on disk
stays the last good one (``TrainingRun.save`` also refuses non-finite weights).
"""
from __future__ import annotations

import contextlib
import csv
import os
import time
from pathlib import Path

import numpy as np

from .. import random as _random
from ..data import DataLoader, TensorDataset
from ..distributed.batch_split import BatchSplit
from ..training import TrainingRun, read_checkpoint
from .recipe import GANParts, GANRecipe, get_recipe

DATASETS = ("mnist5k", "digits", "mnist", "fashion-mnist")
EVAL_NOISE_SEED = 12345  # offset of the fixed evaluation noise's seed from the run's seed


def fit_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bring (N, C, H, W) images in [-1, 1] to (N, C, size, size): upsample by the largest
    whole factor that fits (nearest neighbour), then pad with -1 (black) to ``size``.
    28 -> 32 pads 2 pixels per side; 28 -> 64 doubles to 56 and pads 4; 8 -> 28 triples
    to 24 and pads 2."""
    height = images.shape[-1]
    if images.shape[-2] != height:
        raise ValueError(f"fit_images: expected square images, got {images.shape}")
    if height > size:
        raise ValueError(f"fit_images: images of {height}x{height} are larger than {size}")
    factor = size // height
    if factor > 1:
        images = images.repeat(factor, axis=2).repeat(factor, axis=3)
    extra = size - images.shape[-1]
    if extra:
        before, after = extra // 2, extra - extra // 2
        images = np.pad(images, ((0, 0), (0, 0), (before, after), (before, after)),
                        constant_values=-1.0)
    return np.ascontiguousarray(images, dtype=np.float32)


def load_gan_images(dataset: str = "mnist5k", size: int = 28, train: bool = True) -> np.ndarray:
    """Training (or held-out) images of ``dataset`` as float32 (N, 1, size, size) in [-1, 1]."""
    from .. import data

    value_range = (-1.0, 1.0)
    if dataset == "mnist5k":
        split = data.load_mnist5k(dtype=np.float32, value_range=value_range)
        images = split.train_images if train else split.test_images
    elif dataset == "digits":
        split = data.load_digits(dtype=np.float32, value_range=value_range)
        images = split.train_images if train else split.test_images
    elif dataset in ("mnist", "fashion-mnist"):
        kind = data.MNIST if dataset == "mnist" else data.FashionMNIST
        images = kind(train=train, dtype=np.float32, value_range=value_range).images
    else:
        raise ValueError(f"dataset: expected one of {DATASETS}, got {dataset!r}")
    return fit_images(images, size)


def _infinite(loader: DataLoader):
    """Batches forever, epoch after epoch (the loader remembers where it is)."""
    if len(loader) == 0:
        raise ValueError("the data loader gives no batch (fewer images than one batch)")
    while True:
        for (images,) in loader:
            yield images


def _write_csv(path: Path, run: TrainingRun, names: list[str]) -> None:
    """Rewrite the loss log from the run's history (used at start and after a resume, so
    rows logged after the last checkpoint of a crashed run disappear)."""
    columns = [run.curve(name)[1] for name in names]
    steps = run.curve(names[0])[0] if names else []
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["step"] + names)
        for row, step in enumerate(steps):
            writer.writerow([int(step)] + [repr(float(column[row])) for column in columns])


class GANTraining:
    """A GAN training run: the recipe's parts wired to a ``TrainingRun``, a loader over the
    dataset, the noise generator, the fixed evaluation noise and the output folder.

    Most users call ``train_gan``; lessons and tests use this class to step by hand.

    ``split``: a ``minicnn.distributed.BatchSplit`` under ``mpiexec`` (each rank computes
    its slice of every global batch; batch norm becomes ``SyncBatchNorm``; only rank 0
    writes); None (the default) trains alone.
    """

    def __init__(self, recipe: GANRecipe | str, config: dict | None = None, out=None,
                 device: str = "cpu", images: np.ndarray | None = None,
                 sample_count: int = 64, split: BatchSplit | None = None):
        self.recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        self.config = self.recipe.config(**(config or {}))
        self.config.setdefault("seed", 0)
        self.config.setdefault("dataset", "mnist5k")
        self.out = Path(out) if out is not None else None
        seed = int(self.config["seed"])
        self.split = split if split is not None else BatchSplit()
        if self.split.distributed:
            if not self.recipe.splits_batches:
                raise ValueError(f"{self.recipe.name} cannot split its batches over ranks "
                                 "(mpiexec): " + self.recipe.splits_batches_not_why)
            self.split.check_divides(int(self.config["batch_size"]))

        _random.manual_seed(seed)                  # initialisation of both models
        self.parts: GANParts = self.recipe.build(self.config)
        if self.split.distributed:
            for name in ("generator", "discriminator"):
                model = self.split.sync_batchnorm(self.parts.models[name])
                self.split.broadcast_module(model)
                self.parts.models[name] = model
            self.parts.split = self.split
        self.parts.to(device)
        if images is None:
            images = load_gan_images(self.config["dataset"], self.recipe.image_size)
        else:
            images = fit_images(np.asarray(images, dtype=np.float32), self.recipe.image_size)
        if int(self.config["batch_size"]) > len(images):   # drop_last: no batch would come
            raise ValueError(f"batch_size: {self.config['batch_size']} is more than the "
                             f"{len(images)} training images of {self.config['dataset']}; "
                             f"use at most {len(images)}")
        self.loader = DataLoader(TensorDataset(images), batch_size=int(self.config["batch_size"]),
                                 shuffle=True, drop_last=True, seed=seed,
                                 device=None if device == "cpu" else device)
        self.noise_rng = np.random.default_rng(seed + 1)
        self.eval_noise = self.recipe.noise(
            sample_count, np.random.default_rng(seed + EVAL_NOISE_SEED), self.parts)
        self.run = TrainingRun(
            models=self.parts.models, optimizers=self.parts.optimizers,
            schedulers=self.parts.extras, loaders={"train": self.loader},
            generators={"noise": self.noise_rng}, config=self.config,
            checkpoint_path=None if self.out is None else self.out / "checkpoint.ckpt")
        self.parts.check_finite = self._check_finite      # the NaN guard, inside each step
        self._batches = None
        self.loss_names: list[str] = []

    def _check_finite(self, name: str, value) -> float:
        """The run's NaN guard on the global batch's loss (the same verdict on every rank)."""
        if self.split.distributed:
            value = self.split.mean({name: float(value.item() if hasattr(value, "item")
                                                 else value)})[name]
        return self.run.check_finite(name, value)

    @classmethod
    def from_checkpoint(cls, path, out=None, device: str = "cpu", images=None, **kwargs):
        """Rebuild the run saved at ``path`` (its config picks the recipe) and load it."""
        state = read_checkpoint(path)
        with _rebuilding(path):
            config = dict(state["config"])
            recipe = get_recipe(config.pop("recipe"))
            training = cls(recipe, config, out=out if out is not None else Path(path).parent,
                           device=device, images=images, **kwargs)
        training.run.load(path)
        training.loss_names = list(training.run.history)
        return training

    @property
    def step(self) -> int:
        return self.run.step

    def train_step(self) -> dict:
        """One step of the recipe on the next real batch(es); logs and returns the losses."""
        if self._batches is None:
            self._batches = _infinite(self.loader)
        count = self.recipe.batches_per_step(self.config)
        batches = [self.split.local(next(self._batches)) for _ in range(count)]
        if count == 1:
            real = batches[0]
        else:
            from ..ops import cat
            real = cat(batches, 0)
        losses = self.recipe.train_step(self.parts, real, self.run.step,
                                        self.split.generator(self.noise_rng))
        losses = self.split.mean(losses)       # per-rank means -> the global batch's
        for name, value in losses.items():
            self.run.check_finite(name, value)
        self.run.step += 1
        for name, value in losses.items():
            self.run.log(name, value)
        if not self.loss_names:
            self.loss_names = list(losses)
        return losses

    def samples(self, noise=None):
        """The generator's images (N, C, H, W) in [-1, 1] on the fixed evaluation noise."""
        return self.recipe.sample(self.parts, self.eval_noise if noise is None else noise)

    def save_samples(self, path) -> None:
        from ..viz import save_image_grid
        images = self.samples()
        save_image_grid(images, path, nrow=8, scale=2)

    def save(self) -> str | None:
        """Write the checkpoint (on rank 0 only, in a split run); its path, or None."""
        return self.run.save() if self.split.writes else None


def train_gan(recipe: str, steps: int, out, config: dict | None = None,
              resume: bool = False, sample_every: int = 100, checkpoint_every: int = 200,
              device: str = "cpu", progress: bool = True, images=None,
              max_seconds: float | None = None,
              split: BatchSplit | None = None) -> GANTraining:
    """Train ``recipe`` ("dcgan", "wgan-gp", "stylegan", ...) until ``steps`` steps are done,
    writing checkpoints, grids and the loss log into ``out``; returns the ``GANTraining``.

    ``resume=True`` continues from ``out/checkpoint.ckpt`` (the saved config wins over
    ``config``). ``max_seconds`` stops early (after a checkpoint) when time runs out.
    ``split``: under ``mpiexec``, this rank's ``BatchSplit`` (only rank 0 writes files).
    """
    split = split if split is not None else BatchSplit()
    out = Path(out)
    checkpoint = out / "checkpoint.ckpt"
    if resume:
        if not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
        training = GANTraining.from_checkpoint(checkpoint, out=out, device=device, images=images,
                                               split=split)
    else:
        training = GANTraining(recipe, config, out=out, device=device, images=images,
                               split=split)
    writes = split.writes
    if writes:
        out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "losses.csv"
    if training.loss_names and writes:
        _write_csv(csv_path, training.run, training.loss_names)

    started, first = time.perf_counter(), training.step
    bar = None
    if progress and writes:
        from tqdm import tqdm
        bar = tqdm(total=steps, initial=training.step, desc=training.recipe.name,
                   unit="step", dynamic_ncols=True)
    csv_stream = None
    try:
        while training.step < steps:
            losses = training.train_step()
            if csv_stream is None and writes:
                new = not csv_path.exists() or training.step == 1
                csv_stream = open(csv_path, "w" if new else "a", newline="")
                writer = csv.writer(csv_stream)
                if new:
                    writer.writerow(["step"] + training.loss_names)
            if writes:
                writer.writerow([training.step] + [repr(float(losses[name]))
                                                    for name in training.loss_names])
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
            step = training.step
            if writes and (step % sample_every == 0 or step == steps):
                training.save_samples(out / f"samples_step{step:06d}.png")
            out_of_time = max_seconds is not None and time.perf_counter() - started > max_seconds
            if max_seconds is not None:
                out_of_time = split.any(out_of_time)    # every rank stops at the same step
            if step % checkpoint_every == 0 or step == steps or out_of_time:
                if csv_stream is not None:
                    csv_stream.flush()
                training.save()
            if out_of_time:
                break
    finally:   # also on NonFiniteLossError or Ctrl-C: the CSV keeps what was logged
        if csv_stream is not None:
            csv_stream.close()
        if bar is not None:
            bar.close()
    training.seconds = time.perf_counter() - started
    training.steps_done_now = training.step - first
    if writes:
        training.save_samples(out / "samples.png")
    if training.loss_names and writes:
        from ..viz import plot_curves
        plot_curves({name: training.run.curve(name) for name in training.loss_names},
                    out / "losses.png", title=f"{training.recipe.name}: losses")
    return training


def load_trained(path, device: str = "cpu") -> tuple[GANRecipe, GANParts]:
    """The recipe and parts (models with their trained weights) of a checkpoint, for
    sampling and evaluation. Optimizers are rebuilt but not restored."""
    state = read_checkpoint(path)
    with _rebuilding(path):
        config = dict(state["config"])
        recipe = get_recipe(config["recipe"])
        _random.manual_seed(int(config.get("seed", 0)))
        parts = recipe.build(recipe.config(**{k: v for k, v in config.items()
                                              if k != "recipe"}))
        saved_models = state.get("models")
        for name, model in parts.models.items():
            if not isinstance(saved_models, dict) or name not in saved_models:
                raise ValueError(f"the checkpoint holds no {name!r} model (it has "
                                 f"{sorted(saved_models) if isinstance(saved_models, dict) else 'none'})")
            model.load_state_dict(saved_models[name])
        for name, extra in parts.extras.items():
            if name in state.get("schedulers", {}):
                extra.load_state_dict(state["schedulers"][name])
        step = state.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"the checkpoint's step is {step!r}, expected an int >= 0")
    parts.to(device)
    parts.step = step
    return recipe, parts


@contextlib.contextmanager
def _rebuilding(path):
    """Rebuilding a run from a checkpoint's config and weights: whatever fails (a config
    another minicnn or a hand edit left, weights of other shapes) is one ``ValueError``
    naming the file, as a damaged file is; out of memory stays itself."""
    try:
        yield
    except (ValueError, TypeError, KeyError, RuntimeError, AttributeError,
            IndexError) as error:
        if isinstance(error.__context__, MemoryError):   # ops' "cannot allocate": as is
            raise
        detail = " ".join(str(error).split()) if isinstance(error, ValueError) else \
            f"{type(error).__name__}: {' '.join(str(error).split())}"
        raise ValueError(f"{os.fspath(path)}: the run it holds cannot be rebuilt: "
                         f"{detail}") from error
