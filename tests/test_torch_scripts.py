"""PyTorch training scripts, written once for ``torch``, run on minicnn with only their
imports changed (issue 12's promise), and against PyTorch from identical weights.

Each script (tests/torch_scripts/) is PyTorch source in the style of a well-known public
program, at toy size:

* ``DCGAN_TUTORIAL``: the official DCGAN tutorial (weights_init with
  ``nn.init.normal_(m.weight.data, 0.0, 0.02)``, ``nn.BCELoss``, ``torch.full`` labels
  refilled in place, ``fake.detach()``, Adam with betas, ``torch.device``);
* ``MNIST_EXAMPLE``: pytorch/examples' MNIST classifier (``F.log_softmax`` + ``F.nll_loss``,
  ``optim.Adadelta`` + ``StepLR``, the accuracy idiom ``pred.eq(target.view_as(pred))``);
* ``WGAN_GP_COLLECTION``: the WGAN-GP of a popular GAN collection (``Tensor =
  torch.FloatTensor``, ``Variable``, ``autograd.grad(create_graph=True, retain_graph=True,
  only_inputs=True)``, ``gradients.norm(2, dim=1)``, ``imgs.type(Tensor)``);
* ``WGAN_GP_AUTHORS``: the older style of the WGAN-GP authors' PyTorch MNIST port
  (``Variable(..., volatile=True)``, ``backward(mone)``, ``p.requires_grad = False`` to
  freeze the critic, ``netG(noisev).data``).

The dataset is the only other change: small random batches the harness hands over as
``dataloader`` / ``train_batches``. Random draws inside the scripts come from NumPy's
global generator, seeded the same for both runs. Each script is split in two parts: the
harness copies PyTorch's initial weights into the minicnn models between them. After one
or two float32 iterations, losses and outputs agree within 1e-5 and every parameter, its
gradient and every buffer within 5e-5.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import re
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip

# ---------------------------------------------------------------------------------------
# The scripts: PyTorch source in tests/torch_scripts/; "# --- train ---" separates
# building the models from training them.
# ---------------------------------------------------------------------------------------
def _script(name: str) -> str:
    return (Path(__file__).parent / "torch_scripts" / name).read_text()


DCGAN_TUTORIAL = _script("dcgan_tutorial.py")
MNIST_EXAMPLE = _script("mnist_example.py")
WGAN_GP_COLLECTION = _script("wgan_gp_collection.py")
WGAN_GP_AUTHORS = _script("wgan_gp_authors.py")
MODERN_CLASSIFIER = _script("modern_classifier.py")
CONDITIONAL_GANS = _script("conditional_gans.py")
MODERN_AMP_CLASSIFIER = _script("modern_amp_classifier.py")
CYCLEGAN_COLLECTION = _script("cyclegan_collection.py")


# ---------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------
def port(source: str) -> str:
    """The script with its imports changed to minicnn's and nothing else:
    ``import torch`` -> ``import minicnn as torch``, ``import torch.nn as nn`` ->
    ``import minicnn.nn as nn``, ``from torch.x import y`` -> ``from minicnn.x import y``."""
    lines = []
    for line in source.splitlines():
        if re.fullmatch(r"\s*import torch\s*", line):
            line = line.replace("import torch", "import minicnn as torch")
        elif re.match(r"\s*(import|from) torch[. ]", line):
            line = re.sub(r"^(\s*(?:import|from) )torch", r"\1minicnn", line)
        lines.append(line)
    return "\n".join(lines)


def _images(rng, count, shape):
    return [rng.uniform(-1, 1, (count,) + shape).astype(np.float32) for _ in range(2)]


def _run(source, data, sync_from=None, models=(), patch=None, seed=0):
    """Execute the script's two parts in a fresh namespace (PyTorch's or minicnn's, by
    its imports); between them, copy the initial weights of the run ``sync_from`` into
    ``models`` and keep a copy of them (``namespace["initial"]``)."""
    build, train = source.split("# --- train ---")
    namespace = dict(data)
    np.random.seed(seed + 1)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(build, "<script: build>", "exec"), namespace)
        namespace["initial"] = {}
        for name in models:
            if sync_from is not None:
                _copy_state(sync_from["initial"][name], namespace[name])
            if patch is not None:
                patch(namespace[name])
            namespace["initial"][name] = _state(namespace[name])
        np.random.seed(seed)
        exec(compile(train, "<script: train>", "exec"), namespace)
    namespace["printed"] = printed.getvalue()
    return namespace


def _state(model) -> dict:
    """name -> a NumPy copy of every parameter and buffer."""
    tensors = dict(model.named_parameters())
    tensors.update(dict(model.named_buffers()))
    return {name: np.array(value.detach().numpy()) for name, value in tensors.items()}


def _copy_state(state: dict, mc_model) -> None:
    ours = dict(mc_model.named_parameters())
    ours.update(dict(mc_model.named_buffers()))
    assert sorted(ours) == sorted(state)
    for name, value in state.items():
        ours[name].array[...] = value


def _array(value):
    if hasattr(value, "detach"):
        value = value.detach()
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)


def _compare_run(source, data, models, compare, patch=None, zero_gradient=None,
                 torch_seed=0):
    """Run ``source`` under PyTorch and, ported, under minicnn from PyTorch's initial
    weights; compare the namespace values ``compare``, every parameter (after the steps),
    its gradient and every buffer.

    ``zero_gradient``: parameters whose gradient is zero in exact arithmetic (a bias right
    before a BatchNorm). Adam turns their round-off-sized gradients into steps of up to lr
    in either direction in *both* libraries, so for these (``{"model.name": bound}``, the
    bound lr times the steps taken) only the distance moved is checked.

    ``torch_seed``: seeds PyTorch's initialisation, so each test is one reproducible
    trajectory. Float32 training can be chaotic: a pre-activation within round-off of a
    ReLU kink flips its gradient, and Adam's normalised step turns that into a difference
    of lr; an unseeded start made such a test fail now and then."""
    zero_gradient = zero_gradient or {}
    torch = torch_or_skip()
    torch.set_default_dtype(torch.float32)  # the scripts' world: float32 throughout
    torch.manual_seed(torch_seed)
    try:
        theirs = _run(source, data(torch), models=models, patch=patch)
    finally:
        torch.set_default_dtype(torch.float64)
    ported = port(source)
    ours = _run(ported, data(mc), sync_from=theirs, models=models, patch=patch)
    assert not re.search(r"^\s*(import|from) minicnn", source, re.M) and ours["torch"] is mc
    for name in compare:
        np.testing.assert_allclose(_array(ours[name]), _array(theirs[name]), rtol=1e-5,
                                   atol=1e-5, err_msg=f"{name} differs from PyTorch's")
    for model in models:
        mc_model, torch_model = ours[model], theirs[model]
        torch_params = dict(torch_model.named_parameters())
        for name, p in mc_model.named_parameters():
            q = torch_params[name]
            if f"{model}.{name}" in zero_gradient:
                moved = np.abs(p.numpy() - ours["initial"][model][name]).max()
                assert moved <= zero_gradient[f"{model}.{name}"] * 1.0001, name
            else:
                np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=5e-5, atol=5e-5,
                                           err_msg=f"{model}.{name} after the steps")
            assert (p.grad is None) == (q.grad is None), f"{model}.{name}.grad"
            if p.grad is not None:
                np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=5e-5,
                                           atol=5e-5, err_msg=f"{model}.{name}.grad")
        torch_buffers = dict(torch_model.named_buffers())
        for name, b in mc_model.named_buffers():
            np.testing.assert_allclose(_array(b), _array(torch_buffers[name]), rtol=5e-5,
                                       atol=5e-5, err_msg=f"{model}.{name} (buffer)")
    return ours, theirs


def test_port_changes_only_the_import_lines():
    for source in (DCGAN_TUTORIAL, MNIST_EXAMPLE, WGAN_GP_COLLECTION, WGAN_GP_AUTHORS,
                   MODERN_CLASSIFIER, CONDITIONAL_GANS, MODERN_AMP_CLASSIFIER,
                   CYCLEGAN_COLLECTION):
        before, after = source.splitlines(), port(source).splitlines()
        changed = [a for a, b in zip(before, after) if a != b]
        assert changed and all(re.match(r"(import|from) torch", line) for line in changed)
        assert len(before) == len(after)


# ---------------------------------------------------------------------------------------
# The scripts against PyTorch
# ---------------------------------------------------------------------------------------
def test_dcgan_tutorial_matches_pytorch():
    rng = np.random.default_rng(0)
    images = _images(rng, 8, (1, 16, 16))

    def data(lib):
        return {"dataloader": [(lib.from_numpy(x), lib.zeros(8)) for x in images]}

    ours, theirs = _compare_run(DCGAN_TUTORIAL, data, ("netG", "netD"),
                                ("G_losses", "D_losses", "D_x", "D_G_z1", "D_G_z2", "fake",
                                 "output"))
    assert len(ours["G_losses"]) == 2 and ours["samples"].shape == (8, 1, 16, 16)
    assert "Loss_D" in ours["printed"] and "ConvTranspose2d" in ours["printed"]
    # weights_init ran on minicnn's models (before the harness copied PyTorch's in):
    fresh = _run(port(DCGAN_TUTORIAL).split("# --- train ---")[0] + "# --- train ---", {})
    conv = fresh["netD"].main[0].weight.numpy()
    assert abs(conv.std() - 0.02) < 0.005 and fresh["netD"].main[3].bias.numpy().max() == 0


def _labelled_batches(rng, batches, size):
    """Digits-like data: class k has a bright 6x6 patch at its own place."""
    out = []
    for _ in range(batches):
        labels = rng.integers(0, 10, size)
        x = rng.normal(0, 0.3, (size, 1, 28, 28)).astype(np.float32)
        for n, k in enumerate(labels):
            row, col = divmod(int(k), 5)
            x[n, 0, 4 + 12 * row: 10 + 12 * row, 2 + 5 * col: 8 + 5 * col] += 2.0
        out.append((x, labels.astype(np.int64)))
    return out


def _no_dropout(model):
    for module in model.modules():
        if type(module).__name__ in ("Dropout", "Dropout2d"):
            module.p = 0.0


def test_mnist_example_matches_pytorch():
    rng = np.random.default_rng(1)
    batches = _labelled_batches(rng, 2, 8)

    def data(lib):
        loader = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]
        return {"dataloader": loader, "test_loader": loader, "epochs": 1}

    # dropout draws differ between the libraries: compare with p = 0 (train mode otherwise)
    ours, theirs = _compare_run(MNIST_EXAMPLE, data, ("model",),
                                ("train_losses", "test_loss", "correct", "final_lr"),
                                patch=_no_dropout)
    assert ours["correct"] == theirs["correct"] and ours["final_lr"] == pytest.approx(0.7)
    assert "Test set: Average loss" in ours["printed"]


def test_mnist_example_learns_on_minicnn_with_dropout():
    rng = np.random.default_rng(2)
    train = _labelled_batches(rng, 12, 16)
    test = _labelled_batches(rng, 2, 16)
    mc.manual_seed(0)
    namespace = {"dataloader": [(mc.from_numpy(x), mc.from_numpy(y)) for x, y in train],
                 "test_loader": [(mc.from_numpy(x), mc.from_numpy(y)) for x, y in test],
                 "epochs": 3}
    ours = _run(port(MNIST_EXAMPLE), namespace)
    assert ours["correct"] >= 28, ours["printed"]  # of 32 held-out samples (chance: ~3)
    assert ours["train_losses"][-1] < ours["train_losses"][0] / 2


def test_modern_classifier_matches_pytorch(tmp_path):
    rng = np.random.default_rng(5)
    train = [(x[:, :, :12, :12].copy(), y) for x, y in _labelled_batches(rng, 3, 8)]
    val = [(x[:, :, :12, :12].copy(), y) for x, y in _labelled_batches(rng, 1, 8)]

    def data(lib):
        return {"dataloader": [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in train],
                "val_loader": [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in val],
                "epochs": 2, "checkpoint_path": str(tmp_path / f"{lib.__name__}.pt")}

    ours, theirs = _compare_run(MODERN_CLASSIFIER, data, ("model",),
                                ("train_losses", "val_losses", "lrs", "confusion", "per_class",
                                 "final_lr"), patch=_no_dropout)
    assert ours["confusion"].sum().item() == 8 and len(ours["lrs"]) == 6
    assert ours["final_lr"] == pytest.approx(theirs["final_lr"], rel=1e-12)


def test_modern_amp_classifier_matches_pytorch(tmp_path):
    rng = np.random.default_rng(7)
    train = [(x[:, :, :12, :12].copy(), y) for x, y in _labelled_batches(rng, 3, 8)]
    val = [(x[:, :, :12, :12].copy(), y) for x, y in _labelled_batches(rng, 1, 8)]

    def data(lib):
        return {"dataloader": [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in train],
                "val_loader": [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in val],
                "epochs": 1, "checkpoint_path": str(tmp_path / f"{lib.__name__}.pt")}

    # NAdam divides by sqrt(v): an element whose gradient is near zero moves by round-off
    # amplified to a fraction of lr, so the run is kept to 3 steps (one epoch)
    ours, theirs = _compare_run(MODERN_AMP_CLASSIFIER, data, ("model",),
                                ("train_losses", "grad_norms", "lrs", "val_probs", "correct",
                                 "ema_weight"), patch=_no_dropout,
                                # conv biases right before a BatchNorm: round-off gradients
                                zero_gradient={"model.features.0.bias": 0.02,
                                               "model.features.3.bias": 0.02})
    assert len(ours["lrs"]) == 3 and "epoch 0" in ours["printed"]
    assert type(ours["model"].head).__name__ == "ParametrizedLinear"


class _RecordingLoader(list):
    """A list of batches that keeps a copy of ``models``' parameters each time an epoch
    starts iterating it (``namespace`` is set once the script has built them)."""

    def __init__(self, batches, models):
        super().__init__(batches)
        self.models, self.namespace, self.states = models, None, []

    def __iter__(self):
        self.states.append({m: _state(self.namespace[m]) for m in self.models})
        return super().__iter__()


def test_cyclegan_of_the_gan_collection_matches_pytorch():
    """One batch per epoch, three epochs. The first step is compared tightly; after it, the
    float32 runs part: Adam's first update is lr * g / (|g| + eps), i.e. lr * sign(g), and
    the few weights whose gradient is within round-off of zero (a handful of 30,000 here)
    step +lr in one library and -lr in the other. Each later step starts from slightly
    different weights, so later losses are compared at a float32 trajectory's tolerance."""
    rng = np.random.default_rng(8)
    batch = {"A": rng.uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32),
             "B": rng.uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32)}
    models = ("G_AB", "G_BA", "D_A", "D_B")
    loaders = {}

    def data(lib):
        loader = _RecordingLoader([{k: lib.from_numpy(v) for k, v in batch.items()}], models)
        loaders[lib.__name__] = loader
        return {"dataloader": loader, "n_epochs": 3}

    def patch(module):       # hands the script's namespace to its loader
        namespace = inspect.currentframe().f_back.f_locals["namespace"]
        namespace["dataloader"].namespace = namespace

    torch = torch_or_skip()
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    try:
        theirs = _run(CYCLEGAN_COLLECTION, data(torch), models=models, patch=patch)
    finally:
        torch.set_default_dtype(torch.float64)
    ours = _run(port(CYCLEGAN_COLLECTION), data(mc), sync_from=theirs, models=models,
                patch=patch)
    assert ours["torch"] is mc and len(ours["losses"]) == 3
    losses = np.array(ours["losses"], dtype=np.float64)
    torch_losses = np.array(theirs["losses"], dtype=np.float64)
    np.testing.assert_allclose(losses[0], torch_losses[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses, torch_losses, rtol=2e-2)
    near_zero = _biases_before_norms()
    after_first = loaders["minicnn"].states[1], loaders["torch"].states[1]
    for model in models:
        for name, value in after_first[0][model].items():
            if f"{model}.{name}" in near_zero:
                continue
            off = np.abs(value - after_first[1][model][name])
            assert off.max() <= 2.5 * 2e-4, f"{model}.{name} after the first step"
            assert (off > 5e-5).mean() <= 0.005, f"{model}.{name}: many Adam steps differ"
    for key, bound in near_zero.items():      # zero gradient: only the distance moved
        model, name = key.split(".", 1)
        moved = np.abs(dict(ours[model].named_parameters())[name].numpy()
                       - ours["initial"][model][name]).max()
        assert moved <= bound * 1.0001, key
    assert ours["final_lr"] == pytest.approx(0.0) and ours["fake_A_"].shape == (1, 3, 64, 64)
    assert "[D loss:" in ours["printed"]


def _biases_before_norms():
    """The conv biases of the CycleGAN script that an InstanceNorm follows (zero gradient in
    exact arithmetic; Adam turns round-off into steps of up to lr): 4 steps of lr 2e-4."""
    generator = [1, 4, 7] + [f"{block}.block.{conv}" for block in (10, 11) for conv in (1, 5)] \
        + [13, 17]
    names = {}
    for model in ("G_AB", "G_BA"):
        for index in generator:
            names[f"{model}.model.{index}.bias"] = 4 * 2e-4
    for model in ("D_A", "D_B"):
        for index in (2, 5, 8):
            names[f"{model}.model.{index}.bias"] = 4 * 2e-4
    return names


def test_conditional_gans_match_pytorch():
    rng = np.random.default_rng(6)
    batches = [(rng.uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32),
                rng.integers(0, 10, 16)) for _ in range(2)]

    def data(lib):
        return {"dataloader": [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]}

    ours, _ = _compare_run(CONDITIONAL_GANS, data, ("generator", "discriminator", "acg", "acd"),
                           ("g_losses", "d_losses", "ac_losses", "gen_imgs"),
                           # biases right before a batch norm: Adam's second step on round-off
                           # gradients may exceed lr (seen: 2.04 lr after 2 steps), so 3 lr
                           patch=_no_dropout,
                           zero_gradient={name: 0.0006 for name in (
                               "generator.model.2.bias", "acg.conv_blocks.2.bias",
                               "acg.conv_blocks.6.bias", "acd.conv_blocks.3.bias")})
    assert len(ours["g_losses"]) == 2 and "[D loss:" in ours["printed"]


