"""Mistakes on the command line: each is one line naming the option, exit status 2, checked
before any work starts; a run is never replaced or continued as another kind of run."""
import os

import pytest

from minicnn.cli import main

GAN = ["--steps", "1", "--batch-size", "8", "--width", "8", "--no-progress",
       "--sample-every", "100"]
CLASSIFIER = ["--epochs", "1", "--batch-size", "32", "--limit-train", "64", "--limit-test",
              "32", "--no-progress"]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(capsys, *argv, says: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], err
    assert says in lines[0], lines[0]
    assert "Traceback" not in err + out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny DCGAN run and a tiny classifier run, made once."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["train", "dcgan", *GAN, "--out", str(root / "dcgan")]) == 0
    assert main(["train", "classifier", *CLASSIFIER, "--out", str(root / "classifier")]) == 0
    return root


def test_a_run_is_never_replaced_without_being_asked(capsys, runs):
    checkpoint = runs / "dcgan" / "checkpoint.ckpt"
    before = checkpoint.read_bytes()
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(runs / "dcgan"),
                   says="already holds a run")
    assert checkpoint.read_bytes() == before
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--out",
                   str(runs / "classifier"), says="--overwrite")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(runs / "dcgan"), "--resume",
                   "--overwrite", says="choose one")


def test_overwrite_starts_over_on_purpose(capsys, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", "dcgan", *GAN, "--out", out]) == 0
    assert main(["train", "dcgan", *GAN, "--seed", "3", "--out", out, "--overwrite"]) == 0
    import minicnn as mc

    assert mc.load(os.path.join(out, "checkpoint.ckpt"))["config"]["seed"] == 3


def test_overwrite_leaves_no_picture_of_the_replaced_run(tmp_path):
    out = tmp_path / "run"
    longer = [a if a != "1" else "2" for a in GAN]
    longer[longer.index("--sample-every") + 1] = "1"
    assert main(["train", "dcgan", *longer, "--out", str(out)]) == 0
    assert (out / "samples_step000002.png").exists()
    (out / "notes.txt").write_text("mine")
    assert main(["train", "dcgan", *GAN, "--out", str(out), "--overwrite"]) == 0
    assert not (out / "samples_step000002.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "checkpoint.ckpt").exists() and (out / "samples.png").exists()


def test_resuming_another_kind_of_run_is_refused_naming_both(capsys, runs):
    one_line_error(capsys, "train", "wgan-gp", *GAN, "--out", str(runs / "dcgan"), "--resume",
                   says="is a dcgan run, not a wgan-gp run")
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--out", str(runs / "dcgan"),
                   "--resume", says="is a dcgan run, not a classifier run")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(runs / "classifier"),
                   "--resume", says="is a classifier run, not a dcgan run")


def test_a_truncated_checkpoint_is_one_line_for_every_command(capsys, runs, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    data = (runs / "dcgan" / "checkpoint.ckpt").read_bytes()
    (folder / "checkpoint.ckpt").write_bytes(data[: len(data) // 2])
    for argv in (["train", "dcgan", *GAN, "--out", str(folder), "--resume"],
                 ["sample", str(folder / "checkpoint.ckpt"), "--out", str(tmp_path / "g.png")],
                 ["eval", str(folder / "checkpoint.ckpt")]):
        one_line_error(capsys, *argv, says=str(folder / "checkpoint.ckpt"))


def test_sample_and_eval_check_what_they_are_given(capsys, runs, tmp_path):
    classifier = str(runs / "classifier" / "checkpoint.ckpt")
    gan = str(runs / "dcgan" / "checkpoint.ckpt")
    one_line_error(capsys, "sample", classifier, "--out", str(tmp_path / "g.png"),
                   says="is a classifier run, not a GAN's")
    one_line_error(capsys, "eval", classifier, says="is a classifier run, not a GAN's")
    one_line_error(capsys, "sample", str(runs / "dcgan"), "--out", str(tmp_path / "g.png"),
                   says="is a folder, expected a checkpoint file")
    one_line_error(capsys, "sample", gan, "--out", str(tmp_path), says="is a folder")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    one_line_error(capsys, "sample", gan, "--out", str(blocker / "grid.png"),
                   says="is a file, not a folder")
    one_line_error(capsys, "sample", gan, "--out", str(tmp_path / "grid.jpg"),
                   says="expected a .png file name")
    one_line_error(capsys, "sample", str(tmp_path / "missing.ckpt"), "--out",
                   str(tmp_path / "g.png"), says="no checkpoint at")


def test_outputs_are_checked_before_training_starts(capsys, tmp_path, monkeypatch):
    import minicnn.models.classifier as classifier

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--out", str(blocker),
                   says="is a file, expected a folder")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(blocker),
                   says="is a file, expected a folder")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(blocker / "run"),
                   says="is a file")
    if os.path.isdir("/proc/self"):   # Linux's /proc: a folder nothing can be made in
        one_line_error(capsys, "train", "dcgan", *GAN, "--out", "/proc/minicnn-run",
                       says="--out: cannot make the folder /proc/minicnn-run")


