"""Ready-made models: the LeNet-style digit classifier (also the frozen feature extractor
of the GAN quality metric in ``minicnn.metrics``)."""
from .classifier import (DEFAULTS, ClassifierResult, DigitClassifier, accuracy,
                         load_classifier, predict, save_classifier, train_classifier)

__all__ = ["DigitClassifier", "train_classifier", "ClassifierResult", "DEFAULTS", "predict",
           "accuracy", "save_classifier", "load_classifier"]
