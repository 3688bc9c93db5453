"""The GAN commands of ``minicnn``: ``train dcgan|wgan-gp|stylegan|dcgan64``, ``sample``, ``eval``.

::

    minicnn train dcgan [--dataset mnist5k|digits|mnist|fashion-mnist] [--steps 1000]
                        [--batch-size 64] [--width 64] [--seed 0] [--lr LR] [--lr-d LR]
                        [--betas B1 B2] [--spectral-norm | --no-spectral-norm]
                        [--historical-averaging [LAMBDA]] [--ema [DECAY]]
                        [--out runs/dcgan] [--resume] [--device cpu|cuda]
    minicnn sample runs/dcgan/checkpoint.ckpt [--n 64] [--truncation PSI] --out grid.png
    minicnn eval runs/dcgan/checkpoint.ckpt [--n 1000]

``minicnn.cli``'s command table takes ``TRAIN_COMMANDS`` (one ``add_*`` per GAN, under
``train``) and ``COMMANDS`` (``sample``, ``eval``) from here.
"""
from __future__ import annotations

import argparse
import os

from ..command_line import (TRAIN_KINDS, CommandError, _describe_kind, check_device,
                            check_image_output, check_quality_n, check_resume_settings,
                            check_run_folder, non_negative_int, positive_float, positive_int,
                            read_run, run_training, start_ranks)

