r"""WGAN-GP (Gulrajani et al. 2017): a Wasserstein GAN whose critic is kept 1-Lipschitz by a
gradient penalty, the GAN that needs **second derivatives**.

The critic f (no sigmoid: a real-valued score) estimates the Wasserstein-1 distance
between the data and the generator's distribution,

.. math::  W(P_r, P_g) = \sup_{\lVert f\rVert_L \le 1} E_{x\sim P_r}[f(x)] - E_{z}[f(G(z))],

and the losses are

.. math::
    L_{critic} = E[f(G(z))] - E[f(x)] + \lambda\, E_{\hat x}\big[(\lVert\nabla_{\hat x} f(\hat x)\rVert_2 - 1)^2\big]
    \qquad L_G = -E[f(G(z))]

The penalty asks the critic's gradient to have norm 1 at points :math:`\hat x = \epsilon x +
(1 - \epsilon) G(z)` on lines between real and generated images, with one
:math:`\epsilon \sim U[0, 1]` per sample. The norm runs over **all** non-batch dimensions
(C, H, W together: the gradient of a scalar score with respect to a whole image), with a
small eps inside the square root so its own gradient stays finite where the gradient is 0.

Why second derivatives: the penalty is a function of :math:`\nabla_{\hat x} f`, a
gradient. Training the critic means differentiating the penalty with respect to the
critic's weights, i.e. differentiating a gradient. ``mc.grad(scores, x_hat,
create_graph=True)`` records the backward pass as a graph, and ``loss.backward()`` then
walks through it. (Batch norm would couple the samples of a batch and make the per-sample
gradient meaningless, which is why there is none anywhere here; ``--group-norm`` adds
GroupNorm(1, C), a layer norm, which the paper recommends instead.)

Architecture, after the paper's MNIST reference (``gan_mnist.py``), width d (default 64)::

    critic:    (N, 1, 28, 28) Conv(1 -> d, 5, 2, 2) LReLU(0.2)        (N, d, 14, 14)
               Conv(d -> 2d, 5, 2, 2) [GN] LReLU(0.2)                  (N, 2d, 7, 7)
               Conv(2d -> 4d, 5, 2, 2) [GN] LReLU(0.2)                 (N, 4d, 4, 4)
               Flatten -> Linear(4d*4*4 -> 1)                          (N, 1) score
    generator: z (N, 128) Linear(128 -> 4d*4*4) ReLU -> (N, 4d, 4, 4)
               ConvTranspose(4d -> 2d, 5, 2, 2, output_padding 1) ReLU (N, 2d, 8, 8)
               crop to 7x7                                              (N, 2d, 7, 7)
               ConvTranspose(2d -> d, 5, 2, 2, output_padding 1) ReLU  (N, d, 14, 14)
               ConvTranspose(d -> 1, 5, 2, 2, output_padding 1) Tanh   (N, 1, 28, 28)

(The reference ends in a sigmoid on [0, 1] images; we use tanh on [-1, 1] like the other
GANs here.) Settings: lambda = 10, n_critic = 5 critic updates per generator update,
Adam(lr 1e-4, betas (0.5, 0.9)). The paper's Algorithm 1 uses betas (0, 0.9); pass
``betas=(0.0, 0.9)`` to try it (with no first-moment averaging, the updates follow the
critic's latest gradient more closely).

One training step (= one generator update), with N = batch size:

1. For each of the n_critic chunks of ``real`` (the loop hands n_critic * N images):
   z ~ N(0, I) (N, 128) from ``rng``; fake = G(z) without a graph; eps ~ U[0, 1] (N, 1, 1, 1)
   from ``rng``; loss = mean f(fake) - mean f(real) + lambda * gp; critic step.
2. z ~ N(0, I) from ``rng``; L_G = -mean f(G(z)); generator step.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor, grad, no_grad, tensor
from .recipe import GANParts, GANRecipe, register_recipe


def gradient_penalty(critic: nn.Module, real: Tensor, fake: Tensor, epsilon,
                     eps: float = 1e-12) -> Tensor:
    r"""The mean of :math:`(\lVert\nabla_{\hat x} f(\hat x)\rVert_2 - 1)^2` over the batch,
    :math:`\hat x = \epsilon\,real + (1 - \epsilon)\,fake` (without lambda).

    Args:
        critic: f, images (N, C, H, W) -> scores (N, 1).
        real, fake: (N, C, H, W); ``fake`` should not carry the generator's graph.
        epsilon: (N, 1, 1, 1) array or Tensor of per-sample mixing weights in [0, 1].
        eps: added under the square root, :math:`\sqrt{\sum g^2 + eps}`, so the norm's
            gradient :math:`g / \lVert g\rVert` stays finite when g = 0.

    The result is a graph through the critic's weights **and** through the gradient
    computation itself (``create_graph=True``): its backward takes second derivatives.
    """
    epsilon = epsilon if isinstance(epsilon, Tensor) else tensor(
        np.asarray(epsilon, dtype=real.dtype))
    interpolates = (epsilon * real.detach() + (1 - epsilon) * fake.detach()).detach()
    interpolates.requires_grad_(True)
    scores = critic(interpolates)
    # d(sum of scores)/dx_hat = per-sample gradients: sample i's score depends on x_hat_i only
    (gradients,) = grad(scores.sum(), interpolates, create_graph=True)
    flat = gradients.reshape(gradients.shape[0], -1)            # all non-batch dims
    norms = ((flat * flat).sum(dim=1) + eps).sqrt()
    return ((norms - 1.0) ** 2).mean()


class WGANGenerator(nn.Module):
    """The WGAN-GP MNIST generator: z (N, latent_dim) -> (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int = 128, width: int = 64):
        super().__init__()
        d = width
        self.project = nn.Sequential(nn.Linear(latent_dim, 4 * d * 4 * 4), nn.ReLU(),
                                     nn.Unflatten(1, (4 * d, 4, 4)))
        self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * d, 2 * d, 5, 2, 2, output_padding=1),
                                 nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(2 * d, d, 5, 2, 2, output_padding=1),
                                 nn.ReLU())
        self.up3 = nn.Sequential(nn.ConvTranspose2d(d, 1, 5, 2, 2, output_padding=1),
                                 nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        x = self.up1(self.project(z))       # (N, 2d, 8, 8)
        x = x[:, :, :7, :7]                 # crop: 7 -> 14 -> 28 doubles cleanly
        return self.up3(self.up2(x))


def wgan_critic(width: int = 64, group_norm: bool = False) -> nn.Sequential:
    """The WGAN-GP MNIST critic: (N, 1, 28, 28) -> scores (N, 1); no batch norm."""
    d = width

    def norm(channels):
        return [nn.GroupNorm(1, channels)] if group_norm else []

    return nn.Sequential(
        nn.Conv2d(1, d, 5, 2, 2), nn.LeakyReLU(0.2),
        nn.Conv2d(d, 2 * d, 5, 2, 2), *norm(2 * d), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * d, 4 * d, 5, 2, 2), *norm(4 * d), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(4 * d * 4 * 4, 1),
    )


