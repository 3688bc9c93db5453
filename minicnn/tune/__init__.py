"""Hyperparameter search: grid search, random search and Bayesian optimisation.

    from minicnn.tune import Real, Integer, Choice, grid_search, bayes_opt

    space = {"lr": Real(1e-4, 1e-1, log=True), "weight_decay": Real(1e-6, 1e-2, log=True)}
    result = bayes_opt(lambda p: validation_loss(**p), space, n_iter=15, n_init=5, seed=0)
    print(result.table())
    result.best_params, result.best_value

Every search **minimises** ``objective(params: dict) -> float``; to maximise a
score, return its negative. Files, in reading order:

* ``space.py``  - dimensions (Real, Integer, Choice; log scales) and the unit cube
* ``grid.py``   - grid search and random search, the baselines
* ``gp.py``     - a Gaussian process (Matern 5/2 / RBF, fitted by marginal likelihood)
* ``bayes.py``  - expected improvement and the Bayesian optimisation loop
* ``result.py`` - the history of a search and its text table
* ``gan_study.py``, ``commands.py`` - a resumable study of a GAN recipe's knobs on the
  Fréchet distance under a time budget: ``minicnn tune dcgan|wgan-gp|stylegan``
"""
from .bayes import BayesianOptimizer, bayes_opt, expected_improvement
from .gp import GaussianProcess
from .grid import grid_search, random_search
from .result import Evaluation, SearchResult
from .space import Choice, Dimension, Integer, Real, Space, as_space

__all__ = [
    "Real", "Integer", "Choice", "Dimension", "Space", "as_space",
    "grid_search", "random_search", "bayes_opt", "BayesianOptimizer", "expected_improvement",
    "GaussianProcess", "SearchResult", "Evaluation",
]
