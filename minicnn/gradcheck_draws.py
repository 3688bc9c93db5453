"""What every ``minicnn gradcheck`` recipe shares: the ``@case`` registry and the input
draws.

A recipe is a function ``(rng) -> (fn, inputs, description)``; ``@case(name, about)``
registers it in ``CASES``. The draws make float64 leaves that require grad, placed where
finite differences are meaningful: away from kinks (``away_from_zero``), without ties
(``distinct``), in a domain (``uniform(rng, shape, low, high)``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .autograd import Tensor

@dataclass
class Case:
    name: str
    about: str
    make: Callable  # rng -> (fn, inputs, description)


CASES: dict[str, Case] = {}


def case(name: str, about: str):
    """Register the decorated recipe under ``name`` (skipped when its op is missing)."""
    def register(make):
        CASES[name] = Case(name, about, make)
        return make
    return register


# ---------------------------------------------------------------------------------------
# Drawing inputs
# ---------------------------------------------------------------------------------------
def _leaf(array) -> Tensor:
    return Tensor._wrap(np.asarray(array, dtype=np.float64), requires_grad=True)


def uniform(rng, shape, low=-1.0, high=1.0) -> Tensor:
    return _leaf(rng.uniform(low, high, shape))


def away_from_zero(rng, shape, margin=0.2) -> Tensor:
    """Values in [-1, -margin] U [margin, 1]: no kink at 0 within reach of eps."""
    return _leaf(rng.uniform(margin, 1.0, shape) * rng.choice([-1.0, 1.0], shape))


def distinct(rng, shape, spacing=0.05) -> Tensor:
    """All values different by at least ``spacing``: max and argmax are unambiguous."""
    n = int(np.prod(shape))
    return _leaf(ladder(rng.permutation(n), spacing).reshape(shape))


def ladder(order, spacing, offset=0.0) -> np.ndarray:
    """Distinct values ``spacing`` apart: ``order`` (a permutation of 0..n-1) centred on 0,
    times ``spacing``, plus ``offset``."""
    order = np.asarray(order, dtype=np.float64)
    return (order - order.size / 2) * spacing + offset


def kept_away(values, point, margin=0.05) -> np.ndarray:
    """``values`` (float array, changed in place and returned) with every entry at least
    ``margin`` from ``point`` (a kink such as relu's 0, or a pole): entries closer are moved
    out to ``point +- margin`` on their own side, an entry exactly at ``point`` to
    ``point + 2 margin``."""
    exact = values == point
    too_close = np.abs(values - point) < margin
    values[too_close] = point + margin * np.sign(values[too_close] - point)
    values[exact] = point + 2 * margin
    return values


def random_shape(rng, ndim_low=1, ndim_high=3, size_high=4) -> tuple:
    ndim = int(rng.integers(ndim_low, ndim_high + 1))
    return tuple(int(s) for s in rng.integers(1, size_high + 1, ndim))


def broadcast_partner(rng, shape) -> tuple:
    """A shape that broadcasts with ``shape``: some dims set to 1, leading dims dropped."""
    other = [1 if rng.random() < 0.3 else s for s in shape]
    drop = int(rng.integers(0, len(other)))
    return tuple(other[drop:]) or (1,)


def describe(**named) -> str:
    parts = []
    for key, value in named.items():
        parts.append(f"{key}{tuple(value.shape)}" if isinstance(value, Tensor) else
                     f"{key}={value}")
    return " ".join(parts)


def _first_valid(rng, draw, tries=100):
    """Call ``draw(rng)`` until the op accepts the configuration (a forward pass works);
    ``draw`` may also return None for a configuration it knows to be invalid."""
    error = None
    for _ in range(tries):
        drawn = draw(rng)
        if drawn is None:
            continue
        fn, inputs, text = drawn
        try:
            fn(*inputs)
            return fn, inputs, text
        except ValueError as problem:
            error = problem
    raise RuntimeError(f"could not draw a valid configuration ({error})")


def unary_case(name, op, draw=uniform, about=None):
    """Register the recipe of a one-input op: ``op(x)`` with ``x = draw(rng, shape)``."""
    @case(name, about or f"{name}(x)")
    def make(rng):
        x = draw(rng, random_shape(rng))
        return op, (x,), describe(x=x)
