"""The ``minicnn`` command: help everywhere, one-line errors, info, gradcheck, and a tiny
training run (``--limit-train``) with resume."""
import re
import shutil
import subprocess
import sys

import pytest

from minicnn import cli
from minicnn.autograd import Function
from minicnn.gradcheck_cases import CASES, Case, uniform

TINY = ["--limit-train", "64", "--limit-test", "40", "--batch-size", "32", "--no-progress"]


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv", [[], ["train"], ["train", "classifier"], ["gradcheck"],
                                  ["info"]])
def test_help_everywhere(capsys, argv):
    status, out, err = run(capsys, *argv, "--help")
    assert status == 0 and err == ""
    assert out.startswith("usage: minicnn")
    if argv == ["train", "classifier"]:
        for option in ("--epochs", "--batch-size", "--lr", "--seed", "--out", "--resume"):
            assert option in out
        assert "--limit-train" not in out  # the small-data flag stays hidden


@pytest.mark.parametrize("argv, message", [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["train"], "required: MODEL"),
    (["train", "stylegan9"], "invalid choice: 'stylegan9'"),
    (["train", "classifier", "--epochs", "0"], "--epochs: expected a positive integer, got '0'"),
    (["train", "classifier", "--epochs", "ten"], "expected a positive integer, got 'ten'"),
    (["train", "classifier", "--lr", "-1"], "--lr: expected a positive number, got '-1'"),
    (["train", "classifier", "--lr", "nan"], "expected a positive number"),
    (["train", "classifier", "--seed", "-2"], "expected an integer >= 0"),
    (["train", "classifier", "--bogus"], "unrecognized arguments: --bogus"),
    (["gradcheck"], "expected an OP"),
    (["gradcheck", "conv2"], "unknown op 'conv2'; did you mean conv2d"),
    (["gradcheck", "relu", "--trials", "0"], "--trials: expected a positive integer"),
])
def test_bad_arguments_give_one_line_and_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("minicnn"), err
    assert "error:" in err and message in err
    assert "Traceback" not in err


def test_resume_without_checkpoint_is_a_one_line_error(capsys, tmp_path):
    status, out, err = run(capsys, "train", "classifier", "--out", str(tmp_path), "--resume")
    assert status == 2
    assert err.strip() == (f"minicnn train classifier: error: --resume: no checkpoint at "
                           f"{tmp_path}/checkpoint.ckpt (did the run use another --out?)")


def test_resume_from_a_corrupt_checkpoint_is_a_one_line_error(capsys, tmp_path):
    (tmp_path / "checkpoint.ckpt").write_bytes(b"PK\x03\x04 not really a zip")
    status, out, err = run(capsys, "train", "classifier", "--out", str(tmp_path), "--resume")
    assert status == 2 and err.count("\n") == 1
    assert "--resume: load:" in err and "checkpoint.ckpt" in err


