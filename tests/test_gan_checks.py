"""The GAN lessons' sample check (``minicnn.metrics.check_samples``) can fail: on an
untrained generator and on a collapsed one, and it passes on real digits; the legible
share ``minicnn eval`` prints; the recipe knobs the tuning study searches (TTUR, one-sided
label smoothing)."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.metrics import (FAST, FULL, check_samples, confident_share, evaluate_generator,
                             format_results, generator_sampler)


@pytest.fixture(scope="module")
def digits():
    from minicnn.data import load_mnist5k
    return load_mnist5k(np.float32, (-1.0, 1.0)).train_images


@pytest.fixture(scope="module")
def extractor():
    from minicnn.metrics import default_extractor
    return default_extractor()   # the frozen classifier (trained once and cached)


def untrained(name, width=8):
    from minicnn.gan.recipe import get_recipe
    recipe = get_recipe(name)
    mc.manual_seed(0)
    return recipe, recipe.build(recipe.config(width=width))


def test_confident_share_by_hand():
    p = np.array([[0.95, 0.05], [0.5, 0.5], [0.1, 0.9], [0.89, 0.11]])
    assert confident_share(p) == pytest.approx(0.5)          # rows 0 and 2 reach 0.9
    assert confident_share(p, 0.5) == 1.0
    with pytest.raises(ValueError, match="confidence"):
        confident_share(p, 0.0)
    with pytest.raises(ValueError, match="sum to 1"):
        confident_share(np.array([[2.0, 0.0]]))


def test_eval_figures_carry_the_legible_share(digits, extractor):
    def real(count, rng):
        return digits[rng.choice(len(digits), count, replace=False)]

    results = evaluate_generator(real, n=200, seed=0, extractor=extractor)
    assert results["legible_share"] > 0.85 and results["real_legible_share"] > 0.85
    assert results["legible_confidence"] == 0.9
    text = format_results(results)
    assert "legible (p >= 0.9)" in text
    old = {k: v for k, v in results.items() if not k.startswith(("legible", "real_legible"))}
    assert "legible" not in format_results(old)              # older result dicts still print


def test_the_check_passes_on_real_digits(digits, extractor):
    report = check_samples(lambda n, rng: digits[rng.choice(len(digits), n, replace=False)],
                           FULL, extractor=extractor)
    assert report.passed, report.failures()
    assert report.results["pixel_spread"] == pytest.approx(1.0, abs=0.1)
    assert report.results["classes_drawn"] == 10


@pytest.mark.parametrize("name", ["dcgan", "wgan-gp", "stylegan"])
def test_the_check_fails_on_an_untrained_generator(name, extractor):
    recipe, parts = untrained(name)
    report = check_samples(generator_sampler(recipe, parts), FULL, extractor=extractor)
    assert not report.passed
    failed = " ".join(report.failures())
    assert "legible" in failed and "Fréchet" in failed
    assert report.results["legible_share"] < 0.5
    # fast mode is lenient (its seconds of training draw noise) but computes every figure
    fast = check_samples(generator_sampler(recipe, parts), FAST, extractor=extractor)
    assert fast.passed and fast.results["n"] == FAST.n


def test_the_check_fails_on_a_collapsed_generator(digits, extractor):
    def collapsed(count, rng):          # one real digit, drawn every time: all identical
        return np.repeat(digits[:1], count, axis=0)

    report = check_samples(collapsed, FULL, extractor=extractor)
    assert report.results["legible_share"] == 1.0            # legible, yet it must fail:
    failed = " ".join(report.failures())
    assert "not collapsed" in failed and "varied digits" in failed and "Fréchet" in failed
    assert report.results["pixel_spread"] == 0.0
    fast = check_samples(collapsed, FAST, extractor=extractor)   # even the lenient mode
    assert fast.failures() and "not collapsed" in fast.failures()[0]


def test_lesson_helper_stops_the_lesson_on_a_failed_check(digits, extractor, capsys):
    from minicnn.lesson import check_gan_samples

    with pytest.raises(SystemExit, match="not collapsed"):
        check_gan_samples("collapsed", lambda n, rng: np.repeat(digits[:1], n, 0), fast=True)
    report = check_gan_samples("real", lambda n, rng: digits[rng.choice(len(digits), n)],
                               fast=False, max_frechet=60)
    assert report.thresholds.max_frechet == 60 and report.thresholds.min_legible == 0.9
    assert "legible" in capsys.readouterr().out


def test_sampler_crops_stylegans_padding_and_refuses_other_sizes():
    recipe, parts = untrained("stylegan")
    images = generator_sampler(recipe, parts)(3, np.random.default_rng(0))
    assert images.shape == (3, 1, 28, 28) and images.dtype == np.float32

    class Big:
        def sample(self, parts, n, rng):
            return mc.zeros(n, 1, 64, 64)

    with pytest.raises(ValueError, match="64x64"):
        generator_sampler(Big(), None)(2, np.random.default_rng(0))


# ---------------------------------------------------------- the knobs the study searches
def test_ttur_gives_the_discriminator_its_own_learning_rate():
    for name in ("dcgan", "wgan-gp", "stylegan"):
        from minicnn.gan.recipe import get_recipe
        recipe = get_recipe(name)
        mc.manual_seed(0)
        same = recipe.build(recipe.config(width=4))
        assert same.config["lr_d"] is None                   # default: today's shared lr
        lrs = [same.optimizers[p].param_groups[0]["lr"] for p in ("generator", "discriminator")]
        assert lrs[0] == lrs[1] == recipe.defaults["lr"]
        ttur = recipe.build(recipe.config(width=4, lr=1e-4, lr_d=4e-4))
        assert ttur.optimizers["generator"].param_groups[0]["lr"] == 1e-4
        assert ttur.optimizers["discriminator"].param_groups[0]["lr"] == 4e-4


def test_one_sided_label_smoothing_changes_only_the_real_target():
    from minicnn.gan.train import GANTraining

    images = np.random.default_rng(0).uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32)
    losses = {}
    for s in (0.0, 0.2):
        training = GANTraining("dcgan", dict(width=4, batch_size=8, label_smoothing=s),
                               images=images)
        losses[s] = training.train_step()
    assert losses[0.0]["d_real"] == losses[0.2]["d_real"]    # same D before the update
    assert losses[0.2]["loss_d"] != losses[0.0]["loss_d"]
    # the smoothed target's loss by hand: bce(l, 1 - s) = (1 - s) softplus(-l) + s softplus(l)
    import minicnn.functional as F
    logits = mc.tensor(np.array([[2.0], [-1.0]], np.float32))
    smoothed = F.binary_cross_entropy_with_logits(logits, mc.tensor(np.full((2, 1), 0.8,
                                                                            np.float32)))
    expected = np.mean([0.8 * np.log1p(np.exp(-x)) + 0.2 * np.log1p(np.exp(x))
                        for x in (2.0, -1.0)])
    assert smoothed.item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        from minicnn.gan.recipe import get_recipe
        get_recipe("wgan-gp").config(label_smoothing=0.1)   # WGAN-GP has no labels


def test_a_lessons_full_run_resumes_only_its_own_settings(tmp_path, capsys):
    from minicnn.gan.train import train_gan
    from minicnn.lesson import prepare_run

    images = np.random.default_rng(0).uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32)
    folder = tmp_path / "run"
    config = dict(width=4, batch_size=8, seed=0)
    train_gan("dcgan", 1, folder, config, images=images, progress=False)
    assert prepare_run(folder, "dcgan", config, fast=False)              # same: resume
    assert "continuing" in capsys.readouterr().out and folder.exists()
    assert not prepare_run(folder, "dcgan", dict(config, width=8), fast=False)
    assert "other settings" in capsys.readouterr().out and not folder.exists()
    train_gan("dcgan", 1, folder, config, images=images, progress=False)
    assert not prepare_run(folder, "wgan-gp", config, fast=False)        # another recipe
    assert not folder.exists()
    train_gan("dcgan", 1, folder, config, images=images, progress=False)
    assert not prepare_run(folder, "dcgan", config, fast=True) and not folder.exists()
    assert not prepare_run(folder, "dcgan", config, fast=False)          # nothing there
