"""The record of a search: every evaluation, the best one, and a text table.

All searches in ``minicnn.tune`` **minimise** the objective. To maximise a
score (an accuracy), return its negative.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .space import Space

__all__ = ["Evaluation", "SearchResult", "call_objective"]


@dataclass
class Evaluation:
    """One call of the objective: its parameters, its value, and how it was chosen.

    ``how`` is ``"grid"``, ``"random"``, ``"init"`` (the first random points of a
    Bayesian search) or ``"ei"`` (chosen by expected improvement, whose value
    at the point, in the GP's standardised units, is ``expected_improvement``).
    """

    params: dict
    value: float
    how: str = ""
    expected_improvement: float | None = None
    seconds: float | None = None
    extra: dict = field(default_factory=dict)


class SearchResult:
    """Every evaluation of a search, in order, with the best one at hand.

    Attributes: ``history`` (list of ``Evaluation``), ``best_params``,
    ``best_value``, ``best_index``; ``values`` (array of the values, in order);
    ``best_so_far()`` (running minimum, for "best value vs evaluations" curves);
    ``table()`` (the evaluations as an aligned text table); ``model`` (the
    last surrogate model, a ``GaussianProcess``, for Bayesian optimisation;
    None otherwise).

    A non-finite value (a diverged training run returning ``nan``) is kept in
    the history and never counts as the best.
    """

    def __init__(self, space: Space, method: str):
        self.space = space
        self.method = method
        self.history: list[Evaluation] = []
        self.model = None

    def add(self, evaluation: Evaluation) -> None:
        self.history.append(evaluation)

    def __len__(self) -> int:
        return len(self.history)

    @property
    def n_evaluations(self) -> int:
        return len(self.history)

    @property
    def values(self) -> np.ndarray:
        return np.array([e.value for e in self.history], dtype=np.float64)

    @property
    def params(self) -> list[dict]:
        return [e.params for e in self.history]

    @property
    def best_index(self) -> int | None:
        values = self.values
        finite = np.isfinite(values)
        if not finite.any():
            return None
        return int(np.argmin(np.where(finite, values, np.inf)))

    @property
    def best_params(self) -> dict | None:
        i = self.best_index
        return None if i is None else dict(self.history[i].params)

    @property
    def best_value(self) -> float:
        i = self.best_index
        return math.inf if i is None else float(self.history[i].value)

    def best_so_far(self) -> np.ndarray:
        """Running minimum of the values: entry ``t`` = best of the first ``t + 1`` evaluations."""
        values = np.where(np.isfinite(self.values), self.values, np.inf)
        return np.minimum.accumulate(values) if len(values) else values

    def evaluations_to_reach(self, target: float) -> int | None:
        """How many evaluations it took for the best value to reach ``<= target`` (None: never)."""
        reached = np.nonzero(self.best_so_far() <= target)[0]
        return int(reached[0]) + 1 if len(reached) else None

    def table(self, sort: bool = False, max_rows: int | None = None, precision: int = 6) -> str:
        """The evaluations as a text table; the best row is marked with ``*``.

        ``sort=True`` lists the best first; ``max_rows`` keeps the first rows only.
        """
        order = list(range(len(self.history)))
        if sort:
            order.sort(key=lambda i: (not math.isfinite(self.history[i].value), self.history[i].value))
        if max_rows is not None:
            order = order[:max_rows]
        best = self.best_index
        header = ["#"] + list(self.space.names) + ["value", "how"]
        rows = []
        for i in order:
            e = self.history[i]
            formatted = self.space.format(e.params)
            mark = "*" if i == best else ""
            rows.append([f"{i + 1}{mark}"] + [formatted[n] for n in self.space.names]
                        + [f"{e.value:.{precision}g}", e.how])
        widths = [max(len(h), *(len(r[j]) for r in rows)) if rows else len(h)
                  for j, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        if len(order) < len(self.history):
            lines.append(f"... {len(self.history) - len(order)} more rows")
        lines.append(f"best ({self.method}, {len(self.history)} evaluations): "
                     f"value {self.best_value:.{precision}g} at {self._format_best()}")
        return "\n".join(lines)

    def _format_best(self) -> str:
        if self.best_params is None:
            return "(none finite)"
        formatted = self.space.format(self.best_params)
        return ", ".join(f"{n}={formatted[n]}" for n in self.space.names)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"SearchResult(method={self.method!r}, n_evaluations={len(self)}, "
                f"best_value={self.best_value:.6g}, best_params={self.best_params!r})")


def call_objective(objective, params: dict) -> tuple[float, float]:
    """Call ``objective(params)`` and time it; the value must be a real number (nan/inf allowed)."""
    start = time.perf_counter()
    value = objective(dict(params))
    seconds = time.perf_counter() - start
    if hasattr(value, "item"):  # a 0-d array or a minicnn Tensor
        value = value.item()
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"the objective must return a number to minimise, got {type(value).__name__}: "
                        f"{value!r}") from None
    return value, seconds
