r"""GAN quality on digits: the figures ``minicnn eval`` prints, and the functions behind them.

Every figure looks at generated images through the eyes of the frozen minicnn digit
classifier (``feature_extractor.py``): its penultimate-layer *features* and its class
*probabilities* p(y|x).

==========================  ====================================================================
Fréchet distance            Gaussians fitted to the features of N generated and N held-out real
                            images (``frechet.py``); lower is better
real-vs-real floor          the same distance between two disjoint sets of N real images: what a
                            perfect generator would score at this N (small-N bias included)
precision / recall          k=3 manifolds in the same feature space (``precision_recall.py``):
                            fidelity / diversity
class KL                    :math:`\mathrm{KL}(h \,\|\, U) = \sum_c h_c \log(10 h_c)` of the
                            histogram h of predicted digits against uniform; 0 = every digit
                            equally often, log 10 = 2.30 = one digit only (mode collapse)
legible share               the fraction of images the classifier labels with confidence
                            :math:`\max_y p(y|x) \ge 0.9` (a reader-legibility proxy), beside
                            the real digits' share
classifier score            the Inception-Score analogue
                            :math:`\exp \mathbb{E}_x[\mathrm{KL}(p(y|x) \,\|\, p(y))]`,
                            :math:`p(y) = \mathbb{E}_x p(y|x)`: between 1 and 10; high when each
                            image is confidently one digit *and* all digits appear
==========================  ====================================================================

Quick use (``recipe`` and ``parts`` from ``minicnn.gan``)::

    from minicnn.metrics import evaluate_generator, format_results
    results = evaluate_generator(lambda n, rng: recipe.sample(parts, n, rng), n=500, seed=0)
    print(format_results(results))
"""
from __future__ import annotations

import math

import numpy as np

from .frechet import frechet_distance
from .precision_recall import precision_recall

__all__ = ["class_histogram", "kl_to_uniform", "classifier_score", "confident_share",
           "evaluate_generator", "reference_split", "format_results", "LEGIBLE_CONFIDENCE"]

# a sample counts as legible when the frozen classifier's top probability reaches this
LEGIBLE_CONFIDENCE = 0.9


def _check_probabilities(probabilities) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities: expected (N, K), got shape {probabilities.shape}")
    if np.any(probabilities < 0) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("probabilities: every row must be non-negative and sum to 1 "
                         "(pass softmax outputs, not logits)")
    return probabilities


def class_histogram(probabilities) -> np.ndarray:
    """Fraction of samples whose most likely class is c, for each class c (K,)."""
    probabilities = _check_probabilities(probabilities)
    predicted = probabilities.argmax(axis=1)
    counts = np.bincount(predicted, minlength=probabilities.shape[1])
    return counts / counts.sum()


def kl_to_uniform(histogram) -> float:
    r""":math:`\mathrm{KL}(h\,\|\,U_K) = \sum_c h_c \log(K h_c)`, with :math:`0 \log 0 = 0`."""
    histogram = np.asarray(histogram, dtype=np.float64)
    if histogram.ndim != 1 or np.any(histogram < 0) or not math.isclose(histogram.sum(), 1.0,
                                                                       abs_tol=1e-9):
        raise ValueError("histogram: expected a 1-D array of non-negative fractions summing to 1")
    present = histogram > 0
    return float(np.sum(histogram[present] * np.log(histogram.size * histogram[present])))


def confident_share(probabilities, confidence: float = LEGIBLE_CONFIDENCE) -> float:
    r"""Fraction of samples whose most likely class has probability >= ``confidence``:
    :math:`\frac{1}{N} \#\{x : \max_y p(y|x) \ge c\}`. With the frozen digit classifier
    and c = 0.9 it is the legibility proxy of ``minicnn eval``: MNIST-5k's real test
    digits score about 0.92 (its training digits 0.95), an untrained generator's noise 0."""
    probabilities = _check_probabilities(probabilities)
    if not 0.0 < confidence <= 1.0:
        raise ValueError(f"confidence: expected a number in (0, 1], got {confidence!r}")
    return float(np.mean(probabilities.max(axis=1) >= confidence))


