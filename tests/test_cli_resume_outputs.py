"""The command line, second round: a resumed run never silently drops a setting it was
given, every output is tried for real before work starts (root ignores permission bits;
/proc takes no files), and sizes that cannot work are one line naming the option."""
import os

import pytest

import minicnn as mc
from minicnn.cli import main

GAN = ["--steps", "1", "--batch-size", "8", "--width", "8", "--no-progress",
       "--sample-every", "100"]
CLASSIFIER = ["--epochs", "1", "--batch-size", "32", "--limit-train", "64", "--limit-test",
              "32", "--no-progress"]
PROC = os.path.isdir("/proc/self")   # Linux's /proc: folders nothing can be written in


def one_line_error(capsys, *argv, says: str) -> str:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 2, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], err
    assert says in lines[0], lines[0]
    assert "Traceback" not in err + out
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["train", "dcgan", *GAN, "--out", str(root / "dcgan")]) == 0
    assert main(["train", "classifier", *CLASSIFIER, "--out", str(root / "classifier")]) == 0
    return root


@pytest.fixture
def no_work(monkeypatch):
    """Any training, sampling or study that starts fails the test."""
    import minicnn.gan.train as gan_train
    import minicnn.models.classifier as classifier
    import minicnn.tune.gan_study as gan_study

    def started(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(gan_train, "train_gan", started)
    monkeypatch.setattr(gan_train, "load_trained", started)
    monkeypatch.setattr(classifier, "train_classifier", started)
    monkeypatch.setattr(gan_study.GANStudy, "run", started)


def test_resume_refuses_settings_that_differ_from_the_run_naming_both(capsys, runs, no_work):
    checkpoint = runs / "dcgan" / "checkpoint.ckpt"
    before = checkpoint.read_bytes()
    base = ["train", "dcgan", "--steps", "2", "--no-progress", "--out", str(runs / "dcgan"),
            "--resume"]
    line = one_line_error(capsys, *base, "--width", "16", says="--width 16 (the run has 8)")
    assert "--resume" in line
    one_line_error(capsys, *base, "--seed", "5", says="--seed 5 (the run has 0)")
    saved = mc.load(checkpoint)["config"]   # whatever the recipe's defaults are today
    if saved["spectral_norm"]:   # either way round: --spectral-norm / --no-spectral-norm
        one_line_error(capsys, *base, "--no-spectral-norm",
                       says="--spectral-norm off (the run has on)")
    else:
        one_line_error(capsys, *base, "--spectral-norm",
                       says="--spectral-norm on (the run has off)")
    one_line_error(capsys, *base, "--lr", "0.1", says=f"--lr 0.1 (the run has {saved['lr']:g})")
    one_line_error(capsys, *base, "--dataset", "digits",
                   says="--dataset digits (the run has mnist5k)")
    classifier = ["train", "classifier", "--epochs", "2", "--no-progress", "--out",
                  str(runs / "classifier"), "--resume"]
    one_line_error(capsys, *classifier, "--batch-size", "16",
                   says="--batch-size 16 (the run has 32)")
    one_line_error(capsys, *classifier, "--lr", "0.5", says="--lr 0.5 (the run has 0.002)")
    assert checkpoint.read_bytes() == before


def test_resume_with_the_run_s_own_settings_continues(runs, tmp_path):
    import shutil

    out = tmp_path / "again"
    shutil.copytree(runs / "dcgan", out)
    assert main(["train", "dcgan", "--steps", "2", "--width", "8", "--batch-size", "8",
                 "--seed", "0", "--dataset", "mnist5k", "--no-progress", "--out", str(out),
                 "--resume"]) == 0
    assert mc.load(out / "checkpoint.ckpt")["step"] == 2


def test_empty_output_names_are_one_line(capsys, runs, no_work):
    gan = str(runs / "dcgan" / "checkpoint.ckpt")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", "", says="--out: expected a folder")
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--out", "",
                   says="--out: expected a folder")
    one_line_error(capsys, "sample", gan, "--out", "", says="--out")
    one_line_error(capsys, "export", gan, "--to", "", says="--to")
    one_line_error(capsys, "import", gan, "--recipe", "dcgan", "--out", "",
                   says="--out: expected a file name")
    one_line_error(capsys, "tune", "dcgan", "--out", "", says="--out: expected a folder")
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--resume", "",
                   says="--resume: expected a checkpoint file name")


