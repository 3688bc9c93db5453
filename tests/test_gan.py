"""GANs: model shapes, the gradient penalty against PyTorch (value and its second-order
gradient), training steps, exact resume, the tricks' math, the NaN guard and the commands.

Everything runs at tiny widths on tiny random "datasets" so the file stays well under
a minute and a half on a laptop CPU.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.gan import GANRecipe, RECIPES, get_recipe, register_recipe
from minicnn.gan import tricks
from minicnn.gan.dcgan import (dcgan28_discriminator, dcgan28_generator,
                               dcgan64_discriminator, dcgan64_generator)
from minicnn.gan.train import GANTraining, fit_images, load_trained, train_gan
from minicnn.gan.wgan_gp import WGANGenerator, gradient_penalty, wgan_critic
from minicnn.training import NonFiniteLossError

from oracle import torch_or_skip


def tiny_images(n=32, size=28, seed=0):
    """Random 'digits': a bright square at a random place on black, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 1, size, size), dtype=np.float32)
    for i in range(n):
        r, c = rng.integers(2, size - 10, size=2)
        images[i, 0, r:r + 8, c:c + 8] = 1.0
    return images


# ---------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------
def test_model_shapes():
    z = mc.randn(3, 100)
    assert dcgan28_generator(100, 4)(z).shape == (3, 1, 28, 28)
    assert dcgan28_discriminator(4)(mc.randn(3, 1, 28, 28)).shape == (3, 1)
    assert dcgan64_generator(100, 2)(z).shape == (3, 1, 64, 64)
    assert dcgan64_discriminator(2)(mc.randn(3, 1, 64, 64)).shape == (3, 1)
    images = WGANGenerator(128, 4)(mc.randn(3, 128))
    assert images.shape == (3, 1, 28, 28)
    assert float(images.numpy().max()) <= 1.0 and float(images.numpy().min()) >= -1.0
    assert wgan_critic(4)(images).shape == (3, 1)
    assert wgan_critic(4, group_norm=True)(images).shape == (3, 1)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in wgan_critic(4, True).modules())


def test_recipes_registered_and_configs_checked():
    get_recipe("dcgan")   # imports the built-in recipes
    assert {"dcgan", "wgan-gp", "dcgan64"} <= set(RECIPES)
    recipe = get_recipe("wgan-gp")
    config = recipe.config(width=8)
    assert (config["lr"], tuple(config["betas"]), config["n_critic"], config["gp_weight"]) == \
        (1e-4, (0.5, 0.9), 5, 10.0)
    assert recipe.batches_per_step(config) == 5
    with pytest.raises(ValueError, match="unknown settings"):
        recipe.config(widht=8)
    with pytest.raises(ValueError, match="unknown GAN"):
        get_recipe("nogan")


def test_dcgan_init_follows_the_paper():
    mc.manual_seed(0)
    parts = get_recipe("dcgan").build(get_recipe("dcgan").config(width=16))
    weights = np.concatenate([p.numpy().ravel() for name, p in
                              parts.discriminator.named_parameters()
                              if name.endswith(("weight", "weight_orig")) and p.ndim > 1])
    assert abs(weights.std() - 0.02) < 0.002 and abs(weights.mean()) < 0.002
    bn = [m for m in parts.generator.modules() if isinstance(m, nn.BatchNorm2d)][0]
    assert abs(bn.weight.numpy().mean() - 1.0) < 0.01


def test_fit_images_pads_and_upsamples():
    images = tiny_images(2)
    assert fit_images(images, 28) is not None and fit_images(images, 28).shape == (2, 1, 28, 28)
    padded = fit_images(images, 32)
    assert padded.shape == (2, 1, 32, 32) and np.all(padded[:, :, :2] == -1)
    np.testing.assert_array_equal(padded[:, :, 2:30, 2:30], images)
    assert fit_images(np.zeros((1, 1, 8, 8), np.float32), 28).shape == (1, 1, 28, 28)
    assert fit_images(images, 64).shape == (2, 1, 64, 64)


# ---------------------------------------------------------------------------------------
# the gradient penalty against PyTorch: value, and its gradient with respect to the
# critic's weights, which goes through a gradient (the second-order path)
# ---------------------------------------------------------------------------------------
def _torch_critic(torch, critic, group_norm):
    d = critic[0].out_channels
    layers = [torch.nn.Conv2d(1, d, 5, 2, 2), torch.nn.LeakyReLU(0.2),
              torch.nn.Conv2d(d, 2 * d, 5, 2, 2)]
    layers += [torch.nn.GroupNorm(1, 2 * d)] if group_norm else []
    layers += [torch.nn.LeakyReLU(0.2), torch.nn.Conv2d(2 * d, 4 * d, 5, 2, 2)]
    layers += [torch.nn.GroupNorm(1, 4 * d)] if group_norm else []
    layers += [torch.nn.LeakyReLU(0.2), torch.nn.Flatten(), torch.nn.Linear(4 * d * 16, 1)]
    model = torch.nn.Sequential(*layers).double()
    model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in critic.state_dict().items()})
    return model


