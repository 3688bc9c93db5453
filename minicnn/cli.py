"""The ``minicnn`` command: train models, check gradients, describe the installation.

::

    minicnn train classifier [--epochs 8 --batch-size 64 --lr 0.002 --seed 0
                              --out runs/classifier --resume]
    minicnn gradcheck conv2d [--trials 3 --seed 0]      minicnn gradcheck --list
    minicnn info

Every command has ``--help``. A mistake (a bad argument, a missing or damaged file, an
output that cannot be written, a run that would be replaced) prints one line,
``minicnn ...: error: ...``, and exits with status 2, before any work starts; a failed
gradient check or a training run that diverges exits with status 1; Ctrl-C exits with 130
(a training run can be continued with ``--resume``); ``--debug`` shows tracebacks.

Adding a command is one function: write ``add_NAME(subparsers)`` that creates its parser
with ``subparsers.add_parser(...)``, adds its arguments and sets ``handler=`` to a
function ``(args) -> exit status``; then add it to the command table at the end of this
file, ``COMMANDS`` (top level, e.g. ``sample``, ``eval``) or ``TRAIN_COMMANDS`` (``train
dcgan``, ``train wgan-gp``...). The GAN commands live in ``minicnn/gan/commands.py``, the
interop ones in ``minicnn/interop_commands.py``; what every command shares (one-line
errors, argument types, checks of inputs and outputs, the training stops) in
``minicnn/command_line.py``. Import heavy modules inside the handler.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys

from .command_line import (CommandError, OneLineParser, add_training_arguments,  # noqa: F401
                           check_resume_settings, check_run_folder, non_negative_int,
                           positive_float, positive_int, rebuilt_classifier)


# ---------------------------------------------------------------------------------------
# minicnn train classifier
# ---------------------------------------------------------------------------------------
def add_train_classifier(subparsers) -> None:
    from .models.classifier import DEFAULTS  # light: no training happens on import

    parser = subparsers.add_parser(
        "classifier", help="the LeNet-style digit classifier on MNIST-5k",
        description="Train the LeNet-style digit classifier on the embedded MNIST-5k digits "
                    "(4,000 train / 1,000 test). Writes DIR/checkpoint.ckpt (the whole run), "
                    "DIR/model.ckpt (the trained weights), loss.png, accuracy.png, "
                    "confusion_matrix.png and misclassified.png, and ends with the line "
                    "'test accuracy: 0.XXXX'.")
    add_training_arguments(parser, DEFAULTS["epochs"], DEFAULTS["batch_size"], DEFAULTS["lr"],
                           os.path.join("runs", "classifier"))
    # Small-data runs for tests and smoke checks; not part of the documented interface.
    parser.add_argument("--limit-train", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit-test", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run_train_classifier)


def run_train_classifier(args) -> int:
    from . import viz
    from .command_line import run_training, start_ranks
    from .models.classifier import train_classifier

    saved = check_run_folder(args.out, "classifier", args.resume, args.overwrite)
    if saved is not None:   # a resumed run keeps its settings (--epochs may extend it)
        resumed = os.path.join(args.out, "checkpoint.ckpt") if args.resume is True \
            else args.resume
        rebuilt_classifier(resumed)   # its config and weights make a model: else one line
        _check_saved_classifier_config(resumed, saved.get("config"))
        check_resume_settings(
            resumed, saved.get("config"), {"--batch-size": ("batch_size", args.batch_size),
                                  "--lr": ("lr", args.lr), "--seed": ("seed", args.seed),
                                  "--limit-train": ("limit_train", args.limit_train),
                                  "--limit-test": ("limit_test", args.limit_test)})
    options = {key: value for key, value in (("limit_train", args.limit_train),
                                             ("limit_test", args.limit_test))
               if value is not None}
    split = start_ranks()
    say = print if split.writes else (lambda *parts, **kwargs: None)
    if split.distributed:
        say(f"data parallel: {split.world_size} ranks share each global batch")
    result, status = run_training("classifier", args.out, split.writes, overwrite=args.overwrite,
                                  train=lambda: train_classifier(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        out_dir=args.out, resume=args.resume, checkpoint_every=args.checkpoint_every,
        progress=not args.no_progress, log=say, split=split, **options))
    if status or not split.writes:
        return status

    run = result.run
    viz.plot_curves({"training loss (per step)": run.curve("loss")},
                    os.path.join(args.out, "loss.png"), title="cross-entropy loss",
                    xlabel="optimizer step", log_y=True)
    viz.plot_curves({"train (with dropout, augmented)": run.curve("train accuracy"),
                     "test": run.curve("test accuracy")},
                    os.path.join(args.out, "accuracy.png"), title="accuracy",
                    xlabel="optimizer step")
    matrix = viz.confusion_matrix(result.test_labels, result.test_predictions, 10)
    viz.plot_confusion_matrix(matrix, os.path.join(args.out, "confusion_matrix.png"),
                              title="test set: true digit (rows) vs predicted (columns)")
    wrong = result.test_predictions != result.test_labels
    if wrong.any():
        viz.save_image_grid(result.test_images[wrong][:64],
                            os.path.join(args.out, "misclassified.png"), nrow=8,
                            value_range=(0.0, 1.0))
    print(f"trained in {result.seconds:.1f} s; wrote {args.out}/: checkpoint.ckpt, model.ckpt, "
          "loss.png, accuracy.png, confusion_matrix.png" + (", misclassified.png"
                                                             if wrong.any() else ""))
    print(f"test accuracy: {result.test_accuracy:.4f}")
    return 0


def _check_saved_classifier_config(path: str, config) -> None:
    """The training settings of a classifier run to resume are ones train_classifier takes
    (a hand-edited or foreign config is one line naming the file, before training)."""
    from .models.classifier import DEFAULTS, _check_config

    config = {**DEFAULTS, **(config if isinstance(config, dict) else {})}
    try:
        _check_config(config)
        for key, ok, expected in (
                ("max_shift", lambda v: type(v) is int and v >= 0, "an int >= 0"),
                ("blas_threads", lambda v: v is None or type(v) is int and v > 0,
                 "a positive int or None"),
                ("lr_decay", lambda v: type(v) in (int, float) and 0 < v, "a number > 0")):
            if not ok(config[key]):
                raise ValueError(f"{key}: expected {expected}, got {config[key]!r}")
    except (ValueError, TypeError) as error:
        raise CommandError(f"--resume: {path}: its saved settings are not a classifier "
                           f"run's: {error}") from None


def add_train(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model",
                                   description="Train a model; see 'minicnn train MODEL --help'.")
    models = parser.add_subparsers(dest="model", metavar="MODEL", required=True,
                                   parser_class=OneLineParser)
    for add in TRAIN_COMMANDS:
        add(models)


# ---------------------------------------------------------------------------------------
# minicnn gradcheck OP
# ---------------------------------------------------------------------------------------
def add_gradcheck(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradcheck", help="check an op's first and second derivatives numerically",
        description="Run gradcheck (backward vs central differences) and gradgradcheck "
                    "(second derivatives) for a named op over random configurations "
                    "(shapes, strides, padding...), in float64. Exit status 1 when any "
                    "check fails. 'minicnn gradcheck --list' names the ops; 'all' runs every one.")
    parser.add_argument("op", nargs="?", metavar="OP", help="the op to check, or 'all'")
    parser.add_argument("--trials", type=positive_int, default=3,
                        help="random configurations per op (default 3)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the configurations and values (default 0)")
    parser.add_argument("--list", action="store_true", help="list the ops that can be checked")
    parser.set_defaults(handler=run_gradcheck)


def run_gradcheck(args) -> int:
    from .gradcheck_cases import CASES, run_case

    if args.list:
        for name, case in CASES.items():
            print(f"{name:34s} {case.about}")
        return 0
    if args.op is None:
        raise CommandError("expected an OP to check (or --list to see them)")
    if args.op != "all" and args.op not in CASES:
        close = difflib.get_close_matches(args.op, CASES, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; see --list"
        raise CommandError(f"unknown op {args.op!r}{hint}")
    names = list(CASES) if args.op == "all" else [args.op]
    failures = 0
    for name in names:
        failures += run_case(CASES[name], trials=args.trials, seed=args.seed, write=print)
    total = len(names) * args.trials
    print(f"{total - failures} of {total} configurations passed" if failures else
          f"all {total} configurations passed gradcheck and gradgradcheck")
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------
# minicnn info
# ---------------------------------------------------------------------------------------
def add_info(subparsers) -> None:
    parser = subparsers.add_parser(
        "info", help="versions, threads, BLAS, Numba and GPU availability",
        description="Print what minicnn runs on: Python, NumPy and its BLAS (library, CPU "
                    "kernel, threads), the engine's thread count, Numba, which conv "
                    "implementation is used, and whether CuPy sees a CUDA GPU.")
    parser.set_defaults(handler=run_info)


def _blas_lines() -> list[str]:
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return [f"BLAS          {p.get('internal_api')} {p.get('version')}, kernel "
                    f"{p.get('architecture')}, {p.get('num_threads')} thread{'' if p.get('num_threads') == 1 else 's'} "
                    f"({os.path.basename(p.get('filepath', ''))})" for p in pools]
    except Exception:  # threadpoolctl missing or unable to inspect: fall back to numpy
        pass
    try:
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return [f"BLAS          {blas.get('name')} {blas.get('version')} (kernel unknown: "
                "pip install threadpoolctl to see it)"]
    except Exception as error:
        return [f"BLAS          unknown ({error})"]


def _thread_lines() -> list[str]:
    from .kernels.cpu_threads import get_num_threads, usable_cores

    from .kernels.cpu_memory import keep_freed_memory

    lines = [f"Threads       {get_num_threads()} (usable cores {usable_cores()}; one pool, "
             "BLAS held to 1 thread inside it; mc.set_num_threads to change)",
             "Memory        " + ("glibc malloc reuses freed blocks up to 32 MB "
                                "(kernels/cpu_memory.py)" if keep_freed_memory()
                                else "the platform's malloc, as it is")]
    try:
        import numba
    except ImportError:
        return lines + ["Numba         not installed (the NumPy reference kernels are used)"]
    return lines + [f"Numba         {numba.__version__} (serial nogil kernels, run by blocks on "
                    "minicnn's threads)"]


def _gpu_lines() -> list[str]:
    from .backend import cuda_is_available

    try:
        available = cuda_is_available()
    except Exception:
        available = False
    cupy = sys.modules.get("cupy")
    version = getattr(cupy, "__version__", None) if cupy else None
    if available:
        try:
            name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
            name = name.decode() if isinstance(name, bytes) else name
        except Exception:
            name = "a CUDA device"
        return [f"CUDA          available: {name} (CuPy {version})"]
    if version:
        return [f"CUDA          not available (CuPy {version} is installed but sees no GPU)"]
    return ["CUDA          not available (CuPy not installed: pip install 'minicnn[gpu]')"]


def run_info(args) -> int:
    import platform

    import numpy as np

    import minicnn

    print(f"minicnn       {minicnn.__version__} ({os.path.dirname(minicnn.__file__)})")
    print(f"Python        {platform.python_version()} ({platform.python_implementation()}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs)")
    print(f"NumPy         {np.__version__}")
    for line in _blas_lines() + _thread_lines():
        print(line)
    try:
        from . import functional  # noqa: F401  (registers the conv implementations)
        from . import registry

        print("Kernels (minicnn.registry; the first available row of an op that supports "
              "a call runs it)")
        print(registry.table())
    except Exception as error:  # a broken optional kernel must not hide the rest
        print(f"kernels       could not be listed ({type(error).__name__}: {error})")
    for line in _gpu_lines():
        print(line)
    return 0


# ---------------------------------------------------------------------------------------
# The parser and main
# ---------------------------------------------------------------------------------------
# The command table: every command of ``minicnn``, in the order --help lists them. The GAN
# and interop commands are defined next to their code; their modules import only argparse
# and command_line at the top (the work is imported inside each handler).
from .gan.commands import COMMANDS as _GAN_COMMANDS  # noqa: E402
from .gan.commands import TRAIN_COMMANDS as _GAN_TRAIN_COMMANDS  # noqa: E402
from .interop_commands import COMMANDS as _INTEROP_COMMANDS  # noqa: E402
from .tune.commands import add_tune  # noqa: E402

TRAIN_COMMANDS = [add_train_classifier, *_GAN_TRAIN_COMMANDS]   # minicnn train MODEL
COMMANDS = [add_train, add_gradcheck, add_info, *_GAN_COMMANDS, add_tune, *_INTEROP_COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="minicnn",
                     description="minicnn: a from-scratch deep-learning engine for learning "
                                 "how CNNs and GANs work inside.",
                     epilog="Start with: minicnn train classifier")
    import minicnn

    parser.add_argument("--version", action="version", version=f"minicnn {minicnn.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=OneLineParser)
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Every error reaches the user as one line: ``minicnn COMMAND: error: ...``, exit status 2
    for a mistake in what was asked (a bad argument, a missing or damaged file, an output
    that cannot be written), 1 for anything else; ``--debug`` shows the traceback instead.
    Under ``mpiexec``, only rank 0 prints it, and a failure on one rank after training
    started stops every rank (MPI Abort) instead of leaving them waiting.
    """
    from .distributed.batch_split import launched_rank

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before COMMAND
    argv = [part for part in argv if part != "--debug"]
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
    except SystemExit as exit_:  # --help, --version, or a one-line argument error
        return exit_.code if isinstance(exit_.code, int) else 0
    except Exception as error:  # noqa: BLE001 -- an argument type that failed unforeseen
        if debug:
            raise
        print(f"minicnn: error: {' '.join(f'{type(error).__name__}: {error}'.split())} (a bug "
              "in minicnn? run again with --debug for the traceback)", file=sys.stderr)
        return 1
    prog = "minicnn " + " ".join(part for part in (args.command, getattr(args, "model", None))
                                 if part)
    if extras:   # named by the command they were given to, with the nearest option
        print(f"{prog}: error: {_unrecognized(parser, args, extras)} (see '{prog} --help')",
              file=sys.stderr)
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- the one place errors become one line
        if debug:
            raise
        from .data.download import DownloadError

        mistake = isinstance(error, (CommandError, ValueError, TypeError, KeyError, OSError,
                                     DownloadError))
        line = str(error) if isinstance(error, (CommandError, DownloadError)) else \
            f"{type(error).__name__}: {error}"
        context = error.__context__   # ops turn a MemoryError into PyTorch's RuntimeError
        if isinstance(error, MemoryError) or isinstance(error, RuntimeError) and (
                isinstance(context, MemoryError) or isinstance(context, ValueError)
                and "too big" in str(context)):   # the settings ask for more than there is
            sizes = [option for option in ("--n", "--width", "--batch-size", "--fix")
                     if hasattr(args, option[2:].replace("-", "_"))]
            mistake, line = True, (f"out of memory ({error}); try smaller sizes"
                                   + (f" ({', '.join(sizes)})" if sizes else ""))
        line = " ".join(line.split())   # one line, whatever the message's layout
        status = 2 if mistake else 1
        if not mistake:
            line += " (a bug in minicnn? run again with --debug for the traceback)"
        _stop_other_ranks(f"{prog}: error: {line}", status)
        if launched_rank() == 0:
            print(f"{prog}: error: {line}", file=sys.stderr)
        return status


def _unrecognized(parser, args, extras: list) -> str:
    """"unrecognized arguments: --stpes 5; did you mean --steps?" for ``extras``."""
    options = []
    for action in parser._actions:   # the parser of the command that was run
        if isinstance(action, argparse._SubParsersAction):
            command = args.command if parser.prog == "minicnn" else getattr(args, "model", None)
            if command in action.choices:
                return _unrecognized(action.choices[command], args, extras)
        options += [o for o in action.option_strings if o.startswith("--")]
    line = f"unrecognized arguments: {' '.join(extras)}"
    first = next((part.split("=")[0] for part in extras if part.startswith("--")), None)
    close = difflib.get_close_matches(first, options, n=1) if first else []
    return line + (f"; did you mean {close[0]}?" if close else "")


def _stop_other_ranks(line: str, status: int) -> None:
    """A rank that fails once the ranks are joined ends them all (they would wait)."""
    from .distributed import get_world_size, is_initialized

    if is_initialized() and get_world_size() > 1:
        from .distributed import abort

        abort(line, status)


if __name__ == "__main__":
    sys.exit(main())
