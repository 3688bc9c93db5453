r"""The continuous uniform distribution U[low, high).

With w = high - low::

    log p(x) = -log w                  for low <= x < high, -inf outside
    cdf(x)   = clamp((x - low) / w, 0, 1)
    icdf(q)  = low + q w
    entropy  = log w
    mean     = (low + high) / 2,   variance = w^2 / 12
    rsample  = low + u w,          u ~ U[0, 1)      (differentiable in low and high)
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..ops import where
from . import constraints
from .distribution import Distribution, broadcast_all, draw, numpy_of


class Uniform(Distribution):
    """``Uniform(low, high)``: tensors or numbers, broadcast together; ``low < high``."""

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args and not np.all(numpy_of(self.low) < numpy_of(self.high)):
            raise ValueError(f"Uniform: expected parameter low to be smaller than parameter "
                             f"high everywhere, but found low >= high:\nlow = "
                             f"{numpy_of(self.low)}\nhigh = {numpy_of(self.high)}")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Uniform, _instance)
        batch_shape = tuple(batch_shape)
        new.low, new.high = self.low.expand(*batch_shape), self.high.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, (), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.half_open_interval(numpy_of(self.low), numpy_of(self.high))

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.low * float("nan")   # every point of [low, high) is a mode

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        u = draw("uniform", self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        value = self._as_value(value, self.low)
        inside = (self.low <= value) & (self.high > value)
        log_density = -(self.high - self.low).log()
        inside, log_density = broadcast_all(inside, log_density)
        return where(inside, log_density, float("-inf"))

    def cdf(self, value) -> Tensor:
        value = self._as_value(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value) -> Tensor:
        if not isinstance(value, Tensor):
            value = broadcast_all(value, self.low)[0]
        return self.low + value * (self.high - self.low)

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()