@pytest.mark.parametrize("group_norm", [False, True])
def test_gradient_penalty_matches_pytorch(group_norm):
    torch = torch_or_skip()
    critic = wgan_critic(2, group_norm).to(np.float64)
    for p in critic.parameters():   # non-trivial GroupNorm affine parameters
        p.array[...] = p.array + 0.1 * np.random.default_rng(3).standard_normal(p.shape)
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (4, 1, 28, 28))
    fake = rng.uniform(-1, 1, (4, 1, 28, 28))
    epsilon = rng.uniform(0, 1, (4, 1, 1, 1))

    penalty = gradient_penalty(critic, mc.tensor(real), mc.tensor(fake), epsilon)
    names = [name for name, _ in critic.named_parameters()]
    # the penalty does not reach the biases (LeakyReLU's mask is a constant, so the
    # gradient with respect to x_hat does not depend on them): allow_unused, None = 0
    grads = mc.grad(penalty, list(critic.parameters()), allow_unused=True)

    model = _torch_critic(torch, critic, group_norm)
    x_hat = (torch.tensor(epsilon) * torch.tensor(real)
             + (1 - torch.tensor(epsilon)) * torch.tensor(fake)).requires_grad_(True)
    (g,) = torch.autograd.grad(model(x_hat).sum(), x_hat, create_graph=True)
    norms = (g.reshape(4, -1).pow(2).sum(1) + 1e-12).sqrt()
    expected = ((norms - 1) ** 2).mean()
    expected_grads = torch.autograd.grad(expected, list(model.parameters()), allow_unused=True)

    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=1e-9)
    torch_names = [name for name, _ in model.named_parameters()]
    assert names == torch_names
    for name, ours, theirs, p in zip(names, grads, expected_grads, critic.parameters()):
        ours = np.zeros(p.shape) if ours is None else ours.numpy()
        theirs = np.zeros(p.shape) if theirs is None else theirs.numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10, err_msg=name)
    assert max(float(np.abs(g.numpy()).max()) for g in grads if g is not None) > 1e-6