def classifier_score(probabilities, splits: int = 1) -> tuple[float, float]:
    r"""Inception-Score analogue :math:`\exp\,\mathbb{E}_x \mathrm{KL}(p(y|x)\,\|\,p(y))`.

    :math:`p(y)` is the mean of :math:`p(y|x)` over the (split of the) samples. With
    ``splits > 1`` the samples are cut into that many equal parts, as Salimans et al. do,
    and the mean and standard deviation over the parts are returned; otherwise (score, 0.0).
    Equivalent form: :math:`\exp(H[p(y)] - \mathbb{E}_x H[p(y|x)])`: confident per-image
    predictions (low conditional entropy) and varied classes (high marginal entropy).
    """
    probabilities = _check_probabilities(probabilities)
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        # xlogy-style: terms with p(y|x) = 0 contribute 0
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)
        scores.append(math.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def reference_split(real_images=None, n: int = 500, seed: int = 0):
    """Two disjoint sets of ``n`` held-out real images: (reference, comparison).

    Default: the 1,000 test images of the embedded MNIST-5k (never seen by the GAN nor by
    the classifier), shuffled with ``seed``, so ``n`` is at most 500. Pass ``real_images``
    (a larger held-out set, (M, 1, 28, 28) in [-1, 1]) for bigger N.
    """
    if real_images is None:
        from ..data import load_mnist5k
        real_images = load_mnist5k(np.float32, (-1.0, 1.0)).test_images
    real_images = np.asarray(real_images)
    if 2 * n > len(real_images):
        raise ValueError(f"n: the real-vs-real floor needs 2 n = {2 * n} held-out real images, "
                         f"only {len(real_images)} given; use n <= {len(real_images) // 2}")
    order = np.random.default_rng(seed).permutation(len(real_images))
    return real_images[order[:n]], real_images[order[n:2 * n]]


def _as_array(images) -> np.ndarray:
    if hasattr(images, "numpy"):
        images = images.numpy()
    return np.asarray(images, dtype=np.float32)


def evaluate_generator(sample_fn, n: int = 500, seed: int = 0, *, extractor=None,
                       real_images=None, k: int = 3) -> dict:
    """All quality figures of a generator, at a fixed N, against held-out real digits.

    Args:
        sample_fn: ``sample_fn(count, rng) -> images`` (count, 1, 28, 28) in [-1, 1], a
            Tensor or an array; ``rng`` is a ``numpy.random.Generator`` seeded with
            ``seed``, so the evaluation is repeatable. ``recipe.sample(parts, count, rng)``
            fits.
        n: number of generated images, and of real images on each side of the floor.
        extractor: a ``FeatureExtractor`` (default: the cached frozen digit classifier).
        real_images: held-out real images in [-1, 1] (default: MNIST-5k's test split).
        k: neighbourhood size of precision/recall (3, as in the paper).

    Returns:
        dict with ``n``, ``frechet_distance``, ``frechet_floor`` (real vs real, same N),
        ``precision``, ``recall``, ``floor_precision``, ``floor_recall``, ``class_kl``,
        ``class_histogram`` (list of 10 fractions), ``real_class_kl``, ``classifier_score``,
        ``real_classifier_score`` (of the real comparison set: the score to aim for),
        ``legible_share`` and ``real_legible_share`` (``confident_share`` at
        ``LEGIBLE_CONFIDENCE``), ``legible_confidence`` (that threshold).
    """
    if extractor is None:
        from .feature_extractor import default_extractor
        extractor = default_extractor()
    reference, comparison = reference_split(real_images, n, seed)
    generated = _as_array(sample_fn(n, np.random.default_rng(seed)))
    if generated.shape != reference.shape:
        raise ValueError(f"sample_fn: expected images of shape {reference.shape}, "
                         f"got {generated.shape}")
    if not np.all(np.isfinite(generated)):
        raise ValueError("sample_fn: the generated images contain NaN or infinite values")

    reference_features, _ = extractor.extract(reference)
    comparison_features, comparison_probabilities = extractor.extract(comparison)
    generated_features, generated_probabilities = extractor.extract(generated)

    precision, recall = precision_recall(reference_features, generated_features, k)
    floor_precision, floor_recall = precision_recall(reference_features, comparison_features, k)
    histogram = class_histogram(generated_probabilities)
    return {
        "n": n,
        "frechet_distance": frechet_distance(generated_features, reference_features),
        "frechet_floor": frechet_distance(comparison_features, reference_features),
        "precision": precision,
        "recall": recall,
        "floor_precision": floor_precision,
        "floor_recall": floor_recall,
        "class_kl": kl_to_uniform(histogram),
        "real_class_kl": kl_to_uniform(class_histogram(comparison_probabilities)),
        "class_histogram": histogram.tolist(),
        "classifier_score": classifier_score(generated_probabilities)[0],
        "real_classifier_score": classifier_score(comparison_probabilities)[0],
        "legible_share": confident_share(generated_probabilities),
        "real_legible_share": confident_share(comparison_probabilities),
        "legible_confidence": LEGIBLE_CONFIDENCE,
    }


def format_results(results: dict) -> str:
    """The figures of ``evaluate_generator`` as a small text table (generated | real)."""
    rows = [
        ("Fréchet distance", results["frechet_distance"], results["frechet_floor"]),
        ("precision (k=3)", results["precision"], results["floor_precision"]),
        ("recall (k=3)", results["recall"], results["floor_recall"]),
        ("classifier score", results["classifier_score"], results["real_classifier_score"]),
        ("class KL to uniform", results["class_kl"], results["real_class_kl"]),
    ]
    if "legible_share" in results:   # results saved before the share existed lack it
        confidence = results.get("legible_confidence", LEGIBLE_CONFIDENCE)
        rows.append((f"legible (p >= {confidence:g})", results["legible_share"],
                     results["real_legible_share"]))
    lines = [f"quality at N = {results['n']}        generated   real (floor)"]
    for name, value, floor in rows:
        floor_text = f"{floor:12.4f}" if floor is not None else " " * 12
        lines.append(f"  {name:<22}{value:11.4f} {floor_text}")
    histogram = " ".join(f"{c}:{100 * f:.0f}%" for c, f in enumerate(results["class_histogram"]))
    lines.append(f"  digits drawn: {histogram}")
    return "\n".join(lines)