@register_recipe
class WGANGP(GANRecipe):
    """WGAN-GP on digits: ``minicnn train wgan-gp``."""

    name = "wgan-gp"
    latent_dim = 128
    image_size = 28
    defaults = dict(GANRecipe.defaults, width=64, lr=1e-4, betas=(0.5, 0.9),
                    gp_weight=10.0, n_critic=5, group_norm=False)

    def batches_per_step(self, config: dict) -> int:
        return int(config["n_critic"])   # a fresh real batch for every critic update

    def build(self, config: dict) -> GANParts:
        generator = WGANGenerator(self.latent_dim, config["width"])
        critic = wgan_critic(config["width"], bool(config.get("group_norm")))
        return self.finish_with_adam(config, generator, critic)

    def train_step(self, parts: GANParts, real: Tensor, step: int,
                   rng: np.random.Generator) -> dict:
        G, f = parts.generator, parts.discriminator
        n_critic, gp_weight = int(parts.config["n_critic"]), float(parts.config["gp_weight"])
        if real.shape[0] % n_critic:
            raise ValueError(f"wgan-gp: expected n_critic={n_critic} batches stacked "
                             f"together, got {real.shape[0]} images")
        n = real.shape[0] // n_critic

        for k in range(n_critic):
            real_k = real[k * n:(k + 1) * n]
            with no_grad():
                fake = G(self.noise(n, rng, parts))
            epsilon = parts.tensor(rng.uniform(0.0, 1.0, size=(n, 1, 1, 1)).astype(np.float32))
            score_real = f(real_k).mean()
            score_fake = f(fake).mean()
            penalty = gradient_penalty(f, real_k, fake, epsilon)
            loss_critic = score_fake - score_real + gp_weight * penalty
            parts.check_finite("loss_d", loss_critic)   # NaN guard: before the update
            self.update(parts, "discriminator", loss_critic)

        score_generated = f(G(self.noise(n, rng, parts))).mean()
        loss_g = -score_generated
        parts.check_finite("loss_g", loss_g)
        self.update(parts, "generator", loss_g)

        return {
            "loss_d": float(loss_critic.item()),
            "loss_g": float(loss_g.item()),
            # the critic's estimate of W(P_r, P_g) on the last critic batch
            "wasserstein": float((score_real - score_fake).item()),
            "gp": float(penalty.item()),
        }
