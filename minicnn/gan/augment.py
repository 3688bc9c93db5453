r"""Differentiable augmentation for GANs on small datasets (DiffAugment, Zhao et al. 2020).

A discriminator that sees the same 5,000 digits over and over learns them by heart; its
judgement then stops carrying information the generator can use. Augmenting only the real
images does not help: D would learn that shifted digits are real, and G would learn to draw
shifted digits. DiffAugment applies the *same kind* of random transform ``T`` to every image
D sees, real and fake, in D's update **and** in G's:

.. math::
    L_D = \ell(D(T(x)), 1) + \ell(D(T(G(z))), 0) \qquad L_G = \ell(D(T(G(z))), 1)

``T`` is differentiable, so G's gradient flows back through it. Each call draws fresh
transforms (one per image) from the training loop's generator ``rng``.

Two transforms, as in the paper's policy for small data (its colour transforms are left out:
the digits are grey):

* **translation**: shift each image by (dy, dx), each drawn from {-s, ..., s} with
  s = round(size / 8); pixels shifted in are ``fill``. Written as two matrix products, which
  the autograd engine differentiates to any order (WGAN-GP's penalty needs the second):

  .. math::  T(x) = S_y (x - f) S_x^\top + f, \quad (S_y)_{ij} = [\,j = i - d_y\,]

  where f is ``fill``: row i of ``S_y x`` is row ``i - dy`` of x, or 0 outside the image.
* **cutout**: set a square of half the image side, at a random centre (it may hang over the
  edge), to ``fill``: :math:`T(x) = (x - f) \odot M + f` with M a 0/1 mask.

``fill`` is -1, the digits' background in [-1, 1] (the paper fills with 0, mid-grey on
these images; a black border keeps augmented digits looking like digits).

Shapes: images (N, C, H, W) -> (N, C, H, W).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor

__all__ = ["POLICIES", "parse_policy", "translate", "cutout", "diff_augment"]

POLICIES = ("translation", "cutout")


def parse_policy(policy) -> tuple[str, ...]:
    """``"translation,cutout"`` (or a list of names, or ""/None for none) -> a tuple of
    transform names, checked against ``POLICIES``."""
    if policy is None or policy == "" or policy is False:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(name.strip() for name in names if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"augment: unknown transform(s) {unknown}; expected a comma-separated "
                         f"list of {POLICIES}, got {policy!r}")
    return names


def shift_matrices(shifts: np.ndarray, size: int, dtype) -> np.ndarray:
    """(N,) integer shifts -> (N, 1, size, size) 0/1 matrices S with S[i, i - shift] = 1:
    ``S @ x`` moves x's rows down by ``shift`` (up when negative), zeros shifted in."""
    rows = np.arange(size)
    source = rows[None, :] - shifts[:, None]                      # (N, size): row i <- i - d
    matrices = np.zeros((len(shifts), 1, size, size), dtype=dtype)
    n_index, row_index = np.nonzero((source >= 0) & (source < size))
    matrices[n_index, 0, row_index, source[n_index, row_index]] = 1
    return matrices


def translate(images: Tensor, rng: np.random.Generator, ratio: float = 0.125,
              fill: float = -1.0) -> Tensor:
    """Shift each image by up to ``round(ratio * size)`` pixels in each direction."""
    n, _, height, width = images.shape
    dtype = images.dtype
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = rng.integers(-max_dy, max_dy + 1, size=n)
    dx = rng.integers(-max_dx, max_dx + 1, size=n)
    rows = images.new_tensor(shift_matrices(dy, height, dtype))
    columns_t = images.new_tensor(np.swapaxes(shift_matrices(dx, width, dtype), -1, -2))
    return rows @ (images - fill) @ columns_t + fill


def cutout(images: Tensor, rng: np.random.Generator, ratio: float = 0.5,
           fill: float = -1.0) -> Tensor:
    """Set one square of side ``round(ratio * side)`` per image, at a random centre, to
    ``fill``."""
    n, _, height, width = images.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = rng.integers(0, height + (1 - cut_h % 2), size=n)
    centre_x = rng.integers(0, width + (1 - cut_w % 2), size=n)
    ys, xs = np.arange(height), np.arange(width)
    inside_y = (ys[None, :] >= centre_y[:, None] - cut_h // 2) & \
               (ys[None, :] < centre_y[:, None] - cut_h // 2 + cut_h)
    inside_x = (xs[None, :] >= centre_x[:, None] - cut_w // 2) & \
               (xs[None, :] < centre_x[:, None] - cut_w // 2 + cut_w)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])         # (N, H, W)
    mask = images.new_tensor(keep[:, None].astype(images.dtype))
    return (images - fill) * mask + fill


def diff_augment(images: Tensor, policy, rng: np.random.Generator) -> Tensor:
    """Apply the transforms named in ``policy`` (see ``parse_policy``) in order; no policy
    returns ``images`` itself."""
    for name in parse_policy(policy):
        images = translate(images, rng) if name == "translation" else cutout(images, rng)
    return images
