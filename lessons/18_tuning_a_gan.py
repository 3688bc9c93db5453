"""Lesson 18: tuning a GAN: Bayesian optimisation of a recipe, with the Fréchet distance
as the objective and the clock as the budget.

What you will learn:
  1. The search space of a GAN recipe: the width, a learning rate for *each* player (TTUR:
     the discriminator may learn faster than the generator), Adam's betas, the batch size,
     one-sided label smoothing, an EMA of the generator, spectral norm. Learning rates live
     on a log scale (1e-4 -> 1e-3 is as big a step as 1e-3 -> 1e-2); a knob you "--fix"
     leaves the search.
  2. The objective: train for a fixed *wall-clock* budget, then measure the Fréchet
     distance (FD) of 500 samples to 500 held-out digits on the frozen digit classifier's
     features (``minicnn eval``'s figure). N is fixed for every trial because FD's bias
     depends on N: the real-vs-real floor (two sets of real digits) is printed beside it.
     A time budget, not a step budget, is what a learner has: a setting with cheaper steps
     (smaller width or batch) gets more of them, and the search weighs that.
  3. The search: lessons 09's Bayesian optimisation (a Gaussian process on ln FD, expected
     improvement picks the next trial) after a few random (Latin hypercube) trials.
  4. A study is resumable: every finished trial is one line of ``study.jsonl``; the same
     study started again continues with the next trial and never redoes one. This is
     exactly ``minicnn tune dcgan`` (the command prints the line to repeat it).

What to look at (in ``lessons/out/``):
  * the printed table: every trial's knobs, its FD, legible share (classifier confidence
    >= 0.9), the steps that fitted the budget; the best marked with ``*``.
  * ``18_study.png``: FD of each trial and the best so far (log scale).
  * ``18_best_samples.png``: 64 samples of the best trial's generator.
  * ``18_study/``: the study folder (``trial_NNN/`` holds each trial's run).

Time: 10 trials of 1 minute of training each (width 16, batch 64) plus the evaluations, so
about 12-15 minutes on a laptop CPU (estimated, not yet measured on an idle machine); stop it
any time and run it again to continue the study. ``--fast``: seconds
(width 4, 2 steps per trial, 32 images: every FD is huge, the search still runs).
Run: ``python lessons/18_tuning_a_gan.py``
"""
import numpy as np

from minicnn import viz
from minicnn.lesson import check, parse_args
from minicnn.tune.gan_study import GANStudy, recipe_space


def main(argv=None):
    args = parse_args(__doc__, argv)
    folder = args.out / ("18_study_fast" if args.fast else "18_study")
    if args.fast:   # tiny networks and budgets: the machinery, not the result
        fixed = {"width": 4, "batch_size": 8, "beta2": 0.999, "spectral_norm": False}
        settings = dict(trial_seconds=1.0, max_steps=2, n=50, images=32, n_init=2)
        first, total = 2, 3
    else:
        fixed = {"width": 16, "batch_size": 64, "beta2": 0.999, "spectral_norm": False}
        settings = dict(trial_seconds=60.0, n=500, n_init=5)
        first, total = 6, 10

    print("1. The search space of DCGAN (minicnn.tune.gan_study.recipe_space):")
    for name, dimension in recipe_space("dcgan").items():
        where = f"fixed at {fixed[name]}" if name in fixed else "searched"
        print(f"   {name:16s} {dimension!r:36s} {where}")

    study = GANStudy("dcgan", folder, method="bayes", fixed=fixed, seed=0, **settings)
    if args.fast:
        study.remove()          # fast mode starts over; a full run continues its study
    done = study.open()
    command = ("minicnn tune dcgan " + " ".join(f"--fix {k}={v}" for k, v in fixed.items())
               + f" --trial-minutes {study.trial_seconds / 60:g} --n {study.n} --init "
               f"{study.n_init} --trials {total} --out {folder}")
    print(f"\n2. The objective: Fréchet distance at N = {study.n} after "
          f"{study.trial_seconds:g} s of training per trial"
          + (f"\n   continuing the study in {folder}: {done} trials done" if done else ""))
    print(f"   the same study from the command line: {command}")

    print(f"\n3. Bayesian optimisation: {study.n_init} random trials, then the GP's picks "
          f"(first up to {first} trials, then the study is resumed)")
    study.run(max_trials=first)
    lines_before = (folder / "study.jsonl").read_text().splitlines()

    print(f"\n4. Resuming: a new GANStudy on the same folder continues to {total} trials")
    again = GANStudy("dcgan", folder, method="bayes", fixed=fixed, seed=0, **settings)
    found = again.open()
    print(f"   found {found} finished trials in {folder / 'study.jsonl'}")
    new = again.run(max_trials=total)
    lines_after = (folder / "study.jsonl").read_text().splitlines()
    check(lines_after[:len(lines_before)] == lines_before and
          len(lines_after) == 1 + total,
          f"the resumed study kept its {found} trials and added {len(new)}: none redone")

    print("\n5. The results")
    print(again.table())
    (folder / "results.txt").write_text(again.table() + "\n")
    again.plot(args.out / "18_study.png")
    values = np.array([r["value"] for r in again.records])
    check(bool(np.all(np.isfinite(values))), "every trial finished with a finite FD")
    best = again.best()
    check(best["value"] == values.min(), "the table's best trial has the lowest FD")
    if not args.fast:
        random_trials = values[:again.n_init]
        guided = values[again.n_init:]
        print(f"   random trials: median FD {np.median(random_trials):.1f}; the GP's picks: "
              f"best {guided.min():.1f}")
        check(guided.min() < np.median(random_trials),
              "the GP's best pick beats the median random trial")
    _save_best_samples(again, best, args.out / "18_best_samples.png")
    print(f"\nPictures: {args.out}/18_study.png, 18_best_samples.png; study in {folder}/")


def _save_best_samples(study, best, path):
    from minicnn.gan.train import load_trained

    checkpoint = study.out / f"trial_{best['trial']:03d}" / "checkpoint.ckpt"
    recipe, parts = load_trained(checkpoint)
    images = recipe.sample(parts, 64, np.random.default_rng(0))
    viz.save_image_grid(images, path, nrow=8, scale=2)
    figures = best["figures"]
    print(f"   best trial {best['trial'] + 1}: FD {best['value']:.1f} (floor "
          f"{figures['frechet_floor']:.1f}), legible {100 * figures['legible_share']:.0f}%, "
          f"{best['steps']} steps; its samples: {path.name}")


if __name__ == "__main__":
    main()