def test_cuda_without_a_gpu_is_one_line(capsys, tmp_path):
    from minicnn.backend import cuda_is_available

    if cuda_is_available():
        pytest.skip("a GPU is usable here")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(tmp_path / "run"),
                   "--device", "cuda", says="--device cuda: no CUDA GPU is usable")


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(capsys, tmp_path,
                                                                       monkeypatch):
    import minicnn.gan.train as train

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something inside broke")

    monkeypatch.setattr(train, "train_gan", broken)
    argv = ["train", "dcgan", *GAN, "--out", str(tmp_path / "run")]
    status, out, err = run(capsys, *argv)
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert "ZeroDivisionError: something inside broke" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        main(argv + ["--debug"])


def test_a_batch_bigger_than_the_dataset_is_one_line(capsys, tmp_path):
    args = list(GAN)
    args[args.index("--batch-size") + 1] = "100000"
    one_line_error(capsys, "train", "dcgan", *args, "--out", str(tmp_path / "big"),
                   says="batch_size: 100000 is more than the 4000 training images")


def test_a_failed_download_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    import minicnn.gan.train as gan_train
    from minicnn.data.download import DownloadError

    def offline(*args, **kwargs):
        raise DownloadError("cannot download train-images-idx3-ubyte.gz; every mirror "
                            "failed:\n  https://a: no network\n  http://b: no network")

    monkeypatch.setattr(gan_train, "load_gan_images", offline)
    one_line_error(capsys, "train", "dcgan", *GAN, "--dataset", "mnist", "--out",
                   str(tmp_path / "m"), says="every mirror failed: https://a: no network")


def test_settings_too_big_for_the_memory_are_one_line(capsys, tmp_path):
    args = list(GAN)
    args[args.index("--width") + 1] = "10000000"   # the first layer alone: terabytes
    one_line_error(capsys, "train", "dcgan", *args, "--out", str(tmp_path / "wide"),
                   says="out of memory")


def test_train_takes_the_adam_settings_and_a_resume_keeps_them(tmp_path, capsys):
    from minicnn.training import read_checkpoint

    out = str(tmp_path / "paper")
    assert main(["train", "dcgan", *GAN, "--out", out, "--no-spectral-norm", "--lr", "2e-4",
                 "--lr-d", "1e-4", "--betas", "0.5", "0.999"]) == 0
    config = read_checkpoint(os.path.join(out, "checkpoint.ckpt"))["config"]
    assert (config["spectral_norm"], config["lr"], config["lr_d"], list(config["betas"])) == \
        (False, 2e-4, 1e-4, [0.5, 0.999])
    capsys.readouterr()
    # the same settings again on --resume are the run's own; others are refused
    assert main(["train", "dcgan", *GAN[:1], "2", *GAN[2:], "--out", out, "--resume",
                 "--betas", "0.5", "0.999"]) == 0
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", out, "--resume", "--betas", "0",
                   "0.9", says="--betas")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", out, "--betas", "0.5", "1",
                   says="--betas")
