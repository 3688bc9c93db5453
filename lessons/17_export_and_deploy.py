"""Lesson 17: the way out. Export the DCGAN you trained and run it in onnxruntime and PyTorch.

What you will learn:
  1. A state_dict is only numbers with names ("1.weight", "2.running_mean" ...). It loads
     into any program that builds the same layers in the same order: here PyTorch, because
     minicnn's names and weight layouts are PyTorch's. The file format for that is
     safetensors (a JSON header + raw bytes; no pickle, so loading runs no code).
  2. A graph format (ONNX) stores the computation too: every op, its order, its strides,
     paddings and slopes, with the weights as initializers. It runs without the source of
     the model, in onnxruntime, on a phone, in a browser. minicnn writes it by tracing:
     it runs the model once, the autograd engine records every Function, and each Function
     becomes ONNX nodes (minicnn/onnx/converters.py, one converter per Function).
  3. The three runtimes agree: the same latent vectors give the same digits in minicnn,
     onnxruntime and PyTorch, to float32 rounding (about 1e-6).

What to look at: ``lessons/out/17_three_runtimes.png``: the same 8 latent vectors drawn by
minicnn (top row), onnxruntime (middle) and PyTorch (bottom). The printed table lists the
ONNX graph's nodes by type next to the state_dict's tensors.

It uses lesson 11's trained DCGAN (``lessons/out/11_dcgan_run/checkpoint.ckpt``) when it is
there; otherwise it trains a small one for 300 steps first. The same from the command line:
``minicnn export runs/dcgan/checkpoint.ckpt --to generator.onnx`` (or ``.safetensors``).
Needs ``pip install "minicnn[onnx,safetensors]"`` (PyTorch optional: its row is skipped
without it).

Time: about a minute on a laptop CPU when it trains (seconds with lesson 11's run;
``--fast``: a few seconds).
Run: ``python lessons/17_export_and_deploy.py``
"""
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

import minicnn as mc
import minicnn.onnx
import minicnn.safetensors
from minicnn import viz
from minicnn.gan.train import load_trained, train_gan
from minicnn.lesson import check, parse_args


def generator_layers(nn, latent_dim: int, width: int):
    """DCGAN-28's generator, written once for any PyTorch-shaped ``nn`` (minicnn's or
    torch's): the same layers in the same order give the same state_dict keys."""
    d = width
    return nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * d, 7, 1, 0, bias=False),
        nn.BatchNorm2d(2 * d), nn.ReLU(),
        nn.ConvTranspose2d(2 * d, d, 4, 2, 1, bias=False),
        nn.BatchNorm2d(d), nn.ReLU(),
        nn.ConvTranspose2d(d, 1, 4, 2, 1),
        nn.Tanh(),
    )


def trained_generator(args):
    """(generator in eval mode, width, where it came from)."""
    lesson11 = Path(args.out) / "11_dcgan_run" / "checkpoint.ckpt"
    if not args.fast and lesson11.exists():
        source = lesson11
    else:
        folder = Path(args.out) / "17_dcgan_run"
        steps, width = (3, 4) if args.fast else (300, 16)
        print(f"Training a DCGAN-28 (width {width}) for {steps} steps into {folder} ...")
        shutil.rmtree(folder, ignore_errors=True)  # this lesson's own run: start afresh
        train_gan("dcgan", steps, folder, dict(width=width, batch_size=16 if args.fast else 64,
                                               seed=0),
                  progress=False)
        source = folder / "checkpoint.ckpt"
    recipe, parts = load_trained(source)
    generator = parts.models.get("generator_ema", parts.models["generator"]).eval()
    return generator, parts.config["width"], recipe.latent_dim, source


def main(argv=None):
    args = parse_args(__doc__, argv)
    generator, width, latent_dim, source = trained_generator(args)
    print(f"\nThe generator of {source}: {sum(p.numel() for p in generator.parameters()):,} "
          "parameters")
    z = np.random.default_rng(17).standard_normal((8, latent_dim)).astype(np.float32)
    with mc.no_grad():
        images = {"minicnn": generator(mc.tensor(z)).numpy()}

    print("\n1. The weights alone: a safetensors file")
    weights = args.out / "17_generator.safetensors"
    minicnn.safetensors.save_model(generator, weights)
    state = minicnn.safetensors.load_file(weights)
    print(f"   {weights.name}: {len(state)} tensors, {weights.stat().st_size:,} bytes: "
          + ", ".join(list(state)[:4]) + ", ...")

    print("\n2. The computation and the weights: an ONNX graph")
    graph_file = args.out / "17_generator.onnx"
    model = minicnn.onnx.export(generator, mc.randn(1, latent_dim), graph_file,
                                input_names=["z"], output_names=["images"],
                                dynamic_axes={"z": {0: "batch"}, "images": {0: "batch"}})
    ops = Counter(node.op_type for node in model.graph.node)
    print(f"   {graph_file.name}: {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers, {graph_file.stat().st_size:,} bytes")
    print("   nodes by type: " + ", ".join(f"{op} x{n}" for op, n in sorted(ops.items())))
    print("   (no BatchNorm node: in eval mode batch norm is (x - mean) * (weight / sqrt(var + "
          "eps)) + bias,\n   recorded as the Sub, Mul and Add it is made of, with the part that "
          "depends only on buffers folded into constants)")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(graph_file), providers=["CPUExecutionProvider"])
    images["onnxruntime"] = session.run(None, {"z": z})[0]

    print("\n3. The same weights in PyTorch (the same layers, built with torch.nn)")
    try:
        import torch
        from safetensors.torch import load_file
    except ModuleNotFoundError:
        print("   PyTorch is not installed: skipped (pip install torch)")
    else:
        twin = generator_layers(torch.nn, latent_dim, width)
        twin.load_state_dict(load_file(str(weights)))
        with torch.no_grad():
            images["PyTorch"] = twin.eval()(torch.from_numpy(z)).numpy()

    print("\n   runtime       largest difference from minicnn")
    for name, array in list(images.items())[1:]:
        difference = float(np.abs(array - images["minicnn"]).max())
        print(f"   {name:12s}  {difference:.1e}")
        check(difference < 1e-5, f"{name} draws the same images as minicnn (|diff| < 1e-5)")
    spread = float(images["minicnn"].std(axis=0).mean())
    check(spread > 1e-4, f"different latent vectors give different images (spread {spread:.3f})")

    viz.save_image_grid(np.concatenate(list(images.values())), args.out / "17_three_runtimes.png",
                        nrow=8, scale=3)
    print(f"\nPicture: {args.out}/17_three_runtimes.png (rows: {', '.join(images)})")


if __name__ == "__main__":
    main()
