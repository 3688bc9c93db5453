"""``TrainingRun``: everything a training loop must remember to stop and continue exactly.

A training loop changes much more than the weights. To continue an interrupted run so
that it produces **bit for bit** the same losses as a run that was never interrupted, a
checkpoint must hold all of it:

=====================  ================================================================
models                 parameters and buffers (BatchNorm's running statistics)
optimizers             per-parameter state (momentum, Adam's moments and step counts)
                       and the hyperparameters of each group (the lr a scheduler set)
schedulers             where each learning-rate schedule is
data loaders           which permutation the current epoch uses and how many of its
                       batches were already used (``DataLoader.state_dict``)
random generators      minicnn's global one (dropout, ``mc.randn``) and every NumPy
                       ``Generator`` of your own (augmentation, GAN noise)
counters               the optimizer-step counter ``step`` and the finished epochs
history                the logged numbers (losses, accuracies) so the curves go on
extra                  anything else the loop carries across steps (running sums for an
                       epoch's accuracy, an EMA of the loss): numbers, arrays, strings
config                 the settings the run was started with
=====================  ================================================================

Models and optimizers are dicts of named objects, so one helper serves a classifier
(``{"model": net}``, ``{"optimizer": adam}``) and a GAN (``{"generator": G,
"discriminator": D}`` with two optimizers). A typical loop::

    run = TrainingRun(models={"model": net}, optimizers={"optimizer": opt},
                      loaders={"train": loader}, config=config,
                      checkpoint_path="runs/mnist/checkpoint.ckpt")
    if resume:
        run.load()                          # everything above, restored in place
    while run.epoch < epochs:
        for images, labels in loader:       # a resumed loader continues mid-epoch
            loss = F.cross_entropy(net(images), labels)
            run.check_finite("loss", loss)  # NaN/inf: stop before the update
            opt.zero_grad(); loss.backward(); opt.step()
            run.step += 1
            run.log("loss", loss)
            if run.step % 100 == 0:
                run.save()
        run.epoch += 1
        run.save()

Safety:

* ``check_finite`` raises ``NonFiniteLossError`` naming the step when a loss is NaN or
  infinite. It is called before the update, so nothing broken reaches the weights, and
  nothing is saved: the checkpoint on disk stays the last good one.
* ``save`` refuses (``NonFiniteLossError``) to write parameters that are not finite, so a
  blow-up between two loss checks cannot overwrite a good checkpoint either.
* ``save`` goes through ``mc.save``: a temporary file, then an atomic rename. A crash
  while saving leaves the previous checkpoint intact.

What it does not cover: randomness outside minicnn's generator and the generators you
register (Python's ``random``, NumPy's legacy ``np.random.seed`` state); and exact
equality needs the same machine, library versions and thread counts, because a
different BLAS may add the same numbers in a different order.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from . import random as _random
from .autograd import Tensor
from .serialization import load, save

CHECKPOINT_FORMAT = "minicnn-training-run"
CHECKPOINT_VERSION = 1


class NonFiniteLossError(FloatingPointError):
    """A loss (or a parameter about to be saved) is NaN or infinite.

    Attributes: ``step`` (optimizer steps completed before the bad value), ``name`` (which
    loss or parameter), ``value`` and ``checkpoint`` (the last good checkpoint, or None).
    """

    def __init__(self, message: str, step: int, name: str, value=None, checkpoint=None):
        super().__init__(message)
        self.step, self.name, self.value, self.checkpoint = step, name, value, checkpoint


class IncompatibleNames(NamedTuple):
    """What ``TrainingRun.load_state_dict(strict=False)`` skipped (as PyTorch's
    ``_IncompatibleKeys``): ``missing`` (this run has, the checkpoint lacks) and
    ``unexpected`` (the checkpoint has, this run lacks)."""

    missing: list
    unexpected: list

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append("not in the checkpoint (left as they were): " + ", ".join(self.missing))
        if self.unexpected:
            parts.append("in the checkpoint but not in this run (ignored): "
                         + ", ".join(self.unexpected))
        return "; ".join(parts) or "everything matched"


def _entry(state: Mapping, key: str, where: str = ""):
    """``state[key]``, or ``ValueError`` saying the checkpoint lacks it (not a KeyError)."""
    if not isinstance(state, Mapping) or key not in state:
        name = f"{where}.{key}" if where else key
        raise ValueError(f"the checkpoint has no {name!r} entry (incomplete, or not written "
                         "by TrainingRun.save)")
    return state[key]


def _named(kind: str, objects, methods: tuple) -> dict:
    """``objects`` (a dict of name -> object, or None) as a dict, each object having
    ``methods``; else a ``TypeError`` naming the entry (found now, not at the first save)."""
    if objects is None:
        return {}
    if not isinstance(objects, Mapping):
        raise TypeError(f"TrainingRun: {kind}: expected a dict of name -> object (e.g. "
                        f"{{'model': net}}), got {type(objects).__name__}")
    for name, value in objects.items():
        lacking = [method for method in methods if not callable(getattr(value, method, None))]
        if lacking:
            raise TypeError(f"TrainingRun: {kind}[{name!r}]: expected an object with "
                            f"{' and '.join(lacking)}, got {type(value).__name__}")
    return dict(objects)


def _counter(name: str, value) -> int:
    """``step``/``epoch`` as an int, refused (before anything is written) when it is not a
    whole number >= 0: a checkpoint is never written that ``load`` would refuse."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f"TrainingRun.{name}: expected an int >= 0, got {value!r}")
    return int(value)


