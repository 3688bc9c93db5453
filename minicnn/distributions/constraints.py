"""What values a parameter or a sample may take: ``torch.distributions.constraints``.

A constraint answers one question, ``check(array) -> boolean array``: which entries of an
array are valid. Distributions use them twice: on their parameters when built (``scale``
of a Normal must be ``positive``), and on the values given to ``log_prob`` (a Bernoulli
gives probabilities to 0 and 1 only). The checks run on the plain arrays (no autograd).
"""
from __future__ import annotations

import numpy as np


class Constraint:
    """A set of allowed values. ``event_dim`` is how many rightmost dimensions one
    checked item has (0: each number on its own; 1: each vector, as for ``simplex``)."""

    event_dim = 0

    def check(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    """Any number but NaN (infinities included, as PyTorch's ``real``)."""

    def check(self, value):
        return value == value


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    """``lower_bound <= value <= upper_bound``."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """``lower_bound <= value < upper_bound`` (the support of a Uniform)."""

    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)

    def __repr__(self):
        return (f"HalfOpenInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _Boolean(Constraint):
    """0 or 1."""

    def check(self, value):
        return (value == 0) | (value == 1)


class _IntegerInterval(Constraint):
    """Whole numbers ``lower_bound <= value <= upper_bound``."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return (f"IntegerInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _Simplex(Constraint):
    """Vectors of non-negative entries summing to one (up to 1e-6)."""

    event_dim = 1

    def check(self, value):
        return np.all(value >= 0, axis=-1) & (np.abs(value.sum(-1) - 1) < 1e-6)


class _Dependent(Constraint):
    """A constraint that depends on other parameters (``Uniform``'s support): not checked
    on its own."""

    def check(self, value):
        raise ValueError("a dependent constraint cannot be checked on its own")


class _IndependentConstraint(Constraint):
    """``base`` with ``reinterpreted_batch_ndims`` more dimensions checked as one item."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base.check(value)
        if self.reinterpreted_batch_ndims:
            ok = ok.reshape(ok.shape[:ok.ndim - self.reinterpreted_batch_ndims] + (-1,))
            ok = ok.all(-1)
        return ok

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


real = _Real()
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
simplex = _Simplex()
dependent = _Dependent()
greater_than = _GreaterThan
interval = _Interval
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