@pytest.mark.skipif(not PROC, reason="needs Linux's /proc")
def test_outputs_that_cannot_be_written_are_refused_before_work(capsys, runs, no_work,
                                                                tmp_path):
    gan = str(runs / "dcgan" / "checkpoint.ckpt")
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", "/proc",
                   says="--out: files cannot be written in the folder /proc")
    one_line_error(capsys, "train", "classifier", *CLASSIFIER, "--out", "/proc",
                   says="--out: files cannot be written in the folder /proc")
    one_line_error(capsys, "sample", gan, "--out", "/proc/grid.png",
                   says="--out: cannot write /proc/grid.png")
    one_line_error(capsys, "export", gan, "--to", "/proc/g.onnx",
                   says="--to: cannot write /proc/g.onnx")
    st = tmp_path / "g.safetensors"
    st.write_bytes(b"\0" * 16)
    one_line_error(capsys, "import", str(st), "--recipe", "dcgan", "--out", "/proc/g.ckpt",
                   says="--out: cannot write /proc/g.ckpt")
    one_line_error(capsys, "tune", "dcgan", "--out", "/proc/study",
                   says="--out: cannot make the folder /proc/study")
    one_line_error(capsys, "tune", "dcgan", "--out", "/proc", says="--out")


def test_files_given_as_inputs_are_checked_naming_the_argument(capsys, runs, tmp_path):
    one_line_error(capsys, "export", str(runs / "dcgan"), "--to", str(tmp_path / "g.onnx"),
                   says="checkpoint: ")
    one_line_error(capsys, "export", str(runs / "dcgan"), "--to", str(tmp_path / "g.onnx"),
                   says="(pass ")
    one_line_error(capsys, "export", str(tmp_path / "none.ckpt"), "--to",
                   str(tmp_path / "g.onnx"), says="checkpoint: no checkpoint file")
    one_line_error(capsys, "import", str(tmp_path), "--recipe", "dcgan", "--out",
                   str(tmp_path / "i.ckpt"), says="file: ")
    for width in ("0", "-3", "x"):
        one_line_error(capsys, "import", str(tmp_path / "g.st"), "--recipe", "dcgan",
                       "--width", width, "--out", str(tmp_path / "i.ckpt"), says="--width")
    assert not os.listdir(tmp_path)


def test_sizes_that_cannot_work_name_their_option(capsys, runs, no_work):
    gan = str(runs / "dcgan" / "checkpoint.ckpt")
    for n in ("1", "3"):
        one_line_error(capsys, "eval", gan, "--n", n, says="--n: expected at least 4")
        one_line_error(capsys, "tune", "dcgan", "--n", n, says="--n: expected at least 4")
    one_line_error(capsys, "eval", gan, "--n", "600", says="--n: ")


def test_tune_fix_values_are_checked_and_counts_become_ints(capsys, tmp_path, no_work):
    from minicnn.tune.gan_study import GANStudy

    study = GANStudy("dcgan", tmp_path / "s", fixed={"width": 8.0, "batch_size": 1e1},
                     log=lambda *a: None)
    assert study.fixed == {"width": 8, "batch_size": 10}
    assert all(type(v) is int for v in study.fixed.values())
    for fix, says in (("beta1=1.5", "beta1: expected a number in [0, 1)"),
                      ("ema=1", "ema: expected a number in [0, 1)"),
                      ("label_smoothing=2", "label_smoothing"),
                      ("width=" + "[" * 20000 + "]" * 20000, "nested too deeply")):
        one_line_error(capsys, "tune", "dcgan", "--fix", fix, "--out", str(tmp_path / "t"),
                       says=says)
    assert not (tmp_path / "t").exists()


def test_out_of_memory_is_a_mistake_naming_the_size_options(capsys, monkeypatch, runs):
    import minicnn.gan.commands as commands

    def too_big(args):   # as ops.creation reports it: PyTorch's RuntimeError
        try:
            raise MemoryError("Unable to allocate 74.5 GiB")
        except MemoryError:
            raise RuntimeError("zeros: cannot allocate a tensor of shape (10**9, 100)") \
                from None

    monkeypatch.setattr(commands, "run_sample", too_big)
    line = one_line_error(capsys, "sample", str(runs / "dcgan" / "checkpoint.ckpt"), "--out",
                          "g.png", says="out of memory")
    assert "--n" in line and "bug" not in line


