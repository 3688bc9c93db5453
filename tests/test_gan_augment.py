"""DiffAugment (minicnn.gan.augment): each transform against a plain-loop reference, its
gradients to second order, and its use inside a DCGAN step."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.gan import get_recipe
from minicnn.gan.augment import cutout, diff_augment, parse_policy, translate
from minicnn.gradcheck import gradcheck, gradgradcheck


class FixedDraws:
    """Stands in for the loop's ``rng``: ``integers`` answers the given values in order."""

    def __init__(self, values):
        self.values = list(values)

    def integers(self, low, high, size):
        drawn, self.values = self.values[:size], self.values[size:]
        assert all(low <= v < high for v in drawn), (low, high, drawn)
        return np.array(drawn)


def shifted_by_loops(image, dy, dx, fill):
    out = np.full_like(image, fill)
    _, height, width = image.shape
    for i in range(height):
        for j in range(width):
            if 0 <= i - dy < height and 0 <= j - dx < width:
                out[:, i, j] = image[:, i - dy, j - dx]
    return out


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 2), h=st.integers(1, 9), w=st.integers(1, 9),
       seed=st.integers(0, 2**31 - 1))
def test_translation_moves_each_image_and_fills_with_the_background(n, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
    max_dy, max_dx = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    dy = rng.integers(-max_dy, max_dy + 1, n)
    dx = rng.integers(-max_dx, max_dx + 1, n)
    out = translate(mc.tensor(x), FixedDraws([*dy, *dx])).numpy()
    for k in range(n):
        # (x - fill) + fill rounds once in float32: equal to an ulp
        np.testing.assert_allclose(out[k], shifted_by_loops(x[k], dy[k], dx[k], -1.0),
                                   rtol=0, atol=2e-7)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_cutout_blanks_one_square_of_half_the_side(h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 1, (2, 1, h, w)).astype(np.float32)   # never exactly -1
    out = cutout(mc.tensor(x), np.random.default_rng(seed)).numpy()
    cut_h, cut_w = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    for k in range(2):
        blank = out[k, 0] == -1
        np.testing.assert_allclose(out[k, 0][~blank], x[k, 0][~blank], rtol=0, atol=2e-7)
        rows, cols = np.nonzero(blank)
        if rows.size:   # the blank part is a rectangle no bigger than the square
            assert blank[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
            assert rows.max() - rows.min() < cut_h and cols.max() - cols.min() < cut_w


@pytest.mark.parametrize("policy", ["translation", "cutout", "translation,cutout"])
def test_augmentation_is_differentiable_to_second_order(policy):
    x = mc.tensor(np.random.default_rng(1).uniform(-1, 1, (2, 1, 5, 6)), requires_grad=True)

    def fn(images):   # the same draws on every call, so finite differences see one function
        return diff_augment(images, policy, np.random.default_rng(7)) ** 2

    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_policy_names_are_checked():
    assert parse_policy("") == () and parse_policy(None) == ()
    assert parse_policy("translation, cutout") == ("translation", "cutout")
    with pytest.raises(ValueError, match="unknown transform.*'colour'"):
        parse_policy("translation,colour")
    x = mc.ones(1, 1, 4, 4)
    assert diff_augment(x, "", np.random.default_rng(0)) is x


def test_a_dcgan_step_with_augmentation_trains_both_players():
    recipe = get_recipe("dcgan")
    mc.manual_seed(0)
    parts = recipe.build(recipe.config(width=4, batch_size=4, augment="translation,cutout"))
    before = {k: p.numpy().copy() for k, p in parts.generator.named_parameters()}
    real = mc.tensor(np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    losses = recipe.train_step(parts, real, 0, np.random.default_rng(0))
    assert np.isfinite(list(losses.values())).all()
    after = dict(parts.generator.named_parameters())
    assert any(not np.array_equal(before[k], after[k].numpy()) for k in before)
