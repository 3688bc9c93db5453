"""Quality metrics: Fréchet distance, precision/recall, class KL, classifier score, and the
``evaluate_generator`` wiring (on a cheap stand-in feature extractor)."""
import math

import numpy as np
import pytest
import scipy.linalg

from minicnn.metrics import (class_histogram, classifier_score, evaluate_generator,
                             format_results, frechet_distance, frechet_distance_from_statistics,
                             kl_to_uniform, precision_recall)
from minicnn.metrics.frechet import gaussian_statistics, symmetric_sqrt


def scipy_frechet(features1, features2):
    """The textbook formula with scipy's general matrix square root of Sigma1 Sigma2."""
    mean1, cov1 = gaussian_statistics(features1)
    mean2, cov2 = gaussian_statistics(features2)
    root = scipy.linalg.sqrtm(cov1 @ cov2)
    return float(np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2)
                 - 2 * np.trace(root).real)


def random_covariance(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


# ----------------------------------------------------------------------------- Fréchet
def test_frechet_is_zero_for_identical_sets():
    features = np.random.default_rng(1).standard_normal((200, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)


def test_frechet_closed_form_for_diagonal_gaussians():
    # Diagonal (commuting) covariances: d^2 = |mu1 - mu2|^2 + sum_i (s1_i - s2_i)^2
    mean1, mean2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    std1, std2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.5, 0.5])
    expected = np.sum((mean1 - mean2) ** 2) + np.sum((std1 - std2) ** 2)
    got = frechet_distance_from_statistics(mean1, np.diag(std1 ** 2), mean2, np.diag(std2 ** 2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_closed_form_for_scaled_covariance():
    # Sigma2 = c^2 Sigma1: (Sigma1 Sigma2)^(1/2) = c Sigma1, so d^2 = (1 - c)^2 Tr Sigma1
    rng = np.random.default_rng(2)
    cov = random_covariance(rng, 6)
    mean = rng.standard_normal(6)
    got = frechet_distance_from_statistics(mean, cov, mean + 2.0, 9.0 * cov)
    assert got == pytest.approx(6 * 4.0 + 4.0 * np.trace(cov), rel=1e-10)


def test_frechet_non_commuting_matches_scipy_sqrtm_on_statistics():
    rng = np.random.default_rng(3)
    cov1, cov2 = random_covariance(rng, 10), random_covariance(rng, 10)
    mean1, mean2 = rng.standard_normal(10), rng.standard_normal(10)
    expected = (np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2)
                - 2 * np.trace(scipy.linalg.sqrtm(cov1 @ cov2)).real)
    got = frechet_distance_from_statistics(mean1, cov1, mean2, cov2)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("samples, dim", [(300, 12), (20, 40)])  # second: rank-deficient
def test_frechet_matches_scipy_on_sample_sets_and_is_symmetric(samples, dim):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((samples, dim)) @ rng.standard_normal((dim, dim))
    b = rng.standard_normal((samples, dim)) * 1.5 + 0.3
    forward, backward = frechet_distance(a, b), frechet_distance(b, a)
    assert np.isfinite(forward)
    assert forward == pytest.approx(backward, rel=1e-9)
    assert forward == pytest.approx(scipy_frechet(a, b), rel=1e-6)


def test_frechet_shift_of_one_set_adds_squared_shift():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((100, 5)), rng.standard_normal((100, 5))
    shift = np.array([1.0, -2.0, 0.0, 0.5, 3.0])
    # |mu_a - (mu_b + s)|^2 = |mu_a - mu_b|^2 + 2 (mu_b - mu_a).s + |s|^2; covariances unchanged
    expected = np.sum(shift ** 2) + 2 * (b.mean(0) - a.mean(0)) @ shift
    assert frechet_distance(a, b + shift) - frechet_distance(a, b) == pytest.approx(
        expected, rel=1e-9)


def test_frechet_from_samples_approaches_the_population_value():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((20000, 3))
    b = rng.standard_normal((20000, 3)) * 2.0 + 1.0
    assert frechet_distance(a, b) == pytest.approx(3 * 1.0 + 3 * (2 - 1) ** 2, rel=0.05)


def test_symmetric_sqrt_squares_back():
    cov = random_covariance(np.random.default_rng(7), 7)
    root = symmetric_sqrt(cov)
    np.testing.assert_allclose(root @ root, cov, rtol=1e-10, atol=1e-12)


def test_frechet_rejects_bad_input():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((4, 2), np.nan), np.zeros((4, 2)))


