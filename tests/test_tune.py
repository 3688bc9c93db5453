"""Tests of minicnn.tune: search spaces, grid/random search, the Gaussian process, Bayesian optimisation.

Stated targets (all with fixed seeds):
* Branin (minimum 0.397887): Bayesian optimisation gets within 0.01 of the
  minimum in at most 35 evaluations (5 initial + 30 guided), for each of 3 seeds.
* 1-D ``sin(3x) + x^2 - 0.7x`` on [-1, 2]: within 1e-3 of the minimum in 12 evaluations.
* 1-D log-scale learning rate: within 2% of the best learning rate in 10 evaluations.
* On Branin, Bayesian optimisation beats random search at the same budget on
  every seed, and 25 Bayesian evaluations beat 200 random ones on average over 3 seeds.
"""
import math

import numpy as np
import pytest

from minicnn.tune import (BayesianOptimizer, Choice, GaussianProcess, Integer, Real, SearchResult, Space,
                          bayes_opt, expected_improvement, grid_search, random_search)

BRANIN_MINIMUM = 0.397887
BRANIN_SPACE = {"x1": Real(-5, 10), "x2": Real(0, 15)}


def branin(params):
    """Branin-Hoo: three global minima of 0.397887, at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)."""
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


# ---------------------------------------------------------------- spaces
def test_real_linear_and_log_maps():
    linear = Real(-2, 6)
    assert linear.to_unit(2) == pytest.approx(0.5)
    assert linear.from_unit(0.25) == pytest.approx(0.0)
    log = Real(1e-5, 1e-1, log=True)
    assert log.to_unit(1e-3) == pytest.approx(0.5)             # middle of the decades, not of the values
    assert log.from_unit(0.75) == pytest.approx(1e-2)
    assert log.from_unit(0.0) == 1e-5 and log.from_unit(1.0) == 1e-1
    assert log.from_unit(-3) == 1e-5 and log.from_unit(7) == 1e-1   # clipped to the box
    for u in np.linspace(0, 1, 11):
        assert log.to_unit(log.from_unit(u)) == pytest.approx(u)
    assert log.grid(5) == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1])


def test_log_scale_samples_every_decade():
    space = Space({"lr": Real(1e-6, 1.0, log=True)})
    lrs = np.array([p["lr"] for p in space.sample(600, seed=0)])
    counts = np.histogram(np.log10(lrs), bins=6, range=(-6, 0))[0]
    assert counts.min() > 60                     # about 100 per decade
    linear = Space({"lr": Real(1e-6, 1.0)})
    lrs = np.array([p["lr"] for p in linear.sample(600, seed=0)])
    assert np.sum(lrs < 1e-2) < 20               # linear sampling almost never tries small rates


@pytest.mark.parametrize("dimension", [Integer(3, 9), Integer(1, 64, log=True)])
def test_integer_roundtrip_and_bins(dimension):
    for v in range(dimension.low, dimension.high + 1):
        u = dimension.to_unit(v)
        assert 0 < u < 1 and dimension.from_unit(u) == v
    values = [dimension.from_unit(u) for u in np.linspace(0, 1, 2001)]
    assert min(values) == dimension.low and max(values) == dimension.high
    if not dimension.log:
        counts = np.bincount(values)[dimension.low:]
        assert counts.max() - counts.min() <= 1      # equal bins
    assert Integer(0, 10).grid(4) == [0, 3, 7, 10]


def test_choice_roundtrip():
    choice = Choice(["relu", "tanh", 0.5])
    for option in choice.options:
        assert choice.from_unit(choice.to_unit(option)) == option
    assert choice.from_unit(0.0) == "relu" and choice.from_unit(1.0) == 0.5
    assert choice.grid(2) == ["relu", "tanh", 0.5]   # a grid lists every option


def test_space_maps_dicts_and_snaps():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "width": Integer(1, 4), "act": Choice(["a", "b"])})
    params = {"lr": 1e-2, "width": 3, "act": "b"}
    u = space.to_unit(params)
    assert u.shape == (3,)
    back = space.from_unit(u)
    assert back["lr"] == pytest.approx(1e-2) and back["width"] == 3 and back["act"] == "b"
    snapped = space.snap([[0.3, 0.01, 0.6]])
    assert snapped[0] == pytest.approx([0.3, 0.125, 0.75])   # bin centres of width=1 and act="b"


