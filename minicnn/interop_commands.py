"""``minicnn export`` and ``minicnn import``: checkpoints to and from other tools' formats.

::

    minicnn export runs/dcgan/checkpoint.ckpt --to generator.onnx         # onnxruntime
    minicnn export runs/dcgan/checkpoint.ckpt --to generator.safetensors  # Hugging Face
    minicnn export runs/dcgan/checkpoint.ckpt --to generator.pt           # torch.load
    minicnn import generator.safetensors --recipe dcgan --out runs/imported/checkpoint.ckpt

``export`` takes one model of a GAN checkpoint (``--model``, default the generator's EMA
copy when the run kept one, else the generator) or a classifier checkpoint
(``minicnn train classifier``'s ``classifier.ckpt``). A ``.pt`` file is the model's
``state_dict`` as torch tensors (``torch.load`` it, then ``load_state_dict`` into the
PyTorch twin of the model); it needs torch. ``import`` builds the recipe's models with
their default settings (or ``--width``), loads the file into one of them, and writes a
checkpoint that ``minicnn sample`` and ``minicnn eval`` read.
"""
from __future__ import annotations

import json
import os

from .command_line import CommandError, check_output_file, positive_int, rebuilt_classifier

FORMATS = (".onnx", ".safetensors", ".pt")


def _model_from_checkpoint(path: str, model_name: str | None):
    """(model, example input shape without the batch axis, description)."""
    from .training import read_checkpoint

    if os.path.isdir(path):
        inside = os.path.join(path, "checkpoint.ckpt")
        hint = f" (pass {inside})" if os.path.isfile(inside) else ""
        raise CommandError(f"checkpoint: {path} is a folder, expected a checkpoint file{hint}")
    if not os.path.isfile(path):
        raise CommandError(f"checkpoint: no checkpoint file at {path!r}")
    try:
        state = read_checkpoint(path)
        is_gan = "recipe" in state.get("config", {})
    except ValueError:  # not a training run: a classifier saved on its own?
        is_gan = False
    if not is_gan:
        if model_name not in (None, "classifier"):
            raise CommandError(f"--model {model_name}: {path} is not a GAN run")
        return rebuilt_classifier(path, "checkpoint"), (1, 28, 28), "classifier"
    from .gan.train import load_trained

    try:
        recipe, parts = load_trained(path)
    except ValueError as error:   # a config or weights that do not rebuild: names the file
        raise CommandError(f"checkpoint: {error}") from None
    name = model_name or ("generator_ema" if "generator_ema" in parts.models else "generator")
    if name not in parts.models:
        raise CommandError(f"--model: {path} ({recipe.name}) has no model {name!r}; it has "
                           f"{', '.join(sorted(parts.models))}")
    if name.startswith("generator"):
        shape = (recipe.latent_dim,)
    else:
        shape = (getattr(recipe, "channels", 1), recipe.image_size, recipe.image_size)
    return parts.models[name], shape, f"{recipe.name} {name} at step {parts.step}"


def add_export(subparsers) -> None:
    parser = subparsers.add_parser("export", help="write a checkpoint's model as ONNX, "
                                   "safetensors or a PyTorch state_dict")
    parser.add_argument("checkpoint", help="a GAN run's checkpoint.ckpt or a classifier's")
    parser.add_argument("--to", required=True, metavar="FILE",
                        help="the file to write: .onnx, .safetensors or .pt")
    parser.add_argument("--model", default=None, dest="model_name",
                        help="which model of a GAN run (default: generator_ema if kept, "
                             "else generator; or discriminator)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    parser.set_defaults(handler=run_export)


def run_export(args) -> int:
    target = os.fspath(args.to)
    extension = os.path.splitext(target)[1].lower()
    check_output_file(target, "--to", FORMATS, overwrite=args.overwrite, make_folders=False)
    if extension == ".pt":
        try:
            import torch
        except ModuleNotFoundError:
            raise CommandError("--to .pt needs PyTorch: pip install torch") from None
    model, shape, what = _model_from_checkpoint(args.checkpoint, args.model_name)
    model.eval()
    if extension == ".safetensors":
        from . import safetensors

        safetensors.save_model(model, target, metadata={"exported_by": "minicnn",
                                                        "model": what})
    elif extension == ".onnx":
        from . import onnx
        from .ops.creation import randn

        if hasattr(model, "set_noise_mode"):  # StyleGAN-lite: its fixed noise images
            model.set_noise_mode("const")
        onnx.export(model, randn(1, *shape), target, input_names=["input"],
                    output_names=["output"],
                    dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    else:
        from .atomic_write import write_atomically

        state = {key: torch.from_numpy(value.numpy().copy())
                 for key, value in model.state_dict().items()}
        write_atomically(target, lambda stream: torch.save(state, stream), "export")
    print(f"wrote {target}: {what}")
    return 0


def add_import(subparsers) -> None:
    parser = subparsers.add_parser("import", help="make a checkpoint from a safetensors file "
                                   "(e.g. a PyTorch state_dict saved with safetensors.torch)")
    parser.add_argument("file", help="a .safetensors file")
    parser.add_argument("--recipe", required=True, help="dcgan, dcgan64, wgan-gp or stylegan")
    parser.add_argument("--model", default="generator", dest="model_name",
                        help="which model the file holds (default: generator)")
    parser.add_argument("--width", type=positive_int, default=None, help="the models' width "
                        "(default: the recipe's)")
    parser.add_argument("--out", required=True, metavar="CHECKPOINT",
                        help="the checkpoint to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.set_defaults(handler=run_import)


def run_import(args) -> int:
    from . import safetensors
    from .gan.recipe import get_recipe
    from .training import TrainingRun

    check_output_file(args.out, "--out", overwrite=args.overwrite)
    if os.path.isdir(args.file):
        raise CommandError(f"file: {args.file} is a folder, expected a .safetensors file")
    if not os.path.isfile(args.file):
        raise CommandError(f"file: no file at {args.file!r}")
    try:
        recipe = get_recipe(args.recipe)
    except (KeyError, ValueError) as error:
        raise CommandError(f"--recipe: {error}") from None
    overrides = {} if args.width is None else {"width": args.width}
    parts = recipe.build(recipe.config(**overrides))
    if args.model_name not in parts.models:
        raise CommandError(f"--model: {recipe.name} has no model {args.model_name!r}; it has "
                           f"{', '.join(sorted(parts.models))}")
    try:
        safetensors.load_model(parts.models[args.model_name], args.file)
    except (ValueError, RuntimeError) as error:
        hint = " (built with another width? pass --width)" if "size mismatch" in str(error) else ""
        raise CommandError(f"file: {args.file} does not fit the {recipe.name} "
                           f"{args.model_name}: " + " ".join(str(error).split()) + hint) from None
    if args.model_name == "generator" and "generator_ema" in parts.models:
        parts.models["generator_ema"].load_state_dict(parts.models["generator"].state_dict())
    from .training import NonFiniteLossError

    try:
        TrainingRun(parts.models, parts.optimizers, config=parts.config).save(args.out)
    except NonFiniteLossError as error:   # the file's numbers, not a diverged run
        raise CommandError(f"file: {args.file} holds NaN or infinite weights ({error.name}); "
                           "no checkpoint written") from None
    print(f"wrote {args.out}: {recipe.name} with its {args.model_name} from {args.file} "
          f"(config {json.dumps(overrides) if overrides else 'the defaults'})")
    return 0


COMMANDS = [add_export, add_import]
