r"""The Bernoulli distribution: 1 with probability p, 0 with probability 1 - p.

Given either ``probs`` p or ``logits`` l = log(p / (1 - p)) (p = sigmoid(l)); the other is
computed on first use. With softplus(l) = log(1 + e^l), written in logits for accuracy::

    log p(x) = x log p + (1 - x) log(1 - p) = x l - softplus(l)      (x in {0, 1})
    entropy  = -p log p - (1 - p) log(1 - p) = softplus(l) - p l
    mean     = p,   variance = p (1 - p)

A GAN's discriminator loss is ``-Bernoulli(logits=D(x)).log_prob(label)``: the binary
cross-entropy with logits.
"""
from __future__ import annotations

import functools

import numpy as np

from ..autograd import Tensor, tensor
from ..ops.activation import softplus
from . import constraints
from .distribution import Distribution, broadcast_all, clamp_probs, draw, numpy_of


def _softplus(x: Tensor) -> Tensor:
    """log(1 + e^x), exact everywhere (no switch to the linear branch)."""
    return softplus(x, threshold=float("inf"))


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log p (Categorical) or log p - log(1 - p) (Bernoulli), p clamped to [eps, 1 - eps]."""
    ps = clamp_probs(probs)
    return ps.log() - (-ps).log1p() if is_binary else ps.log()


def check_probs_or_logits(name: str, probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: either `probs` or `logits` must be specified, but not both "
                         f"(got probs={'None' if probs is None else '...'}, "
                         f"logits={'None' if logits is None else '...'})")


class Bernoulli(Distribution):
    """``Bernoulli(probs=None, logits=None)``: exactly one of the two; p in [0, 1]."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        check_probs_or_logits("Bernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        super().__init__(self._param.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = tuple(batch_shape)
        if "probs" in self.__dict__:
            new.probs = new._param = self.probs.expand(*batch_shape)
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*batch_shape)
            new._param = new.logits if "probs" not in self.__dict__ else new._param
        Distribution.__init__(new, batch_shape, (), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @functools.cached_property
    def probs(self) -> Tensor:
        return self.logits.sigmoid()

    @functools.cached_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @property
    def param_shape(self) -> tuple:
        return tuple(self._param.shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).type_as(self.probs)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        """1 where a U[0, 1) draw falls below p (no gradient: use a relaxed distribution
        or a score-function estimator to learn through discrete draws)."""
        shape = self._extended_shape(sample_shape)
        u = numpy_of(draw("uniform", shape, self._param))
        p = np.broadcast_to(numpy_of(self.probs), shape)
        return tensor((u < p).astype(self._param.dtype), device=self._param.device)

    def log_prob(self, value) -> Tensor:
        value = self._as_value(value, self._param)
        logits, value = broadcast_all(self.logits, value)
        return value * logits - _softplus(logits)

    def entropy(self) -> Tensor:
        return _softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = tensor(np.array([0.0, 1.0]), dtype=self._param.dtype,
                        device=self._param.device)
        values = values.reshape(2, *(1,) * len(self._batch_shape))
        return values.expand(2, *self._batch_shape) if expand else values
