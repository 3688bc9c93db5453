r"""Tuning a GAN recipe with ``minicnn.tune``: the study behind ``minicnn tune dcgan|wgan-gp|stylegan``.

**The objective.** A trial trains the recipe with one setting of its knobs for a fixed
wall-clock budget (``trial_seconds``: as many steps as fit, at most ``max_steps``) and
returns the **Fréchet distance** of its samples to held-out real digits at a fixed N, on the
frozen digit classifier's features (``minicnn.metrics.evaluate_generator``, the figure
``minicnn eval`` prints). Lower is better; a run whose loss turns NaN scores +inf. Because
every trial gets the same *time*, a setting that makes steps cheaper (a smaller width, a
smaller batch, fewer critic updates) gets more of them: the search weighs quality per
second, which is what a learner's budget asks for.

**The search.** Bayesian optimisation (``BayesianOptimizer``: a Gaussian process with
expected improvement) or a grid (``Space.grid``). The GP is fitted to ln(FD), not FD:
distances span 15 to 2,000 and a diverged run at 1,800 would otherwise flatten the
differences that matter near 50 (ln is monotone: the best point is the same).

**The space** (``recipe_space``): width, the learning rate of each player (``lr`` for G,
``lr_d`` for D: TTUR lets them differ), Adam's ``beta1``/``beta2``, batch size, generator
EMA, spectral norm on D (DCGAN, WGAN-GP), one-sided label smoothing (DCGAN), n_critic and
the GP weight (WGAN-GP), the R1 weight (StyleGAN-lite). ``fixed`` pins any knob (and
removes it from the search).

**Resumable.** ``study.jsonl`` in the study folder holds one header line (the settings
that define the study) and one line per *finished* trial, appended and flushed as it ends.
A rerun reads it, replays the finished trials into the optimiser and continues with the
next one; a trial interrupted half-way is started again from scratch. Each trial's run
(checkpoint, samples.png, losses) stays in ``trial_NNN/``.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .bayes import BayesianOptimizer
from .space import Choice, Integer, Real, Space

__all__ = ["KINDS", "recipe_space", "trial_config", "GANStudy", "StudyMismatch"]

KINDS = ("dcgan", "wgan-gp", "stylegan")
RECORDS = "study.jsonl"


def recipe_space(kind: str) -> dict:
    """The knobs searched for ``kind`` and their ranges (each includes today's default)."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    space = {
        "width": Choice([16, 32, 48, 64]),
        "batch_size": Choice([32, 64, 128]),
        "lr": Real(5e-5, 2e-3, log=True),          # the generator's
        "lr_d": Real(5e-5, 2e-3, log=True),        # the discriminator's (TTUR)
        "beta1": Real(0.0, 0.9),
        "beta2": Choice([0.9, 0.99, 0.999]),
        "ema": Choice([0.0, 0.99, 0.999]),
    }
    if kind == "dcgan":
        space.update(spectral_norm=Choice([False, True]), label_smoothing=Real(0.0, 0.3))
    elif kind == "wgan-gp":
        space.update(width=Choice([16, 32, 64]), batch_size=Choice([32, 64]),
                     spectral_norm=Choice([False, True]), n_critic=Integer(1, 5),
                     gp_weight=Real(1.0, 20.0, log=True))
    else:   # stylegan: equalized layers, no spectral norm; R1 instead
        space.update(width=Choice([16, 32]), batch_size=Choice([16, 32, 64]),
                     ema=Choice([0.0, 0.99, 0.995, 0.999]), r1=Real(0.1, 10.0, log=True))
    return space


def trial_config(params: dict) -> dict:
    """Search parameters -> the recipe's settings (``beta1``, ``beta2`` -> ``betas``)."""
    config = {k: v for k, v in params.items() if k not in ("beta1", "beta2")}
    if "beta1" in params or "beta2" in params:
        config["betas"] = (float(params.get("beta1", 0.5)), float(params.get("beta2", 0.999)))
    return config


class StudyMismatch(ValueError):
    """The study folder holds a study with other settings."""


