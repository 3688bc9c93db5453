"""Search spaces: what a hyperparameter may be, and how it maps to the unit cube.

A search space is an ordered set of named *dimensions*:

    space = Space({
        "lr": Real(1e-4, 1e-1, log=True),      # a float, searched on a log scale
        "channels": Integer(4, 32),            # an int
        "activation": Choice(["relu", "tanh"]) # one of a list
    })

Every search method in ``minicnn.tune`` works on the **unit cube** ``[0, 1]^D``
(one coordinate ``u`` per dimension), because a Gaussian process with one length
scale per coordinate is easiest to fit when all coordinates have the same range.
Each dimension knows the two maps between its values and ``u``:

* ``Real(low, high)``:            ``u = (v - low) / (high - low)``
* ``Real(low, high, log=True)``:  ``u = (ln v - ln low) / (ln high - ln low)``
  so that 1e-4 -> 1e-3 is as far as 1e-3 -> 1e-2: a learning rate's effect
  depends on its order of magnitude, not its absolute value.
* ``Integer(low, high)``: the ``high - low + 1`` integers split ``[0, 1]`` into
  bins (equal, or equal in ``ln`` with ``log=True``); ``from_unit`` picks the
  bin, ``to_unit`` returns the bin centre.
* ``Choice(options)``: the same, with one bin per option.

Known limit: a ``Choice`` is placed on a line (option 0, option 1, ...), so the
Gaussian process assumes that neighbouring options behave alike. For two or
three options this is harmless; for many unordered options a one-hot encoding
would be more faithful (and is not done here, to keep the model readable).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["Dimension", "Real", "Integer", "Choice", "Space", "as_space"]


class Dimension:
    """One hyperparameter: its values and the map between them and ``u`` in [0, 1]."""

    name: str | None = None

    def to_unit(self, value: Any) -> float:
        """Value -> coordinate ``u`` in [0, 1]."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """Coordinate ``u`` in [0, 1] (clipped if outside) -> value."""
        raise NotImplementedError

    def grid(self, n: int) -> list:
        """``n`` evenly spaced values (evenly in ``u``); discrete dimensions may give fewer."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def format(self, value: Any) -> str:
        """Short text for tables."""
        return str(value)