def test_wgan_gp_of_the_gan_collection_matches_pytorch():
    rng = np.random.default_rng(3)
    images = _images(rng, 6, (1, 8, 8))

    def data(lib):
        return {"dataloader": [(lib.from_numpy(x), lib.zeros(6)) for x in images]}

    ours, _ = _compare_run(WGAN_GP_COLLECTION, data, ("generator", "discriminator"),
                           ("d_losses", "g_losses", "gradient_penalty", "fake_validity"),
                           zero_gradient={"generator.model.2.bias": 0.0002})  # one G step
    assert len(ours["d_losses"]) == 2 and len(ours["g_losses"]) == 1
    assert ours["gradient_penalty"].item() > 0


def test_wgan_gp_authors_script_matches_pytorch():
    rng = np.random.default_rng(4)
    batches = [rng.uniform(0, 1, (4, 784)).astype(np.float32) for _ in range(2)]
    with pytest.warns(UserWarning, match="volatile"):
        ours, _ = _compare_run(WGAN_GP_AUTHORS, lambda lib: {"train_batches": batches},
                               ("netG", "netD"),
                               ("D_costs", "G_costs", "gradient_penalty", "Wasserstein_D"))
    assert len(ours["D_costs"]) == 2 and not any(p.requires_grad
                                                 for p in ours["netD"].parameters())
