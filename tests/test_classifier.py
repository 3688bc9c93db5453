"""The digit classifier: shapes, features, determinism, saving, and that it really learns."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.models import (DigitClassifier, load_classifier, predict, save_classifier,
                            train_classifier)

SMALL = dict(limit_train=96, limit_test=50, channels=(4, 8), hidden=16, batch_size=32)


def test_shapes_and_features():
    model = DigitClassifier()
    x = mc.randn(3, 1, 28, 28)
    assert model(x).shape == (3, 10)
    features = model.features(x)
    assert features.shape == (3, 128)
    assert (features.numpy() >= 0).all()  # after the ReLU
    model.eval()
    np.testing.assert_allclose(model(x).numpy(), model.fc2(features).numpy(), rtol=1e-6)
    assert sum(p.numel() for p in model.parameters()) == 117_066
    assert list(model.state_dict()) == ["conv1.weight", "conv1.bias", "conv2.weight",
                                        "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight",
                                        "fc2.bias"]  # PyTorch's names for the same layers


def test_bad_input_shape_is_named():
    with pytest.raises(ValueError, match=r"expected shape \(N, 1, 28, 28\), got \(2, 1, 32, 32\)"):
        DigitClassifier()(mc.randn(2, 1, 32, 32))


def test_training_is_deterministic_for_a_seed():
    first = train_classifier(epochs=1, seed=3, **SMALL)
    second = train_classifier(epochs=1, seed=3, **SMALL)
    other = train_classifier(epochs=1, seed=4, **SMALL)
    assert first.run.history == second.run.history
    for name, value in first.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[name].numpy(), value.numpy())
    assert other.run.history["loss"] != first.run.history["loss"]


def test_save_and_load_classifier(tmp_path):
    result = train_classifier(epochs=1, out_dir=tmp_path, **SMALL)
    images = result.test_images
    for path in (result.files["model"], tmp_path / "checkpoint.ckpt",
                 save_classifier(result.model, tmp_path / "again.ckpt")):
        model = load_classifier(path)
        assert not model.training
        np.testing.assert_array_equal(predict(model, images), result.test_predictions)
    mc.save({"weights": np.zeros(2)}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="not a digit classifier"):
        load_classifier(tmp_path / "other.ckpt")


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="epochs: expected a positive int, got 0"):
        train_classifier(epochs=0)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['widht'\]"):
        train_classifier(widht=3)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        train_classifier(resume=True)


def test_one_epoch_learns():
    """Learning test, short: one epoch over the 4,000 training digits (63 steps; about 10 s
    on an idle 2-core machine) already gives >= 85% on the 1,000 test digits."""
    result = train_classifier(epochs=1)
    assert result.test_accuracy >= 0.85, result.test_accuracy
    losses = result.run.history["loss"]["value"]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


@pytest.mark.slow
def test_default_recipe_reaches_97_percent():
    """The promise of ``minicnn train classifier``: >= 97% test accuracy with the defaults
    (8 epochs, seed 0: 0.9800; about 70 s on a quiet 2-core machine)."""
    result = train_classifier()
    assert result.test_accuracy >= 0.97, result.test_accuracy


def test_options_reach_the_config():
    result = train_classifier(epochs=1, blas_threads=None, dropout=0.1, **SMALL)
    config = result.run.config
    assert config["blas_threads"] is None and config["dropout"] == 0.1
    assert config["channels"] == (4, 8) and config["epochs"] == 1
    assert result.model.dropout.p == 0.1


@pytest.mark.parametrize("damage", [
    lambda s: s["config"].pop("hidden"),                       # a missing setting
    lambda s: s["config"].update(channels="eight"),            # a setting of the wrong type
    lambda s: s["config"].update(hidden=7),                    # weights of another shape
    lambda s: s.pop("state_dict"),                             # no weights at all
])
def test_load_classifier_names_the_file_of_a_damaged_classifier(tmp_path, damage):
    model = DigitClassifier((4, 8), 16, 0.0)
    state = {"format": "minicnn-digit-classifier", "config": dict(model.config),
             "state_dict": model.state_dict()}
    damage(state)
    path = tmp_path / "edited.ckpt"
    mc.save(state, path)
    with pytest.raises(ValueError, match="edited.ckpt: its classifier settings"):
        load_classifier(path)
