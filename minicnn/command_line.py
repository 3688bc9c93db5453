"""What every ``minicnn`` subcommand shares: the error type that becomes one line, the
one-line argument parser, argument types, and the checks of inputs and outputs that run
before any work starts.

A subcommand's module (``minicnn/gan/commands.py``, ``minicnn/cli.py``...) imports from
here, never from ``minicnn.cli`` (which imports the subcommand modules to build its
command table).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with errors on one line (usage stays available through --help)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------------------------
# Argument types (their messages become the one-line errors)
# ---------------------------------------------------------------------------------------
def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_training_arguments(parser, epochs: int, batch_size: int, lr: float, out: str) -> None:
    """The options of an epoch-based ``train`` command (``train classifier``)."""
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"passes over the training set (default {epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"samples per optimizer step (default {batch_size})")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"learning rate (default {lr:g})")
    parser.add_argument("--seed", type=non_negative_int, default=None,
                        help="random seed: the same seed gives the same run (default 0)")
    parser.add_argument("--out", metavar="DIR", default=out,
                        help=f"folder for the checkpoint and pictures (default {out})")
    parser.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                        help="continue an interrupted run from DIR/checkpoint.ckpt (or from "
                             "CHECKPOINT); the run's saved settings are used, --epochs may "
                             "extend it")
    add_overwrite_argument(parser)
    parser.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="STEPS",
                        help="also save the checkpoint every STEPS optimizer steps "
                             "(default: after each epoch)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_overwrite_argument(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run in DIR even though it holds one (its "
                             "checkpoint and logs are replaced)")


# ---------------------------------------------------------------------------------------
# Checks of inputs and outputs, before any work starts
# ---------------------------------------------------------------------------------------
RUN_CHECKPOINT = "checkpoint.ckpt"


def _kind_of_run(state: dict) -> str:
    """``"dcgan"``, ``"wgan-gp"``... for a GAN run (its config names the recipe),
    ``"classifier"`` for ``train_classifier``'s, else a description of what it holds."""
    config = state.get("config") if isinstance(state, dict) else None
    if isinstance(config, dict) and isinstance(config.get("recipe"), str):
        return config["recipe"]
    models = state.get("models") if isinstance(state, dict) else None
    if isinstance(models, dict) and set(models) == {"model"} and isinstance(config, dict) \
            and {"channels", "hidden", "dropout"} <= set(config):   # train_classifier's run
        return "classifier"
    if isinstance(models, dict):
        return "run of " + ", ".join(sorted(map(str, models))) if models else "empty run"
    return "unknown run"


# The kinds of run ``minicnn train`` makes (what ``_kind_of_run`` names them)
TRAIN_KINDS = ("classifier", "dcgan", "wgan-gp", "stylegan", "dcgan64")


def _describe_kind(kind: str) -> str:
    """``_kind_of_run``'s name of a run, as words: "a run of the unknown recipe 'x'"."""
    if kind.startswith(("empty run", "unknown run")):
        return "an " + kind
    if kind.startswith("run of "):
        return "a " + kind
    return f"a run of the unknown recipe {kind!r}"


def read_run(path, option: str = "--resume") -> tuple[dict, str]:
    """The training checkpoint at ``path`` and the kind of run it holds (``"dcgan"``,
    ``"classifier"``...), or a ``CommandError`` that names ``option`` and the problem."""
    from .training import read_checkpoint

    path = os.fspath(path)
    if os.path.isdir(path):
        inside = os.path.join(path, RUN_CHECKPOINT)
        hint = f" (pass {inside})" if os.path.isfile(inside) else ""
        raise CommandError(f"{option}: {path} is a folder, expected a checkpoint file{hint}")
    if not os.path.exists(path):
        raise CommandError(f"{option}: no checkpoint at {path}")
    try:
        state = read_checkpoint(path)
    except ValueError as error:  # truncated, corrupt, or another kind of file
        raise CommandError(f"{option}: {error}") from None
    except OSError as error:
        raise CommandError(f"{option}: cannot read {path} ({error.strerror or error})") \
            from None
    return state, _kind_of_run(state)


