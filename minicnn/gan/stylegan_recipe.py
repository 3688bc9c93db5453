r"""StyleGAN-lite as a GAN recipe: ``minicnn train stylegan`` (models in ``stylegan.py``).

One training step (a generator update; one discriminator update inside it):

1. z ~ N(0, I) (N, 64) from the loop's ``rng``; w = mapping(z).
2. **Style mixing** with probability ``mixing`` (0.9): a second z2 -> w2 and a crossover
   layer k ~ U{1, ..., L-1} (one per batch, as in the paper); layers < k read w, layers
   >= k read w2. Otherwise every layer reads w.
3. w_avg <- 0.995 w_avg + 0.005 mean(w) (truncation's centre; no gradient).
4. fake = synthesis(styles) with fresh per-pixel noise (minicnn's generator).
5. D update: ``softplus(-D(real)) + softplus(D(fake.detach()))`` (non-saturating loss).
6. G update: ``softplus(-D(fake))`` with the updated D.

Defaults: width 32 (channels 32, 32, 16, 16 at 4, 8, 16, 32 px: never fewer than 16, see
``stylegan_channels``), batch 32, Adam(lr 1e-3, betas (0.5, 0.99)), equalized learning
rate on, minibatch stddev on, R1 penalty gamma 1 every 4 steps, generator EMA 0.995
(samples and mixing grids come from the averaged generator). Images are 32x32: the loop
pads the 28x28 digits with 2 black pixels a side. 1,500 steps take about 15 minutes on one
CPU core and give digits whose mixing grid keeps the coarse source's digit
(benchmarks/RESULTS.md, issue 5).

Three choices make it work, each explained where it is made: a to-RGB output per
resolution (``SynthesisNetwork``: skip output), tanh at the end (``SynthesisNetwork.forward``)
and at least 16 channels at 16 and 32 px (``stylegan_channels``); the runs that showed why
are in benchmarks/RESULTS.md (StyleGAN-lite style mixing).
``r1`` (gamma, 0 = off) adds the paper's R1 penalty on real images every ``r1_every``
steps. Spectral norm is not offered (the equalized layers are not ``nn.Conv2d``/``nn.Linear``);
historical averaging and ``--ema`` work as for every recipe.
"""
from __future__ import annotations

import numpy as np

from .. import optim
from ..autograd import Tensor, grad, no_grad
from ..ops.math import clamp
from .recipe import GANParts, GANRecipe, register_recipe
from .stylegan import (StyleDiscriminator, StyleGenerator, discriminator_loss,
                       generator_loss)


def r1_penalty(logits_real: Tensor, real: Tensor, gamma: float) -> Tensor:
    r"""R1 (Mescheder et al. 2018, StyleGAN's regulariser): (gamma / 2) E ||grad_x D(x)||^2
    on real images. It needs the gradient *of a gradient*: ``grad(..., create_graph=True)``
    keeps the first one differentiable (as WGAN-GP's penalty does). Applied "lazily" every
    ``r1_every`` steps, multiplied by r1_every to keep its average weight."""
    (gradient,) = grad(logits_real.sum(), [real], create_graph=True)
    return (gradient * gradient).sum(dim=(1, 2, 3)).mean() * (gamma / 2)


@register_recipe
class StyleGANLite(GANRecipe):
    """StyleGAN-lite on 32x32 digits: ``minicnn train stylegan``."""

    name = "stylegan"
    latent_dim = 64
    image_size = 32
    splits_batches = False
    splits_batches_not_why = ("its discriminator's minibatch standard deviation and the "
                              "generator's running mean of w are statistics over the whole "
                              "batch; train it in one process")
    defaults = {**{k: v for k, v in GANRecipe.defaults.items() if k != "spectral_norm"},
                "width": 32, "batch_size": 32, "lr": 1e-3, "betas": (0.5, 0.99),
                "w_dim": 64, "mixing": 0.9, "equalized": True, "minibatch_std": True,
                "r1": 1.0, "r1_every": 4, "ema": 0.995}

    def build(self, config: dict) -> GANParts:
        equalized = bool(config["equalized"])
        generator = StyleGenerator(self.latent_dim, int(config["w_dim"]), int(config["width"]),
                                   self.image_size, self.channels, equalized=equalized)
        discriminator = StyleDiscriminator(int(config["width"]), self.image_size, self.channels,
                                           minibatch_std=bool(config["minibatch_std"]),
                                           equalized=equalized)
        betas = tuple(config["betas"])
        return self.finish_build(
            config, generator, discriminator,
            optim.Adam(generator.parameters(), lr=config["lr"], betas=betas),
            optim.Adam(discriminator.parameters(), lr=self.discriminator_lr(config),
                       betas=betas))

    def styles(self, parts: GANParts, n: int, rng: np.random.Generator):
        """The styles of one training batch: (list of L tensors (N, w_dim), crossover or
        None, w of the first latent)."""
        G = parts.generator
        w = G.mapping(self.noise(n, rng, parts))
        if rng.random() < float(parts.config["mixing"]):
            w_other = G.mapping(self.noise(n, rng, parts))
            crossover = int(rng.integers(1, G.num_layers))
            return G.mix(w, w_other, crossover), crossover, w
        return [w] * G.num_layers, None, w

    def train_step(self, parts: GANParts, real: Tensor, step: int,
                   rng: np.random.Generator) -> dict:
        G, D = parts.generator, parts.discriminator
        ws, crossover, w = self.styles(parts, real.shape[0], rng)
        G.update_w_avg(w)
        fake = G.synthesis(ws)

        gamma, every = float(parts.config.get("r1") or 0.0), int(parts.config.get("r1_every", 4))
        use_r1 = gamma > 0 and step % every == 0
        if use_r1:
            real = real.detach().requires_grad_()
        logits_real = D(real)
        logits_fake = D(fake.detach())
        loss_d = discriminator_loss(logits_real, logits_fake)
        parts.check_finite("loss_d", loss_d)
        r1 = r1_penalty(logits_real, real, gamma) * every if use_r1 else None
        self.update(parts, "discriminator", loss_d, extra=r1)

        loss_g = generator_loss(D(fake))
        parts.check_finite("loss_g", loss_g)
        self.update(parts, "generator", loss_g)

        with no_grad():
            d_real = float((logits_real.detach() > 0).array.mean())
            d_fake = float((logits_fake.detach() > 0).array.mean())
        return {"loss_d": float(loss_d.item()), "loss_g": float(loss_g.item()),
                # the fraction of real / fake images D calls real
                "d_real": d_real, "d_fake": d_fake}

    def sample(self, parts: GANParts, noise_or_n, rng: np.random.Generator | None = None,
               truncation: float = 1.0, noise: str = "const", **options) -> Tensor:
        """Images in [-1, 1] (the generator ends in tanh; clamped anyway). ``truncation``
        psi pulls each w towards w_avg; ``noise`` "const" (default: the same noise images
        for every sample, so grids compare styles only), "random" or "none"."""
        if options:
            raise TypeError(f"{self.name}: sample() takes no options {sorted(options)}")
        generator = parts.sampling_generator()
        old_psi, generator.truncation = generator.truncation, float(truncation)
        generator.set_noise_mode(noise)
        try:
            images = super().sample(parts, noise_or_n, rng)
        finally:
            generator.truncation = old_psi
            generator.set_noise_mode("random")
        return clamp(images, -1.0, 1.0)
