r"""Bayesian optimisation: a Gaussian process guesses the objective, expected improvement picks the next point.

**Convention: we minimise.** ``objective(params) -> float`` is a loss (a
validation loss, an error rate); to maximise an accuracy, return ``-accuracy``.

The loop (``bayes_opt``, or step by step with ``BayesianOptimizer.ask/tell``):

1. Evaluate ``n_init`` points spread by a Latin hypercube over the unit cube.
2. Fit a Gaussian process (``gp.py``) to all ``(u_i, y_i)`` so far; it gives,
   at any point ``u``, a mean ``mu(u)`` and a standard deviation ``sigma(u)``.
3. Evaluate next where the *expected improvement* over the best value ``y*``
   is largest, then go to 2.

Expected improvement (EI), for minimisation, with ``I(u) = max(y* - f(u) - xi, 0)``
and ``f(u) ~ N(mu, sigma^2)``:

    z = (y* - mu - xi) / sigma
    EI(u) = E[I(u)] = (y* - mu - xi) Phi(z) + sigma phi(z)      (sigma > 0)
    EI(u) = max(y* - mu - xi, 0)                                (sigma = 0)

``Phi`` and ``phi`` are the standard normal CDF and density. The first term
rewards a low predicted mean (exploitation), the second a large uncertainty
(exploration); ``xi >= 0`` (in units of the standard deviation of the values
seen) tilts the balance towards exploration. Its gradient, used to polish the
maximum, is ``dEI/du = -Phi(z) dmu/du + phi(z) dsigma/du``.

EI is maximised over ``n_candidates`` random points plus points scattered
around the best observation, then the best few are refined with L-BFGS-B
(bounded to the unit cube; discrete dimensions are snapped to their values and
not moved by the refinement). A winner within ``min_distance`` of a point
already evaluated is passed over for the next best: measuring the same spot
again teaches a noise-free GP nothing.

A failed evaluation (``nan`` or ``inf``, e.g. a diverged training run) is kept
in the history; the GP sees it as the worst finite value so far, so the search
steers away from it without the GP breaking.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .gp import GaussianProcess, one_blas_thread
from .result import Evaluation, SearchResult, call_objective
from .space import Integer, Choice, as_space

__all__ = ["bayes_opt", "BayesianOptimizer", "expected_improvement"]

_SQRT2 = math.sqrt(2.0)
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """``Phi(z) = erfc(-z / sqrt2) / 2`` (erfc keeps precision far in the lower tail)."""
    return 0.5 * _erfc(-np.asarray(z, dtype=np.float64) / _SQRT2)


def normal_pdf(z: np.ndarray) -> np.ndarray:
    """``phi(z) = exp(-z^2 / 2) / sqrt(2 pi)``."""
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """Closed-form EI for **minimisation**: ``E[max(best - f - xi, 0)]`` with ``f ~ N(mean, std^2)``.

    ``(best - mean - xi) Phi(z) + std phi(z)`` with ``z = (best - mean - xi) / std``;
    where ``std == 0`` it is ``max(best - mean - xi, 0)``. Never negative.
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    improvement = best - mean - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, improvement / np.where(std > 0, std, 1.0), 0.0)
    ei = np.where(std > 0, improvement * normal_cdf(z) + std * normal_pdf(z), np.maximum(improvement, 0.0))
    return np.maximum(ei, 0.0)