def _check_bounds(kind: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{kind}: low and high must be finite, got low={low!r}, high={high!r}")
    if not low < high:
        raise ValueError(f"{kind}: expected low < high, got low={low!r}, high={high!r}")
    if log and low <= 0:
        raise ValueError(f"{kind}(log=True): expected low > 0 (log of the bounds), got low={low!r}")


class Real(Dimension):
    """A real number in ``[low, high]``, searched linearly or on a log scale.

    Linear:  ``u = (v - low) / (high - low)``,  ``v = low + u (high - low)``.
    Log:     ``u = (ln v - ln low) / (ln high - ln low)``,  ``v = low (high/low)^u``.
    """

    def __init__(self, low: float, high: float, log: bool = False, name: str | None = None):
        low, high = float(low), float(high)
        _check_bounds("Real", low, high, log)
        self.low, self.high, self.log, self.name = low, high, bool(log), name

    def _transform(self, v):
        return math.log(v) if self.log else v

    def to_unit(self, value: float) -> float:
        value = float(value)
        if self.log and value <= 0:
            raise ValueError(f"Real(log=True) {self.name or ''}: value must be > 0, got {value!r}")
        a, b = self._transform(self.low), self._transform(self.high)
        return (self._transform(value) - a) / (b - a)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        # exp/log round-off must not step outside the box
        return min(max(value, self.low), self.high)

    def grid(self, n: int) -> list[float]:
        if n == 1:
            return [self.from_unit(0.5)]
        if self.log:
            values = np.geomspace(self.low, self.high, n)
        else:
            values = np.linspace(self.low, self.high, n)
        return [float(v) for v in values]

    def contains(self, value) -> bool:
        return self.low <= float(value) <= self.high

    def format(self, value) -> str:
        return f"{value:.4g}"

    def __repr__(self):
        log = ", log=True" if self.log else ""
        return f"Real({self.low:g}, {self.high:g}{log})"


class Integer(Dimension):
    """An integer in ``[low, high]`` (both included), optionally on a log scale.

    Integer ``v`` owns the interval ``[v - 1/2, v + 1/2)`` of the real line, and
    the real line is mapped to ``u`` as by ``Real`` (linearly, or through ``ln``):

        T(x) = x  (or ln x),   a = T(low - 1/2),   b = T(high + 1/2)
        from_unit(u) = round(T^{-1}(a + u (b - a)))
        to_unit(v)   = ((T(v - 1/2) + T(v + 1/2)) / 2 - a) / (b - a)   (the bin centre)

    Linearly, the ``high - low + 1`` bins have equal width, so a uniform ``u``
    picks every integer with the same probability; with ``log=True`` small
    integers get wider bins (1 -> 2 is as big a step as 16 -> 32).
    """

    def __init__(self, low: int, high: int, log: bool = False, name: str | None = None):
        if int(low) != low or int(high) != high:
            raise ValueError(f"Integer: low and high must be integers, got {low!r}, {high!r}")
        low, high = int(low), int(high)
        _check_bounds("Integer", low, high, log)
        self.low, self.high, self.log, self.name = low, high, bool(log), name
        self._a, self._b = self._transform(low - 0.5), self._transform(high + 0.5)

    def _transform(self, x: float) -> float:
        return math.log(x) if self.log else x

    def _inverse(self, t: float) -> float:
        return math.exp(t) if self.log else t

    def to_unit(self, value: int) -> float:
        if not self.contains(value):
            raise ValueError(f"Integer {self.name or ''}: {value!r} is not an integer in "
                             f"[{self.low}, {self.high}]")
        value = int(value)
        centre = (self._transform(value - 0.5) + self._transform(value + 0.5)) / 2
        return (centre - self._a) / (self._b - self._a)

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        x = self._inverse(self._a + u * (self._b - self._a))
        return min(max(int(math.floor(x + 0.5)), self.low), self.high)

    def grid(self, n: int) -> list[int]:
        if n == 1:
            return [self.from_unit(0.5)]
        if self.log:
            values = np.geomspace(self.low, self.high, n)
        else:
            values = np.linspace(self.low, self.high, n)
        # rounding may merge neighbours: keep each integer once, in order
        return sorted({int(round(v)) for v in values})

    def contains(self, value) -> bool:
        try:
            return int(value) == value and self.low <= value <= self.high
        except (TypeError, ValueError):
            return False

    def __repr__(self):
        log = ", log=True" if self.log else ""
        return f"Integer({self.low}, {self.high}{log})"


class Choice(Dimension):
    """One of a fixed list of options (numbers, strings, anything hashable or not).

    Option ``i`` of ``K`` owns the bin ``[i/K, (i+1)/K)``; ``to_unit`` gives the
    bin centre ``(i + 1/2)/K``. A grid always lists every option.
    """

    def __init__(self, options: Sequence, name: str | None = None):
        options = list(options)
        if not options:
            raise ValueError("Choice: expected at least one option, got an empty list")
        self.options, self.name = options, name

    def index(self, value) -> int:
        for i, option in enumerate(self.options):
            if option == value:
                return i
        raise ValueError(f"Choice {self.name or ''}: {value!r} is not one of {self.options!r}")

    def to_unit(self, value) -> float:
        return (self.index(value) + 0.5) / len(self.options)

    def from_unit(self, u: float):
        u = min(max(float(u), 0.0), 1.0)
        k = len(self.options)
        return self.options[min(int(math.floor(u * k)), k - 1)]

    def grid(self, n: int) -> list:
        return list(self.options)

    def contains(self, value) -> bool:
        return any(option == value for option in self.options)

    def format(self, value) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    def __repr__(self):
        return f"Choice({self.options!r})"


class Space:
    """An ordered, named set of dimensions, and the map between parameter dicts and unit-cube points.

    ``to_unit({"lr": 1e-3, ...}) -> u`` (shape (D,)), ``from_unit(u) -> dict``.
    ``snap(U)`` (shape (N, D)) moves points to where real parameter values live
    (the bin centres of discrete dimensions): ``snap(u) = to_unit(from_unit(u))``.
    """

    def __init__(self, dimensions: Mapping[str, Dimension] | Iterable[Dimension]):
        if isinstance(dimensions, Mapping):
            items = list(dimensions.items())
        else:
            items = []
            for dimension in dimensions:
                if not isinstance(dimension, Dimension) or dimension.name is None:
                    raise ValueError("Space: a list of dimensions needs a name on each, "
                                     "e.g. Real(0, 1, name='x'); or pass a dict {name: dimension}")
                items.append((dimension.name, dimension))
        if not items:
            raise ValueError("Space: expected at least one dimension, got none")
        for name, dimension in items:
            if not isinstance(dimension, Dimension):
                raise TypeError(f"Space: dimension {name!r} must be Real, Integer or Choice, "
                                f"got {type(dimension).__name__}")
            if dimension.name is None:
                dimension.name = name
        self.names = [name for name, _ in items]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"Space: dimension names must be unique, got {self.names}")
        self.dimensions = [dimension for _, dimension in items]

    def __len__(self) -> int:
        return len(self.dimensions)

    def __iter__(self):
        return iter(zip(self.names, self.dimensions))

    def __getitem__(self, name: str) -> Dimension:
        return self.dimensions[self.names.index(name)]

    def __repr__(self):
        inner = ", ".join(f"{n!r}: {d!r}" for n, d in self)
        return f"Space({{{inner}}})"

    def _check_keys(self, params: Mapping) -> None:
        missing = [n for n in self.names if n not in params]
        extra = [k for k in params if k not in self.names]
        if missing or extra:
            raise ValueError(f"parameters {sorted(params)} do not match the space {self.names}: "
                             f"missing {missing}, unknown {extra}")

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """dict of values -> point ``u`` in [0, 1]^D, shape (D,)."""
        self._check_keys(params)
        return np.array([d.to_unit(params[n]) for n, d in self], dtype=np.float64)

    def from_unit(self, u: Sequence[float]) -> dict:
        """point ``u`` in [0, 1]^D (clipped) -> dict of values."""
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        if u.shape[0] != len(self):
            raise ValueError(f"from_unit: expected a point with {len(self)} coordinates, got {u.shape[0]}")
        return {n: d.from_unit(ui) for (n, d), ui in zip(self, u)}

    def snap(self, U: np.ndarray) -> np.ndarray:
        """Points (N, D) -> the unit-cube points of the parameter values they stand for."""
        U = np.atleast_2d(np.asarray(U, dtype=np.float64))
        if all(isinstance(d, Real) for d in self.dimensions):
            return np.clip(U, 0.0, 1.0)
        return np.array([self.to_unit(self.from_unit(u)) for u in U])

    def sample_unit(self, n: int, rng: np.random.Generator, latin: bool = False) -> np.ndarray:
        """``n`` random points in [0, 1]^D, shape (n, D).

        ``latin=True`` draws a Latin hypercube: each coordinate's ``n`` values
        fall one in each of ``n`` equal strata, so even a few points cover every
        range of every dimension (used for the first points of Bayesian search).
        """
        d = len(self)
        if not latin:
            return rng.random((n, d))
        strata = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
        return (strata + rng.random((n, d))) / n

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[dict]:
        """``n`` random parameter dicts (uniform in ``u``, so log-uniform on log dimensions)."""
        rng = np.random.default_rng(seed)
        return [self.from_unit(u) for u in self.sample_unit(n, rng)]

    def grid(self, points_per_dim: int | Mapping[str, int] = 5) -> list[dict]:
        """The Cartesian product of each dimension's grid, as parameter dicts (first name varies slowest)."""
        per_dim = {}
        for name, dimension in self:
            n = points_per_dim.get(name, 5) if isinstance(points_per_dim, Mapping) else points_per_dim
            if int(n) != n or n < 1:
                raise ValueError(f"grid: points_per_dim for {name!r} must be a positive integer, got {n!r}")
            per_dim[name] = dimension.grid(int(n))
        grids = [per_dim[name] for name in self.names]
        mesh = np.stack(np.meshgrid(*[np.arange(len(g)) for g in grids], indexing="ij"), -1)
        return [{name: grids[j][i] for j, (name, i) in enumerate(zip(self.names, index))}
                for index in mesh.reshape(-1, len(grids))]

    def format(self, params: Mapping[str, Any]) -> dict[str, str]:
        return {n: d.format(params[n]) for n, d in self}


def as_space(space: Space | Mapping[str, Dimension] | Iterable[Dimension]) -> Space:
    """Accept a ``Space``, a dict ``{name: dimension}`` or a list of named dimensions."""
    return space if isinstance(space, Space) else Space(space)
