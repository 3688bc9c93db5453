r"""The normal (Gaussian) distribution N(loc, scale^2).

Density and the rest, with mu = loc, sigma = scale::

    log p(x)  = -(x - mu)^2 / (2 sigma^2) - log sigma - log sqrt(2 pi)
    cdf(x)    = (1 + erf((x - mu) / (sigma sqrt 2))) / 2
    icdf(q)   = mu + sigma sqrt 2 erfinv(2 q - 1)
    entropy   = 1/2 + log sqrt(2 pi) + log sigma
    rsample   = mu + sigma eps,   eps ~ N(0, 1)       (the reparameterisation trick)

The last line is why a VAE can learn: ``d rsample / d mu = 1`` and
``d rsample / d sigma = eps``, so gradients reach the encoder that produced mu and sigma.
"""
from __future__ import annotations

import math

from ..autograd import Tensor
from . import constraints
from .distribution import LOG_SQRT_2PI, Distribution, broadcast_all, draw


class Normal(Distribution):
    """``Normal(loc, scale)``: tensors or numbers, broadcast together; ``scale > 0``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Normal, _instance)
        batch_shape = tuple(batch_shape)
        new.loc, new.scale = self.loc.expand(*batch_shape), self.scale.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, (), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale * eps with eps ~ N(0, 1): differentiable in loc and scale."""
        eps = draw("normal", self._extended_shape(sample_shape), self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        value = self._as_value(value, self.loc)
        return (-((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log()
                - LOG_SQRT_2PI)

    def cdf(self, value) -> Tensor:
        value = self._as_value(value, self.loc)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value) -> Tensor:
        """The quantile function; ``value`` holds probabilities in (0, 1)."""
        if not isinstance(value, Tensor):
            value = broadcast_all(value, self.loc)[0]
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + LOG_SQRT_2PI + self.scale.log()