class BayesianOptimizer:
    """Ask-and-tell Bayesian optimisation over a ``Space`` (minimisation).

        opt = BayesianOptimizer(space, n_init=5, seed=0)
        for _ in range(20):
            params = opt.ask()
            opt.tell(params, objective(params))
        opt.result.best_params

    Args:
        space: a ``Space`` or a dict ``{name: Real|Integer|Choice}``.
        n_init: random (Latin hypercube) points before the GP takes over;
            default ``2 D + 1`` for ``D`` dimensions.
        seed: seeds the initial design, the candidates and the GP restarts.
        kernel: ``"matern52"`` (default) or ``"rbf"``.
        xi: exploration margin of EI, in standard deviations of the values.
        n_candidates: random points on which EI is evaluated each step.
        n_refine: how many of the best candidates L-BFGS-B polishes.
        gp_restarts: random restarts when fitting the GP hyperparameters.
        min_distance: a proposal closer than this (in every unit-cube
            coordinate) to an observed point is passed over for the next best
            one. Re-measuring (almost) the same point teaches the GP nothing
            and makes it overconfident: without this rule EI can get stuck
            sampling one spot over and over (we saw it on Branin, at a
            boundary, 1.5 above the minimum).

    Attributes: ``gp`` (the ``GaussianProcess``, refitted at every ``ask``
    after the initial design; unfitted before), ``result`` (a
    ``SearchResult``), ``last_candidates``
    (unit-cube candidates and their EI from the last ``ask``, for pictures).
    """

    def __init__(self, space, n_init: int | None = None, seed: int | None = 0, kernel: str = "matern52",
                 xi: float = 0.0, n_candidates: int = 500, n_refine: int = 2, gp_restarts: int = 1,
                 min_distance: float = 1e-3):
        self.space = as_space(space)
        d = len(self.space)
        self.n_init = 2 * d + 1 if n_init is None else int(n_init)
        if self.n_init < 1:
            raise ValueError(f"BayesianOptimizer: n_init must be >= 1, got {n_init}")
        if xi < 0:
            raise ValueError(f"BayesianOptimizer: xi must be >= 0, got {xi}")
        self.rng = np.random.default_rng(seed)
        self.xi = xi
        self.min_distance = min_distance
        self.n_candidates = n_candidates
        self.n_refine = n_refine
        self.gp = GaussianProcess(kernel=kernel, n_restarts=gp_restarts,
                                  seed=int(self.rng.integers(2 ** 31)))
        self._gp_fitted = False
        self._initial = self.space.snap(self.space.sample_unit(self.n_init, self.rng, latin=True))
        self._discrete = np.array([isinstance(dim, (Integer, Choice)) for dim in self.space.dimensions])
        self.result = SearchResult(self.space, "Bayesian optimisation")
        self.result.model = self.gp
        self._U: list[np.ndarray] = []
        self._y: list[float] = []
        self._pending: dict | None = None
        self.last_candidates: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ data
    def _training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed unit-cube points and values, failed (non-finite) values replaced by the worst finite one."""
        U = np.array(self._U)
        y = np.array(self._y)
        finite = np.isfinite(y)
        y = np.where(finite, y, y[finite].max())
        return U, y

    def tell(self, params: dict, value: float, how: str | None = None) -> None:
        """Record that ``objective(params) == value``."""
        u = self.space.to_unit(params)
        ei = None
        if self._pending is not None and np.allclose(self._pending["u"], u):
            how = how or self._pending["how"]
            ei = self._pending["ei"]
        self._pending = None
        self._U.append(u)
        self._y.append(float(value))
        self.result.add(Evaluation(dict(params), float(value), how or "told", expected_improvement=ei))

    # ------------------------------------------------------------------- ask
    def ask(self) -> dict:
        """The next parameters to evaluate."""
        n_seen = len(self._y)
        n_finite = int(np.sum(np.isfinite(self._y))) if n_seen else 0
        if n_seen < self.n_init or n_finite < 2:
            if n_seen < self.n_init:
                u = self._initial[n_seen]
            else:  # the initial points failed: keep sampling at random until two succeed
                u = self.space.snap(self.rng.random((1, len(self.space))))[0]
            self._pending = {"u": u, "how": "init", "ei": None}
            return self.space.from_unit(u)

        U, y = self._training_data()
        with one_blas_thread():
            self.gp.fit(U, y)
            self._gp_fitted = True
            u, ei = self._maximize_expected_improvement(U, y)
        self._pending = {"u": u, "how": "ei", "ei": ei}
        return self.space.from_unit(u)

    def expected_improvement(self, U: np.ndarray) -> np.ndarray:
        """EI at unit-cube points ``U`` (N, D) under the current GP (in the GP's standardised units)."""
        if not self._gp_fitted:
            raise RuntimeError("expected_improvement: the GP is fitted at the first ask() after the initial design")
        mean, std = self.gp.predict(self.space.snap(U), return_std=True)
        scale = self.gp.y_std
        return expected_improvement(mean / scale, std / scale, self._best_observed() / scale, self.xi)

    def _best_observed(self) -> float:
        return float(self._training_data()[1].min())

    def _maximize_expected_improvement(self, U: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        d = len(self.space)
        # candidates: uniform over the cube, plus a cloud around the best point
        # so that the exploitation side of EI is resolved finely.
        n_local = self.n_candidates // 4
        best_u = U[int(np.argmin(y))]
        local = best_u + self.rng.normal(0.0, 0.05, size=(n_local, d))
        candidates = self.space.snap(np.vstack([self.rng.random((self.n_candidates - n_local, d)), local]))
        ei = self.expected_improvement(candidates)
        self.last_candidates = (candidates, ei)

        best_points = [(float(ei[i]), candidates[i]) for i in np.argsort(-ei)[: self.n_refine]]
        refined = [self._refine(u0, e0) for e0, u0 in best_points]
        ranked = sorted(best_points + refined, key=lambda pair: -pair[0])
        for value, u in ranked:
            if not self._already_seen(u):
                return u, value
        # every good point was already evaluated (EI has collapsed): explore at random
        for _ in range(100):
            u = self.space.snap(self.rng.random((1, d)))[0]
            if not self._already_seen(u):
                break
        return u, float(self.expected_improvement(u[None])[0])

    def _already_seen(self, u: np.ndarray) -> bool:
        """Is ``u`` within ``min_distance`` (in every coordinate) of an observed point?"""
        return bool(np.any(np.max(np.abs(np.array(self._U) - u), axis=1) < self.min_distance))

    def _refine(self, u0: np.ndarray, ei0: float) -> tuple[float, np.ndarray]:
        """Polish a candidate by L-BFGS-B on ``-EI / EI(u0)`` (continuous dimensions only)."""
        if ei0 <= 0 or self._discrete.all():
            return ei0, u0
        from scipy.optimize import minimize

        gp, scale, xi = self.gp, self.gp.y_std, self.xi
        best = self._best_observed() / scale
        movable = ~self._discrete

        def negative_ei(u):
            mean, std, dmean, dstd = gp.predict_with_gradient(self.space.snap(u[None]))
            mean, std, dmean, dstd = mean[0] / scale, std[0] / scale, dmean[0] / scale, dstd[0] / scale
            ei = float(expected_improvement(mean, std, best, xi))
            if std > 0:
                z = (best - mean - xi) / std
                grad = -normal_cdf(z) * dmean + normal_pdf(z) * dstd
            else:
                grad = np.zeros_like(dmean)
            grad = np.where(movable, grad, 0.0)
            return -ei / ei0, -grad / ei0

        bounds = [(0.0, 1.0) if m else (x, x) for m, x in zip(movable, u0)]
        found = minimize(negative_ei, u0, jac=True, method="L-BFGS-B", bounds=bounds,
                         options={"maxiter": 50})
        u = self.space.snap(found.x[None])[0]
        return float(self.expected_improvement(u[None])[0]), u


def bayes_opt(objective: Callable[[dict], float], space, n_iter: int = 20, n_init: int | None = None,
              seed: int | None = 0, kernel: str = "matern52", xi: float = 0.0, n_candidates: int = 500,
              min_distance: float = 1e-3, verbose: bool = False, callback: Callable[[BayesianOptimizer], None] | None = None
              ) -> SearchResult:
    """Minimise ``objective(params)`` by Bayesian optimisation; return a ``SearchResult``.

    Evaluations: ``n_init`` initial Latin-hypercube points (default
    ``2 D + 1``), then ``n_iter`` points chosen by expected improvement;
    ``n_init + n_iter`` in all. ``callback(optimizer)`` runs after every
    evaluation (``optimizer.gp`` is the GP that chose the point). The result's
    ``model`` is the last fitted GP. The other arguments are those of
    ``BayesianOptimizer``.
    """
    if n_iter < 0:
        raise ValueError(f"bayes_opt: n_iter must be >= 0, got {n_iter}")
    optimizer = BayesianOptimizer(space, n_init=n_init, seed=seed, kernel=kernel, xi=xi,
                                  n_candidates=n_candidates, min_distance=min_distance)
    total = optimizer.n_init + n_iter
    for i in range(total):
        params = optimizer.ask()
        value, seconds = call_objective(objective, params)
        optimizer.tell(params, value)
        optimizer.result.history[-1].seconds = seconds
        if verbose:
            print(f"bayes {i + 1}/{total} ({optimizer.result.history[-1].how}): {params} -> {value:.6g}"
                  f"   best {optimizer.result.best_value:.6g}")
        if callback is not None:
            callback(optimizer)
    return optimizer.result