def _as_float(value) -> float:
    """A Python float from a Tensor, an array of one element or a number."""
    if isinstance(value, Tensor):
        return float(value.item())
    return float(np.asarray(value).reshape(()).item())


def _copy_tree(value):
    """A deep copy of a state tree whose arrays are copied too (``state_dict()``s share
    the live arrays; a snapshot must not change when training goes on)."""
    if isinstance(value, Tensor):
        return Tensor._wrap(value.array.copy(), requires_grad=value.requires_grad)
    if isinstance(value, dict):
        return type(value)((k, _copy_tree(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_tree(v) for v in value)
    if hasattr(value, "copy") and hasattr(value, "dtype"):  # NumPy/CuPy arrays, scalars
        return value.copy()
    return copy.deepcopy(value)


class TrainingRun:
    """The state of one training run, saved and restored as a whole.

    Args:
        models: ``{name: Module}``.
        optimizers: ``{name: Optimizer}``.
        schedulers: ``{name: scheduler}`` (anything with ``state_dict``/``load_state_dict``).
        loaders: ``{name: DataLoader}`` whose position within an epoch is saved.
        generators: ``{name: numpy.random.Generator}`` your loop draws from (augmentation,
            latent noise); their exact states are saved. minicnn's global generator
            (``mc.get_rng_state``) is always saved.
        config: the run's settings (a dict of numbers, strings, lists...); saved as is.
        checkpoint_path: where ``save()`` and ``load()`` go when given no path.

    Attributes you update in your loop: ``step`` (optimizer steps done) and ``epoch``
    (epochs finished). ``history`` holds what ``log`` recorded. ``extra`` is a dict for
    whatever else your loop must carry across an interruption (saved as is).
    """

    def __init__(self, models: Mapping, optimizers: Mapping | None = None,
                 schedulers: Mapping | None = None, loaders: Mapping | None = None,
                 generators: Mapping | None = None, config: Mapping | None = None,
                 checkpoint_path=None):
        self.models = _named("models", models, ("state_dict", "load_state_dict"))
        self.optimizers = _named("optimizers", optimizers, ("state_dict", "load_state_dict"))
        self.schedulers = _named("schedulers", schedulers, ("state_dict", "load_state_dict"))
        self.loaders = _named("loaders", loaders, ("state_dict", "load_state_dict"))
        self.generators = _named("generators", generators, ())
        for name, generator in self.generators.items():
            if not isinstance(generator, np.random.Generator):
                raise TypeError(f"generators[{name!r}]: expected a numpy.random.Generator, "
                                f"got {type(generator).__name__}")
        self.config = dict(config or {})
        self.checkpoint_path = None if checkpoint_path is None else os.fspath(checkpoint_path)
        self.step = 0
        self.epoch = 0
        self.history: dict[str, dict[str, list]] = {}
        self.extra: dict = {}
        self.last_saved: str | None = None  # the last good checkpoint written or loaded
        self.incompatible: IncompatibleNames | None = None  # what load(strict=False) skipped

    # -- logging -----------------------------------------------------------------------
    def log(self, name: str, value, step: int | None = None) -> float:
        """Record ``value`` (a number or one-element Tensor) under ``name`` at ``step``
        (default: the current ``self.step``); returns it as a float."""
        value = _as_float(value)
        entry = self.history.setdefault(name, {"step": [], "value": []})
        entry["step"].append(int(self.step if step is None else step))
        entry["value"].append(value)
        return value

    def curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` logged under ``name``, ready for ``viz.plot_curves``."""
        entry = self.history.get(name, {"step": [], "value": []})
        return np.asarray(entry["step"], dtype=np.int64), np.asarray(entry["value"],
                                                                      dtype=np.float64)

    def check_finite(self, name: str, value) -> float:
        """Return ``value`` as a float, or raise ``NonFiniteLossError`` when it is NaN or
        infinite. Call it after computing a loss and before ``backward``/``step``: the
        step number in the message is the step that failed (``self.step + 1``)."""
        number = _as_float(value)
        if not math.isfinite(number):
            where = (f"the last good checkpoint is {self.last_saved} (step "
                     f"{self._saved_step})" if self.last_saved else "no checkpoint was saved")
            raise NonFiniteLossError(
                f"{name} is {number} at step {self.step + 1} (epoch {self.epoch + 1}); "
                f"training stopped before the update; {where}. Try a smaller learning rate.",
                step=self.step + 1, name=name, value=number, checkpoint=self.last_saved)
        return number

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The whole run as one nested dict of arrays, numbers and strings (what ``save``
        writes). Arrays are shared with the live objects, not copied."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "step": _counter("step", self.step),
            "epoch": _counter("epoch", self.epoch),
            "config": self.config,
            "models": {name: model.state_dict() for name, model in self.models.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "loaders": {name: loader.state_dict() for name, loader in self.loaders.items()},
            "rng": {
                "minicnn": _random.get_rng_state(),
                "generators": {name: g.bit_generator.state
                               for name, g in self.generators.items()},
            },
            "history": {name: {"step": np.asarray(entry["step"], dtype=np.int64),
                               "value": np.asarray(entry["value"], dtype=np.float64)}
                        for name, entry in self.history.items()},
            "extra": self.extra,
        }

    def load_state_dict(self, state: Mapping, strict: bool = True) -> IncompatibleNames:
        """Restore everything from ``state`` in place (the model and optimizer objects stay
        the same objects).

        With ``strict`` (the default), the saved names of models, optimizers, schedulers,
        loaders and generators must match this run's, and each model's keys must match
        (``Module.load_state_dict(strict=True)``). With ``strict=False``, as in PyTorch's
        ``load_state_dict``, what only one side has is skipped and reported.

        Returns:
            ``IncompatibleNames(missing, unexpected)``: ``missing`` are this run's names
            the checkpoint lacks (left as they are), ``unexpected`` the checkpoint's names
            this run lacks (ignored), e.g. ``"models.critic"`` or
            ``"models.generator.fc.bias"``. Both empty when ``strict``.
        """
        if not isinstance(state, Mapping):
            raise ValueError(f"not a training checkpoint (holds a {type(state).__name__})")
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a training checkpoint (format {state.get('format')!r}, "
                             f"expected {CHECKPOINT_FORMAT!r}); a plain model state_dict "
                             "loads with model.load_state_dict")
        version = state.get("version", 0)
        if type(version) is not int or not 1 <= version <= CHECKPOINT_VERSION:
            raise ValueError(f"training checkpoint version {version!r}: this minicnn reads "
                             f"versions 1 to {CHECKPOINT_VERSION}")
        groups = (("models", self.models), ("optimizers", self.optimizers),
                  ("schedulers", self.schedulers), ("loaders", self.loaders),
                  ("generators", self.generators))
        rng = _entry(state, "rng")
        saved_groups = {kind: _entry(rng, "generators", where="rng") if kind == "generators"
                        else state.get(kind, {}) for kind, _ in groups}
        missing, unexpected = [], []
        for kind, objects in groups:
            saved = saved_groups[kind]
            if not isinstance(saved, Mapping):
                raise ValueError(f"the checkpoint's {kind} entry is a {type(saved).__name__}, "
                                 "expected a dict")
            if strict and set(saved) != set(objects):
                raise ValueError(f"the checkpoint's {kind} are {sorted(saved)}, this run's "
                                 f"are {sorted(objects)}")
            missing += [f"{kind}.{name}" for name in objects if name not in saved]
            unexpected += [f"{kind}.{name}" for name in saved if name not in objects]
        step, epoch = _entry(state, "step"), _entry(state, "epoch")
        for name, value in (("step", step), ("epoch", epoch)):
            if type(value) is not int or value < 0:
                raise ValueError(f"the checkpoint's {name} is {value!r}, expected an int >= 0")

        for name, model in self.models.items():
            if name in saved_groups["models"]:
                try:
                    result = model.load_state_dict(saved_groups["models"][name], strict=strict)
                except (RuntimeError, TypeError) as error:
                    one_line = " ".join(str(error).split())  # Module's message has tabs
                    raise ValueError(f"models[{name!r}]: {one_line}") from error
                missing += [f"models.{name}.{key}" for key in result.missing_keys]
                unexpected += [f"models.{name}.{key}" for key in result.unexpected_keys]
        for kind, objects in groups[1:]:
            for name, thing in objects.items():
                if name not in saved_groups[kind]:
                    continue
                saved = saved_groups[kind][name]
                try:
                    if kind == "generators":
                        thing.bit_generator.state = copy.deepcopy(saved)
                    else:
                        thing.load_state_dict(_copy_tree(saved) if kind == "schedulers"
                                              else saved)
                except Exception as error:  # garbage raises KeyError, TypeError...
                    raise ValueError(f"{kind}[{name!r}]: {type(error).__name__}: "
                                     f"{error}") from error
        try:
            _random.set_rng_state(copy.deepcopy(_entry(rng, "minicnn", where="rng")))
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"rng.minicnn: {type(error).__name__}: {error}") from error
        self.step, self.epoch = step, epoch
        self.config = dict(state.get("config", {}))
        self.history = {name: {"step": [int(s) for s in np.asarray(entry["step"])],
                               "value": [float(v) for v in np.asarray(entry["value"])]}
                        for name, entry in state.get("history", {}).items()}
        self.extra = _copy_tree(dict(state.get("extra", {})))
        return IncompatibleNames(missing, unexpected)

    # -- saving and loading ------------------------------------------------------------
    @property
    def _saved_step(self):
        return getattr(self, "_last_saved_step", None)

    def _check_parameters_finite(self) -> None:
        for model_name, model in self.models.items():
            for name, tensor in model.state_dict().items():
                data = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
                if data.dtype.kind == "f" and not bool(np.all(np.isfinite(
                        data if isinstance(data, np.ndarray) else data.get()))):
                    raise NonFiniteLossError(
                        f"{model_name}.{name} holds NaN or inf after step {self.step}; not "
                        f"saving a broken checkpoint (the last good one is "
                        f"{self.last_saved}). Try a smaller learning rate.",
                        step=self.step, name=f"{model_name}.{name}",
                        checkpoint=self.last_saved)

    def save(self, path=None) -> str:
        """Write the run to ``path`` (default ``checkpoint_path``) atomically; returns the
        path. Refuses to write non-finite parameters (``NonFiniteLossError``)."""
        path = self._path(path)
        self._check_parameters_finite()
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        save(self.state_dict(), path)
        self.last_saved, self._last_saved_step = path, self.step
        return path

    def load(self, path=None, strict: bool = True) -> TrainingRun:
        """Restore the run saved at ``path`` (default ``checkpoint_path``); returns self.

        Every problem with the file or with what it holds (damaged, not a training
        checkpoint, another run's models, shapes that do not fit) is one ``ValueError``
        naming the file, and leaves this run as it was. With ``strict=False``, names only
        one side has are skipped and reported in a ``UserWarning`` (see
        ``load_state_dict``); the report is kept in ``self.incompatible``.
        """
        path = self._path(path)
        state = load(path)  # a damaged file: ValueError naming it (mc.load)
        before = _copy_tree(self.state_dict())
        try:
            report = self.load_state_dict(state, strict=strict)
        except Exception as error:  # garbage inside a valid file raises many types
            self.load_state_dict(before)  # a failed load leaves the run as it was
            detail = str(error) if isinstance(error, ValueError) else \
                f"{type(error).__name__}: {error}"
            raise ValueError(f"{path}: {detail}") from error
        self.incompatible = report
        if report.missing or report.unexpected:
            warnings.warn(f"{path}: loaded with strict=False; {report.describe()}",
                          UserWarning, stacklevel=2)
        self.last_saved, self._last_saved_step = path, self.step
        return self

    def _path(self, path) -> str:
        if path is None:
            if self.checkpoint_path is None:
                raise ValueError("no path given and this TrainingRun has no checkpoint_path")
            return self.checkpoint_path
        return os.fspath(path)


@contextlib.contextmanager
def blas_threads(count: int | None):
    """Run the block with the BLAS library (OpenBLAS, MKL...) limited to ``count``
    threads; ``None`` leaves it alone. The one BLAS-thread switch of minicnn
    (``minicnn.kernels.cpu_threads.blas_threads``). minicnn itself holds BLAS to one
    thread from import on and runs its parallel work on its own threads
    (``mc.set_num_threads``), so inside the engine this changes nothing unless ``count``
    raises the limit.

    Why a training run may want this:

    * **Reproducibility.** A multi-threaded BLAS splits a matrix product differently for
      different thread counts, so float32 sums come out in a different order and the
      losses differ after a few steps. A fixed count (1) gives the same run on machines
      with different numbers of cores (same BLAS build and CPU kernel assumed).
    * **Speed for small networks.** The matrices of a LeNet-sized model are too small for
      a second thread to pay off, and on a busy machine OpenBLAS threads spin while
      waiting for each other. (Measured on a shared 2-core machine at load 2 to 4: one
      epoch of the digit classifier took 11-12 s with one OpenBLAS thread, 51-95 s with
      two.)
    """
    from .kernels.cpu_threads import blas_threads as limit_blas_threads

    with limit_blas_threads(count):
        yield


def read_checkpoint(path) -> dict:
    """A training checkpoint as a plain dict (``config``, ``step``, ``models``...), e.g. to
    read its config before building the models it needs. ``ValueError`` naming the file
    when it is damaged (``mc.load``), not a training checkpoint, or from a newer version."""
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)} is a minicnn file but not a training checkpoint")
    version = state.get("version")
    if type(version) is not int or not 1 <= version <= CHECKPOINT_VERSION:
        raise ValueError(f"{os.fspath(path)}: training checkpoint version {version!r}; this "
                         f"minicnn reads versions 1 to {CHECKPOINT_VERSION}")
    if not isinstance(state.get("config", {}), dict):
        raise ValueError(f"{os.fspath(path)}: the checkpoint's config is a "
                         f"{type(state['config']).__name__}, expected a dict")
    return state
