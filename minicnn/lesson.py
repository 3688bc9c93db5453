"""Small helpers shared by the scripts in ``lessons/``: fast mode, the output folder, checks."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def parse_args(description: str, argv=None) -> argparse.Namespace:
    """``--fast`` (or MINICNN_FAST=1) makes a lesson finish in seconds for the smoke tests."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny sizes, finishes in seconds")
    parser.add_argument("--out", default=None, help="folder for pictures (default lessons/out)")
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get("MINICNN_FAST") == "1"
    args.out = output_dir(args.out)
    return args


def output_dir(path=None) -> Path:
    """Where lessons write their pictures: ``lessons/out/`` next to the scripts."""
    folder = Path(path) if path else Path(__file__).resolve().parent.parent / "lessons" / "out"
    if path is None and not folder.parent.is_dir():  # installed without the lessons folder
        folder = Path.cwd() / "lessons_out"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check(condition: bool, message: str) -> None:
    """Print a check's result; stop the lesson if it failed."""
    print(("  ok    " if condition else "  FAIL  ") + message)
    if not condition:
        raise SystemExit(f"check failed: {message}")


def prepare_run(folder, recipe: str, config: dict, fast: bool) -> bool:
    """Decide whether a lesson's GAN run in ``folder`` resumes; returns ``resume``.

    ``--fast`` always starts over (the folder is removed: fast runs live in their own
    ``*_fast`` folders, so this never touches a full run). A full run resumes only a run of
    the same recipe and settings (every key of ``config``); a run with other settings (an
    older lesson's, say) is removed and a new one started. It prints which it does.
    """
    import shutil

    folder = Path(folder)
    checkpoint = folder / "checkpoint.ckpt"
    if fast or not checkpoint.exists():
        if folder.exists():
            shutil.rmtree(folder)
        return False
    from .training import read_checkpoint

    try:
        state = read_checkpoint(checkpoint)
    except ValueError as error:
        print(f"   {checkpoint} cannot be read ({error}): starting a new run")
        shutil.rmtree(folder)
        return False
    saved = dict(state.get("config", {}), step=state.get("step", 0))
    wanted = dict(config, recipe=recipe)
    different = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
    if different:
        print(f"   {folder} holds a run with other settings ("
              + ", ".join(f"{k}: {a!r} there, {b!r} here" for k, (a, b) in different.items())
              + "): starting a new run")
        shutil.rmtree(folder)
        return False
    print(f"   continuing the run in {folder} (same settings) from step {saved['step']}")
    return True


def check_gan_samples(title: str, sample_fn, fast: bool, seed: int = 0, **thresholds):
    """Check a lesson's GAN samples with the frozen digit classifier; stop if they fail.

    ``sample_fn(count, rng)`` gives images (count, 1, 28, 28) in [-1, 1] (for a trained
    recipe: ``minicnn.metrics.generator_sampler(recipe, parts)``). Full mode uses
    ``minicnn.metrics.FULL`` (at least 90% legible, Fréchet distance, at least 8 digits,
    not collapsed) with the lesson's ``thresholds`` changes (e.g. ``max_frechet=60``);
    ``--fast`` trains for seconds and draws noise, so it uses the lenient ``FAST`` (the
    figures are still computed and printed, and a collapsed grid still fails). Returns
    the ``SampleReport``.
    """
    from .metrics.sample_check import FAST, FULL, check_samples

    limits = FAST if fast else FULL.but(**thresholds)
    report = check_samples(sample_fn, limits, seed=seed)
    r = report.results
    print(f"   {title}: through the frozen classifier at N = {limits.n}: legible "
          f"{100 * r['legible_share']:.0f}% (real {100 * r['real_legible_share']:.0f}%), "
          f"Fréchet {r['frechet_distance']:.1f} (floor {r['frechet_floor']:.1f}), "
          f"{r['classes_drawn']} digits, spread {r['pixel_spread']:.3g}"
          + ("  [--fast: lenient thresholds]" if fast else ""))
    for ok, message in report.checks:
        check(ok, f"{title}: {message}")
    return report