def test_real_process_exit_status_and_console_script():
    """As a separate process: a bad argument exits 2 with one line on stderr."""
    result = subprocess.run([sys.executable, "-m", "minicnn.cli", "train", "classifier",
                             "--batch-size", "x"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    script = shutil.which("minicnn")
    if script is None:
        pytest.skip("the console script is not installed (pip install -e .)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("minicnn ")


def test_info_reports_versions_blas_numba_and_gpu(capsys):
    status, out, err = run(capsys, "info")
    assert status == 0
    for label in ("minicnn", "Python", "NumPy", "BLAS", "Threads", "Numba", "CUDA"):
        assert re.search(rf"^{label}\s", out, re.MULTILINE), f"{label} missing:\n{out}"
    import minicnn as mc

    assert re.search(rf"^Threads\s+{mc.get_num_threads()} ", out, re.MULTILINE)


def test_info_never_crashes_without_gpu_or_threadpoolctl(capsys, monkeypatch):
    import minicnn.backend

    def broken():
        raise RuntimeError("no driver")

    monkeypatch.setattr(minicnn.backend, "cuda_is_available", broken)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    status, out, err = run(capsys, "info")
    assert status == 0
    assert re.search(r"^CUDA\s+not available", out, re.MULTILINE)
    assert re.search(r"^BLAS\s+\S", out, re.MULTILINE)


def test_gradcheck_list_and_one_op(capsys):
    status, out, _ = run(capsys, "gradcheck", "--list")
    assert status == 0
    for op in ("add", "matmul", "getitem", "conv2d", "conv_transpose2d", "max_pool2d",
               "cross_entropy"):
        assert re.search(rf"^{op}\s", out, re.MULTILINE)
    status, out, _ = run(capsys, "gradcheck", "conv2d", "--trials", "2", "--seed", "3")
    assert status == 0
    assert out.count("gradcheck ok, gradgradcheck ok") == 2
    assert "stride=" in out and "padding=" in out
    assert out.strip().endswith("all 2 configurations passed gradcheck and gradgradcheck")


@pytest.mark.parametrize("op", ["mul", "sum", "getitem", "max_pool2d", "batch_norm"])
def test_gradcheck_core_ops_pass(capsys, op):
    status, out, _ = run(capsys, "gradcheck", op, "--trials", "1")
    assert status == 0, out


class WrongSquare(Function):
    """y = x^2 with the factor 2 forgotten in backward."""

    def forward(self, x):
        return x * x

    def backward(self, grad_output):
        return grad_output * self.inputs[0]


class FrozenSquare(Function):
    """Right first derivative from raw arrays: second derivatives come out wrong."""

    def forward(self, x):
        return x * x

    def backward(self, grad_output):
        from minicnn import tensor

        return grad_output * tensor(2 * self.inputs[0].array)


@pytest.mark.parametrize("function, stage", [(WrongSquare, "gradcheck FAILED"),
                                             (FrozenSquare, "gradgradcheck FAILED")])
def test_gradcheck_failure_exits_1_with_report(capsys, monkeypatch, function, stage):
    def make(rng):
        x = uniform(rng, (3,), 0.5, 1.5)
        return function.apply, (x,), "x(3,)"

    monkeypatch.setitem(CASES, "square", Case("square", "a broken op", make))
    status, out, _ = run(capsys, "gradcheck", "square", "--trials", "2")
    assert status == 1
    assert out.count(stage) == 2
    assert "analytic" in out and "numeric" in out  # gradcheck's report is shown
    assert out.strip().endswith("0 of 2 configurations passed")


def test_train_classifier_tiny_run_and_resume(capsys, tmp_path):
    out_dir = str(tmp_path / "run")
    status, out, err = run(capsys, "train", "classifier", "--epochs", "1", "--out", out_dir,
                           *TINY)
    assert status == 0, err
    lines = out.strip().splitlines()
    assert re.fullmatch(r"test accuracy: [01]\.\d{4}", lines[-1])
    assert lines[0].startswith("epoch 1/1: loss ")
    for name in ("checkpoint.ckpt", "model.ckpt", "loss.png", "accuracy.png",
                 "confusion_matrix.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name

    status, out, err = run(capsys, "train", "classifier", "--epochs", "2", "--out", out_dir,
                           "--resume", *TINY)
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("epoch 2/2: loss ")  # continued, not restarted
    assert not any(line.startswith("epoch 1/") for line in lines)
    from minicnn.training import read_checkpoint

    saved = read_checkpoint(tmp_path / "run" / "checkpoint.ckpt")
    assert saved["epoch"] == 2 and saved["step"] == 4


def test_train_classifier_progress_bar(capsys, tmp_path):
    argv = ["train", "classifier", "--epochs", "1", "--out", str(tmp_path),
            "--limit-train", "32", "--limit-test", "20", "--batch-size", "32"]
    status, out, err = run(capsys, *argv)
    assert status == 0
    assert "train classifier" in err and "1/1" in err  # tqdm writes to stderr


def test_train_classifier_divergence_and_interrupt_messages(capsys, monkeypatch, tmp_path):
    from minicnn.models import classifier
    from minicnn.training import NonFiniteLossError

    def diverge(**kwargs):
        raise NonFiniteLossError("loss is nan at step 12 (epoch 1); training stopped", 12,
                                 "loss")

    monkeypatch.setattr(classifier, "train_classifier", diverge)
    status, out, err = run(capsys, "train", "classifier", "--out", str(tmp_path))
    assert status == 1 and "loss is nan at step 12" in err and "Traceback" not in err

    def interrupt(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier, "train_classifier", interrupt)
    status, out, err = run(capsys, "train", "classifier", "--out", str(tmp_path))
    assert status == 130 and "interrupted" in err


def test_parser_has_room_for_more_commands():
    """Adding a command is one function appended to COMMANDS / TRAIN_COMMANDS."""
    def add_hello(subparsers):
        parser = subparsers.add_parser("hello", help="a new top-level command")
        parser.add_argument("--count", type=cli.positive_int, default=4)
        parser.set_defaults(handler=lambda args: args.count)

    def add_train_toy(subparsers):
        parser = subparsers.add_parser("toygan", help="a new model to train")
        cli.add_training_arguments(parser, epochs=5, batch_size=64, lr=2e-4, out="runs/toy")
        parser.set_defaults(handler=lambda args: 0 if args.lr is None else 7)

    commands, train = list(cli.COMMANDS), list(cli.TRAIN_COMMANDS)
    try:
        cli.COMMANDS.append(add_hello)
        cli.TRAIN_COMMANDS.append(add_train_toy)
        assert cli.main(["hello", "--count", "3"]) == 3
        assert cli.main(["train", "toygan", "--lr", "0.001"]) == 7
    finally:
        cli.COMMANDS[:], cli.TRAIN_COMMANDS[:] = commands, train
    assert cli.main(["hello"]) == 2  # gone again


def test_gan_commands_are_listed_when_present(capsys):
    pytest.importorskip("minicnn.gan.commands")
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "classifier" in out and "dcgan" in out