def test_space_errors_name_the_problem():
    with pytest.raises(ValueError, match="low < high"):
        Real(1, 1)
    with pytest.raises(ValueError, match="low > 0"):
        Real(0, 1, log=True)
    with pytest.raises(ValueError, match="integers"):
        Integer(0.5, 3)
    with pytest.raises(ValueError, match="empty"):
        Choice([])
    with pytest.raises(ValueError, match="not one of"):
        Choice(["a"]).to_unit("b")
    space = Space({"x": Real(0, 1)})
    with pytest.raises(ValueError, match="unknown \\['y'\\]"):
        space.to_unit({"x": 0.5, "y": 1})
    with pytest.raises(TypeError, match="Real, Integer or Choice"):
        Space({"x": (0, 1)})


# ------------------------------------------------------- grid and random
def test_grid_search_is_exact_on_a_separable_function():
    calls = []

    def objective(p):
        calls.append(p)
        return (p["x"] - 2) ** 2 + (p["y"] + 1) ** 2 + (p["n"] - 3) ** 2 + {"a": 1.0, "b": 0.0}[p["c"]]

    space = {"x": Real(-4, 4), "y": Real(-4, 4), "n": Integer(0, 5), "c": Choice(["a", "b"])}
    result = grid_search(objective, space, points_per_dim={"x": 9, "y": 9, "n": 6})
    assert len(calls) == len(result) == 9 * 9 * 6 * 2
    assert result.best_value == 0.0
    assert result.best_params == {"x": 2.0, "y": -1.0, "n": 3, "c": "b"}


def test_grid_search_on_a_log_scale_hits_the_decade():
    result = grid_search(lambda p: (math.log10(p["lr"]) + 3) ** 2, {"lr": Real(1e-5, 1e-1, log=True)},
                         points_per_dim=5)
    assert result.best_params["lr"] == pytest.approx(1e-3) and result.best_value == pytest.approx(0.0, abs=1e-20)


def test_random_search_is_reproducible_and_stays_in_the_box():
    a = random_search(branin, BRANIN_SPACE, n_iter=20, seed=3)
    b = random_search(branin, BRANIN_SPACE, n_iter=20, seed=3)
    assert a.params == b.params
    x1 = np.array([p["x1"] for p in a.params])
    assert x1.min() >= -5 and x1.max() <= 10
    assert a.best_value == a.values.min()


