"""``minicnn tune dcgan|wgan-gp|stylegan``: search a GAN recipe's knobs for the lowest
Fréchet distance a wall-clock budget allows (the study itself: ``gan_study.py``).

::

    minicnn tune dcgan [--method bayes|grid] [--trials 20] [--trial-minutes 5]
                       [--budget-minutes 120] [--n 500] [--fix width=32 ...]
                       [--out runs/tune-dcgan] [--overwrite]

Writes into ``--out``: ``study.jsonl`` (the settings, then one line per finished trial),
``trial_NNN/`` (each trial's run: checkpoint, samples.png, losses), ``results.txt`` (the
table printed at the end), ``study.png`` (Fréchet distance per trial and best so far) and
``best.json`` (the best trial's recipe settings and figures).
Running the same command again continues the study; other settings are refused unless
``--overwrite`` replaces the study.
"""
from __future__ import annotations

import argparse
import os

from ..command_line import (CommandError, check_device, check_output_folder,
                            check_output_names, check_quality_n, non_negative_int,
                            positive_float, positive_int)


def _setting(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, value): numbers and lists as JSON (8, 2e-4, [0.5, 0.9]),
    true/false/none in any case (False, None: as Python prints them), else the text."""
    import json

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. width=32), got {text!r}")
    words = {"true": True, "false": False, "none": None, "null": None}
    try:
        parsed = words[value.strip().lower()] if value.strip().lower() in words \
            else json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    except RecursionError:   # "[[[[...": nested deeper than JSON can read
        raise argparse.ArgumentTypeError(f"{name}: expected a number, true/false or a "
                                         "list of numbers, got a list nested too deeply") \
            from None
    if isinstance(parsed, list):
        parsed = tuple(parsed)
    return name.strip().replace("-", "_"), parsed


def add_tune(subparsers) -> None:
    from .gan_study import KINDS

    parser = subparsers.add_parser(
        "tune", help="tune a GAN recipe: Bayesian optimisation or a grid on the Fréchet "
                     "distance, under a time budget",
        description="Search a GAN recipe's knobs (width, each player's learning rate, betas, "
                    "batch size, label smoothing, EMA, spectral norm, n_critic/GP weight, R1 "
                    "weight) with minicnn.tune. Each trial trains for --trial-minutes (as "
                    "many steps as fit) and scores the Fréchet distance of its samples at a "
                    "fixed N on the frozen digit classifier. Resumable: the same command "
                    "continues the study in --out.")
    parser.add_argument("kind", choices=KINDS, help="the recipe to tune")
    parser.add_argument("--method", choices=("bayes", "grid"), default="bayes",
                        help="Bayesian optimisation (default) or a grid")
    parser.add_argument("--trials", type=positive_int, default=None,
                        help="finished trials to reach (default: 20 for bayes, the whole "
                             "grid for grid)")
    parser.add_argument("--trial-minutes", type=positive_float, default=5.0,
                        help="training time of each trial (default 5: the README's budget)")
    parser.add_argument("--budget-minutes", type=positive_float, default=None,
                        help="total time of the study, over all its runs (default: no limit)")
    parser.add_argument("--max-steps", type=positive_int, default=100_000,
                        help="at most this many steps per trial (default 100000: the time "
                             "budget decides)")
    parser.add_argument("--n", type=positive_int, default=500,
                        help="the fixed N of the Fréchet distance (default 500)")
    parser.add_argument("--fix", type=_setting, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="pin a knob (removed from the search), e.g. --fix width=32; "
                             "repeatable")
    parser.add_argument("--init", type=positive_int, default=8,
                        help="bayes: random trials before the Gaussian process (default 8)")
    parser.add_argument("--grid-points", type=positive_int, default=2,
                        help="grid: values per numeric knob (default 2; choices: all)")
    parser.add_argument("--dataset", default="mnist5k",
                        choices=("mnist5k", "digits", "mnist", "fashion-mnist"))
    parser.add_argument("--images", type=positive_int, default=None,
                        help="train on the first N training images only (quick studies)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of every trial's run and of the search (default 0)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="study folder (default runs/tune-KIND)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the study in DIR and start a new one")
    parser.set_defaults(handler=run_tune)


def run_tune(args) -> int:
    from .gan_study import GANStudy, StudyMismatch, recipe_space

    out = args.out if args.out is not None else os.path.join("runs", f"tune-{args.kind}")
    if not out:
        raise CommandError("--out: expected a folder name for the study, got ''")
    if os.path.exists(out) and not os.path.isdir(out):
        raise CommandError(f"--out: {out} is a file, expected a folder for the study")
    fixed = dict(args.fix)   # a knob given twice: the last value, as argparse does
    known = set(recipe_space(args.kind))
    unknown = sorted(set(fixed) - known)
    if unknown:
        raise CommandError(f"--fix: {args.kind} has no knob {', '.join(unknown)}; its knobs "
                           f"are {', '.join(sorted(known))}")
    check_device(args.device)
    check_quality_n(args.n)
    check_output_folder(out)
    check_output_names(out, ("study.jsonl", "results.txt", "best.json", "study.png"), "study")
    try:
        study = GANStudy(args.kind, out, method=args.method,
                         trial_seconds=60.0 * args.trial_minutes, max_steps=args.max_steps,
                         n=args.n, fixed=fixed, seed=args.seed, dataset=args.dataset,
                         images=args.images, n_init=args.init, grid_points=args.grid_points,
                         device=args.device)
    except ValueError as error:
        raise CommandError(f"--fix: {error}") from None
    if args.images is not None:   # every trial would fail on its first batch: say it now
        sizes = [study.fixed["batch_size"]] if "batch_size" in study.fixed else \
            list(getattr(recipe_space(args.kind)["batch_size"], "options", []))
        if sizes and args.images < max(sizes):
            raise CommandError(f"--images {args.images} is fewer than the batch size"
                               f"{'s' if len(sizes) > 1 else ''} the trials use "
                               f"({', '.join(map(str, sizes))}); use --images >= "
                               f"{max(sizes)}, or --fix batch_size=N with N <= {args.images}")
    budget = 60.0 * args.budget_minutes if args.budget_minutes is not None else float("inf")
    if budget < study.trial_seconds:
        raise CommandError(f"--budget-minutes {args.budget_minutes:g} is shorter than one "
                           f"trial (--trial-minutes {args.trial_minutes:g})")
    try:
        done = study.open(overwrite=args.overwrite)
    except StudyMismatch as error:
        raise CommandError(str(error)) from None
    trials = args.trials if args.trials is not None else (20 if args.method == "bayes" else None)
    if args.method == "grid":
        size = len(study.grid())
        print(f"grid: {size} points over {', '.join(study.space.names)}")
    if done:
        print(f"continuing the study in {out}: {done} trials done "
              f"({study.spent_seconds() / 60:.1f} min spent)")
    study.run(max_trials=trials, budget_seconds=budget)
    table = study.table()
    print(table)
    with open(os.path.join(out, "results.txt"), "w") as stream:
        stream.write(table + "\n")
    best = study.best()
    if best is not None:   # the recipe settings to make defaults of (json: betas a list)
        import json
        with open(os.path.join(out, "best.json"), "w") as stream:
            json.dump({"kind": args.kind, "trial": best["trial"] + 1,
                       "frechet_distance": best["value"], "n": study.n,
                       "steps": best["steps"], "trial_seconds": study.trial_seconds,
                       "settings": study.best_settings()}, stream, indent=1)
            stream.write("\n")
    if study.records:
        plot = study.plot()
        print(f"wrote {out}/: study.jsonl, results.txt, {plot.name}"
              + (", best.json" if best is not None else "") + ", trial_NNN/")
    return 0


COMMANDS = [add_tune]
