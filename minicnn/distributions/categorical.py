r"""The categorical distribution over K classes {0, ..., K-1}.

Given either ``probs`` (any non-negative weights, normalised to sum to one along the last
dimension) or ``logits`` (unnormalised log-probabilities, normalised as
``logits - logsumexp(logits)``); the other is computed on first use
(``probs = softmax(logits)``, ``logits = log(clamp(probs))``). The last dimension indexes
the classes, the others are the batch::

    log p(k) = logits[k]                  (normalised logits)
    entropy  = -sum_k p_k log p_k

A classifier's cross-entropy loss is ``-Categorical(logits=net(x)).log_prob(labels)``;
a policy-gradient agent samples its actions from the same distribution.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd import Tensor, tensor
from ..ops import arange, full
from ..ops.activation import softmax
from . import constraints
from .bernoulli import check_probs_or_logits, probs_to_logits
from .distribution import Distribution, draw, numpy_of


def _as_parameter(name: str, value) -> Tensor:
    value = value if isinstance(value, Tensor) else tensor(np.asarray(value, dtype=float))
    if value.ndim < 1:
        raise ValueError(f"Categorical: `{name}` parameter must be at least one-dimensional "
                         f"(its last dimension indexes the classes), got shape "
                         f"{tuple(value.shape)}")
    return value


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None)``: exactly one of the two; shape
    ``batch_shape + (K,)``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(
        constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        check_probs_or_logits("Categorical", probs, logits)
        if probs is not None:
            probs = _as_parameter("probs", probs)
            self.probs = self._param = probs / probs.sum(-1, keepdim=True)
        else:
            logits = _as_parameter("logits", logits)
            self.logits = self._param = logits - logits.logsumexp(-1, keepdim=True)
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = tuple(batch_shape)
        param_shape = batch_shape + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = new._param = self.probs.expand(*param_shape)
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*param_shape)
            new._param = new.logits if "probs" not in self.__dict__ else new._param
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, (), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @functools.cached_property
    def probs(self) -> Tensor:
        return softmax(self.logits, -1)

    @functools.cached_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self) -> tuple:
        return tuple(self._param.shape)

    @property
    def mean(self) -> Tensor:
        """Undefined for class labels: NaN, as PyTorch's."""
        return full(self._batch_shape, math.nan, dtype=self._param.dtype,
                    device=self._param.device)

    @property
    def variance(self) -> Tensor:
        return self.mean

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """Class indices (int64) of shape ``sample_shape + batch_shape``, by inverting the
        cumulative distribution: the class k whose interval [c_{k-1}, c_k) holds u ~ U[0,1)."""
        shape = self._extended_shape(sample_shape)
        cdf = np.cumsum(numpy_of(self.probs), axis=-1)
        cdf = cdf / cdf[..., -1:]                         # rounding: the last edge is 1
        u = numpy_of(draw("uniform", shape + (1,), self._param))
        index = (u >= np.broadcast_to(cdf, shape + (self._num_events,))).sum(-1)
        index = np.minimum(index, self._num_events - 1)
        return tensor(index.astype(np.int64), device=self._param.device)

    def log_prob(self, value) -> Tensor:
        value = self._as_value(value, self._param)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        log_pmf = self.logits.expand(*shape)
        index = value.expand(*shape[:-1], 1)
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        """-sum p log p, with logits clamped to the dtype's most negative number so that
        p = 0 gives 0 * (finite) = 0 instead of 0 * (-inf) = NaN."""
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = arange(self._num_events, device=self._param.device)
        values = values.reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(self._num_events, *self._batch_shape) if expand else values