# ------------------------------------------------------- Gaussian process
def _data(n=12, d=2, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + X[:, -1] ** 2 + noise * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_gp_posterior_interpolates_noise_free_data(kernel):
    X, y = _data()
    gp = GaussianProcess(kernel=kernel, noise_variance=1e-10, fit_noise=False).fit(X, y)
    mean, std = gp.predict(X, return_std=True)
    np.testing.assert_allclose(mean, y, atol=1e-5)
    assert std.max() < 1e-3 * y.std()
    far = np.array([[2.0, 2.0]])                 # outside the data: back to the prior
    assert gp.predict(far, return_std=True)[1][0] > 0.5 * math.sqrt(gp.signal_variance) * gp.y_std


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_gp_log_marginal_likelihood_gradient_matches_finite_differences(kernel):
    X, y = _data(noise=0.05)
    gp = GaussianProcess(kernel=kernel, length_scale=[0.3, 0.6], noise_variance=1e-2).fit(X, y, optimize=False)
    theta = gp.theta + np.random.default_rng(1).normal(0, 0.3, size=4)
    _, gradient = gp.log_marginal_likelihood(theta, return_gradient=True)
    h = 1e-6
    numeric = [(gp.log_marginal_likelihood(theta + h * e) - gp.log_marginal_likelihood(theta - h * e)) / (2 * h)
               for e in np.eye(4)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_gp_input_gradients_match_finite_differences(kernel):
    X, y = _data(noise=0.05)
    gp = GaussianProcess(kernel=kernel, length_scale=[0.3, 0.6], noise_variance=1e-2).fit(X, y, optimize=False)
    points = np.random.default_rng(2).random((4, 2))
    mean, std, dmean, dstd = gp.predict_with_gradient(points)
    np.testing.assert_allclose(np.stack([mean, std]), np.stack(gp.predict(points, return_std=True)), rtol=1e-12)
    h = 1e-6
    for i, e in enumerate(np.eye(2)):
        m_plus, s_plus = gp.predict(points + h * e, return_std=True)
        m_minus, s_minus = gp.predict(points - h * e, return_std=True)
        np.testing.assert_allclose(dmean[:, i], (m_plus - m_minus) / (2 * h), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dstd[:, i], (s_plus - s_minus) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_gp_matches_scikit_learn_with_fixed_hyperparameters(kernel):
    sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

    X, y = _data(noise=0.05)
    ours = GaussianProcess(kernel=kernel, length_scale=[0.3, 0.7], signal_variance=1.7,
                           noise_variance=0.01).fit(X, y, optimize=False)
    shape = Matern(length_scale=[0.3, 0.7], nu=2.5) if kernel == "matern52" else RBF(length_scale=[0.3, 0.7])
    theirs = sklearn_gp.GaussianProcessRegressor(ConstantKernel(1.7) * shape, alpha=0.01, optimizer=None,
                                                 normalize_y=True).fit(X, y)
    test = np.random.default_rng(3).random((7, 2))
    np.testing.assert_allclose(ours.kernel_matrix(test, X), (ConstantKernel(1.7) * shape)(test, X), rtol=1e-10)
    mean, std = ours.predict(test, return_std=True)
    their_mean, their_std = theirs.predict(test, return_std=True)
    np.testing.assert_allclose(mean, their_mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(std, their_std, rtol=1e-6, atol=1e-10)
    assert ours.log_marginal_likelihood() == pytest.approx(theirs.log_marginal_likelihood_value_, rel=1e-8)


def test_gp_fit_raises_the_likelihood_and_finds_the_noise_level():
    X, y = _data(n=60, d=1, noise=0.1, seed=4)
    gp = GaussianProcess(length_scale=3.0, noise_variance=0.5).fit(X, y, optimize=False)
    before = gp.log_marginal_likelihood()
    gp.fit(X, y)
    assert gp.log_marginal_likelihood() > before + 10
    noise_std = math.sqrt(gp.noise_variance) * gp.y_std     # back in the units of y
    assert 0.05 < noise_std < 0.2


def test_gp_errors():
    with pytest.raises(ValueError, match="kernel must be one of"):
        GaussianProcess(kernel="cubic")
    with pytest.raises(ValueError, match="finite"):
        GaussianProcess().fit([[0.1], [0.2]], [1.0, float("nan")])
    with pytest.raises(RuntimeError, match="fit"):
        GaussianProcess().predict([[0.1]])


# ----------------------------------------------------- expected improvement
def test_expected_improvement_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean = np.array([0.0, 0.5, -0.3, 2.0])
    std = np.array([1.0, 0.2, 0.5, 1.5])
    best, xi = 0.1, 0.05
    samples = mean + std * rng.standard_normal((400_000, 4))
    monte_carlo = np.maximum(best - samples - xi, 0).mean(axis=0)
    np.testing.assert_allclose(expected_improvement(mean, std, best, xi), monte_carlo, rtol=0.02, atol=2e-4)


def test_expected_improvement_limits():
    # no uncertainty: EI is the plain improvement
    assert expected_improvement(np.array([-1.0, 1.0]), np.zeros(2), best=0.0).tolist() == [1.0, 0.0]
    # more uncertainty never hurts
    ei = expected_improvement(np.zeros(5), np.linspace(0.1, 2, 5), best=-0.5)
    assert np.all(np.diff(ei) > 0) and np.all(ei >= 0)
    # a far-worse mean with a small std: EI underflows to 0, never negative
    assert expected_improvement(np.array([100.0]), np.array([1e-3]), best=0.0)[0] == 0.0


# --------------------------------------------------- Bayesian optimisation
@pytest.fixture(scope="module")
def branin_runs():
    """Bayesian optimisation of Branin, 35 evaluations (5 initial + 30 guided), seeds 0, 1, 2."""
    return {seed: bayes_opt(branin, BRANIN_SPACE, n_iter=30, n_init=5, seed=seed) for seed in (0, 1, 2)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayes_opt_finds_the_branin_minimum_in_35_evaluations(branin_runs, seed):
    result = branin_runs[seed]
    assert len(result) == 35
    assert result.best_value < BRANIN_MINIMUM + 0.01, result.table(sort=True, max_rows=5)
    # it found one of the three global minima
    minima = np.array([[-math.pi, 12.275], [math.pi, 2.275], [9.42478, 2.475]])
    best = np.array([result.best_params["x1"], result.best_params["x2"]])
    assert np.min(np.linalg.norm(minima - best, axis=1)) < 0.15


def test_bayes_opt_beats_random_search_on_average(branin_runs):
    # at the same budget, on every seed (random search needs ~2,400 evaluations, median, to get within 0.01)
    for seed, result in branin_runs.items():
        assert result.best_value < random_search(branin, BRANIN_SPACE, n_iter=35, seed=seed).best_value
    # and 25 guided evaluations beat 200 random ones on average
    bayes_25 = [result.best_so_far()[24] for result in branin_runs.values()]
    random_200 = [random_search(branin, BRANIN_SPACE, n_iter=200, seed=seed).best_value for seed in branin_runs]
    assert np.mean(bayes_25) < np.mean(random_200), (bayes_25, random_200)


def test_bayes_opt_1d_finds_the_minimum_in_12_evaluations():
    def f(p):
        x = p["x"]
        return math.sin(3 * x) + x * x - 0.7 * x

    xs = np.linspace(-1, 2, 200_001)
    true_min = np.min(np.sin(3 * xs) + xs ** 2 - 0.7 * xs)
    result = bayes_opt(f, {"x": Real(-1, 2)}, n_iter=9, n_init=3, seed=0)
    assert len(result) == 12
    assert result.best_value - true_min < 1e-3


def test_bayes_opt_on_a_log_scale_learning_rate():
    def objective(p):    # a U-shaped "validation loss" in log10(lr), best at lr = 10^-2.5
        return (math.log10(p["lr"]) + 2.5) ** 2 + 0.1

    result = bayes_opt(objective, {"lr": Real(1e-6, 1.0, log=True)}, n_iter=7, n_init=3, seed=0)
    assert abs(result.best_params["lr"] / 10 ** -2.5 - 1) < 0.02
    initial = [e.params["lr"] for e in result.history if e.how == "init"]
    assert min(initial) < 1e-4 and max(initial) > 1e-2   # the first points spread over the decades


def test_bayes_opt_on_integer_and_choice_dimensions():
    def objective(p):
        return (p["n"] - 7) ** 2 + {"a": 3.0, "b": 0.0, "c": 1.0}[p["act"]]

    result = bayes_opt(objective, {"n": Integer(0, 20), "act": Choice(["a", "b", "c"])},
                       n_iter=15, n_init=5, seed=0)
    assert result.best_params == {"n": 7, "act": "b"} and result.best_value == 0
    points = [(e.params["n"], e.params["act"]) for e in result.history]
    assert len(set(points)) == len(points)          # never the same point twice


def test_bayes_opt_survives_failed_evaluations():
    def objective(p):                               # "training diverges" for large learning rates
        return float("nan") if p["lr"] > 0.1 else (math.log10(p["lr"]) + 2) ** 2

    result = bayes_opt(objective, {"lr": Real(1e-4, 1.0, log=True)}, n_iter=8, n_init=4, seed=1)
    assert np.isnan(result.values).any()
    assert np.isfinite(result.best_value) and result.best_params["lr"] <= 0.1
    assert abs(math.log10(result.best_params["lr"]) + 2) < 0.1


def test_ask_tell_is_deterministic_and_matches_bayes_opt():
    def run():
        optimizer = BayesianOptimizer({"x": Real(-1, 2)}, n_init=3, seed=5)
        for _ in range(6):
            params = optimizer.ask()
            optimizer.tell(params, (params["x"] - 0.4) ** 2)
        return optimizer

    first, second = run(), run()
    assert first.result.params == second.result.params
    via_function = bayes_opt(lambda p: (p["x"] - 0.4) ** 2, {"x": Real(-1, 2)}, n_iter=3, n_init=3, seed=5)
    assert via_function.params == first.result.params
    assert [e.how for e in first.result.history] == ["init"] * 3 + ["ei"] * 3
    assert first.gp is first.result.model and first.gp.X.shape == (5, 1)
    assert all(e.expected_improvement >= 0 for e in first.result.history[3:])


def test_result_table_and_errors():
    result = grid_search(lambda p: (p["x"] - 1) ** 2, {"x": Real(0, 2)}, points_per_dim=3)
    assert isinstance(result, SearchResult)
    lines = result.table().splitlines()
    assert lines[0].split() == ["#", "x", "value", "how"]
    assert lines[3].split()[0] == "2*" and lines[3].split()[1] == "1"    # the best row is marked
    assert "best (grid search, 3 evaluations): value 0 at x=1" in lines[-1]
    assert result.table(sort=True, max_rows=1).splitlines()[2].split()[0] == "2*"
    assert result.best_so_far().tolist() == [1.0, 0.0, 0.0]
    assert result.evaluations_to_reach(0.5) == 2
    with pytest.raises(TypeError, match="must return a number"):
        grid_search(lambda p: "bad", {"x": Real(0, 1)}, points_per_dim=2)
    with pytest.raises(ValueError, match="n_iter"):
        bayes_opt(lambda p: 0.0, {"x": Real(0, 1)}, n_iter=-1)
