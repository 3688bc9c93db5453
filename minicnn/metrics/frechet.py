r"""Fréchet distance between two sets of features, each summarised by a Gaussian.

Fit a Gaussian to each feature set (mean :math:`\mu`, covariance :math:`\Sigma`) and take the
squared 2-Wasserstein (Fréchet) distance between the two Gaussians, which has a closed form:

.. math::

    d^2 = \lVert \mu_1 - \mu_2 \rVert^2
          + \operatorname{Tr}\bigl(\Sigma_1 + \Sigma_2
            - 2\,(\Sigma_1^{1/2}\,\Sigma_2\,\Sigma_1^{1/2})^{1/2}\bigr)

With Inception-v3 features this number is the well-known FID; here the features come from
the penultimate layer of the frozen minicnn digit classifier (``feature_extractor.py``), so
the numbers are on their own scale: compare them only with each other and with the
real-vs-real floor computed at the same N (``quality.evaluate_generator`` reports both).

Why the symmetric form. The textbook formula writes :math:`\operatorname{Tr}
(\Sigma_1\Sigma_2)^{1/2}`. :math:`\Sigma_1\Sigma_2` is not symmetric, so its square root
needs a general (Schur) algorithm and can come back complex from round-off. But
:math:`\Sigma_1\Sigma_2 = \Sigma_1^{1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})\Sigma_1^{-1/2}`
is similar to :math:`M = \Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}`, which is symmetric positive
semi-definite, so both have the same eigenvalues :math:`\lambda_i \ge 0` and

.. math::

    \operatorname{Tr}(\Sigma_1\Sigma_2)^{1/2} = \operatorname{Tr} M^{1/2}
    = \sum_i \sqrt{\lambda_i(M)}.

Two symmetric eigendecompositions (``numpy.linalg.eigh``) do it all, in float64; tiny
negative eigenvalues (round-off on a rank-deficient covariance, e.g. fewer samples than
feature dimensions) are clipped to zero. ``scipy.linalg.sqrtm`` gives the same number and is
used as a cross-check in the tests.

Known limits: the estimate is biased upwards for small N (the floor shows by how much),
and a Gaussian summary ignores everything beyond the second moment.
"""
from __future__ import annotations

import numpy as np

__all__ = ["gaussian_statistics", "frechet_distance", "frechet_distance_from_statistics",
           "symmetric_sqrt"]


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features: expected a 2-D array (N, D), got shape {features.shape}")
    if features.shape[0] < 2:
        raise ValueError(f"features: need at least 2 samples to fit a covariance, "
                         f"got {features.shape[0]}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features: contain NaN or infinite values")
    mean = features.mean(axis=0)
    centred = features - mean
    covariance = centred.T @ centred / (features.shape[0] - 1)
    return mean, covariance


def symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    r"""Square root of a symmetric positive semi-definite matrix: :math:`V\,\mathrm{diag}
    (\sqrt{\lambda})\,V^\top` from ``A = V diag(lambda) V^T``; negative round-off clipped."""
    matrix = np.asarray(matrix, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    roots = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (eigenvectors * roots) @ eigenvectors.T


def frechet_distance_from_statistics(mean1, covariance1, mean2, covariance2) -> float:
    r""":math:`\lVert\mu_1-\mu_2\rVert^2 + \operatorname{Tr}(\Sigma_1 + \Sigma_2
    - 2(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2})` for two Gaussians (float64)."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    covariance1 = np.asarray(covariance1, np.float64)
    covariance2 = np.asarray(covariance2, np.float64)
    if mean1.shape != mean2.shape or covariance1.shape != covariance2.shape:
        raise ValueError(f"statistics: shapes differ, means {mean1.shape} vs {mean2.shape}, "
                         f"covariances {covariance1.shape} vs {covariance2.shape}")
    if covariance1.shape != (mean1.size, mean1.size):
        raise ValueError(f"covariance: expected shape {(mean1.size, mean1.size)}, "
                         f"got {covariance1.shape}")
    root1 = symmetric_sqrt(covariance1)
    middle = root1 @ covariance2 @ root1
    middle = (middle + middle.T) / 2            # symmetric in exact arithmetic; make it so
    eigenvalues = np.clip(np.linalg.eigvalsh(middle), 0.0, None)
    trace_of_root = float(np.sum(np.sqrt(eigenvalues)))
    difference = mean1 - mean2
    distance = (float(difference @ difference) + float(np.trace(covariance1))
                + float(np.trace(covariance2)) - 2.0 * trace_of_root)
    return max(distance, 0.0)  # it is a squared distance; round-off may dip below zero


def frechet_distance(features1, features2) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N1, D) and (N2, D)."""
    features1 = np.asarray(features1)
    features2 = np.asarray(features2)
    if features1.ndim != 2 or features2.ndim != 2 or features1.shape[1] != features2.shape[1]:
        raise ValueError(f"features: expected two arrays (N1, D) and (N2, D) with the same D, "
                         f"got {features1.shape} and {features2.shape}")
    return frechet_distance_from_statistics(*gaussian_statistics(features1),
                                            *gaussian_statistics(features2))
