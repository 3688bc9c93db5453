r"""Improved precision and recall (Kynkäänniemi et al., 2019) in a feature space.

The Fréchet distance mixes two failures into one number: samples that look wrong
(low *fidelity*) and digits the generator never makes (low *diversity*, mode collapse).
Precision and recall separate them.

Approximate each set's manifold by a union of balls: around every feature vector
:math:`\phi`, a ball whose radius is the distance to its k-th nearest neighbour in the same
set (k = 3 in the paper; the point itself is not counted).

.. math::

    f(\phi, \Phi) = 1 \text{ if } \lVert\phi - \phi'\rVert_2 \le
                    \lVert\phi' - \mathrm{NN}_k(\phi', \Phi)\rVert_2
                    \text{ for some } \phi' \in \Phi, \text{ else } 0

    \text{precision} = \frac{1}{|\Phi_g|}\sum_{\phi_g\in\Phi_g} f(\phi_g, \Phi_r)
    \qquad
    \text{recall} = \frac{1}{|\Phi_r|}\sum_{\phi_r\in\Phi_r} f(\phi_r, \Phi_g)

Precision: the fraction of generated samples that land on the real manifold (do they look
real?). Recall: the fraction of real samples that land on the generated manifold (is every
kind of real digit produced?). A collapsed generator has high precision and low recall.

Distances are computed in float64, in blocks of rows so memory stays O(block x N).
Known limits: outliers in either set inflate their balls (the paper's reason to use a small
k); both sets should have the same size N for the numbers to be comparable across runs.
"""
from __future__ import annotations

import numpy as np

__all__ = ["pairwise_distances", "kth_neighbour_radii", "manifold_coverage",
           "precision_recall"]


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Euclidean distances (Na, Nb): :math:`\sqrt{\lVert a\rVert^2 - 2ab^\top + \lVert b
    \rVert^2}`, clipped at zero (round-off can make the squared form slightly negative)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    squared = (np.sum(a * a, axis=1)[:, None] - 2.0 * (a @ b.T) + np.sum(b * b, axis=1)[None, :])
    return np.sqrt(np.clip(squared, 0.0, None))


def kth_neighbour_radii(features: np.ndarray, k: int = 3, block: int = 1024) -> np.ndarray:
    """For each row, the distance to its k-th nearest *other* row of the same set (N,)."""
    features = np.asarray(features, np.float64)
    count = features.shape[0]
    if not 1 <= k < count:
        raise ValueError(f"k: expected 1 <= k < number of samples ({count}), got {k}")
    radii = np.empty(count)
    for start in range(0, count, block):
        distances = pairwise_distances(features[start:start + block], features)
        # Column 0 after sorting is the point itself (distance 0), so the k-th neighbour
        # is column k. np.partition finds it without sorting the whole row.
        radii[start:start + block] = np.partition(distances, k, axis=1)[:, k]
    return radii


def manifold_coverage(queries: np.ndarray, manifold: np.ndarray, radii: np.ndarray,
                      block: int = 1024) -> np.ndarray:
    """Boolean (Nq,): does each query fall inside at least one ball (manifold[j], radii[j])?"""
    queries = np.asarray(queries, np.float64)
    inside = np.empty(queries.shape[0], dtype=bool)
    for start in range(0, queries.shape[0], block):
        distances = pairwise_distances(queries[start:start + block], manifold)
        inside[start:start + block] = np.any(distances <= radii[None, :], axis=1)
    return inside


def precision_recall(real_features, generated_features, k: int = 3) -> tuple[float, float]:
    """Improved (precision, recall) of generated features (Ng, D) against real ones (Nr, D)."""
    real_features = np.asarray(real_features, np.float64)
    generated_features = np.asarray(generated_features, np.float64)
    if (real_features.ndim != 2 or generated_features.ndim != 2
            or real_features.shape[1] != generated_features.shape[1]):
        raise ValueError(f"features: expected (Nr, D) and (Ng, D) with the same D, got "
                         f"{real_features.shape} and {generated_features.shape}")
    real_radii = kth_neighbour_radii(real_features, k)
    generated_radii = kth_neighbour_radii(generated_features, k)
    precision = manifold_coverage(generated_features, real_features, real_radii).mean()
    recall = manifold_coverage(real_features, generated_features, generated_radii).mean()
    return float(precision), float(recall)