# ------------------------------------------------------------------- precision / recall
def test_precision_recall_identical_sets_are_perfect():
    features = np.random.default_rng(8).standard_normal((150, 4))
    assert precision_recall(features, features) == (1.0, 1.0)


def test_precision_recall_far_away_samples_score_zero():
    rng = np.random.default_rng(9)
    real = rng.standard_normal((100, 3))
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_mode_collapse_keeps_precision_and_loses_recall():
    rng = np.random.default_rng(10)
    centres = np.eye(5) * 20.0
    real = np.concatenate([c + rng.standard_normal((60, 5)) for c in centres])
    collapsed = centres[0] + 0.5 * rng.standard_normal((300, 5))   # one mode of five, sharp
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9
    assert 0.0 < recall <= 0.2      # only real samples of the one mode can be covered


def test_precision_recall_by_hand_in_one_dimension():
    # real 0, 1, 2, 3, 10 with k = 1: radii 1, 1, 1, 1, 7 (10's nearest is 3)
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    # generated 0, 0.5, 5.5, 20, 30: radii 0.5, 0.5, 5, 10, 10
    generated = np.array([[0.0], [0.5], [5.5], [20.0], [30.0]])
    precision, recall = precision_recall(real, generated, k=1)
    # precision: 0 in (ball of 0), 0.5 in, 5.5 in (ball of 10, radius 7), 20 and 30 out
    assert precision == pytest.approx(3 / 5)
    # recall: 0, 1 (ball of 0.5 has radius 0.5: |1-0.5| = 0.5 in), 2 out? |2-5.5| = 3.5 <= 5
    # in; 3 in (ball of 5.5); 10 in (ball of 5.5, radius 5, |10-5.5| = 4.5; and 20, radius 10)
    assert recall == pytest.approx(5 / 5)


def test_precision_recall_rejects_bad_k():
    with pytest.raises(ValueError, match="k"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=3)