# name on the command line -> (recipe name, help line)
GANS = {
    "dcgan": ("dcgan", "DCGAN-28 on 28x28 digits (the CPU default)"),
    "wgan-gp": ("wgan-gp", "WGAN-GP: Wasserstein loss with a gradient penalty"),
    "stylegan": ("stylegan", "StyleGAN-lite: mapping network, AdaIN, style mixing (32x32)"),
    "dcgan64": ("dcgan64", "the paper's 64x64 DCGAN (for GPU runs and benchmarks)"),
}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _beta(text: str) -> float:
    """An Adam beta: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _add_train_gan(subparsers, command: str) -> None:
    recipe_name, about = GANS[command]
    parser = subparsers.add_parser(
        command, help=about,
        description=f"Train {about}. Writes into --out: checkpoint.ckpt (both models, both "
                    "optimizers, step, RNG and data-loader states: --resume continues "
                    "exactly), losses.csv, samples_stepNNNNNN.png (the fixed evaluation "
                    "noise every --sample-every steps), samples.png and losses.png.")
    parser.add_argument("--dataset", default=None,
                        choices=("mnist5k", "digits", "mnist", "fashion-mnist"),
                        help="training images (default mnist5k, embedded: no download)")
    parser.add_argument("--steps", type=positive_int, default=1000,
                        help="generator updates to reach (default 1000)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per batch (default 64)")
    parser.add_argument("--width", type=positive_int, default=None,
                        help="channel width d of both networks (default 64)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="Adam learning rate (default: the recipe's)")
    parser.add_argument("--seed", type=non_negative_int, default=None,
                        help="random seed: the same seed gives the same run (default 0)")
    parser.add_argument("--lr-d", type=positive_float, default=None,
                        help="the discriminator's (critic's) own Adam learning rate (TTUR; "
                             "default: --lr)")
    parser.add_argument("--betas", type=_beta, nargs=2, default=None, metavar=("BETA1", "BETA2"),
                        help="Adam's betas for both players (default: the recipe's)")
    parser.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=None,
                        help="spectral normalisation on every discriminator layer (or "
                             "--no-spectral-norm: none; default: the recipe's)")
    parser.add_argument("--historical-averaging", type=positive_float, nargs="?", const=0.01,
                        default=None, metavar="LAMBDA",
                        help="add LAMBDA*||theta - mean of past theta||^2 to each player's "
                             "loss (LAMBDA default 0.01)")
    parser.add_argument("--ema", type=_fraction, nargs="?", const=0.999, default=None,
                        metavar="DECAY",
                        help="keep an exponential moving average of the generator and draw "
                             "samples from it (DECAY default 0.999)")
    if command == "wgan-gp":
        parser.add_argument("--n-critic", type=positive_int, default=None,
                            help="critic updates per generator update (default 5)")
        parser.add_argument("--gp-weight", type=positive_float, default=None,
                            help="lambda of the gradient penalty (default 10)")
        parser.add_argument("--group-norm", action=argparse.BooleanOptionalAction,
                            default=None, help="GroupNorm(1, C) (a layer norm) in the critic "
                                               "(default: the recipe's)")
    parser.add_argument("--out", metavar="DIR", default=os.path.join("runs", command),
                        help=f"output folder (default runs/{command})")
    parser.add_argument("--resume", action="store_true",
                        help="continue from DIR/checkpoint.ckpt with its saved settings; "
                             "--steps may extend the run")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run in DIR even though it holds one (its checkpoint "
                             "and logs are replaced); without it a run is never replaced")
    parser.add_argument("--sample-every", type=positive_int, default=100, metavar="K",
                        help="write a sample grid every K steps (default 100)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=100, metavar="K",
                        help="save the checkpoint every K steps (default 100)")
    parser.add_argument("--max-minutes", type=positive_float, default=None,
                        help="stop (with a checkpoint) after this many minutes")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where to train (cuda needs CuPy and a GPU)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_train_gan, recipe=recipe_name)


def add_train_dcgan(subparsers) -> None:
    _add_train_gan(subparsers, "dcgan")


def add_train_wgan_gp(subparsers) -> None:
    _add_train_gan(subparsers, "wgan-gp")


def add_train_stylegan(subparsers) -> None:
    _add_train_gan(subparsers, "stylegan")


def add_train_dcgan64(subparsers) -> None:
    _add_train_gan(subparsers, "dcgan64")


def run_train_gan(args) -> int:
    from ..distributed.batch_split import launched_world_size
    from .recipe import get_recipe
    from .train import train_gan

    try:
        recipe = get_recipe(args.recipe)
    except ValueError as error:
        raise CommandError(str(error)) from None
    wanted = {"batch_size": args.batch_size, "width": args.width, "lr": args.lr,
              "lr_d": args.lr_d, "betas": None if args.betas is None else tuple(args.betas),
              "spectral_norm": args.spectral_norm,
              "historical_averaging": args.historical_averaging, "ema": args.ema,
              "n_critic": getattr(args, "n_critic", None),
              "gp_weight": getattr(args, "gp_weight", None),
              "group_norm": getattr(args, "group_norm", None)}
    unsupported = [k for k, v in wanted.items() if v is not None and k not in recipe.defaults]
    if unsupported:
        raise CommandError(f"{args.recipe} does not support {', '.join(unsupported)}")
    config = {k: v for k, v in wanted.items() if v is not None}
    config.update(seed=0 if args.seed is None else args.seed,
                  dataset=args.dataset or "mnist5k")
    saved = check_run_folder(args.out, args.recipe, args.resume, args.overwrite)
    if saved is not None:   # a resumed run keeps its settings: a different one is refused
        given = {f"--{key.replace('_', '-')}": (key, value) for key, value in wanted.items()}
        given.update({"--seed": ("seed", args.seed), "--dataset": ("dataset", args.dataset)})
        check_resume_settings(os.path.join(args.out, "checkpoint.ckpt"),
                              saved.get("config"), given)
    check_device(args.device)
    ranks = launched_world_size()
    if ranks > 1:   # checked here, alike on every rank, before the ranks join
        if not recipe.splits_batches:
            raise CommandError(f"{args.recipe} cannot split its batches over {ranks} ranks: "
                               f"{recipe.splits_batches_not_why}")
        batch = int((saved or {}).get("config", {}).get("batch_size")
                    or config.get("batch_size") or recipe.defaults["batch_size"])
        if batch % ranks:
            raise CommandError(f"--batch-size {batch} does not split evenly over {ranks} "
                               f"ranks (mpiexec -n {ranks}): use a multiple of {ranks}")
    split = start_ranks()
    training, status = run_training(args.recipe, args.out, split.writes, overwrite=args.overwrite,
                                    train=lambda: train_gan(
        args.recipe, args.steps, args.out, config, resume=args.resume,
        sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
        device=args.device, progress=not args.no_progress,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
        split=split))
    if status or not split.writes:
        return status
    rate = training.seconds / max(training.steps_done_now, 1)
    across = f" on {split.world_size} ranks" if split.distributed else ""
    print(f"{training.steps_done_now} steps in {training.seconds / 60:.1f} min "
          f"({rate:.2f} s/step){across}; now at step {training.step}")
    last = {name: training.run.curve(name)[1][-1] for name in training.loss_names}
    print("last losses: " + ", ".join(f"{k} {v:.4f}" for k, v in last.items()))
    print(f"wrote {args.out}/: checkpoint.ckpt, losses.csv, losses.png, samples.png")
    return 0


# ---------------------------------------------------------------------------------------
# minicnn sample / eval
# ---------------------------------------------------------------------------------------
def add_sample(subparsers) -> None:
    parser = subparsers.add_parser(
        "sample", help="draw a grid of images from a trained GAN",
        description="Load a GAN checkpoint written by 'minicnn train dcgan|wgan-gp|stylegan' "
                    "and save a grid of N generated images (from the EMA generator when the "
                    "run kept one).")
    parser.add_argument("checkpoint", help="the run's checkpoint.ckpt")
    parser.add_argument("--n", type=positive_int, default=64, help="images (default 64)")
    parser.add_argument("--truncation", type=positive_float, default=None, metavar="PSI",
                        help="truncation psi (StyleGAN-lite only; 1 = none)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the latent noise (default 0)")
    parser.add_argument("--out", default="grid.png", help="PNG to write (default grid.png)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.set_defaults(handler=run_sample)


def _load(args):
    from .recipe import RECIPES, get_recipe
    from .train import load_trained

    state, kind = read_run(args.checkpoint, "checkpoint")
    get_recipe("dcgan")  # makes the built-in recipes known
    if kind not in RECIPES:
        command = f"'minicnn {args.command}'"
        what = f"a {kind} run" if kind in TRAIN_KINDS else _describe_kind(kind)
        raise CommandError(f"checkpoint: {args.checkpoint} is {what}, not a GAN's; "
                           f"{command} needs a run of 'minicnn train "
                           f"{'|'.join(sorted(GANS))}'")
    check_device(args.device)
    try:
        return load_trained(args.checkpoint, device=args.device)
    except ValueError as error:   # names the file already
        raise CommandError(f"checkpoint: {error}") from None


def run_sample(args) -> int:
    import math

    import numpy as np

    from ..viz import save_image_grid

    check_image_output(args.out)
    recipe, parts = _load(args)
    options = {} if args.truncation is None else {"truncation": args.truncation}
    try:
        images = recipe.sample(parts, args.n, np.random.default_rng(args.seed), **options)
    except TypeError as error:
        raise CommandError(str(error)) from None
    save_image_grid(images, args.out, nrow=max(1, int(math.ceil(math.sqrt(args.n)))), scale=2)
    print(f"wrote {args.out}: {args.n} samples of {recipe.name} at step {parts.step}")
    return 0


def generate(recipe, parts, n: int, seed: int = 0, batch: int = 250, rng=None):
    """``n`` generated images as a float32 NumPy array (n, C, H, W) in [-1, 1], drawn in
    batches of ``batch`` with latents from ``rng`` (default: seeded with ``seed``)."""
    import numpy as np

    rng = np.random.default_rng(seed) if rng is None else rng
    chunks = []
    for start in range(0, n, batch):
        images = recipe.sample(parts, min(batch, n - start), rng)
        chunks.append(images.numpy())
    return np.concatenate(chunks).astype(np.float32)


def add_eval(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="quality figures of a trained GAN",
        description="Generate N images from a GAN checkpoint and print minicnn.metrics' "
                    "figures: Frechet distance on the frozen digit classifier's features "
                    "(with the real-vs-real floor), precision/recall, class histogram and "
                    "classifier score.")
    parser.add_argument("checkpoint", help="the run's checkpoint.ckpt")
    parser.add_argument("--n", type=positive_int, default=500,
                        help="generated images, and real ones on each side of the real-vs-"
                             "real floor (default 500: MNIST-5k's 1,000 test digits split in "
                             "two)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.set_defaults(handler=run_eval)


def run_eval(args) -> int:
    from ..metrics import evaluate_generator, format_results

    check_quality_n(args.n)
    recipe, parts = _load(args)

    def sample_fn(count, rng):
        images = generate(recipe, parts, count, rng=rng)
        if images.shape[-1] == 32:  # StyleGAN-lite's digits are padded 28 -> 32: crop back
            images = images[..., 2:30, 2:30]
        elif images.shape[-1] != 28:
            raise CommandError(f"eval works on 28x28 digits (or padded 32x32), got "
                               f"{images.shape[-2]}x{images.shape[-1]}")
        return images

    try:
        results = evaluate_generator(sample_fn, n=args.n, seed=args.seed)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"{recipe.name} at step {parts.step} ({args.checkpoint}):")
    print(format_results(results))
    return 0


TRAIN_COMMANDS = [add_train_dcgan, add_train_wgan_gp, add_train_stylegan, add_train_dcgan64]
COMMANDS = [add_sample, add_eval]
