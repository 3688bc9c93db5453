r"""A check of GAN samples that can fail: legible, close to real digits, and varied.

A lesson that draws GAN samples must be able to tell digits from noise and from a
collapsed grid (64 copies of one picture). Finite losses cannot: a generator that draws
one noise pattern has finite losses. So every GAN lesson hands its generator to
``check_samples``, which looks at ``n`` samples through the frozen digit classifier
(``evaluate_generator``: the same figures as ``minicnn eval``) and compares four figures
with the ``SampleThresholds`` it is given:

==================  =====================================================================
legible share       fraction of samples labelled with confidence >= 0.9 (noise and blobs
                    are not; real test digits are, almost all)
Fréchet distance    at a fixed N, on the classifier's features (its real-vs-real floor is
                    printed beside it)
digits drawn        how many of the 10 classes hold at least ``class_share`` of the
                    samples (a collapsed generator draws one)
pixel spread        mean L2 distance between two samples, divided by the same for two
                    real digits: 0 when every sample is the same picture, about 1 for a
                    generator as varied as the data
==================  =====================================================================

``FULL`` holds the thresholds of the issue (lesson 11: at least 90% legible); a lesson's
``--fast`` mode trains for seconds and draws noise, so it uses ``FAST``, which only rules
out a literally collapsed grid and non-finite figures but still computes and prints all of
them. ``tests/test_gan_checks.py`` shows ``FULL`` failing on an untrained generator and on
a collapsed one, and passing on real digits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .quality import evaluate_generator

__all__ = ["SampleThresholds", "SampleReport", "FULL", "FAST", "check_samples",
           "pixel_spread", "classes_drawn", "generator_sampler"]


@dataclass(frozen=True)
class SampleThresholds:
    """What samples must reach to pass. ``max_frechet`` is a bound at N = ``n``."""

    min_legible: float = 0.9
    max_frechet: float = 50.0
    min_classes: int = 8
    min_spread: float = 0.5
    class_share: float = 0.02
    n: int = 500

    def but(self, **changes) -> "SampleThresholds":
        """A copy with some thresholds changed (``FULL.but(max_frechet=100)``)."""
        return replace(self, **changes)


FULL = SampleThresholds()
FAST = SampleThresholds(min_legible=0.0, max_frechet=math.inf, min_classes=1, min_spread=1e-6,
                        n=100)


@dataclass
class SampleReport:
    """The figures (``results``: ``evaluate_generator``'s dict plus ``classes_drawn``,
    ``pixel_spread``), the thresholds and each check as (passed, message)."""

    results: dict
    thresholds: SampleThresholds
    checks: list

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.checks)

    def failures(self) -> list[str]:
        return [message for ok, message in self.checks if not ok]


def pixel_spread(images, seed: int = 0) -> float:
    """Mean L2 distance between the two images of disjoint random pairs, (N, ...) -> float."""
    images = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if len(images) < 2:
        raise ValueError(f"pixel_spread: expected at least 2 images, got {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    first, second = images[order[:half]], images[order[half:2 * half]]
    return float(np.sqrt(((first - second) ** 2).sum(axis=1)).mean())


def classes_drawn(histogram, share: float = 0.02) -> int:
    """How many classes hold at least ``share`` of the samples (by the classifier's argmax)."""
    return int(np.sum(np.asarray(histogram, dtype=np.float64) >= share))


def generator_sampler(recipe, parts, batch: int = 250):
    """``sample_fn(count, rng)`` of a trained recipe for ``evaluate_generator``: float32
    (count, 1, 28, 28) in [-1, 1]; StyleGAN-lite's 32x32 (digits padded by 2) cropped back."""
    def sample_fn(count, rng):
        chunks = [recipe.sample(parts, min(batch, count - start), rng).numpy()
                  for start in range(0, count, batch)]
        images = np.concatenate(chunks).astype(np.float32)
        if images.shape[-1] == 32:
            images = images[..., 2:30, 2:30]
        if images.shape[-2:] != (28, 28):
            raise ValueError(f"generator_sampler: expected 28x28 (or padded 32x32) images, "
                             f"got {images.shape[-2]}x{images.shape[-1]}")
        return images
    return sample_fn


def check_samples(sample_fn, thresholds: SampleThresholds = FULL, seed: int = 0, *,
                  extractor=None, real_images=None) -> SampleReport:
    """Judge ``thresholds.n`` samples of ``sample_fn(count, rng)`` (images (count, 1, 28, 28)
    in [-1, 1]) against ``thresholds``; see the module docstring for the four figures."""
    captured = {}

    def capturing(count, rng):
        images = sample_fn(count, rng)
        images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
        captured["images"] = images
        return images

    results = dict(evaluate_generator(capturing, n=thresholds.n, seed=seed, extractor=extractor,
                                      real_images=real_images))
    from .quality import reference_split
    _, comparison = reference_split(real_images, thresholds.n, seed)
    results["pixel_spread"] = pixel_spread(captured["images"], seed) / pixel_spread(comparison,
                                                                                    seed)
    results["classes_drawn"] = classes_drawn(results["class_histogram"], thresholds.class_share)
    t = thresholds
    figures = [results[k] for k in ("legible_share", "frechet_distance", "pixel_spread")]
    checks = [
        (all(math.isfinite(v) for v in figures), "every figure is finite"),
        (results["legible_share"] >= t.min_legible,
         f"legible: {100 * results['legible_share']:.0f}% of {t.n} samples labelled with "
         f"confidence >= {results['legible_confidence']:g} (real digits "
         f"{100 * results['real_legible_share']:.0f}%; needed >= {100 * t.min_legible:.0f}%)"),
        (results["frechet_distance"] <= t.max_frechet,
         f"Fréchet distance {results['frechet_distance']:.1f} at N = {t.n} (floor "
         f"{results['frechet_floor']:.1f}; needed <= {t.max_frechet:g})"),
        (results["classes_drawn"] >= t.min_classes,
         f"varied digits: {results['classes_drawn']} of 10 classes hold >= "
         f"{100 * t.class_share:.0f}% of the samples (needed >= {t.min_classes})"),
        (results["pixel_spread"] >= t.min_spread,
         f"not collapsed: samples differ from each other {results['pixel_spread']:.2f}x as "
         f"much as real digits do (needed >= {t.min_spread:g})"),
    ]
    return SampleReport(results, thresholds, checks)
