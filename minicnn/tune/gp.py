r"""A Gaussian process regressor in NumPy: the surrogate model of Bayesian optimisation.

A Gaussian process (GP) is a prior over functions ``f``: any finite set of
values ``f(x_1), ..., f(x_n)`` is jointly Gaussian, with mean ``m`` and a
covariance given by a *kernel* ``k(x, x')`` that says how alike ``f`` is at two
points. We observe ``y_i = f(x_i) + eps_i`` with ``eps_i ~ N(0, sigma_n^2)``.

Kernels (stationary, with one length scale ``l_i`` per dimension: "ARD",
automatic relevance determination, because a long ``l_i`` means dimension ``i``
hardly matters):

    r^2 = sum_i (x_i - x'_i)^2 / l_i^2
    RBF:          k(r) = sigma_f^2 exp(-r^2 / 2)                         (infinitely smooth)
    Matern 5/2:   k(r) = sigma_f^2 (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r) (twice differentiable)

Matern 5/2 is the usual choice for hyperparameter search: real objectives are
less smooth than the RBF kernel assumes.

Posterior, for training inputs X (n, D), targets y (n,) and test inputs X* (m, D),
with ``K = k(X, X) + sigma_n^2 I = L L^T`` (Cholesky) and ``K* = k(X*, X)`` (m, n):

    alpha = K^{-1} y = L^T \ (L \ y)
    mean(X*) = K* alpha
    v = L \ K*^T                                  (n, m)
    var(X*) = k(x*, x*) - sum_rows(v * v)          (the variance of f, without noise)

Hyperparameters ``theta = (ln l_1, ..., ln l_D, ln sigma_f^2, ln sigma_n^2)`` are
fitted by maximising the log marginal likelihood (the probability of the data
with f integrated out):

    log p(y | X, theta) = -1/2 y^T alpha - sum_i ln L_ii - n/2 ln(2 pi)

    d/d theta_j log p = 1/2 tr((alpha alpha^T - K^{-1}) dK/d theta_j)
    dK/d ln l_i       = sigma_f^2 g(r) (x_i - x'_i)^2 / l_i^2
                        g(r) = exp(-r^2/2)                      (RBF)
                        g(r) = 5/3 (1 + sqrt5 r) exp(-sqrt5 r)   (Matern 5/2)
    dK/d ln sigma_f^2 = k(X, X)
    dK/d ln sigma_n^2 = sigma_n^2 I

The likelihood has local maxima (a smooth fit with noise vs. a wiggly fit
without), so L-BFGS-B (from SciPy, imported only when fitting) is started from
the previous fit and from a few random points, and the best result is kept.

Conventions: inputs are expected in the unit cube (as ``Space.to_unit`` gives),
which is what the bounds on the length scales assume; targets are standardised
(mean 0, variance 1) inside ``fit`` and predictions are returned in the
original units. Known limits: O(n^3) time in the number of observations (fine
for the few hundred evaluations a hyperparameter search affords); a constant
mean; stationary kernels only.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

__all__ = ["GaussianProcess", "rbf", "matern52", "KERNELS", "one_blas_thread"]

SQRT5 = math.sqrt(5.0)


def rbf(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared-exponential kernel shape: ``m(r) = exp(-r^2/2)`` and ``g(r) = exp(-r^2/2)``.

    ``g`` is the factor in ``d m / d ln l_i = g(r) (x_i - x'_i)^2 / l_i^2``
    (from ``d m / d r^2 = -m / 2`` and ``d r^2 / d ln l_i = -2 (x_i - x'_i)^2 / l_i^2``).
    """
    m = np.exp(-0.5 * r2)
    return m, m


