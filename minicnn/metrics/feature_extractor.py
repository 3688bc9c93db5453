"""The eyes of the quality metric: the frozen minicnn digit classifier.

FID uses Inception-v3 trained on ImageNet; for 28x28 digits we use our own small digit
classifier (``minicnn/models/classifier.py``), trained deterministically on the embedded
MNIST-5k training split. Its penultimate layer (``model.features(x)``) gives the features
for the Fréchet distance and precision/recall; its softmax gives p(y|x) for the class
histogram and the classifier score.

Weights: trained once (about a minute on a CPU), then cached in the cache folder
(``$MINICNN_DATA`` or ``~/.cache/minicnn``) as ``metrics/<name>.ckpt`` with a SHA-256 of
the file beside it; a file whose checksum does not match is retrained rather than trusted.
Because training is deterministic, two machines get the same classifier, and the numbers
of different runs are comparable. The classifier is *frozen*: eval mode (BatchNorm uses its
running statistics, dropout is off), no gradients.

Inputs are GAN images in [-1, 1]; they are mapped to the range the classifier was trained
on (``input_range``) before the forward pass.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .. import autograd

__all__ = ["FeatureExtractor", "default_extractor", "load_classifier", "classifier_path",
           "extract_features"]

CLASSIFIER_NAME = "digit_classifier_mnist5k_v2"  # v2: the 98% recipe (dropout 0.25, 1-pixel shifts)


def classifier_path() -> Path:
    """Where the cached classifier weights live."""
    from ..data.download import cache_dir
    return cache_dir() / "metrics" / f"{CLASSIFIER_NAME}.ckpt"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _classifier_module():
    try:
        from ..models import classifier
    except ModuleNotFoundError as error:  # pragma: no cover - while the model is missing
        raise RuntimeError("the quality metric needs minicnn/models/classifier.py (the "
                           "digit classifier); pass a FeatureExtractor of your own") from error
    return classifier


def load_classifier(path=None, train_if_missing: bool = True, verbose: bool = True):
    """The frozen digit classifier: from the cache when its checksum is right, else trained
    deterministically with ``train_classifier``'s defaults (seed 0) and cached.
    Returns the model in eval mode with gradients off."""
    classifier = _classifier_module()
    path = Path(path) if path is not None else classifier_path()
    checksum_path = path.with_suffix(path.suffix + ".sha256")
    model = None
    if path.exists() and checksum_path.exists():
        if checksum_path.read_text().split()[0] == _sha256(path):
            model = classifier.load_classifier(path)
        elif verbose:
            print(f"quality metric: {path} does not match its checksum; retraining")
    if model is None:
        if not train_if_missing:
            raise FileNotFoundError(f"no cached digit classifier at {path}")
        if verbose:
            print("quality metric: training the digit classifier once (deterministic, seed 0; "
                  f"a few minutes), caching it at {path}")
        result = classifier.train_classifier(seed=0)
        if verbose:
            print(f"quality metric: classifier test accuracy {result.test_accuracy:.4f}")
        path.parent.mkdir(parents=True, exist_ok=True)
        classifier.save_classifier(result.model, path)        # atomic (temp file + rename)
        checksum_path.write_text(f"{_sha256(path)}  {path.name}\n")
        model = result.model
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad = False
    return model


class FeatureExtractor:
    """Penultimate-layer features and class probabilities of a frozen classifier.

    Args:
        model: a module with ``features(x) -> (N, D)`` and ``forward(x) -> logits (N, K)``.
        input_range: the pixel range the model was trained on; images arrive in
            ``image_range`` (GANs: [-1, 1]) and are rescaled to it.
        batch_size: images per forward pass (memory, not results, depends on it).
    """

    def __init__(self, model, input_range=(0.0, 1.0), image_range=(-1.0, 1.0),
                 batch_size: int = 250):
        self.model = model
        self.input_range = tuple(input_range)
        self.image_range = tuple(image_range)
        self.batch_size = batch_size

    def _prepare(self, images) -> np.ndarray:
        if hasattr(images, "numpy"):
            images = images.numpy()
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
            raise ValueError(f"images: expected (N, 1, 28, 28), got {images.shape}")
        (low_in, high_in), (low, high) = self.image_range, self.input_range
        unit = (images - low_in) / (high_in - low_in)
        return (low + (high - low) * unit).astype(np.float32)

    def extract(self, images) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, D) float64, probabilities (N, K) float64), in batches, no graph."""
        import minicnn as mc

        images = self._prepare(images)
        features, probabilities = [], []
        was_training = self.model.training
        self.model.eval()
        try:
            with autograd.no_grad():
                for start in range(0, len(images), self.batch_size):
                    batch = mc.tensor(images[start:start + self.batch_size])
                    features.append(self.model.features(batch).numpy().astype(np.float64))
                    logits = self.model(batch).numpy().astype(np.float64)
                    logits -= logits.max(axis=1, keepdims=True)   # stable softmax
                    exp = np.exp(logits)
                    probabilities.append(exp / exp.sum(axis=1, keepdims=True))
        finally:
            self.model.train(was_training)
        return np.concatenate(features), np.concatenate(probabilities)

    def extract_features(self, images) -> np.ndarray:
        """Penultimate-layer features (N, D), float64."""
        return self.extract(images)[0]


_DEFAULT = None


def default_extractor() -> FeatureExtractor:
    """The frozen, cached digit classifier wrapped as a ``FeatureExtractor`` (one per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        classifier = _classifier_module()
        input_range = getattr(classifier, "INPUT_RANGE", (0.0, 1.0))
        _DEFAULT = FeatureExtractor(load_classifier(), input_range=input_range)
    return _DEFAULT


def extract_features(images) -> np.ndarray:
    """Features (N, D) of images (N, 1, 28, 28) in [-1, 1] from the default classifier."""
    return default_extractor().extract_features(images)
