"""Probability distributions shaped as ``torch.distributions``: what VAEs, GANs, small
reinforcement-learning agents and classifiers use.

::

    import minicnn as mc
    from minicnn.distributions import Normal, kl_divergence

    q = Normal(mu, std)                       # the encoder's posterior
    z = q.rsample()                           # mu + std * eps: gradients reach mu and std
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum()

Every formula is composed from minicnn's differentiable ops (log, exp, softplus, erf,
logsumexp ...), so gradients and second derivatives come from the autograd engine; random
draws come from minicnn's generator, so ``mc.manual_seed`` makes them reproducible.
"""
from . import constraints, kl
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Independent", "Normal", "Uniform",
           "constraints", "kl", "kl_divergence", "register_kl"]
