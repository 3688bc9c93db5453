"""Lesson 19: your own PyTorch script, unchanged, on minicnn, and how to step into it.

What you will learn:
  1. minicnn speaks PyTorch: ``lessons/pytorch_scripts/mnist_cnn.py`` is a plain PyTorch
     script (``import torch``, ``nn.Module``, ``DataLoader``, ``Adam``, ``StepLR``, a
     gradient hook, ``torch.no_grad``). ``python -m minicnn.as_torch SCRIPT`` runs it with
     ``torch`` meaning ``minicnn`` (``minicnn/as_torch.py``: every ``torch.X`` import is
     answered with ``minicnn.X``), not one line changed.
  2. Every line it runs is Python you can read. Put ``breakpoint()`` in the script, or run
     ``python -m pdb -m minicnn.as_torch lessons/pytorch_scripts/mnist_cnn.py --data ...``,
     and ``step`` goes from ``loss.backward()`` into the backward walk
     (``minicnn/backward_walk.py``) and from ``F.conv2d`` into the convolution
     (``minicnn/ops/conv.py``). The lesson prints where each call the script makes lives.
  3. The same script under PyTorch (when it is installed) learns the same way: both
     accuracies side by side. The numbers differ a little: each library draws its own
     initial weights and shuffles with its own generator.

What to look at: ``lessons/out/19_two_libraries.png``: the training loss of every batch,
minicnn's run and PyTorch's; the printed epochs of both runs, and the table of where
``F.conv2d``, ``loss.backward`` ... are defined in minicnn (file and line: open them and
read along).

Time: about 15 s on an idle 2-core VM for 2 epochs on the 4,000 training digits, both runs
and their start-up included (measured 2026-12-03: the minicnn run 5.4 s, PyTorch's 1.9 s);
``--fast``: 256 digits, 1 epoch, seconds.
Run: ``python lessons/19_your_pytorch_script.py``
"""
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn import viz
from minicnn.data.datasets import load_mnist5k
from minicnn.lesson import check, parse_args

SCRIPT = Path(__file__).resolve().parent / "pytorch_scripts" / "mnist_cnn.py"


def run_script(command: list, label: str) -> tuple[list, str]:
    """Run the script in a fresh Python; return the test accuracy of each epoch and what it
    printed."""
    print(f"\n$ {' '.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True)
    print("   " + done.stdout.strip().replace("\n", "\n   "))
    if done.returncode != 0:
        print(done.stderr.strip()[-2000:])
    check(done.returncode == 0, f"the script runs under {label}")
    accuracies = [float(line.split("test accuracy ")[1].split(",")[0])
                  for line in done.stdout.splitlines() if "test accuracy" in line]
    return accuracies, done.stdout


def where(obj) -> str:
    """minicnn's file:line of a function or method, relative to the repository."""
    function = inspect.unwrap(obj)
    path = Path(inspect.getsourcefile(function)).resolve()
    root = Path(mc.__file__).resolve().parent.parent
    line = inspect.getsourcelines(function)[1]
    return f"{path.relative_to(root) if path.is_relative_to(root) else path}:{line}"


def draw(curves: dict, out: Path) -> None:
    viz.plot_curves(curves, out / "19_two_libraries.png", xlabel="batch",
                    ylabel="cross-entropy", title="the same PyTorch script: training loss")
    print(f"   wrote {out / '19_two_libraries.png'}")


def main():
    args = parse_args(__doc__)
    epochs, limit = (1, 256) if args.fast else (2, None)

    print("1. The data: MNIST-5k as a plain .npz file any script can read")
    split = load_mnist5k(np.float32)
    data = args.out / "19_mnist5k.npz"
    np.savez(data, train_images=split.train_images, train_labels=split.train_labels,
             test_images=split.test_images, test_labels=split.test_labels)
    print(f"   {data}: {len(split.train_labels)} training and {len(split.test_labels)} test "
          "digits")

    print("\n2. The PyTorch script, unchanged, on minicnn")
    options = ["--data", str(data), "--epochs", str(epochs)]
    if limit:
        options += ["--limit", str(limit)]
    logs = {"minicnn": args.out / "19_losses_minicnn.npy",
            "PyTorch": args.out / "19_losses_pytorch.npy"}
    ours, printed = run_script([sys.executable, "-m", "minicnn.as_torch", str(SCRIPT), *options,
                                "--log", str(logs["minicnn"])], "minicnn")
    check(len(ours) == epochs and "library minicnn" in printed,
          "every epoch ran on minicnn (the script printed 'library minicnn')")
    if not args.fast:
        check(ours[-1] >= 0.9, f"it learns: test accuracy {ours[-1]:.3f} >= 0.9 after {epochs} "
                               "epochs")

    print("\n3. Where the script's calls live in minicnn (open the file, read along, or step "
          "in with pdb)")
    import minicnn.nn.functional as F
    for name, obj in [("F.conv2d", F.conv2d), ("F.max_pool2d", F.max_pool2d),
                      ("F.cross_entropy", F.cross_entropy), ("loss.backward", mc.Tensor.backward),
                      ("optimizer.step (Adam)", mc.optim.Adam.step),
                      ("tensor.register_hook", mc.Tensor.register_hook),
                      ("DataLoader", mc.utils.data.DataLoader.__iter__)]:
        print(f"   {name:24s} {where(obj)}")
    print(f"   to step through it: python -m pdb -m minicnn.as_torch {SCRIPT} --data {data}")

    print("\n4. The same script under PyTorch")
    curves = {"minicnn": np.load(logs["minicnn"])}
    if importlib.util.find_spec("torch") is None:
        print("   PyTorch is not installed: this part is skipped (pip install torch)")
        draw(curves, args.out)
        return
    theirs, _ = run_script([sys.executable, str(SCRIPT), *options, "--log", str(logs["PyTorch"])],
                           "PyTorch")
    curves["PyTorch"] = np.load(logs["PyTorch"])
    draw(curves, args.out)
    print(f"\n   test accuracy per epoch: minicnn {ours}, PyTorch {theirs}")
    if not args.fast:
        check(abs(ours[-1] - theirs[-1]) < 0.05, "both libraries reach about the same accuracy "
                                                 "(within 5 points)")


if __name__ == "__main__":
    main()
