"""GAN quality metrics on digits, seen through a frozen minicnn digit classifier.

* ``frechet``            Fréchet distance between Gaussians fitted to two feature sets
* ``precision_recall``   improved precision/recall (k-NN manifolds, Kynkäänniemi et al. 2019)
* ``quality``            class histogram, KL to uniform, classifier score, and
                         ``evaluate_generator`` (all figures, with the real-vs-real floor)
* ``sample_check``       ``check_samples``: a check of GAN samples that fails on noise or
                         a collapsed grid (legible share, Fréchet distance, diversity)
* ``feature_extractor``  the frozen classifier: cached weights, batched feature extraction
"""
from .feature_extractor import FeatureExtractor, default_extractor, extract_features
from .frechet import frechet_distance, frechet_distance_from_statistics, gaussian_statistics
from .precision_recall import precision_recall
from .quality import (class_histogram, classifier_score, confident_share, evaluate_generator,
                      format_results, kl_to_uniform)
from .sample_check import FAST, FULL, SampleThresholds, check_samples, generator_sampler

__all__ = ["frechet_distance", "frechet_distance_from_statistics", "gaussian_statistics",
           "precision_recall", "class_histogram", "confident_share", "kl_to_uniform",
           "classifier_score", "evaluate_generator", "format_results", "FeatureExtractor",
           "default_extractor", "extract_features", "check_samples", "SampleThresholds", "FULL", "FAST",
           "generator_sampler"]
