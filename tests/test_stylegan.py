"""StyleGAN-lite: shapes, AdaIN's math and gradients, style mixing, truncation and w_avg,
and a few training steps through the shared GAN loop (``minicnn train stylegan``)."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.gan import get_recipe
from minicnn.gan.stylegan import (EqualizedLinear, NoiseInjection, StyleDiscriminator,
                                  StyleGenerator, StyleLayer, adain, minibatch_stddev,
                                  pixel_norm)
from minicnn.gan.train import GANTraining
from minicnn.gradcheck import gradcheck, gradgradcheck


def small_generator(**kwargs) -> StyleGenerator:
    mc.manual_seed(0)
    return StyleGenerator(z_dim=8, w_dim=8, width=8, **kwargs)


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------
def test_shapes_of_generator_and_discriminator():
    G = small_generator()
    z = mc.randn(3, 8)
    assert G.mapping(z).shape == (3, 8)
    assert G.num_layers == 8
    assert G.synthesis.layer_resolutions() == [4, 4, 8, 8, 16, 16, 32, 32]
    images = G(z)
    assert images.shape == (3, 1, 32, 32)
    D = StyleDiscriminator(width=8)
    assert D(images).shape == (3, 1)
    assert StyleDiscriminator(width=8, minibatch_std=False)(images).shape == (3, 1)
    assert "w_avg" in G.state_dict()


def test_pixel_norm_gives_unit_rms():
    x = mc.tensor(np.random.default_rng(0).normal(size=(4, 16)) * 7.0)
    rms = np.sqrt((pixel_norm(x).numpy() ** 2).mean(axis=1))
    np.testing.assert_allclose(rms, 1.0, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# AdaIN
# ---------------------------------------------------------------------------------------
def test_adain_output_statistics_equal_the_style():
    rng = np.random.default_rng(1)
    x = mc.tensor(rng.normal(3.0, 2.5, size=(2, 3, 8, 8)))
    scale = mc.tensor(rng.uniform(0.5, 2.0, size=(2, 3)))
    bias = mc.tensor(rng.normal(size=(2, 3)))
    y = adain(x, scale, bias, eps=1e-12).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), bias.numpy(), atol=1e-10)
    np.testing.assert_allclose(y.std(axis=(2, 3)), scale.numpy(), rtol=1e-8)
    # a negative scale flips the features: the std is |scale|
    y = adain(x, -scale, bias, eps=1e-12).numpy()
    np.testing.assert_allclose(y.std(axis=(2, 3)), scale.numpy(), rtol=1e-8)


def test_adain_refuses_mismatched_styles():
    with pytest.raises(ValueError, match="scale and bias"):
        adain(mc.randn(2, 3, 4, 4), mc.ones(2, 4), mc.zeros(2, 3))


def test_adain_gradients_float64():
    rng = np.random.default_rng(2)
    x = mc.tensor(rng.normal(size=(2, 2, 3, 3)), requires_grad=True)
    scale = mc.tensor(rng.uniform(0.5, 1.5, size=(2, 2)), requires_grad=True)
    bias = mc.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    assert gradcheck(adain, [x, scale, bias])
    assert gradgradcheck(adain, [x, scale, bias])


def test_style_affine_starts_at_scale_one_bias_zero():
    mc.manual_seed(0)
    layer = StyleLayer(4, 4, w_dim=6, resolution=4)
    style = layer.style(mc.zeros(2, 6)).numpy()
    np.testing.assert_allclose(style[:, :4], 1.0)
    np.testing.assert_allclose(style[:, 4:], 0.0)


def test_noise_injection_has_a_learned_per_channel_scale():
    mc.manual_seed(0)
    noise = NoiseInjection(3, 4)
    x = mc.randn(2, 3, 4, 4)
    np.testing.assert_array_equal(noise(x).numpy(), x.numpy())     # scale starts at 0
    noise.weight.array[...] = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    noise.mode = "const"
    added = noise(x).numpy() - x.numpy()
    const = noise.noise_const.numpy()[0, 0]
    np.testing.assert_allclose(added[:, 0], 0.0, atol=1e-7)
    np.testing.assert_allclose(added[:, 2], 2 * added[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(added[0, 1], const, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("equalized", [True, False])
def test_equalized_linear_has_he_scale_in_both_modes(equalized):
    mc.manual_seed(0)
    layer = EqualizedLinear(400, 300, equalized=equalized)
    effective = layer.weight.numpy() * layer.runtime_scale
    assert abs(effective.std() * np.sqrt(400) - 1.0) < 0.02
    x = mc.randn(5, 400)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ effective.T + layer.bias.numpy()
                               * layer.bias_scale, rtol=1e-4, atol=1e-5)


def test_minibatch_stddev_appends_the_group_std():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 2, 3, 3))
    out = minibatch_stddev(mc.tensor(x), group_size=4).numpy()
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[:, :2], x)
    grouped = x.reshape(4, 2, 2, 3, 3)
    expected = np.sqrt(grouped.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))   # per group member j
    np.testing.assert_allclose(out[:, 2, 0, 0], np.tile(expected, 4), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Style mixing and truncation
# ---------------------------------------------------------------------------------------
def _record_styles(G):
    seen = []
    for layer in G.synthesis.layers:
        layer.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[1]))
    return seen


@pytest.mark.parametrize("crossover", [1, 4, 7])
def test_mixing_uses_a_before_the_crossover_and_b_after(crossover):
    G = small_generator()
    w_a, w_b = G.mapping(mc.randn(2, 8)), G.mapping(mc.randn(2, 8))
    seen = _record_styles(G)
    G.synthesis(G.mix(w_a, w_b, crossover))
    assert len(seen) == 8
    for index, w in enumerate(seen):
        assert w is (w_a if index < crossover else w_b), index


@pytest.mark.parametrize("crossover", range(9))
def test_mix_gives_exactly_crossover_layers_to_the_coarse_source(crossover):
    """Layers 0..crossover-1 (the coarse end: 4x4 first) read w_a, the rest w_b: crossover
    0 is all B, 8 all A. An off-by-one or a swapped order here is what would make a
    mixing grid follow the wrong source."""
    G = small_generator()
    w_a, w_b = mc.randn(1, 8), mc.randn(1, 8)
    ws = G.mix(w_a, w_b, crossover)
    assert [w is w_a for w in ws] == [index < crossover for index in range(8)]
    resolutions = G.synthesis.layer_resolutions()
    assert all(resolutions[index] <= resolutions[crossover] for index in range(crossover)
               if crossover < 8)
    with pytest.raises(ValueError, match="crossover"):
        G.mix(w_a, w_b, 9)


@pytest.mark.parametrize("width", [8, 16, 32, 64])
def test_every_layer_of_both_networks_has_at_least_16_channels(width):
    """The cause of the collapsed, fine-style-driven StyleGAN-lite runs: width 16 gave 8
    channels at 16x16 and 4 at 32x32, after an instance norm each. Both networks keep at
    least 16 channels at every resolution now."""
    from minicnn.gan.stylegan import stylegan_channels
    channels = stylegan_channels(width)
    assert sorted(channels) == [4, 8, 16, 32]
    assert min(channels.values()) >= 16
    assert channels[4] == max(width, 16) and channels[32] == max(width // 4, 16)
    mc.manual_seed(0)
    G = StyleGenerator(z_dim=8, w_dim=8, width=width)
    assert all(layer.channels >= 16 for layer in G.synthesis.layers)
    assert all(to_rgb.in_channels >= 16 for to_rgb in G.synthesis.to_rgbs)
    D = StyleDiscriminator(width=width)
    assert D.from_rgb.out_channels >= 16
    assert all(conv.in_channels >= 16 and conv.out_channels >= 16 for conv in D.blocks)


def test_coarse_images_depend_only_on_the_coarse_styles():
    """The skip output: the running image after 4x4 and 8x8 is painted by layers 0..3
    alone, so style mixing at crossover 4 keeps source A's coarse image exactly, and the
    final image is the bilinear-upsampled coarse image plus what 16x16 and 32x32 add."""
    G = small_generator()
    G.set_noise_mode("const")
    w_a, w_b = G.mapping(mc.randn(2, 8)), G.mapping(mc.randn(2, 8))
    image_a, stages_a = G.synthesis(G.mix(w_a, w_a, 8), return_images=True)
    image_m, stages_m = G.synthesis(G.mix(w_a, w_b, 4), return_images=True)
    assert [tuple(stage.shape) for stage in stages_a] == [(2, 1, r, r) for r in (4, 8, 16, 32)]
    np.testing.assert_array_equal(stages_m[0].numpy(), stages_a[0].numpy())
    np.testing.assert_array_equal(stages_m[1].numpy(), stages_a[1].numpy())
    assert not np.allclose(stages_m[2].numpy(), stages_a[2].numpy())
    np.testing.assert_allclose(image_a.numpy(), np.tanh(stages_a[-1].numpy()), atol=1e-6)
    up = mc.functional.interpolate(stages_a[2], scale_factor=2, mode="bilinear")
    with mc.no_grad():
        x = G.synthesis.const.expand(2, *G.synthesis.const.shape[1:])
        for layer in G.synthesis.layers:
            x = layer(x, w_a)
        last = G.synthesis.to_rgbs[-1](x)
    np.testing.assert_allclose(stages_a[-1].numpy(), (up + last).numpy(), rtol=1e-5, atol=1e-5)


def test_mixing_changes_only_what_the_late_layers_control():
    G = small_generator()
    G.set_noise_mode("const")
    w_a, w_b = G.mapping(mc.randn(1, 8)), G.mapping(mc.randn(1, 8))
    pure_a = G.synthesis(G.mix(w_a, w_a, 8)).numpy()
    assert np.array_equal(G.synthesis(G.mix(w_a, w_b, 8)).numpy(), pure_a)  # crossover 8: all A
    assert not np.allclose(G.synthesis(G.mix(w_a, w_b, 4)).numpy(), pure_a)


def test_recipe_mixes_with_probability_and_random_crossover():
    recipe = get_recipe("stylegan")
    mc.manual_seed(0)
    parts = recipe.build(recipe.config(width=8, batch_size=4))
    rng = np.random.default_rng(0)
    crossovers = []
    for _ in range(200):
        ws, crossover, w = recipe.styles(parts, 2, rng)
        crossovers.append(crossover)
        if crossover is None:
            assert all(style is w for style in ws)
        else:
            assert all(style is w for style in ws[:crossover])
            assert all(style is not w for style in ws[crossover:])
    mixed = [c for c in crossovers if c is not None]
    assert 0.8 < len(mixed) / len(crossovers) < 0.97            # probability 0.9
    assert set(mixed) == set(range(1, 8))                       # every crossover layer 1..7


def test_truncation_psi_zero_gives_w_avg():
    G = small_generator()
    G.w_avg.array[...] = np.arange(8, dtype=np.float32) / 8
    w = G.mapping(mc.randn(3, 8))
    np.testing.assert_allclose(G.truncate(w, 0.0).numpy(), np.tile(G.w_avg.numpy(), (3, 1)))
    np.testing.assert_allclose(G.truncate(w, 0.5).numpy(),
                               0.5 * (w.numpy() + G.w_avg.numpy()), rtol=1e-6, atol=1e-7)
    assert G.truncate(w, 1.0) is w
    G.set_noise_mode("const")
    images = G(mc.randn(3, 8), psi=0.0).numpy()     # every sample is the average one
    # equal up to float32 summation order (the batch rows go through BLAS separately)
    np.testing.assert_allclose(images[1:], np.broadcast_to(images[:1], (2, 1, 32, 32)),
                               atol=2e-5)


def test_w_avg_tracks_w_and_is_saved():
    G = small_generator()
    w = G.mapping(mc.randn(16, 8))
    G.update_w_avg(w)
    np.testing.assert_allclose(G.w_avg.numpy(), 0.005 * w.numpy().mean(axis=0), rtol=1e-5)
    for _ in range(2000):
        G.update_w_avg(w)
    np.testing.assert_allclose(G.w_avg.numpy(), w.numpy().mean(axis=0), rtol=1e-3, atol=1e-6)
    other = small_generator()
    other.load_state_dict(G.state_dict())
    np.testing.assert_array_equal(other.w_avg.numpy(), G.w_avg.numpy())


# ---------------------------------------------------------------------------------------
# Training through the shared loop
# ---------------------------------------------------------------------------------------
def test_a_few_training_steps_are_finite_and_move_everything(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, size=(16, 1, 32, 32)).astype(np.float32)
    training = GANTraining("stylegan", {"width": 8, "batch_size": 4, "w_dim": 8}, out=tmp_path,
                           images=images, sample_count=4)
    G, D = training.parts.generator, training.parts.discriminator
    before_g = {k: v.numpy().copy() for k, v in G.state_dict().items()}
    before_d = {k: v.numpy().copy() for k, v in D.state_dict().items()}
    for _ in range(3):
        losses = training.train_step()
        assert set(losses) == {"loss_d", "loss_g", "d_real", "d_fake"}
        assert all(np.isfinite(value) for value in losses.values())
    after_g = G.state_dict()
    assert not np.array_equal(after_g["w_avg"].numpy(), before_g["w_avg"])
    assert not np.array_equal(after_g["synthesis.const"].numpy(), before_g["synthesis.const"])
    assert not np.array_equal(after_g["synthesis.layers.7.style.weight"].numpy(),
                              before_g["synthesis.layers.7.style.weight"])
    assert not np.array_equal(D.state_dict()["out.weight"].numpy(), before_d["out.weight"])
    samples = training.samples()
    assert samples.shape == (4, 1, 32, 32)
    assert samples.numpy().min() >= -1 and samples.numpy().max() <= 1
    # the default sampling noise is constant: the same latents give the same pictures
    np.testing.assert_array_equal(training.samples().numpy(), samples.numpy())
    recipe = training.recipe
    psi0 = recipe.sample(training.parts, 3, np.random.default_rng(1), truncation=0.0).numpy()
    np.testing.assert_allclose(psi0[1:], np.broadcast_to(psi0[:1], (2, 1, 32, 32)), atol=2e-5)
    with pytest.raises(TypeError):
        recipe.sample(training.parts, 2, np.random.default_rng(1), colour="red")
    training.save()
    resumed = GANTraining.from_checkpoint(tmp_path / "checkpoint.ckpt", images=images,
                                          sample_count=4)
    np.testing.assert_array_equal(resumed.parts.generator.w_avg.numpy(), G.w_avg.numpy())


def test_stylegan_recipe_refuses_spectral_norm():
    with pytest.raises(ValueError, match="unknown settings"):
        get_recipe("stylegan").config(spectral_norm=True)


def test_r1_penalty_matches_the_input_gradient_and_trains():
    from minicnn.gan.stylegan_recipe import r1_penalty

    mc.manual_seed(0)
    D = StyleDiscriminator(width=8, minibatch_std=False).double()
    x = mc.tensor(np.random.default_rng(4).normal(size=(2, 1, 32, 32)), requires_grad=True)
    penalty = r1_penalty(D(x), x, gamma=10.0)
    (gradient,) = mc.grad(D(x).sum(), [x])
    expected = 5.0 * (gradient.numpy() ** 2).sum(axis=(1, 2, 3)).mean()
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-10)
    penalty.backward()                      # second derivatives reach D's weights
    assert D.out.weight.grad is not None and np.isfinite(D.out.weight.grad.numpy()).all()

    images = np.random.default_rng(0).uniform(-1, 1, size=(8, 1, 32, 32)).astype(np.float32)
    training = GANTraining("stylegan", {"width": 8, "batch_size": 4, "w_dim": 8, "r1": 1.0,
                                        "r1_every": 1}, images=images, sample_count=2)
    for _ in range(2):
        assert all(np.isfinite(v) for v in training.train_step().values())