def _plain(value):
    """JSON-friendly numbers (NumPy scalars -> Python)."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class GANStudy:
    """One tuning study of a GAN recipe, kept in ``out`` (see the module docstring).

    Args:
        kind: "dcgan", "wgan-gp" or "stylegan".
        out: the study folder.
        method: "bayes" or "grid".
        trial_seconds: wall-clock training budget of each trial.
        max_steps: at most this many steps per trial (the budget usually stops it first).
        n: the fixed N of the Fréchet distance (generated and real images).
        fixed: knobs pinned to a value (removed from the search), e.g. {"width": 8}.
        seed: the runs' seed (the same for every trial: the same data order and noise) and
            the search's.
        images: train on the first ``images`` training digits only (None: all).
        n_init: Bayesian optimisation's random (Latin hypercube) trials before the GP.
        grid_points: values per Real/Integer dimension of a grid (Choices: all options).
    """

    def __init__(self, kind: str, out, method: str = "bayes", trial_seconds: float = 300.0,
                 max_steps: int = 100_000, n: int = 500, fixed: dict | None = None,
                 seed: int = 0, dataset: str = "mnist5k", images: int | None = None,
                 n_init: int = 8, grid_points: int = 2, device: str = "cpu", log=print,
                 extractor=None):
        from ..gan.recipe import get_recipe

        if method not in ("bayes", "grid"):
            raise ValueError(f"method: expected 'bayes' or 'grid', got {method!r}")
        self.kind, self.out, self.method = kind, Path(out), method
        self.recipe = get_recipe(kind)
        self.fixed = {k: _plain(v) for k, v in (fixed or {}).items()}
        full_space = recipe_space(kind)
        for name, value in self.fixed.items():
            if name in full_space:
                self.fixed[name] = _check_fixed(name, value, full_space[name])
        dimensions = {k: v for k, v in full_space.items() if k not in self.fixed}
        if not dimensions:
            raise ValueError("fixed: every knob of the space is fixed; nothing to search")
        self.space = Space(dimensions)
        self.recipe.config(**trial_config(self.fixed))   # unknown knobs: a ValueError now
        self.trial_seconds, self.max_steps, self.n = float(trial_seconds), int(max_steps), int(n)
        self.seed, self.dataset, self.images = int(seed), dataset, images
        self.n_init, self.grid_points, self.device = int(n_init), int(grid_points), device
        self.log, self.extractor = log, extractor
        self.records: list[dict] = []

    # ------------------------------------------------------------------- the file
    def header(self) -> dict:
        """What defines the study: a rerun must match it to continue (budgets may change)."""
        header = {"study": "minicnn tune", "kind": self.kind, "method": self.method,
                  "space": {name: repr(dim) for name, dim in self.space},
                  "fixed": self.fixed, "trial_seconds": self.trial_seconds,
                  "max_steps": self.max_steps, "n": self.n, "seed": self.seed,
                  "dataset": self.dataset, "images": self.images}
        header.update({"n_init": self.n_init} if self.method == "bayes"
                      else {"grid_points": self.grid_points})
        return header

    @property
    def path(self) -> Path:
        return self.out / RECORDS

    def open(self, overwrite: bool = False) -> int:
        """Start the study or pick it up: returns how many finished trials were found.
        ``overwrite`` deletes a study already in ``out`` (its records and trial runs)."""
        if self.out.exists() and not self.out.is_dir():
            raise StudyMismatch(f"--out: {self.out} is a file, expected a folder for the study")
        if overwrite:
            self.remove()
        if not self.path.exists():
            foreign = [p.name for p in self.out.iterdir()] if self.out.is_dir() else []
            if foreign and not overwrite:
                raise StudyMismatch(f"--out: {self.out} holds files but no study ({RECORDS}); "
                                    "use an empty or new folder")
            self.out.mkdir(parents=True, exist_ok=True)
            self._write_line(self.header())
            self.records = []
            return 0
        lines = self.path.read_text().splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if header is None:
            raise StudyMismatch(f"--out: {self.path} has no study header; start over with "
                                "--overwrite")
        mine = json.loads(json.dumps(self.header()))
        different = sorted(k for k in set(mine) | set(header) if mine.get(k) != header.get(k))
        if different:
            changes = "; ".join(f"{k}: study {header.get(k)!r}, now {mine.get(k)!r}"
                                for k in different)
            raise StudyMismatch(f"--out: {self.out} holds a study with other settings "
                                f"({changes}); rerun with its settings to continue it, or "
                                "--overwrite to replace it (or use another --out)")
        self.records = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError:     # a line cut short when the run was killed
                if number != len(lines):
                    raise StudyMismatch(f"{self.path}: line {number} is damaged") from None
                self.path.write_text("\n".join(lines[:-1]) + "\n")
        return len(self.records)

    def remove(self) -> None:
        """Delete this study's files in ``out`` (records, table, plot, trial runs) only."""
        if not self.out.is_dir():
            return
        for name in (RECORDS, "results.txt", "study.png"):
            if (self.out / name).exists():
                (self.out / name).unlink()
        for folder in self.out.glob("trial_[0-9][0-9][0-9]*"):
            if folder.is_dir():
                shutil.rmtree(folder)

    def _write_line(self, record: dict) -> None:
        with open(self.path, "a") as stream:
            stream.write(json.dumps(record) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    # --------------------------------------------------------------- the search
    def optimizer(self) -> BayesianOptimizer:
        """A Bayesian optimiser with the finished trials told (ln FD; failed: +inf)."""
        optimizer = BayesianOptimizer(self.space, n_init=self.n_init, seed=self.seed)
        for record in self.records:
            optimizer.tell(record["params"], _gp_value(record["value"]), how=record["how"])
        return optimizer

    def grid(self) -> list[dict]:
        return self.space.grid(self.grid_points)

    def spent_seconds(self) -> float:
        return float(sum(r["seconds"] for r in self.records))

    def run(self, max_trials: int | None = None, budget_seconds: float = math.inf) -> list[dict]:
        """Run trials until ``max_trials`` are finished (counting earlier runs' trials), the
        grid is done, or the next trial's training budget would pass ``budget_seconds`` of
        time spent in all (all runs of the study together). Returns the new records."""
        new = []
        grid = self.grid() if self.method == "grid" else None
        limit = len(grid) if grid is not None else math.inf
        if max_trials is not None:
            limit = min(limit, max_trials)
        while len(self.records) < limit:
            if self.spent_seconds() + self.trial_seconds > budget_seconds:
                self.log(f"total budget: {self.spent_seconds() / 60:.1f} of "
                         f"{budget_seconds / 60:.1f} min spent; another trial needs "
                         f"{self.trial_seconds / 60:.1f} min: stopping")
                break
            if grid is not None:
                params, how = grid[len(self.records)], "grid"
            else:
                optimizer = self.optimizer()
                params = optimizer.ask()
                how = optimizer._pending["how"]
            record = self.trial(len(self.records), {k: _plain(v) for k, v in params.items()},
                                how)
            self.records.append(record)
            self._write_line(record)
            new.append(record)
            total = "?" if limit == math.inf else limit
            self.log(f"trial {record['trial'] + 1}/{total} ({how}): "
                     + ", ".join(f"{k}={v}" for k, v in self.space.format(params).items())
                     + f" -> FD {record['value']:.1f}, legible "
                       f"{100 * record['figures'].get('legible_share', 0):.0f}%, "
                       f"{record['steps']} steps, {record['seconds'] / 60:.1f} min"
                     + ("" if record["status"] == "ok" else f" ({record['status']})"))
        return new

    def trial(self, index: int, params: dict, how: str) -> dict:
        """Train one setting for the trial budget and measure it; returns the record."""
        from ..gan.train import load_gan_images, train_gan
        from ..metrics import evaluate_generator, generator_sampler
        from ..training import NonFiniteLossError

        folder = self.out / f"trial_{index:03d}"
        if folder.exists():          # left by an interrupted run: that trial starts over
            shutil.rmtree(folder)
        images = load_gan_images(self.dataset, self.recipe.image_size)
        if self.images is not None:
            images = images[: self.images]
        config = dict(trial_config({**params, **self.fixed}), seed=self.seed,
                      dataset=self.dataset)
        started = time.perf_counter()
        status, steps, figures, value = "ok", 0, {}, math.inf
        try:
            training = train_gan(self.kind, self.max_steps, folder, config, images=images,
                                 sample_every=10 ** 9, checkpoint_every=10 ** 9,
                                 device=self.device, progress=False,
                                 max_seconds=self.trial_seconds)
            steps = training.step
            train_seconds = time.perf_counter() - started
            results = evaluate_generator(generator_sampler(training.recipe, training.parts),
                                         n=self.n, seed=0, extractor=self.extractor)
            value = float(results["frechet_distance"])
            figures = {k: float(results[k]) for k in (
                "frechet_floor", "legible_share", "real_legible_share", "precision", "recall",
                "classifier_score", "class_kl")}
        except (NonFiniteLossError, ValueError) as error:   # diverged: the worst score
            status = f"failed: {error}"
            train_seconds = time.perf_counter() - started
        return {"trial": index, "how": how, "params": params, "value": value,
                "figures": figures, "steps": int(steps), "status": status,
                "train_seconds": round(train_seconds, 3),
                "seconds": round(time.perf_counter() - started, 3)}

    # ----------------------------------------------------------------- reporting
    def best(self) -> dict | None:
        finite = [r for r in self.records if math.isfinite(r["value"])]
        return min(finite, key=lambda r: r["value"]) if finite else None

    def best_settings(self) -> dict | None:
        """The recipe settings of the best trial (fixed knobs included)."""
        best = self.best()
        return None if best is None else trial_config({**best["params"], **self.fixed})

    def table(self) -> str:
        """Every trial: its knobs, FD, legible share, steps reached, minutes; best marked *."""
        best = self.best()
        header = ["#"] + self.space.names + ["FD", "legible", "steps", "min", "how"]
        rows = []
        for r in self.records:
            mark = "*" if r is best else ""
            shown = self.space.format(r["params"])
            legible = r["figures"].get("legible_share")
            rows.append([f"{r['trial'] + 1}{mark}"] + [shown[n] for n in self.space.names]
                        + [f"{r['value']:.1f}",
                           "-" if legible is None else f"{100 * legible:.0f}%",
                           str(r["steps"]), f"{r['seconds'] / 60:.1f}", r["how"]])
        widths = [max([len(h)] + [len(row[j]) for row in rows]) for j, h in enumerate(header)]
        lines = [f"minicnn tune {self.kind}: {self.method}, {len(self.records)} trials of "
                 f"{self.trial_seconds / 60:g} min training, Fréchet distance at N = {self.n}"
                 + (f"; fixed {self.fixed}" if self.fixed else ""),
                 "  ".join(h.rjust(w) for h, w in zip(header, widths)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        if best is None:
            lines.append("best: none (no trial finished with a finite Fréchet distance)")
        else:
            floor = best["figures"].get("frechet_floor", float("nan"))
            lines.append(f"best: trial {best['trial'] + 1}, Fréchet distance {best['value']:.1f} "
                         f"(real-vs-real floor {floor:.1f}) after {best['steps']} steps; "
                         f"settings {self.best_settings()}")
        lines.append(f"time spent: {self.spent_seconds() / 60:.1f} min in all")
        return "\n".join(lines)

    def plot(self, path=None) -> Path:
        """FD of each trial and the best so far, against the trial number (log scale)."""
        from ..viz import plot_curves

        path = Path(path) if path is not None else self.out / "study.png"
        trials = np.arange(1, len(self.records) + 1, dtype=float)
        values = np.array([r["value"] for r in self.records], dtype=float)
        finite = np.where(np.isfinite(values), values, np.nan)
        best = np.fmin.accumulate(finite) if len(finite) else finite
        plot_curves({"Fréchet distance of the trial": (trials, finite),
                     "best so far": (trials, best)}, path, xlabel="trial",
                    ylabel=f"Fréchet distance (N = {self.n})", log_y=True,
                    title=f"minicnn tune {self.kind} ({self.method})")
        return path


_WHOLE = ("width", "batch_size", "n_critic")                   # counts: whole numbers
_BELOW_ONE = ("beta1", "beta2", "ema", "label_smoothing")       # fractions in [0, 1)


def _check_fixed(name: str, value, dimension):
    """A pinned knob must have the kind of value its dimension holds (any value of that
    kind, also outside the searched range): a bool for on/off knobs, a whole number >= 1
    for counts (``8.0`` and ``1e2`` become ints: JSON reads them as floats), a fraction in
    [0, 1) for Adam's betas, the EMA decay and label smoothing, else a number >= 0 (> 0
    for log-scaled ones). Returns the value to use; ``ValueError`` naming the knob."""
    switch = isinstance(dimension, Choice) and all(isinstance(o, bool)
                                                   for o in dimension.options)
    if switch:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if isinstance(dimension, Integer) or name in _WHOLE:
        if int(value) != value:
            raise ValueError(f"{name}: expected a whole number, got {value!r}")
        if value < 1:
            raise ValueError(f"{name}: expected a positive number, got {value!r}")
        return int(value)
    if getattr(dimension, "log", False) and value <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    if name in _BELOW_ONE and value >= 1:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
    return value


def _gp_value(value: float) -> float:
    """What the GP sees: ln FD (a failed trial stays +inf; the optimiser handles it)."""
    return math.log(value) if math.isfinite(value) and value > 0 else math.inf
