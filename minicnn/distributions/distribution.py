"""The ``Distribution`` base class and the helpers every distribution shares.

Shapes (PyTorch's vocabulary): a distribution holds a *batch* of independent
distributions (``batch_shape``), each over *events* of shape ``event_shape``. A Normal
with ``loc`` of shape (3,) has batch_shape (3,) and event_shape (): three numbers, each
its own distribution. ``Independent(Normal(...), 1)`` turns the same three numbers into
one event of shape (3,). Drawing ``sample(sample_shape)`` gives a tensor of shape
``sample_shape + batch_shape + event_shape``; ``log_prob(value)`` gives one number per
event, of shape ``sample_shape + batch_shape``.

``sample`` draws without a graph; ``rsample`` (where ``has_rsample``) draws through the
*reparameterisation trick*, ``x = g(parameters, eps)`` with ``eps`` drawn from a fixed
distribution, so gradients flow from ``x`` back to the parameters (a VAE's encoder
learns through it). Random numbers come from minicnn's generator (``mc.manual_seed``).

``validate_args`` (on by default, as PyTorch's under ``__debug__``) checks the parameters
against ``arg_constraints`` when the distribution is built, and the values given to
``log_prob`` against ``support``; a failure is a ``ValueError`` naming the argument.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ..autograd import Tensor, as_tensor, no_grad, tensor
from ..backend import DEFAULT_DTYPE
from ..random import default_generator
from . import constraints


def _shape(sample_shape) -> tuple:
    """``sample_shape`` as a tuple: (), an int, or a sequence of ints."""
    if isinstance(sample_shape, (int, np.integer)):
        return (int(sample_shape),)
    try:
        return tuple(int(n) for n in sample_shape)
    except TypeError:
        raise TypeError(f"sample_shape: expected a tuple of ints, got "
                        f"{type(sample_shape).__name__}") from None


def broadcast_all(*values):
    """Tensors and Python numbers broadcast to one shape (``torch.distributions.utils.
    broadcast_all``). Numbers become tensors of the first tensor's dtype and device (the
    default dtype when every value is a number), so ``Normal(mu, 1.0)`` stays float64
    when ``mu`` is."""
    for i, value in enumerate(values):
        if not isinstance(value, (Tensor, numbers.Number, np.generic)):
            raise TypeError(f"broadcast_all: argument {i} must be a Tensor or a number, got "
                            f"{type(value).__name__}")
    like = next((v for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"),
                next((v for v in values if isinstance(v, Tensor)), None))
    converted = [v if isinstance(v, Tensor) else
                 (as_tensor(float(v), like=like) if like is not None
                  else tensor(float(v), dtype=DEFAULT_DTYPE))
                 for v in values]
    shape = np.broadcast_shapes(*(v.shape for v in converted))
    return tuple(v if v.shape == shape else v.expand(*shape) for v in converted)


def sum_rightmost(value: Tensor, dims: int) -> Tensor:
    """Sum over the ``dims`` rightmost dimensions (``dims = 0``: ``value`` unchanged)."""
    if dims == 0:
        return value
    return value.reshape(*value.shape[:value.ndim - dims], -1).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept inside [eps, 1 - eps] (eps of the dtype), so their logs are finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(eps, 1 - eps)


def draw(kind: str, shape: tuple, like: Tensor) -> Tensor:
    """Random numbers from minicnn's generator, as a constant tensor of ``like``'s dtype and
    device: ``kind`` is "normal" (N(0, 1)) or "uniform" (U[0, 1))."""
    rng = default_generator()
    array = rng.standard_normal(shape) if kind == "normal" else rng.random(shape)
    return tensor(array, dtype=like.dtype, device=like.device)


def numpy_of(t: Tensor) -> np.ndarray:
    """The values of ``t`` as a NumPy array on the CPU (for checks and for sampling)."""
    return np.asarray(t.detach().numpy())


class Distribution:
    """The base of every distribution (``torch.distributions.Distribution``).

    A subclass sets ``arg_constraints``, ``support`` and ``has_rsample``, calls
    ``super().__init__(batch_shape, event_shape, validate_args)`` after storing its
    parameters, and writes ``log_prob``, ``rsample`` or ``sample``, ``entropy``, ``mean``
    and ``variance`` (the rest follows: ``stddev``, ``perplexity``, ``sample_n``).
    """

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for every distribution built afterwards."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args: expected True or False")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = bool(validate_args)
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self) -> None:
        for name, constraint in self.arg_constraints.items():
            if constraint is constraints.dependent:
                continue
            lazy = isinstance(getattr(type(self), name, None), functools.cached_property)
            if lazy and name not in self.__dict__:
                continue   # a parameter computed on demand (probs from logits): not given
            value = getattr(self, name)
            ok = constraint.check(numpy_of(value))
            if not np.all(ok):
                raise ValueError(
                    f"{type(self).__name__}: expected parameter {name} (Tensor of shape "
                    f"{tuple(value.shape)}) to satisfy the constraint {constraint!r}, but "
                    f"found invalid values:\n{numpy_of(value)}")

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        """``sample_shape + batch_shape + event_shape``: the shape of a draw."""
        return _shape(sample_shape) + self._batch_shape + self._event_shape

    # ----------------------------------------------------------------- drawing
    def sample(self, sample_shape=()) -> Tensor:
        """A draw without a graph (no gradient to the parameters)."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised rsample; "
                                  f"use sample()")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    # ----------------------------------------------------------- the density
    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self) -> Tensor:
        """exp(entropy)."""
        return self.entropy().exp()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no finite support to enumerate")

    # -------------------------------------------------------------- moments
    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    # ---------------------------------------------------------------- helpers
    def expand(self, batch_shape, _instance=None):
        raise NotImplementedError(f"{type(self).__name__}.expand is not implemented")

    def _get_checked_instance(self, cls, _instance=None):
        """A bare instance to fill in ``expand`` (a subclass passes its own)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {type(self).__name__} of {cls.__name__} that "
                                      f"defines a custom __init__ must also define expand")
        return type(self).__new__(type(self)) if _instance is None else _instance

    def _as_value(self, value, like: Tensor) -> Tensor:
        """``value`` as a tensor (a number takes ``like``'s dtype), checked when validating."""
        value = as_tensor(value, like=like) if not isinstance(value, Tensor) else value
        if self._validate_args:
            self._validate_sample(value)
        return value

    def _validate_sample(self, value: Tensor) -> None:
        """The value's rightmost dimensions must be ``event_shape``, the rest must broadcast
        with ``batch_shape``, and every entry must lie in the ``support``."""
        n_event = len(self._event_shape)
        if n_event and tuple(value.shape[value.ndim - n_event:]) != self._event_shape:
            raise ValueError(f"{type(self).__name__}: the rightmost dimensions of value "
                             f"{tuple(value.shape)} must match event_shape {self._event_shape}")
        try:
            np.broadcast_shapes(tuple(value.shape), self._batch_shape + self._event_shape)
        except ValueError:
            raise ValueError(f"{type(self).__name__}: value of shape {tuple(value.shape)} is "
                             f"not broadcastable with batch_shape {self._batch_shape} and "
                             f"event_shape {self._event_shape}") from None
        support = self.support
        if support is None or support is constraints.dependent:
            return
        ok = support.check(numpy_of(value))
        if not np.all(ok):
            raise ValueError(f"{type(self).__name__}: expected value argument (Tensor of shape "
                             f"{tuple(value.shape)}) to be within the support {support!r} of "
                             f"the distribution, but found invalid values:\n{numpy_of(value)}")

    def __repr__(self):
        parts = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                value = self.__dict__[name]
                parts.append(f"{name}: {value.item() if value.numel() == 1 else value.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