# --------------------------------------------------------- class KL and classifier score
def test_kl_to_uniform():
    assert kl_to_uniform(np.full(10, 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(np.eye(10)[3]) == pytest.approx(math.log(10))
    half = np.array([0.5, 0.5] + [0.0] * 8)
    assert kl_to_uniform(half) == pytest.approx(math.log(5))
    with pytest.raises(ValueError, match="histogram"):
        kl_to_uniform(np.array([0.5, 0.2]))


def test_class_histogram_counts_argmax():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1],
                              [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(class_histogram(probabilities), [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="logits"):
        class_histogram(np.array([[2.0, -1.0]]))


def test_classifier_score_limits_and_hand_value():
    one_hot = np.eye(10)[np.arange(100) % 10]        # confident and balanced: score = K
    assert classifier_score(one_hot)[0] == pytest.approx(10.0)
    same = np.tile(np.array([0.3, 0.7]), (50, 1))   # every image alike: score = 1
    assert classifier_score(same)[0] == pytest.approx(1.0)
    collapsed = np.eye(10)[np.zeros(40, dtype=int)]  # confident but one digit: score = 1
    assert classifier_score(collapsed)[0] == pytest.approx(1.0)
    # two images, p = (0.9, 0.1) and (0.1, 0.9): marginal (0.5, 0.5),
    # KL = 0.9 log 1.8 + 0.1 log 0.2 for each
    pair = np.array([[0.9, 0.1], [0.1, 0.9]])
    expected = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert classifier_score(pair)[0] == pytest.approx(expected, rel=1e-12)
    mean, spread = classifier_score(np.concatenate([one_hot, one_hot]), splits=2)
    assert (mean, spread) == (pytest.approx(10.0), pytest.approx(0.0, abs=1e-12))


# ------------------------------------------------------ evaluate_generator (stand-in eyes)
class PoolingExtractor:
    """Cheap stand-in for the classifier: 7x7 average pooling -> 16 features; a fixed
    random linear map of them -> 10 class probabilities."""

    def __init__(self):
        self.weights = np.random.default_rng(11).standard_normal((16, 10)) * 3

    def extract(self, images):
        images = np.asarray(images, np.float64)
        features = images.reshape(len(images), 4, 7, 4, 7).mean(axis=(2, 4)).reshape(-1, 16)
        logits = features @ self.weights
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return features, probabilities


@pytest.fixture(scope="module")
def real_digits():
    from minicnn.data import load_mnist5k
    split = load_mnist5k(np.float32, (-1.0, 1.0))
    return split.train_images, split.test_images


def test_evaluate_generator_real_images_score_near_the_floor(real_digits):
    train, test = real_digits
    draws = []

    def real_sampler(count, rng):
        draws.append(rng.integers(1 << 30))
        return train[rng.choice(len(train), count, replace=False)]

    results = evaluate_generator(real_sampler, n=200, seed=0, extractor=PoolingExtractor(),
                                 real_images=test)
    again = evaluate_generator(real_sampler, n=200, seed=0, extractor=PoolingExtractor(),
                               real_images=test)
    assert draws[0] == draws[1] and results == again                 # seeded: repeatable
    assert results["frechet_distance"] < 3 * results["frechet_floor"]
    assert results["precision"] > 0.6 and results["recall"] > 0.6
    assert abs(results["class_kl"] - results["real_class_kl"]) < 0.2
    text = format_results(results)
    assert "Fréchet distance" in text and "N = 200" in text


def test_evaluate_generator_sees_mode_collapse(real_digits):
    train, test = real_digits
    one_image = train[:1]

    def collapsed(count, rng):
        return np.repeat(one_image, count, axis=0) + 0.01 * rng.standard_normal(
            (count, 1, 28, 28)).astype(np.float32)

    results = evaluate_generator(collapsed, n=200, seed=0, extractor=PoolingExtractor(),
                                 real_images=test)
    assert results["frechet_distance"] > 10 * results["frechet_floor"]
    assert results["recall"] < 0.05
    assert results["class_kl"] == pytest.approx(math.log(10), rel=1e-6)
    assert results["classifier_score"] < 1.1


def test_evaluate_generator_checks_its_inputs(real_digits):
    _, test = real_digits
    with pytest.raises(ValueError, match="2 n"):
        evaluate_generator(lambda count, rng: None, n=600, extractor=PoolingExtractor(),
                           real_images=test)
    with pytest.raises(ValueError, match="shape"):
        evaluate_generator(lambda count, rng: np.zeros((count, 1, 32, 32)), n=50,
                           extractor=PoolingExtractor(), real_images=test)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_generator(lambda count, rng: np.full((count, 1, 28, 28), np.nan), n=50,
                           extractor=PoolingExtractor(), real_images=test)


# ------------------------------------------------------------ the frozen classifier's eyes
def test_feature_extractor_batches_rescales_and_builds_no_graph():
    import minicnn as mc
    from minicnn.metrics import FeatureExtractor
    from minicnn.models.classifier import DigitClassifier

    mc.manual_seed(0)
    model = DigitClassifier()
    images = np.random.default_rng(12).uniform(-1, 1, (7, 1, 28, 28)).astype(np.float32)
    features, probabilities = FeatureExtractor(model, batch_size=3).extract(images)
    assert features.shape == (7, 128) and features.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    same, _ = FeatureExtractor(model, batch_size=100).extract(images)   # batching is invisible
    np.testing.assert_allclose(features, same, rtol=1e-5, atol=1e-6)
    # [-1, 1] images reach the model as [0, 1] pixels
    with mc.no_grad():
        direct = model.features(mc.tensor((images + 1) / 2)).numpy()
    np.testing.assert_allclose(features, direct, rtol=1e-5, atol=1e-6)
    assert model.training                                   # the mode is put back
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="28, 28"):
        FeatureExtractor(model).extract(np.zeros((2, 1, 32, 32)))


def test_classifier_cache_trains_once_and_retrains_a_corrupt_file(tmp_path, monkeypatch):
    from minicnn.metrics import feature_extractor
    from minicnn.models import classifier

    calls, real_training = [], classifier.train_classifier

    def quick_training(seed=0):   # the real one takes minutes; the caching logic is the same
        calls.append(seed)
        return real_training(seed=seed, epochs=1, limit_train=64, limit_test=32)

    monkeypatch.setattr(classifier, "train_classifier", quick_training)
    path = tmp_path / "classifier.ckpt"
    first = feature_extractor.load_classifier(path, verbose=False)
    assert calls == [0] and path.exists() and path.with_suffix(".ckpt.sha256").exists()
    second = feature_extractor.load_classifier(path, verbose=False)
    assert calls == [0]                                     # loaded from the cache
    assert not second.training and not any(p.requires_grad for p in second.parameters())
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    with open(path, "r+b") as stream:                      # flip a byte: checksum mismatch
        stream.seek(100)
        byte = stream.read(1)
        stream.seek(100)
        stream.write(bytes([byte[0] ^ 0xFF]))
    feature_extractor.load_classifier(path, verbose=False)
    assert calls == [0, 0]
    with pytest.raises(FileNotFoundError):
        feature_extractor.load_classifier(tmp_path / "missing.ckpt", train_if_missing=False)
