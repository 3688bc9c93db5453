r"""DCGAN (Radford, Metz & Chintala 2016): a generator of transposed convolutions and a
discriminator of strided convolutions, both with batch norm, trained with the
non-saturating GAN loss.

The game, with D(x) a logit and :math:`\sigma` the sigmoid:

.. math::
    L_D = -\log\sigma(D(x)) - \log(1 - \sigma(D(G(z))))  \qquad
    L_G = -\log\sigma(D(G(z)))

Both are binary cross-entropies on logits (``F.binary_cross_entropy_with_logits``, which
stays finite for any logit). :math:`L_G` is the *non-saturating* generator loss: the
minimax one, :math:`\log(1 - \sigma(D(G(z))))`, has almost no gradient exactly when the
generator is bad and D rejects its samples confidently.

Two architectures:

* **DCGAN-28** (``dcgan``) for 28x28 digits on a CPU, width d (default 64)::

    G: z (N, 100) -> (N, 100, 1, 1)
       ConvTranspose(100 -> 2d, 7, 1, 0) BN ReLU    (N, 2d, 7, 7)
       ConvTranspose(2d -> d, 4, 2, 1)   BN ReLU    (N, d, 14, 14)
       ConvTranspose(d -> 1, 4, 2, 1)    Tanh       (N, 1, 28, 28)
    D: Conv(1 -> d, 4, 2, 1) LeakyReLU(0.2)          (N, d, 14, 14)
       Conv(d -> 2d, 4, 2, 1) BN LeakyReLU(0.2)      (N, 2d, 7, 7)
       Flatten -> Linear(2d*7*7 -> 1)                (N, 1) logit

* **DCGAN-64** (``dcgan64``), the paper's 64x64 architecture as in PyTorch's
  ``examples/dcgan`` (ngf = ndf = width), for GPU runs and benchmarks; digits are padded to
  32 and upsampled to 64.

DCGAN-28's default discriminator is spectrally normalised: every Conv2d/Linear of D is
divided by its largest singular value and D's batch norm is left out (an Identity in its
place), so D is 1-Lipschitz as a whole (``--no-spectral-norm`` gives the paper's batch-norm
D). DCGAN-64 keeps the paper's recipe.

Layers followed by batch norm have no bias (BN's shift replaces it), as in PyTorch's
example; the others keep theirs. Initialisation as in the paper: conv and linear weights
N(0, 0.02), BN weights N(1, 0.02), biases 0. DCGAN-28 trains both players with
Adam(lr 1.2e-3, betas (0, 0.9)) (SN-GAN's betas) and draws its samples from an EMA of the
generator (decay 0.99, ``--ema``), chosen by a fixed-step study (``benchmarks/RESULTS.md``,
"the third study"): on MNIST-5k at width 32, after 3,000 steps, Fréchet distance 43.2 on
average over 3 seeds (37.8-48.4), against about 107 for the paper's batch-norm D with
Adam(4e-4, (0.5, 0.999)), the previous default. DCGAN-64 keeps the paper's
Adam(2e-4, (0.5, 0.999)), batch norm in D and no EMA.

One training step (the order PyTorch's DCGAN example uses; the twin in
``benchmarks/gan_twin.py`` repeats it exactly):

1. z ~ N(0, I) from the loop's generator ``rng``, shape (N, 100); fake = G(z).
2. D update: ``L_D = bce(D(real), 1) + bce(D(fake.detach()), 0)`` (two separate batches
   through D, so BN normalises each with its own statistics); zero D's grads, backward,
   step.
3. G update: ``L_G = bce(D(fake), 1)`` with the **updated** D (same fake, same graph
   through G); zero G's grads, backward, step. D's gradients from this backward are
   discarded by the next step's zero_grad.

Options (defaults: today's recipe): ``lr_d`` gives D its own learning rate (TTUR);
``label_smoothing`` s > 0 is *one-sided* label smoothing (Salimans et al. 2016): D's target
for real images becomes 1 - s, so D is never rewarded for unbounded confidence on real
data; fakes keep target 0 (smoothing them too would reward D for calling fakes a bit
real). The generator's target stays 1. ``augment`` names DiffAugment transforms
(``"translation,cutout"``, see ``augment.py``) that D sees every image through.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from .augment import diff_augment
from .recipe import GANParts, GANRecipe, register_recipe


def init_dcgan_weights(module: nn.Module) -> None:
    """The paper's init: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0.
    Use with ``model.apply(init_dcgan_weights)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def dcgan28_generator(latent_dim: int = 100, width: int = 64) -> nn.Sequential:
    """DCGAN-28's generator: z (N, latent_dim) -> images (N, 1, 28, 28) in [-1, 1]."""
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


def dcgan28_discriminator(width: int = 64, batch_norm: bool = True) -> nn.Sequential:
    """DCGAN-28's discriminator: images (N, 1, 28, 28) -> logits (N, 1).

    ``batch_norm=False`` puts an Identity where the BatchNorm2d was (same layer indices,
    so the same state_dict keys otherwise): what ``--spectral-norm`` uses, because batch
    norm rescales by batch statistics and would undo the 1-Lipschitz bound that spectral
    normalisation gives every layer (SN-GAN's discriminators have no batch norm either).
    """
    d = width
    norm = nn.BatchNorm2d(2 * d) if batch_norm else nn.Identity()
    return nn.Sequential(
        nn.Conv2d(1, d, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(d, 2 * d, 4, 2, 1, bias=not batch_norm), norm, nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * d * 7 * 7, 1),
    )


