"""Training checkpoints: resume equals uninterrupted (bit for bit), the NaN guard keeps the
last good checkpoint, and the checkpoint round trip restores every piece of state."""
import os

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn, optim
from minicnn.data import DataLoader, TensorDataset
from minicnn.data.transforms import random_shift
from minicnn.training import NonFiniteLossError, TrainingRun, read_checkpoint

BATCHES_PER_EPOCH = 5  # 36 samples, batch 8: four full batches and one of 4


class TinyNet(nn.Module):
    """Conv, pool, dropout, linear: every kind of state a CNN run has (dropout draws from
    minicnn's global generator)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(3 * 4 * 4, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.dropout(x.reshape(x.shape[0], -1)))


def make_run(folder, seed=0):
    """Everything built from the seed, as a training script would."""
    mc.manual_seed(seed)
    data = np.random.default_rng(123)
    images = data.standard_normal((36, 1, 8, 8)).astype(np.float32)
    labels = data.integers(0, 4, 36)
    model = TinyNet()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=True, seed=seed)
    augmentation = np.random.default_rng(seed + 1)
    run = TrainingRun(models={"model": model}, optimizers={"optimizer": optimizer},
                      schedulers={"scheduler": scheduler}, loaders={"train": loader},
                      generators={"augmentation": augmentation}, config={"seed": seed},
                      checkpoint_path=os.path.join(folder, "checkpoint.ckpt"))
    return run


def train(run, epochs, stop_after=None, poison_at=None, save_every=None):
    """The documented loop. ``stop_after``: save and return after that many steps (an
    interruption); ``poison_at``: make the loss NaN at that step."""
    model, optimizer = run.models["model"], run.optimizers["optimizer"]
    scheduler, loader = run.schedulers["scheduler"], run.loaders["train"]
    augmentation = run.generators["augmentation"]
    while run.epoch < epochs:
        for images, labels in loader:
            images = mc.tensor(random_shift(images.array, 1, augmentation))
            loss = F.cross_entropy(model(images), labels)
            if poison_at is not None and run.step + 1 == poison_at:
                loss = loss * float("nan")
            value = run.check_finite("loss", loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.step += 1
            run.log("loss", value)
            if save_every and run.step % save_every == 0:
                run.save()
            if stop_after is not None and run.step == stop_after:
                run.save()
                return run
        run.epoch += 1
        scheduler.step()
        run.save()
    return run


def parameters(run):
    return {name: t.numpy().copy() for name, t in run.models["model"].state_dict().items()}


@pytest.mark.parametrize("stop_after", [7, BATCHES_PER_EPOCH * 2, 1])
def test_resume_equals_uninterrupted_bit_for_bit(tmp_path, stop_after):
    epochs = 3
    reference = train(make_run(tmp_path / "a"), epochs)
    reference_rng = mc.get_rng_state()

    interrupted = train(make_run(tmp_path / "b"), epochs, stop_after=stop_after)
    assert interrupted.step == stop_after
    mc.randn(5)  # the process goes on drawing random numbers: the checkpoint must restore them
    np.random.default_rng(9).random()
    resumed = make_run(tmp_path / "b", seed=0)
    resumed.load()
    assert resumed.step == stop_after
    train(resumed, epochs)

    losses = reference.history["loss"]["value"]
    assert len(losses) == epochs * BATCHES_PER_EPOCH
    assert resumed.history["loss"]["value"] == losses  # every loss, exactly
    assert resumed.history["loss"]["step"] == reference.history["loss"]["step"]
    for name, value in parameters(reference).items():
        np.testing.assert_array_equal(parameters(resumed)[name], value, err_msg=name)
    assert resumed.step == reference.step and resumed.epoch == reference.epoch
    assert mc.get_rng_state() == reference_rng  # dropout drew the same numbers


def test_resume_without_checkpoint_state_would_differ(tmp_path):
    """The test above can fail: restoring only the weights (not the optimizer, loader and
    generators) gives different losses."""
    epochs = 2
    reference = train(make_run(tmp_path / "a"), epochs)
    interrupted = train(make_run(tmp_path / "b"), epochs, stop_after=7)
    weights_only = make_run(tmp_path / "c")
    weights_only.models["model"].load_state_dict(interrupted.models["model"].state_dict())
    weights_only.step, weights_only.history = interrupted.step, interrupted.history
    train(weights_only, epochs)
    assert weights_only.history["loss"]["value"] != reference.history["loss"]["value"]


def test_checkpoint_round_trip_restores_everything(tmp_path):
    run = train(make_run(tmp_path), epochs=2, stop_after=8)
    run.extra["running"] = {"sum": 1.5, "count": 3}
    path = run.save()
    saved = read_checkpoint(path)
    assert saved["step"] == 8 and saved["epoch"] == 1 and saved["config"] == {"seed": 0}

    fresh = make_run(tmp_path / "other", seed=5)  # different weights, order and generators
    fresh.load(path)
    assert fresh.last_saved == path
    assert fresh.step == 8 and fresh.epoch == 1 and fresh.config == {"seed": 0}
    for name, value in parameters(run).items():
        np.testing.assert_array_equal(parameters(fresh)[name], value)
    adam_old = run.optimizers["optimizer"].state_dict()
    adam_new = fresh.optimizers["optimizer"].state_dict()
    assert adam_new["param_groups"] == adam_old["param_groups"]
    for index, state in adam_old["state"].items():
        assert adam_new["state"][index]["step"] == state["step"]
        np.testing.assert_array_equal(adam_new["state"][index]["exp_avg"].numpy(),
                                      state["exp_avg"].numpy())
    assert fresh.schedulers["scheduler"].state_dict() == run.schedulers["scheduler"].state_dict()
    assert fresh.loaders["train"].state_dict() == run.loaders["train"].state_dict()
    assert (fresh.generators["augmentation"].bit_generator.state
            == run.generators["augmentation"].bit_generator.state)
    assert fresh.history == run.history
    assert fresh.extra == {"running": {"sum": 1.5, "count": 3}}


def test_snapshot_is_not_changed_by_later_training(tmp_path):
    run = train(make_run(tmp_path), epochs=1, stop_after=3)
    before = read_checkpoint(run.checkpoint_path)["models"]["model"]["fc.weight"].numpy().copy()
    train(run, epochs=1)  # goes on, saves at the end of the epoch to the same path
    run.save(tmp_path / "later.ckpt")
    after = read_checkpoint(tmp_path / "later.ckpt")["models"]["model"]["fc.weight"].numpy()
    assert not np.array_equal(before, after)


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
    run = make_run(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 9 \(epoch 2\)") as info:
        train(run, epochs=3, poison_at=9, save_every=4)
    error = info.value
    assert error.step == 9 and error.name == "loss"
    assert error.checkpoint == run.checkpoint_path
    assert "step 8" in str(error)  # names the last good checkpoint's step
    assert run.step == 8  # the bad step was not taken
    for value in parameters(run).values():
        assert np.isfinite(value).all()
    saved = read_checkpoint(run.checkpoint_path)
    assert saved["step"] == 8
    assert os.listdir(tmp_path) == ["checkpoint.ckpt"]  # no temporary file left behind


def test_inf_loss_before_any_checkpoint(tmp_path):
    run = make_run(tmp_path)
    with pytest.raises(NonFiniteLossError, match="no checkpoint was saved"):
        run.check_finite("loss_D", mc.tensor(float("inf")))
    assert not os.path.exists(run.checkpoint_path)
    assert run.check_finite("loss", mc.tensor(1.5)) == 1.5


def test_save_refuses_non_finite_parameters_and_keeps_the_old_file(tmp_path):
    run = train(make_run(tmp_path), epochs=1, stop_after=2)
    with open(run.checkpoint_path, "rb") as stream:
        good = stream.read()
    run.models["model"].fc.weight.array[0, 0] = np.inf
    with pytest.raises(NonFiniteLossError, match="model.fc.weight holds NaN or inf"):
        run.save()
    with open(run.checkpoint_path, "rb") as stream:
        assert stream.read() == good
    assert os.listdir(tmp_path) == ["checkpoint.ckpt"]


def test_generic_over_several_models_and_optimizers(tmp_path):
    """The GAN shape: two models, two optimizers, no scheduler or loader."""
    mc.manual_seed(1)
    generator, discriminator = nn.Linear(2, 3), nn.Linear(3, 1)
    opt_g = optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = optim.SGD(discriminator.parameters(), lr=0.1, momentum=0.9)
    noise = np.random.default_rng(7)
    run = TrainingRun(models={"G": generator, "D": discriminator},
                      optimizers={"G": opt_g, "D": opt_d}, generators={"noise": noise})
    for _ in range(3):
        z = mc.tensor(noise.standard_normal((4, 2)).astype(np.float32))
        loss_d = discriminator(generator(z)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = -discriminator(generator(z)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        run.step += 1
        run.log("loss_D", run.check_finite("loss_D", loss_d))
    path = run.save(tmp_path / "gan.ckpt")
    mc.manual_seed(2)
    other = TrainingRun(models={"G": nn.Linear(2, 3), "D": nn.Linear(3, 1)},
                        optimizers={"G": optim.Adam(nn.Linear(2, 3).parameters()),
                                    "D": optim.SGD(nn.Linear(3, 1).parameters(), lr=0.1,
                                                   momentum=0.9)},
                        generators={"noise": np.random.default_rng(0)})
    other.load(path)
    np.testing.assert_array_equal(other.models["G"].weight.numpy(), generator.weight.numpy())
    assert other.optimizers["G"].param_groups[0]["betas"] == (0.5, 0.999)
    assert other.generators["noise"].random() == noise.random()
    x, values = other.curve("loss_D")
    assert x.tolist() == [1, 2, 3] and values.tolist() == run.history["loss_D"]["value"]


def test_load_errors_name_the_file_and_the_problem(tmp_path):
    run = make_run(tmp_path)
    plain = tmp_path / "plain.ckpt"
    mc.save({"weights": np.zeros(3)}, plain)
    with pytest.raises(ValueError, match="plain.ckpt.*not a training checkpoint"):
        run.load(plain)
    other = TrainingRun(models={"generator": TinyNet()})
    other.save(tmp_path / "gan.ckpt")
    with pytest.raises(ValueError, match="gan.ckpt: the checkpoint's models are "
                                         r"\['generator'\], this run's are \['model'\]"):
        run.load(tmp_path / "gan.ckpt")
    truncated = tmp_path / "truncated.ckpt"
    data = (tmp_path / "gan.ckpt").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        run.load(truncated)
    with pytest.raises(ValueError, match="no checkpoint_path"):
        TrainingRun(models={}).save()
    with pytest.raises(TypeError, match="generators\\['noise'\\]"):
        TrainingRun(models={}, generators={"noise": np.random.RandomState(0)})


# ---------------------------------------------------------------------------------------
# The real classifier run, on a small subset (a few seconds)
# ---------------------------------------------------------------------------------------
SMALL = dict(limit_train=96, limit_test=50, channels=(4, 8), hidden=16, batch_size=32)


def test_train_classifier_resume_equals_uninterrupted(tmp_path):
    from minicnn.models import train_classifier

    full = train_classifier(epochs=2, out_dir=tmp_path / "full", **SMALL)
    part = train_classifier(epochs=2, out_dir=tmp_path / "part", stop_after_steps=4, **SMALL)
    assert not part.finished and part.run.step == 4  # stopped in the middle of epoch 2
    mc.randn(3)
    resumed = train_classifier(epochs=2, out_dir=tmp_path / "part", resume=True, **SMALL)
    assert resumed.finished and resumed.run.step == full.run.step == 6
    assert resumed.run.history == full.run.history
    for name, value in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name].numpy(), value.numpy())
    assert resumed.test_accuracy == full.test_accuracy
    assert os.path.exists(tmp_path / "part" / "model.ckpt")


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from minicnn.training import blas_threads

    def counts():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = counts()
    with blas_threads(1):
        assert counts() and set(counts()) == {1}
    assert counts() == before
    with blas_threads(None):
        assert counts() == before
