"""Grid search and random search: the two searches that learn nothing from what they saw.

They are the baselines every smarter method must beat.

* **Grid search** evaluates the Cartesian product of ``n`` values per
  dimension: ``n^D`` evaluations. It is exhaustive and reproducible, but the
  cost grows exponentially with ``D``, and when only one of two dimensions
  matters, ``n^2`` evaluations test only ``n`` distinct values of it.
* **Random search** draws points uniformly in the unit cube (log-uniformly on
  log dimensions). Every evaluation tries a new value of *every* dimension,
  which is why it beats a grid of the same size when few dimensions matter
  (Bergstra & Bengio, 2012).

Both minimise ``objective(params) -> float``, where ``params`` is a dict
``{name: value}``; to maximise a score, return its negative.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .result import Evaluation, SearchResult, call_objective
from .space import as_space

__all__ = ["grid_search", "random_search"]


def grid_search(objective: Callable[[dict], float], space, points_per_dim: int | Mapping[str, int] = 5,
                verbose: bool = False) -> SearchResult:
    """Evaluate ``objective`` on every point of a grid over ``space``; return all results.

    ``points_per_dim``: values per dimension, one number for all or a dict
    ``{name: n}`` (missing names get 5). Real dimensions use ``n`` evenly spaced
    values including both bounds (geometrically spaced with ``log=True``);
    Integer dimensions the rounded values (duplicates removed); Choice
    dimensions always all options. Evaluations: the product of the grid sizes.
    """
    space = as_space(space)
    result = SearchResult(space, "grid search")
    points = space.grid(points_per_dim)
    for i, params in enumerate(points):
        value, seconds = call_objective(objective, params)
        result.add(Evaluation(params, value, "grid", seconds=seconds))
        if verbose:
            print(f"grid {i + 1}/{len(points)}: {params} -> {value:.6g}")
    return result


def random_search(objective: Callable[[dict], float], space, n_iter: int = 20,
                  seed: int | None = 0, verbose: bool = False) -> SearchResult:
    """Evaluate ``objective`` at ``n_iter`` points drawn uniformly in the unit cube of ``space``.

    Uniform in ``u`` means uniform in value on linear dimensions, log-uniform on
    ``log=True`` dimensions, and each integer/option equally likely.
    """
    if n_iter < 1:
        raise ValueError(f"random_search: n_iter must be >= 1, got {n_iter}")
    space = as_space(space)
    rng = np.random.default_rng(seed)
    result = SearchResult(space, "random search")
    for i in range(n_iter):
        params = space.from_unit(space.sample_unit(1, rng)[0])
        value, seconds = call_objective(objective, params)
        result.add(Evaluation(params, value, "random", seconds=seconds))
        if verbose:
            print(f"random {i + 1}/{n_iter}: {params} -> {value:.6g}")
    return result