def test_resuming_one_run_into_a_folder_holding_another_is_refused(capsys, runs, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(runs / "classifier", other)
    before = (other / "checkpoint.ckpt").read_bytes()
    one_line_error(capsys, "train", "classifier", "--epochs", "2", "--no-progress", "--out",
                   str(other), "--resume", str(runs / "classifier" / "checkpoint.ckpt"),
                   says="already holds a run")
    assert (other / "checkpoint.ckpt").read_bytes() == before


def test_a_training_run_refuses_what_it_could_never_save_or_load(tmp_path):
    from minicnn.training import TrainingRun

    net = mc.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="models: expected a dict"):
        TrainingRun(net)
    with pytest.raises(TypeError, match=r"optimizers\['adam'\]"):
        TrainingRun({"model": net}, {"adam": 0.1})
    run = TrainingRun({"model": net})
    for bad in (-1, 1.5, True, "3"):
        run.step = bad
        with pytest.raises(ValueError, match="TrainingRun.step: expected an int >= 0"):
            run.save(tmp_path / "run.ckpt")
    assert not (tmp_path / "run.ckpt").exists()
    run.step = 3
    run.save(tmp_path / "run.ckpt")
    assert TrainingRun({"model": mc.nn.Linear(2, 2)}).load(tmp_path / "run.ckpt").step == 3


@pytest.mark.parametrize("edit, says", [
    (lambda s: s["config"].__setitem__("width", 16), "cannot be rebuilt"),
    (lambda s: s["config"].__setitem__("width", "abc"), "cannot be rebuilt"),
    (lambda s: s["models"].pop("generator"), "generator"),
    (lambda s: s["config"].__setitem__("recipe", "nope"), "nope"),
    (lambda s: s["config"].__setitem__("recipe", 5), "checkpoint"),
])
def test_a_checkpoint_whose_run_does_not_rebuild_is_one_line_naming_it(capsys, runs, tmp_path,
                                                                       edit, says):
    """A config and weights that disagree (a hand edit, another minicnn): exit 2 naming
    the file, for every command that reads a run, never 'a bug in minicnn'."""
    state = mc.load(runs / "dcgan" / "checkpoint.ckpt")
    edit(state)
    folder = tmp_path / "edited"
    folder.mkdir()
    path = folder / "checkpoint.ckpt"
    mc.save(state, path)
    one_line_error(capsys, "sample", str(path), "--out", str(tmp_path / "g.png"), says=says)
    for argv in (["sample", str(path), "--out", str(tmp_path / "g.png")],
                 ["export", str(path), "--to", str(tmp_path / "g.safetensors")],
                 ["train", "dcgan", "--steps", "2", "--no-progress", "--out", str(folder),
                  "--resume"]):
        line = one_line_error(capsys, *argv, says=str(path))
        assert "bug" not in line, line


def test_tune_refuses_images_fewer_than_a_batch_before_any_trial(capsys, tmp_path, no_work):
    one_line_error(capsys, "tune", "dcgan", "--images", "1", "--out", str(tmp_path / "t"),
                   says="--images 1 is fewer than the batch sizes")
    one_line_error(capsys, "tune", "dcgan", "--images", "10", "--fix", "batch_size=16",
                   "--out", str(tmp_path / "t"), says="--fix batch_size=N with N <= 10")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("command, blocked", [
    (["train", "dcgan", *GAN], "checkpoint.ckpt"), (["train", "dcgan", *GAN], "losses.csv"),
    (["train", "dcgan", *GAN], "samples.png"), (["train", "classifier", *CLASSIFIER],
                                                "model.ckpt"),
    (["train", "dcgan", *GAN, "--overwrite"], "checkpoint.ckpt"),
    (["tune", "dcgan"], "results.txt"), (["tune", "dcgan"], "best.json")])
def test_a_folder_where_an_output_file_goes_is_found_before_work(capsys, tmp_path, no_work,
                                                                 command, blocked):
    (tmp_path / "out" / blocked).mkdir(parents=True)
    one_line_error(capsys, *command, "--out", str(tmp_path / "out"),
                   says=f"{tmp_path / 'out' / blocked} is a folder")


def test_import_of_nan_weights_is_one_line_and_writes_nothing(capsys, runs, tmp_path):
    pytest.importorskip("safetensors")
    import numpy as np

    from minicnn import safetensors as st

    good = tmp_path / "g.safetensors"
    assert main(["export", str(runs / "dcgan" / "checkpoint.ckpt"), "--to", str(good)]) == 0
    tensors = {key: value.numpy().copy() for key, value in st.load_file(good).items()}
    key = next(k for k, v in tensors.items() if v.dtype.kind == "f" and v.size)
    tensors[key].flat[0] = np.nan
    st.save_file(tensors, tmp_path / "nan.safetensors")
    capsys.readouterr()
    one_line_error(capsys, "import", str(tmp_path / "nan.safetensors"), "--recipe", "dcgan",
                   "--width", "8", "--out", str(tmp_path / "i.ckpt"), says="NaN or infinite")
    assert not (tmp_path / "i.ckpt").exists()


@pytest.mark.parametrize("key, value", [("channels", [8, 8]), ("channels", "ab"),
                                        ("dropout", 2.0), ("hidden", 0), ("max_shift", -5),
                                        ("blas_threads", "x")])