def check_run_folder(out: str, command: str, resume, overwrite: bool) -> dict | None:
    """Check ``--out DIR`` of ``minicnn train COMMAND`` before training starts.

    * ``DIR`` must be a folder (or not exist yet, and be makeable), never a file, and
      files must be writable in it (tried for real: as root, permission bits say nothing);
    * with ``--resume``, ``DIR/checkpoint.ckpt`` (or the named checkpoint) must be a whole
      checkpoint of the same kind of run (``train wgan-gp --resume`` never continues a DCGAN);
    * without ``--resume``, a run already in ``DIR`` is never replaced unless ``--overwrite``
      says so.

    Returns the checkpoint to resume (its state dict), or ``None`` for a new run.
    """
    if isinstance(resume, str) and not resume:   # --resume "": never a new run instead
        raise CommandError("--resume: expected a checkpoint file name, got ''")
    if resume and overwrite:
        raise CommandError("--resume continues the run in --out, --overwrite replaces it: "
                           "choose one")
    if not out:
        raise CommandError("--out: expected a folder name for the run, got ''")
    if os.path.exists(out) and not os.path.isdir(out):
        raise CommandError(f"--out: {out} is a file, expected a folder for the run")
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise CommandError(f"--out: cannot make the folder {out}: {parent} is a file")
    checkpoint = os.path.join(out, RUN_CHECKPOINT)
    check_output_names(out, RUN_OUTPUTS, "run")
    try:   # a replacement killed before the new run's first checkpoint: the old run back
        recover(out)
    except OSError as error:
        raise CommandError(f"--out: cannot put back the run an interrupted --overwrite left "
                           f"in {os.path.join(out, '.minicnn-replaced')} ({error})") from None
    if resume:
        path = checkpoint if resume is True else resume
        if resume is True and not os.path.exists(path):
            raise CommandError(f"--resume: no checkpoint at {path} (did the run use another "
                               "--out?)")
        state, kind = read_run(path)
        if kind != command and kind in TRAIN_KINDS:
            raise CommandError(f"--resume: {path} is a {kind} run, not a {command} run; "
                               f"continue it with 'minicnn train {kind} --resume' or start a "
                               f"{command} run in another --out")
        if kind != command:   # a recipe this minicnn does not know, or no recipe at all
            raise CommandError(f"--resume: {path} is not a {command} run (it holds "
                               f"{_describe_kind(kind)}); start a {command} run in another "
                               "--out")
        check_output_folder(out)
        if resume is not True and os.path.exists(checkpoint) and not os.path.samefile(
                path, checkpoint):   # continuing another run here would replace this one
            raise CommandError(f"--out: {out} already holds a run ({checkpoint}); continuing "
                               f"{path} there would replace it: give another --out (or "
                               f"--resume {checkpoint} to continue the run in it)")
        return state
    check_output_folder(out)
    if os.path.exists(checkpoint) and not overwrite:
        raise CommandError(f"--out: {out} already holds a run ({checkpoint}); continue it with "
                           "--resume, or start over with --overwrite (which replaces it)")
    return None   # with --overwrite, run_training moves the earlier run aside when it starts


def rebuilt_classifier(path: str, option: str = "--resume"):
    """The ``DigitClassifier`` of a classifier checkpoint (a training run or
    ``save_classifier``'s file), or one ``CommandError`` naming ``option`` and the file when
    its config and weights do not make one (a hand edit, another minicnn): found before
    any work, never as an error from inside the training or the export."""
    from .models.classifier import load_classifier

    try:
        return load_classifier(path)
    except MemoryError:
        raise
    except (ValueError, TypeError, KeyError, RuntimeError, AttributeError,
            IndexError) as error:
        detail = " ".join(str(error).split())
        if not isinstance(error, ValueError):
            detail = f"{type(error).__name__}: {detail}"
        if detail.startswith(f"{path}: ") or detail.startswith(f"load: {path}"):
            raise CommandError(f"{option}: {detail}") from None
        raise CommandError(f"{option}: {path}: the classifier it holds cannot be rebuilt: "
                           f"{detail}") from None


def check_resume_settings(path: str, saved_config, given: dict) -> None:
    """A resumed run keeps the settings it was started with; an option given on the
    command line that says otherwise is refused (never silently ignored), naming both.

    ``given``: ``{"--width": ("width", 8), ...}``, only the options the user typed (None
    values are skipped); ``saved_config``: the checkpoint's ``config``."""
    saved_config = saved_config if isinstance(saved_config, dict) else {}
    different = []
    for option, (key, value) in given.items():
        if value is None:
            continue
        saved = saved_config.get(key)
        same = saved == value or (isinstance(saved, (list, tuple)) and isinstance(
            value, (list, tuple)) and list(saved) == list(value))
        if not same:
            different.append(f"{option} {_shown(value)} (the run has {_shown(saved)})")
    if different:
        raise CommandError(f"--resume: {path} continues with the settings it was started "
                           f"with; {', '.join(different)} would change the run: drop "
                           f"{'it' if len(different) == 1 else 'them'}, or start a new run "
                           "in another --out (or with --overwrite)")