def matern52(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matern 5/2 kernel shape: ``m(r) = (1 + sqrt5 r + 5 r^2/3) exp(-sqrt5 r)``.

    ``g(r) = 5/3 (1 + sqrt5 r) exp(-sqrt5 r)`` from ``dm/dr = -5/3 r (1 + sqrt5 r) exp(-sqrt5 r)``
    and ``dr / d ln l_i = -(x_i - x'_i)^2 / (l_i^2 r)``: the ``r`` cancels, so no 0/0 at ``r = 0``.
    """
    r = np.sqrt(np.maximum(r2, 0.0))
    e = np.exp(-SQRT5 * r)
    m = (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e
    g = (5.0 / 3.0) * (1.0 + SQRT5 * r) * e
    return m, g


KERNELS = {"rbf": rbf, "matern52": matern52}


@contextmanager
def one_blas_thread():
    """Run the block with one BLAS thread.

    A GP's matrices are tiny (tens of rows): threads cost more to wake than
    the work they share, and on a busy machine they fight other processes
    (we measured 3-5x slower fits with the default thread count).
    Uses threadpoolctl (installed with scikit-learn); without it, does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _cholesky(K: np.ndarray) -> np.ndarray:
    """Cholesky factor of ``K``, adding a growing diagonal "jitter" if round-off made it indefinite.

    Two observations at (nearly) the same point make ``K`` singular up to the
    noise term; a jitter of 1e-10 .. 1e-4 times the mean diagonal repairs that.
    """
    try:
        return np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        pass
    scale = float(np.mean(np.diag(K)))
    for exponent in range(-10, -3):
        try:
            return np.linalg.cholesky(K + (10.0 ** exponent) * scale * np.eye(len(K)))
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("GaussianProcess: the kernel matrix is not positive definite "
                                "even with jitter (duplicate points with zero noise?)")


def _triangular_solve(L: np.ndarray, B: np.ndarray, transpose: bool = False) -> np.ndarray:
    """Solve ``L X = B`` (or ``L^T X = B``) for lower-triangular ``L``.

    ``np.linalg.solve`` does not exploit the triangle, which costs nothing at
    the sizes of a hyperparameter search and keeps the GP free of SciPy.
    """
    return np.linalg.solve(L.T if transpose else L, B)


class GaussianProcess:
    """GP regression with an ARD RBF or Matern 5/2 kernel and a Gaussian noise term.

    Args:
        kernel: ``"matern52"`` (default) or ``"rbf"``.
        length_scale: initial length scale(s), one number or one per dimension.
        signal_variance: initial ``sigma_f^2`` (in standardised target units).
        noise_variance: initial ``sigma_n^2`` (standardised units).
        fit_noise: fit ``sigma_n^2`` too (default); ``False`` keeps it fixed, e.g.
            tiny for noise-free data that the mean must interpolate.
        normalize_y: standardise the targets before fitting (default True).
        n_restarts: random restarts of the likelihood optimiser besides the
            start from the current hyperparameters.
        length_scale_bounds, signal_variance_bounds, noise_variance_bounds:
            box for the optimiser (the defaults assume inputs in [0, 1]).
        seed: seed of the random restarts.

    After ``fit(X, y)``: ``length_scale`` (D,), ``signal_variance``,
    ``noise_variance``, ``log_marginal_likelihood_value``; ``predict(X*)``.
    """

    def __init__(self, kernel: str = "matern52", length_scale=0.3, signal_variance: float = 1.0,
                 noise_variance: float = 1e-4, fit_noise: bool = True, normalize_y: bool = True,
                 n_restarts: int = 3, length_scale_bounds=(1e-2, 1e2),
                 signal_variance_bounds=(1e-2, 1e3), noise_variance_bounds=(1e-6, 1.0),
                 seed: int | None = 0):
        if kernel not in KERNELS:
            raise ValueError(f"GaussianProcess: kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
        for name, value in [("signal_variance", signal_variance), ("noise_variance", noise_variance)]:
            if not value > 0:
                raise ValueError(f"GaussianProcess: {name} must be > 0, got {value!r}")
        if np.any(np.asarray(length_scale) <= 0):
            raise ValueError(f"GaussianProcess: length_scale must be > 0, got {length_scale!r}")
        self.kernel = kernel
        self.length_scale = np.asarray(length_scale, dtype=np.float64)
        self.signal_variance = float(signal_variance)
        self.noise_variance = float(noise_variance)
        self.fit_noise = fit_noise
        self.normalize_y = normalize_y
        self.n_restarts = n_restarts
        self.length_scale_bounds = length_scale_bounds
        self.signal_variance_bounds = signal_variance_bounds
        self.noise_variance_bounds = noise_variance_bounds
        self.rng = np.random.default_rng(seed)
        self.X = None
        self.log_marginal_likelihood_value = None

    # ----------------------------------------------------------------- kernel
    def _scaled_differences(self, A: np.ndarray, B: np.ndarray, length_scale: np.ndarray) -> np.ndarray:
        """``(a_i - b_i) / l_i`` for every pair, shape (len(A), len(B), D)."""
        return (A[:, None, :] - B[None, :, :]) / length_scale

    def kernel_matrix(self, A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
        """``k(A, B)`` with the current hyperparameters (no noise term), shape (len(A), len(B))."""
        A = np.atleast_2d(np.asarray(A, dtype=np.float64))
        B = A if B is None else np.atleast_2d(np.asarray(B, dtype=np.float64))
        length_scale = np.broadcast_to(self.length_scale, (A.shape[1],))
        r2 = np.sum(self._scaled_differences(A, B, length_scale) ** 2, axis=-1)
        return self.signal_variance * KERNELS[self.kernel](r2)[0]

    # --------------------------------------------------------- hyperparameters
    @property
    def theta(self) -> np.ndarray:
        """``(ln l_1, ..., ln l_D, ln sigma_f^2, ln sigma_n^2)``."""
        return np.concatenate([np.log(self.length_scale),
                               [math.log(self.signal_variance), math.log(self.noise_variance)]])

    @theta.setter
    def theta(self, theta: np.ndarray) -> None:
        theta = np.asarray(theta, dtype=np.float64)
        self.length_scale = np.exp(theta[:-2])
        self.signal_variance = float(np.exp(theta[-2]))
        self.noise_variance = float(np.exp(theta[-1]))

    def _theta_bounds(self, d: int) -> np.ndarray:
        bounds = [self.length_scale_bounds] * d + [self.signal_variance_bounds, self.noise_variance_bounds]
        return np.log(np.array(bounds, dtype=np.float64))

    def log_marginal_likelihood(self, theta: np.ndarray | None = None, return_gradient: bool = False):
        """``log p(y | X, theta)`` of the fitted data (standardised targets), and its gradient in ``theta``.

        ``theta=None`` uses the current hyperparameters. See the module
        docstring for the formulas.
        """
        if self.X is None:
            raise RuntimeError("GaussianProcess: call fit(X, y) first")
        theta = self.theta if theta is None else np.asarray(theta, dtype=np.float64)
        X, y = self.X, self._y
        n, d = X.shape
        length_scale = np.exp(theta[:d])
        signal_variance, noise_variance = math.exp(theta[d]), math.exp(theta[d + 1])

        scaled = self._scaled_differences(X, X, length_scale)          # (n, n, D)
        squared = scaled ** 2
        m, g = KERNELS[self.kernel](squared.sum(-1))
        K_f = signal_variance * m
        K = K_f + noise_variance * np.eye(n)
        L = _cholesky(K)
        L_inv = _triangular_solve(L, np.eye(n))
        K_inv = L_inv.T @ L_inv                                        # K^{-1} = L^{-T} L^{-1}
        alpha = K_inv @ y
        value = -0.5 * y @ alpha - np.sum(np.log(np.diag(L))) - 0.5 * n * math.log(2 * math.pi)
        if not return_gradient:
            return value

        W = np.outer(alpha, alpha) - K_inv
        gradient = np.empty(d + 2)
        gradient[:d] = 0.5 * np.einsum("ab,abi->i", W * (signal_variance * g), squared)
        gradient[d] = 0.5 * np.sum(W * K_f)
        gradient[d + 1] = 0.5 * noise_variance * np.trace(W)
        return value, gradient

    def _optimize_hyperparameters(self) -> None:
        """Maximise the log marginal likelihood with L-BFGS-B from several starts; keep the best."""
        from scipy.optimize import minimize  # SciPy only where hyperparameters are fitted

        d = self.X.shape[1]
        bounds = self._theta_bounds(d)
        free = np.ones(d + 2, dtype=bool)
        free[d + 1] = self.fit_noise
        start = self.theta
        start[free] = np.clip(start[free], bounds[free, 0], bounds[free, 1])  # a fixed noise may lie outside

        def negative(theta_free):
            theta = start.copy()
            theta[free] = theta_free
            try:
                value, gradient = self.log_marginal_likelihood(theta, return_gradient=True)
            except np.linalg.LinAlgError:
                return 1e25, np.zeros(free.sum())
            return -value, -gradient[free]

        starts = [start[free]]
        for _ in range(self.n_restarts):
            starts.append(self.rng.uniform(bounds[free, 0], bounds[free, 1]))
        best = None
        for theta0 in starts:
            found = minimize(negative, theta0, jac=True, method="L-BFGS-B", bounds=bounds[free])
            if best is None or found.fun < best.fun:
                best = found
        theta = start.copy()
        theta[free] = best.x
        self.theta = theta

    # ------------------------------------------------------------ fit/predict
    def fit(self, X: np.ndarray, y: np.ndarray, optimize: bool = True) -> "GaussianProcess":
        """Condition on observations ``X`` (n, D), ``y`` (n,); fit the hyperparameters if ``optimize``."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"GaussianProcess.fit: X has {X.shape[0]} rows but y has {y.shape[0]} values")
        if X.shape[0] == 0:
            raise ValueError("GaussianProcess.fit: need at least one observation")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("GaussianProcess.fit: X and y must be finite (replace failed runs first)")
        d = X.shape[1]
        if self.length_scale.size not in (1, d):
            raise ValueError(f"GaussianProcess: {self.length_scale.size} length scales for {d} dimensions")
        self.length_scale = np.broadcast_to(self.length_scale, (d,)).copy()

        self.y_mean = float(y.mean()) if self.normalize_y else 0.0
        std = float(y.std()) if self.normalize_y else 1.0
        self.y_std = std if std > 0 else 1.0
        self.X, self._y = X, (y - self.y_mean) / self.y_std
        if optimize and len(y) > 1:
            with one_blas_thread():
                self._optimize_hyperparameters()

        K = self.kernel_matrix(X) + self.noise_variance * np.eye(len(X))
        self._L = _cholesky(K)
        self._alpha = _triangular_solve(self._L, _triangular_solve(self._L, self._y), transpose=True)
        self.log_marginal_likelihood_value = float(self.log_marginal_likelihood())
        return self

    def predict(self, X: np.ndarray, return_std: bool = False, return_cov: bool = False):
        """Posterior mean of ``f`` at ``X`` (m, D); with ``return_std`` its std, with ``return_cov`` its covariance.

        The std is that of the latent ``f`` (what expected improvement needs);
        add ``noise_variance * y_std**2`` for the spread of a new noisy observation.
        """
        if self.X is None:
            raise RuntimeError("GaussianProcess: call fit(X, y) before predict")
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        K_star = self.kernel_matrix(X, self.X)                       # (m, n)
        mean = K_star @ self._alpha * self.y_std + self.y_mean
        if not (return_std or return_cov):
            return mean
        v = _triangular_solve(self._L, K_star.T)                      # (n, m)
        if return_cov:
            cov = self.kernel_matrix(X) - v.T @ v
            return mean, cov * self.y_std ** 2
        variance = self.signal_variance - np.sum(v * v, axis=0)
        return mean, np.sqrt(np.maximum(variance, 0.0)) * self.y_std

    def predict_with_gradient(self, X: np.ndarray):
        """Posterior mean and std at ``X`` (m, D), and their gradients with respect to ``X``, each (m, D).

            d k(x, x_j) / d x = -sigma_f^2 g(r_j) (x - x_j) / l^2       (g as in ``rbf``/``matern52``)
            d mean / d x = (d K* / d x)^T alpha
            d std / d x  = -(d K* / d x)^T K^{-1} K*^T / std

        (the std's gradient is set to 0 where the std is 0). Used to polish the
        maximum of expected improvement with a gradient method.
        Returns ``mean (m,), std (m,), dmean (m, D), dstd (m, D)``.
        """
        if self.X is None:
            raise RuntimeError("GaussianProcess: call fit(X, y) before predict_with_gradient")
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        scaled = self._scaled_differences(X, self.X, self.length_scale)       # (m, n, D)
        m_shape, g = KERNELS[self.kernel](np.sum(scaled ** 2, axis=-1))
        K_star = self.signal_variance * m_shape                               # (m, n)
        dK = -self.signal_variance * g[..., None] * scaled / self.length_scale  # (m, n, D)
        v = _triangular_solve(self._L, K_star.T)                              # (n, m)
        K_inv_k = _triangular_solve(self._L, v, transpose=True)               # (n, m)
        std = np.sqrt(np.maximum(self.signal_variance - np.sum(v * v, axis=0), 0.0))
        dmean = np.einsum("mnd,n->md", dK, self._alpha)
        dvar = -2.0 * np.einsum("mnd,nm->md", dK, K_inv_k)
        with np.errstate(divide="ignore", invalid="ignore"):
            dstd = np.where(std[:, None] > 0, dvar / (2 * std[:, None]), 0.0)
        mean = K_star @ self._alpha * self.y_std + self.y_mean
        return mean, std * self.y_std, dmean * self.y_std, dstd * self.y_std

    def __repr__(self) -> str:
        if self.X is None:
            return f"GaussianProcess(kernel={self.kernel!r}, not fitted)"
        scales = ", ".join(f"{s:.3g}" for s in self.length_scale)
        return (f"GaussianProcess(kernel={self.kernel!r}, n={len(self.X)}, length_scale=[{scales}], "
                f"signal_variance={self.signal_variance:.3g}, noise_variance={self.noise_variance:.3g}, "
                f"log_marginal_likelihood={self.log_marginal_likelihood_value:.4g})")