def test_a_classifier_checkpoint_that_does_not_rebuild_is_one_line(capsys, runs, tmp_path,
                                                                   no_work, key, value):
    state = mc.load(runs / "classifier" / "checkpoint.ckpt")
    state["config"][key] = value
    (tmp_path / "run").mkdir()
    path = tmp_path / "run" / "checkpoint.ckpt"
    mc.save(state, path)
    line = one_line_error(capsys, "train", "classifier", "--epochs", "2", "--no-progress",
                          "--out", str(tmp_path / "run"), "--resume", says=str(path))
    assert line.split("error: ")[1].startswith("--resume: ") and "bug" not in line
    if key in ("channels", "dropout", "hidden"):   # what export rebuilds
        line = one_line_error(capsys, "export", str(path), "--to", str(tmp_path / "c.onnx"),
                              says=str(path))
        assert "bug" not in line


def test_an_unknown_option_is_named_by_its_command_with_the_nearest_one(capsys, no_work):
    line = one_line_error(capsys, "train", "dcgan", "--stpes", "5", says="--stpes 5")
    assert line.startswith("minicnn train dcgan: error:") and "did you mean --steps?" in line
    assert "minicnn train dcgan --help" in line
    line = one_line_error(capsys, "sample", "x.ckpt", "--outt", "g.png",
                          says="did you mean --out?")
    assert line.startswith("minicnn sample: error:")
    one_line_error(capsys, "info", "extra", says="minicnn info: error: unrecognized arguments")


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM") or os.name == "nt",
                    reason="POSIX signals")
def test_sigterm_stops_a_training_run_as_ctrl_c_does(capsys, tmp_path):
    import signal
    import time

    from minicnn.command_line import run_training

    before = signal.getsignal(signal.SIGTERM)
    (tmp_path / "checkpoint.ckpt").write_bytes(b"")

    def train():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("SIGTERM did not stop the run")

    result, status = run_training("dcgan", str(tmp_path), True, train)
    assert (result, status) == (None, 143)
    err = capsys.readouterr().err
    assert "terminated (SIGTERM)" in err and "--resume" in err
    assert signal.getsignal(signal.SIGTERM) == before


def test_spectral_norm_can_be_switched_either_way(tmp_path):
    for flag, expected in (("--spectral-norm", True), ("--no-spectral-norm", False)):
        out = tmp_path / flag.strip("-")
        assert main(["train", "dcgan", *GAN, flag, "--out", str(out)]) == 0
        assert mc.load(out / "checkpoint.ckpt")["config"]["spectral_norm"] is expected


def test_overwrite_never_loses_the_run_to_a_new_one_that_fails_to_start(capsys, runs,
                                                                        tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    import minicnn.gan.train as gan_train
    from minicnn.training import NonFiniteLossError

    out = tmp_path / "run"
    shutil.copytree(runs / "dcgan", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fails(error):
        def train(recipe, steps, folder, *args, **kwargs):
            (Path(folder) / "losses.csv").write_text("step,loss\n1,0.5\n")   # a start...
            raise error
        return train

    for error, status in ((ValueError("cannot download the data set"), 2),
                          (NonFiniteLossError("loss is nan at step 1", 1, "loss"), 1),
                          (KeyboardInterrupt(), 130)):
        monkeypatch.setattr(gan_train, "train_gan", fails(error))
        assert main(["train", "dcgan", *GAN, "--out", str(out), "--overwrite"]) == status
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, error
    capsys.readouterr()


def test_a_run_left_aside_by_a_killed_overwrite_is_put_back(capsys, runs, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(runs / "dcgan", out / ".minicnn-replaced")   # killed before a checkpoint
    (out / "losses.csv").write_text("step\n")                     # of the new run
    one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(out),
                   says="already holds a run")
    assert (out / "checkpoint.ckpt").read_bytes() == \
        (runs / "dcgan" / "checkpoint.ckpt").read_bytes()
    assert not (out / ".minicnn-replaced").exists()


@pytest.mark.skipif(os.name == "nt", reason="flock")
def test_two_commands_never_train_into_one_folder(capsys, tmp_path):
    from minicnn.run_replacement import lock_folder, unlock_folder

    out = tmp_path / "run"
    held = lock_folder(str(out))   # another minicnn training there (flock: any process)
    try:
        for extra in ([], ["--overwrite"]):
            one_line_error(capsys, "train", "dcgan", *GAN, "--out", str(out), *extra,
                           says=f"is in use by another minicnn run (process {os.getpid()})")
    finally:
        unlock_folder(str(out), held)
    assert main(["train", "dcgan", *GAN, "--out", str(out)]) == 0
    assert not (out / ".minicnn-lock").exists() and (out / "checkpoint.ckpt").exists()