def test_gradient_penalty_epsilon_is_per_sample_and_norm_is_over_all_dims():
    """A linear critic f(x) = <w, x> has gradient w at every point: the penalty is
    (||w|| - 1)^2 exactly, whatever epsilon, with ||w|| taken over C, H and W together."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 1, bias=False)).to(np.float64)
    w = critic[1].weight.numpy()
    real, fake = mc.randn(5, 2, 3, 3).to(np.float64), mc.randn(5, 2, 3, 3).to(np.float64)
    value = gradient_penalty(critic, real, fake, np.linspace(0, 1, 5).reshape(5, 1, 1, 1))
    np.testing.assert_allclose(value.item(), (np.sqrt((w ** 2).sum()) - 1) ** 2, rtol=1e-9)


# ---------------------------------------------------------------------------------------
# training steps
# ---------------------------------------------------------------------------------------
def test_dcgan_steps_are_finite_and_the_discriminator_learns():
    training = GANTraining("dcgan", dict(width=4, batch_size=8), images=tiny_images(32))
    history = [training.train_step() for _ in range(8)]
    assert all(np.isfinite(v) for h in history for v in h.values())
    assert history[-1]["d_real"] - history[-1]["d_fake"] > history[0]["d_real"] - history[0]["d_fake"]
    assert history[-1]["loss_d"] < history[0]["loss_d"]
    assert training.step == 8


def test_wgan_gp_steps_are_finite_and_the_critic_separates():
    training = GANTraining("wgan-gp", dict(width=2, batch_size=4, n_critic=2, lr=1e-3),
                           images=tiny_images(32))
    history = [training.train_step() for _ in range(6)]
    assert all(np.isfinite(v) for h in history for v in h.values())
    assert history[-1]["wasserstein"] > history[0]["wasserstein"]
    assert history[-1]["loss_d"] < history[0]["loss_d"]


# ---------------------------------------------------------------------------------------
# exact resume
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe, config", [
    ("dcgan", dict(width=4, batch_size=8, spectral_norm=True, historical_averaging=0.01,
                   ema=0.9)),
    ("wgan-gp", dict(width=2, batch_size=4, n_critic=2)),
])
def test_resume_equals_uninterrupted_bit_for_bit(tmp_path, recipe, config):
    # 20 images, batch 8 (4 for wgan-gp, two batches a step): the checkpoint falls
    # inside an epoch
    images = tiny_images(20)
    options = dict(images=images, progress=False, sample_every=4, checkpoint_every=2)
    straight = train_gan(recipe, 4, tmp_path / "straight", config, **options)
    train_gan(recipe, 3, tmp_path / "resumed", config, **options)   # saved at step 2 and 3
    mc.manual_seed(123)   # the resumed run must not depend on the state we leave behind
    resumed = train_gan(recipe, 4, tmp_path / "resumed", config, resume=True, **options)

    assert resumed.step == straight.step == 4
    for name in straight.parts.models:
        a, b = straight.parts.models[name].state_dict(), resumed.parts.models[name].state_dict()
        for key in a:
            assert np.array_equal(a[key].numpy(), b[key].numpy()), f"{name}.{key}"
    for name in straight.loss_names:
        assert straight.run.curve(name)[1].tolist() == resumed.run.curve(name)[1].tolist()
    for player in ("generator", "discriminator"):
        sa = straight.parts.optimizers[player].state_dict()["state"]
        sb = resumed.parts.optimizers[player].state_dict()["state"]
        for index in sa:
            for key, value in sa[index].items():
                assert np.array_equal(np.asarray(getattr(value, "data", value)),
                                      np.asarray(getattr(sb[index][key], "data", sb[index][key])))
    rows = list(csv.reader(open(tmp_path / "resumed" / "losses.csv")))
    assert rows[0][0] == "step" and [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4]
    assert (tmp_path / "resumed" / "samples_step000004.png").exists()


# ---------------------------------------------------------------------------------------
# the tricks
# ---------------------------------------------------------------------------------------
def test_historical_averaging_math():
    layer = nn.Linear(3, 2).to(np.float64)
    average = tricks.HistoricalAverage(layer, weight=0.5)
    thetas = [np.concatenate([layer.weight.numpy().ravel(), layer.bias.numpy().ravel()])]
    assert average.penalty().item() == 0.0      # the mean starts at theta_0
    for step in range(3):
        with mc.no_grad():
            for p in layer.parameters():
                p.array[...] = p.array + np.random.default_rng(step).standard_normal(p.shape)
        average.update()
        thetas.append(np.concatenate([layer.weight.numpy().ravel(), layer.bias.numpy().ravel()]))
    mean = np.mean(thetas, axis=0)               # cumulative mean, the current theta included
    np.testing.assert_allclose(np.concatenate([average.means["weight"].ravel(),
                                               average.means["bias"].ravel()]), mean)
    with mc.no_grad():
        layer.weight.array[...] += 1.0
    theta = np.concatenate([layer.weight.numpy().ravel(), layer.bias.numpy().ravel()])
    penalty = average.penalty()
    np.testing.assert_allclose(penalty.item(), 0.5 * ((theta - mean) ** 2).sum())
    grads = mc.grad(penalty, [layer.weight, layer.bias])
    np.testing.assert_allclose(np.concatenate([g.numpy().ravel() for g in grads]),
                               2 * 0.5 * (theta - mean))
    restored = tricks.HistoricalAverage(layer, weight=0.1)
    restored.load_state_dict(average.state_dict())
    assert restored.count == 4 and restored.weight == 0.5
    np.testing.assert_array_equal(restored.means["weight"], average.means["weight"])


def test_generator_ema_math():
    layer = nn.Linear(2, 2)
    ema = tricks.GeneratorEMA(layer, decay=0.75)
    start = layer.weight.numpy().copy()
    with mc.no_grad():
        layer.weight.array[...] = start + 4.0
    ema.update()
    np.testing.assert_allclose(ema.average.weight.numpy(), start + 1.0, rtol=1e-6)
    assert not ema.average.weight.requires_grad


def test_spectral_norm_flag_wraps_every_discriminator_layer_only():
    recipe = get_recipe("dcgan")
    mc.manual_seed(0)
    parts = recipe.build(recipe.config(width=4, spectral_norm=True))
    names = dict(parts.discriminator.named_parameters())
    assert {"0.weight_orig", "2.weight_orig", "6.weight_orig"} <= set(names)
    assert tricks.uses_spectral_norm(parts.discriminator)
    assert not tricks.uses_spectral_norm(parts.generator)
    # the optimizer trains weight_orig (spectral norm was applied before it was made)
    trained = {id(p) for g in parts.optimizers["discriminator"].param_groups for p in g["params"]}
    assert id(names["0.weight_orig"]) in trained
    # after some power iterations the effective weights have spectral norm 1
    x = mc.randn(8, 1, 28, 28)
    for _ in range(30):
        parts.discriminator(x)
    for layer in (parts.discriminator[0], parts.discriminator[2], parts.discriminator[6]):
        matrix = layer.weight.numpy().reshape(layer.weight.shape[0], -1)
        assert abs(np.linalg.svd(matrix, compute_uv=False)[0] - 1.0) < 1e-3
    plain = recipe.build(recipe.config(width=4, spectral_norm=False))
    assert not tricks.uses_spectral_norm(plain.discriminator)
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.discriminator.modules())
    # DCGAN-28's default is spectral norm (and no batch norm) in D; DCGAN-64 keeps the paper's
    assert tricks.uses_spectral_norm(recipe.build(recipe.config(width=4)).discriminator)
    paper = get_recipe("dcgan64").config(width=4)
    assert (paper["spectral_norm"], tuple(paper["betas"]), paper["lr"]) == \
        (False, (0.5, 0.999), 2e-4)


def test_wgan_gp_with_spectral_norm_and_historical_averaging_trains():
    training = GANTraining("wgan-gp", dict(width=2, batch_size=4, n_critic=1, spectral_norm=True,
                                           historical_averaging=0.1), images=tiny_images(16))
    losses = [training.train_step() for _ in range(2)]
    assert all(np.isfinite(v) for h in losses for v in h.values())
    assert training.parts.extras["historical_discriminator"].count == 3


# ---------------------------------------------------------------------------------------
# NaN guard
# ---------------------------------------------------------------------------------------
def test_nan_guard_stops_before_the_update_and_keeps_the_checkpoint(tmp_path):
    images = tiny_images(16)
    training = train_gan("dcgan", 2, tmp_path, dict(width=4, batch_size=8), images=images,
                         progress=False, checkpoint_every=2)
    saved = (tmp_path / "checkpoint.ckpt").read_bytes()
    images[:] = np.nan
    with pytest.raises(NonFiniteLossError, match="loss_d is nan at step 3") as caught:
        train_gan("dcgan", 4, tmp_path, images=images, resume=True, progress=False)
    assert caught.value.step == 3
    assert (tmp_path / "checkpoint.ckpt").read_bytes() == saved
    assert training.step == 2


# ---------------------------------------------------------------------------------------
# the protocol is open to other recipes
# ---------------------------------------------------------------------------------------
def test_a_new_recipe_plugs_into_the_loop():
    @register_recipe
    class TinyGAN(GANRecipe):
        name = "tiny-test-gan"
        latent_dim = 4
        image_size = 32

        def build(self, config):
            G = nn.Sequential(nn.Linear(4, 32 * 32), nn.Tanh(), nn.Unflatten(1, (1, 32, 32)))
            D = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 1))
            return self.finish_build(config, G, D, mc.optim.SGD(G.parameters(), lr=0.01),
                                     mc.optim.SGD(D.parameters(), lr=0.01))

        def train_step(self, parts, real, step, rng):
            fake = parts.generator(self.noise(real.shape[0], rng, parts))
            loss = (parts.discriminator(fake) - parts.discriminator(real)).mean()
            parts.check_finite("loss", loss)
            parts.optimizers["discriminator"].zero_grad()
            loss.backward()
            parts.optimizers["discriminator"].step()
            return {"loss": loss.item()}

    try:
        training = GANTraining("tiny-test-gan", dict(batch_size=4), images=tiny_images(8))
        assert training.loader.dataset.arrays[0].shape[-1] == 32
        assert np.isfinite(training.train_step()["loss"])
        assert training.samples().shape == (64, 1, 32, 32)
    finally:
        RECIPES.pop("tiny-test-gan")


# ---------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------
def test_train_and_sample_commands(tmp_path, capsys):
    from minicnn.cli import main

    out = tmp_path / "run"
    status = main(["train", "dcgan", "--steps", "2", "--width", "4", "--batch-size", "8",
                   "--out", str(out), "--no-progress", "--ema", "--historical-averaging"])
    assert status == 0, capsys.readouterr().err
    assert "now at step 2" in capsys.readouterr().out
    for name in ("checkpoint.ckpt", "losses.csv", "losses.png", "samples.png"):
        assert (out / name).exists(), name
    status = main(["train", "dcgan", "--steps", "3", "--out", str(out), "--resume",
                   "--no-progress"])
    assert status == 0 and "now at step 3" in capsys.readouterr().out
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out / "checkpoint.ckpt"), "--n", "9", "--out", str(grid)]) == 0
    assert grid.exists()
    recipe, parts = load_trained(out / "checkpoint.ckpt")
    assert parts.step == 3 and "generator_ema" in parts.models
    assert main(["sample", str(out / "checkpoint.ckpt"), "--truncation", "0.7",
                 "--out", str(grid)]) == 2
    assert main(["train", "dcgan", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