def dcgan64_generator(latent_dim: int = 100, width: int = 64, channels: int = 1) -> nn.Sequential:
    """DCGAN-64's generator (PyTorch's example, ngf = width): (N, latent_dim) -> (N, C, 64, 64)."""
    g = width
    return nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, g * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(g * 8), nn.ReLU(),                                   # 4x4
        nn.ConvTranspose2d(g * 8, g * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(g * 4), nn.ReLU(),                                   # 8x8
        nn.ConvTranspose2d(g * 4, g * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(g * 2), nn.ReLU(),                                   # 16x16
        nn.ConvTranspose2d(g * 2, g, 4, 2, 1, bias=False),
        nn.BatchNorm2d(g), nn.ReLU(),                                       # 32x32
        nn.ConvTranspose2d(g, channels, 4, 2, 1, bias=False),
        nn.Tanh(),                                                          # 64x64
    )


def dcgan64_discriminator(width: int = 64, channels: int = 1) -> nn.Sequential:
    """DCGAN-64's discriminator (ndf = width): (N, C, 64, 64) -> logits (N, 1). PyTorch's
    example ends in a Sigmoid; we return the logit and use BCE-with-logits instead."""
    d = width
    return nn.Sequential(
        nn.Conv2d(channels, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),      # 32x32
        nn.Conv2d(d, d * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(d * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(d * 2, d * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(d * 4), nn.LeakyReLU(0.2),
        nn.Conv2d(d * 4, d * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(d * 8), nn.LeakyReLU(0.2),
        nn.Conv2d(d * 8, 1, 4, 1, 0, bias=False),                           # 1x1
        nn.Flatten(),
    )


@register_recipe
class DCGAN(GANRecipe):
    """DCGAN-28 on digits: ``minicnn train dcgan``."""

    name = "dcgan"
    latent_dim = 100
    image_size = 28
    defaults = dict(GANRecipe.defaults, width=64, lr=1.2e-3, betas=(0.0, 0.9),
                    spectral_norm=True, ema=0.99, label_smoothing=0.0, augment="")

    def make_models(self, config: dict):
        return (dcgan28_generator(self.latent_dim, config["width"]),
                dcgan28_discriminator(config["width"],
                                      batch_norm=not config.get("spectral_norm")))

    def build(self, config: dict) -> GANParts:
        generator, discriminator = self.make_models(config)
        generator.apply(init_dcgan_weights)
        discriminator.apply(init_dcgan_weights)
        return self.finish_with_adam(config, generator, discriminator)

    def train_step(self, parts: GANParts, real: Tensor, step: int,
                   rng: np.random.Generator) -> dict:
        G, D = parts.generator, parts.discriminator
        n = real.shape[0]
        ones = parts.tensor(np.ones((n, 1), dtype=np.float32))
        zeros = parts.tensor(np.zeros((n, 1), dtype=np.float32))
        # one-sided label smoothing: D's target for real images is 1 - s (fakes stay 0)
        smoothing = float(parts.config.get("label_smoothing") or 0.0)
        real_targets = ones if smoothing == 0 else parts.tensor(
            np.full((n, 1), 1.0 - smoothing, dtype=np.float32))

        # DiffAugment (augment.py): D sees every image, real or fake, through a fresh random
        # transform; "" (the default) sees them as they are
        policy = parts.config.get("augment") or ""

        def judge(images):
            return D(diff_augment(images, policy, rng))

        fake = G(self.noise(n, rng, parts))

        # 1. the discriminator: real -> 1, fake -> 0 (fake detached: G is not updated here)
        logits_real = judge(real)
        logits_fake = judge(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(logits_real, real_targets)
                  + F.binary_cross_entropy_with_logits(logits_fake, zeros))
        parts.check_finite("loss_d", loss_d)   # NaN guard: stop before a broken update
        self.update(parts, "discriminator", loss_d)

        # 2. the generator: make the (updated) D call its fakes real
        logits_generated = judge(fake)
        loss_g = F.binary_cross_entropy_with_logits(logits_generated, ones)
        parts.check_finite("loss_g", loss_g)
        self.update(parts, "generator", loss_g)

        return {
            "loss_d": float(loss_d.item()),
            "loss_g": float(loss_g.item()),
            # D's mean belief that real / fake images are real (0.5 and 0.5 at equilibrium)
            "d_real": float(F.sigmoid(logits_real.detach()).mean().item()),
            "d_fake": float(F.sigmoid(logits_fake.detach()).mean().item()),
        }


@register_recipe
class DCGAN64(DCGAN):
    """The paper's 64x64 DCGAN (PyTorch's example): ``minicnn train dcgan64`` (for GPUs)."""

    name = "dcgan64"
    image_size = 64
    # the paper's and PyTorch's example's recipe: batch norm in D, Adam(2e-4, (0.5, 0.999))
    defaults = dict(DCGAN.defaults, lr=2e-4, betas=(0.5, 0.999), spectral_norm=False, ema=0.0)

    def make_models(self, config: dict):
        return (dcgan64_generator(self.latent_dim, config["width"], self.channels),
                dcgan64_discriminator(config["width"], self.channels))