def _shown(value) -> str:
    if value is True:
        return "on"
    if value is False or value is None:
        return "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _try_write(folder: str) -> str | None:
    """None if a file can be made in the existing ``folder``, else why not (the reason
    ``os.open`` gave): tried for real, since permission bits mean nothing to root and a
    folder such as /proc refuses files whatever its bits say."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=".minicnn-check-", dir=folder)
    except OSError as error:
        return error.strerror or str(error)
    os.close(descriptor)
    os.unlink(name)
    return None


def check_output_names(out: str, names, what: str = "run") -> None:
    """None of the files a command writes into the folder ``out`` (``names``) is a folder
    or another non-file there: found before the work, not when the file is written at
    its end."""
    for name in names:
        blocked = os.path.join(out, name)
        if os.path.lexists(blocked) and not os.path.isfile(blocked):
            raise CommandError(f"--out: {blocked} is a folder (or not a regular file), but the "
                               f"{what} writes its {name} there; move it away or use another "
                               "--out")


def check_output_folder(out: str) -> None:
    """Raise a ``CommandError`` naming ``--out`` if the folder ``out`` cannot be made (or
    files cannot be written in it), before any training; the folders a trial makes are
    removed again, so a command that then fails for another reason leaves nothing behind."""
    made = []
    path = os.path.abspath(out)
    while not os.path.exists(path):
        made.append(path)
        path = os.path.dirname(path)
    try:
        for folder in reversed(made):
            os.mkdir(folder)
        problem = _try_write(os.path.abspath(out))
    except OSError as error:
        raise CommandError(f"--out: cannot make the folder {out} ({error.strerror or error})") \
            from None
    finally:
        for folder in made:
            if os.path.isdir(folder):
                os.rmdir(folder)
    if problem:
        raise CommandError(f"--out: files cannot be written in the folder {out} ({problem})")


def check_output_file(path: str, option: str, extensions=(), overwrite: bool | None = None,
                      make_folders: bool = True) -> None:
    """``path`` can receive the file a command is about to write, checked before any work:
    a name (not empty, not a folder), one of ``extensions`` (when given), not an existing
    file unless ``overwrite`` (None: replacing is allowed), its folder a folder (made when
    missing if ``make_folders``, else it must exist) in which the file can really be made."""
    if not path:
        raise CommandError(f"{option}: expected a file name, got ''")
    if os.path.isdir(path):
        raise CommandError(f"{option}: {path} is a folder, expected a file name"
                           + (f" ending in {' or '.join(extensions)}" if extensions else ""))
    if extensions and not path.lower().endswith(tuple(extensions)):
        raise CommandError(f"{option}: expected a file name ending in "
                           f"{' or '.join(extensions)}, got {path!r}")
    if overwrite is False and os.path.exists(path):
        raise CommandError(f"{option}: {path} exists; pass --overwrite to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    made, existing = [], folder
    while not os.path.exists(existing):
        made.append(existing)
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise CommandError(f"{option}: cannot write {path}: {existing} is a file, not a folder")
    if made and not make_folders:
        raise CommandError(f"{option}: cannot write {path}: the folder {folder} does not exist")
    problem = None
    try:
        for name in reversed(made):
            os.mkdir(name)
        if os.path.exists(path):
            problem = _try_write(folder)
        else:   # the very name: too long, odd characters, a read-only file system...
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(path)
    except OSError as error:
        problem = error.strerror or str(error)
    finally:
        for name in made:
            if os.path.isdir(name):
                os.rmdir(name)
    if problem:
        raise CommandError(f"{option}: cannot write {path} ({problem})")


# What a ``minicnn train`` run writes into its folder, and how ``--overwrite`` replaces it
# without losing it to a new run that fails to start: ``run_replacement.py``.
from .run_replacement import (RUN_OUTPUTS, FolderInUse, lock_folder,  # noqa: E402
                              move_aside, recover, settle, unlock_folder)


def check_image_output(path: str, option: str = "--out") -> None:
    """``path`` can receive a PNG: a .png name, not a folder, writable (folders made)."""
    if path and os.path.isdir(path):
        raise CommandError(f"{option}: {path!r} is a folder, expected a .png file name")
    if not path.lower().endswith(".png"):
        raise CommandError(f"{option}: expected a .png file name, got {path!r}")
    check_output_file(path, option)


def check_quality_n(n: int, option: str = "--n") -> None:
    """``n`` images can be scored by ``metrics.evaluate_generator`` (``minicnn eval``,
    ``minicnn tune``): more than precision/recall's k = 3 neighbours, and at most half the
    held-out real digits (the real-vs-real floor takes two sets of ``n``)."""
    from .metrics.quality import reference_split

    if n < 4:
        raise CommandError(f"{option}: expected at least 4 images (precision and recall "
                           f"compare each image with its 3 nearest neighbours), got {n}")
    try:
        reference_split(None, n)
    except ValueError as error:
        message = str(error)
        raise CommandError(f"{option}: {message[3:] if message.startswith('n: ') else message}") \
            from None


def check_device(device: str, option: str = "--device") -> None:
    """``cuda`` needs CuPy and a GPU it can see; say so before any work starts."""
    if device == "cpu":
        return
    from .backend import cuda_is_available

    try:
        available = cuda_is_available()
    except Exception:  # a broken CuPy install is as good as none
        available = False
    if not available:
        raise CommandError(f"{option} {device}: no CUDA GPU is usable (CuPy missing or it sees "
                           "no GPU; pip install 'minicnn[gpu]'); use --device cpu")


# ---------------------------------------------------------------------------------------
# Under mpiexec
# ---------------------------------------------------------------------------------------
def start_ranks():
    """This process's ``BatchSplit``: alone, or joined to the ranks ``mpiexec -n N``
    started (call it after the checks above, which every rank runs alike)."""
    from .distributed.batch_split import BatchSplit, launched_world_size

    if launched_world_size() > 1:
        from .distributed import is_available

        if not is_available():
            raise CommandError(f"started by mpiexec with {launched_world_size()} processes, "
                               "but mpi4py is missing: pip install 'minicnn[distributed]'")
    return BatchSplit.from_launcher()


def run_training(command: str, out: str, writes: bool, train, overwrite: bool = False):
    """Run ``train()`` (a training run writing into ``out``) for ``minicnn train COMMAND``,
    with the two stops every training command shares: a NaN/inf loss (message, status 1;
    the checkpoint on disk stays the last good one) and Ctrl-C (where the last checkpoint
    is and the line that continues it, status 130). Returns ``(result, status)``; only the
    rank that ``writes`` prints. ``overwrite``: the earlier run in ``out`` is moved aside
    now and deleted once the new run has a checkpoint, or put back if it never gets one."""
    from .training import NonFiniteLossError

    checkpoint = os.path.join(out, RUN_CHECKPOINT)
    terminated = []
    aside = lock = None
    if writes:   # two commands training into one folder would overwrite each other
        try:
            lock = lock_folder(out)
        except FolderInUse as error:
            raise CommandError(f"--out: {out} is in use by another minicnn run (process "
                               f"{error.args[0]}); wait for it to end, or use another --out") \
                from None
        if overwrite:
            try:
                aside = move_aside(out)
            except OSError as error:
                unlock_folder(out, lock)
                raise CommandError(f"--overwrite: cannot move the earlier run in {out} aside "
                                   f"({error.strerror or error})") from None
    try:
        with _sigterm_as_interrupt(terminated):
            return train(), 0
    except NonFiniteLossError as error:
        if writes:
            print(f"minicnn train {command}: {error}", file=sys.stderr)
        return None, 1
    except KeyboardInterrupt:
        where = (f"the last checkpoint is {checkpoint}; continue with: minicnn train "
                 f"{command} --out {out} --resume" if os.path.exists(checkpoint)
                 else "no checkpoint was written yet")
        if writes:
            print(f"\n{'terminated (SIGTERM)' if terminated else 'interrupted'}; {where}",
                  file=sys.stderr)
        return None, 143 if terminated else 130
    finally:
        settle(out, aside)
        unlock_folder(out, lock)


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: list):
    """While training, SIGTERM (``kill``, a job scheduler's stop, ``timeout``) stops the run
    as Ctrl-C does: a checkpoint being written is finished or removed (never half a file,
    no temporary left behind) and the line that continues the run is printed. Appends to
    ``terminated`` when it happened."""
    import signal
    import threading

    def stop(signum, frame):
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        try:
            previous = signal.signal(signal.SIGTERM, stop)
        except (ValueError, OSError):   # not settable here: keep the default
            previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
