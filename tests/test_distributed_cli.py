"""``mpiexec -n 2 minicnn train ...``: the same global batch as one process, split over the
ranks; rank 0 alone writes; a resume is exact; mistakes are one line, printed once.

Skipped without mpi4py, unless MINICNN_REQUIRE_MPI=1 (set by CI)."""
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_distributed import _mpiexec

GAN = ["--batch-size", "8", "--width", "8", "--no-progress", "--sample-every", "100",
       "--checkpoint-every", "2"]
CLASSIFIER = ["--batch-size", "32", "--limit-train", "200", "--limit-test", "50",
              "--no-progress"]


def minicnn(args, cwd: Path, ranks: int | None = None, timeout: float = 240):
    command = [sys.executable, "-m", "minicnn.cli", *args]
    if ranks is not None:
        command = [_mpiexec(), "-n", str(ranks)] + command
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd)


def ok(done) -> str:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def losses(path: Path) -> np.ndarray:
    with open(path) as stream:
        rows = list(csv.reader(stream))
    return np.array(rows[1:], dtype=np.float64)


def weights(path: Path) -> dict:
    import minicnn as mc

    state = mc.load(path)
    return {f"{model}.{name}": value.numpy() for model, tensors in state["models"].items()
            for name, value in tensors.items()}


@pytest.mark.parametrize("recipe", ["dcgan", "wgan-gp"])
def test_two_ranks_train_as_one_process_on_the_same_global_batch(tmp_path, recipe):
    steps = ["--steps", "3"]
    out_two = ok(minicnn(["train", recipe, *steps, *GAN, "--out", "two"], tmp_path, ranks=2))
    ok(minicnn(["train", recipe, *steps, *GAN, "--out", "one"], tmp_path))
    two, one = losses(tmp_path / "two" / "losses.csv"), losses(tmp_path / "one" / "losses.csv")
    assert two.shape == one.shape == (3, one.shape[1])
    # float32: the ranks' partial sums are added in another order than one process's
    np.testing.assert_allclose(two, one, rtol=2e-5, atol=1e-6)
    w_two, w_one = weights(tmp_path / "two" / "checkpoint.ckpt"), \
        weights(tmp_path / "one" / "checkpoint.ckpt")
    assert w_two.keys() == w_one.keys()
    for key in w_one:
        np.testing.assert_allclose(w_two[key], w_one[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert out_two.count("wrote two/") == 1 and "on 2 ranks" in out_two   # rank 0 alone
    # the checkpoint of a split run is an ordinary one: sample from it in one process
    ok(minicnn(["sample", "two/checkpoint.ckpt", "--n", "4", "--out", "grid.png"], tmp_path))


def test_a_split_gan_run_resumes_exactly(tmp_path):
    ok(minicnn(["train", "dcgan", "--steps", "4", *GAN, "--out", "whole"], tmp_path, ranks=2))
    ok(minicnn(["train", "dcgan", "--steps", "2", *GAN, "--out", "parts"], tmp_path, ranks=2))
    ok(minicnn(["train", "dcgan", "--steps", "4", "--resume", *GAN, "--out", "parts"],
               tmp_path, ranks=2))
    np.testing.assert_array_equal(losses(tmp_path / "parts" / "losses.csv"),
                                  losses(tmp_path / "whole" / "losses.csv"))
    whole, parts = weights(tmp_path / "whole" / "checkpoint.ckpt"), \
        weights(tmp_path / "parts" / "checkpoint.ckpt")
    for key in whole:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_a_split_classifier_run_resumes_exactly(tmp_path):
    ok(minicnn(["train", "classifier", "--epochs", "2", *CLASSIFIER, "--out", "whole"],
               tmp_path, ranks=2))
    ok(minicnn(["train", "classifier", "--epochs", "1", *CLASSIFIER, "--out", "parts"],
               tmp_path, ranks=2))
    out = ok(minicnn(["train", "classifier", "--epochs", "2", "--resume", *CLASSIFIER,
                      "--out", "parts"], tmp_path, ranks=2))
    assert out.count("test accuracy:") == 1
    whole, parts = weights(tmp_path / "whole" / "checkpoint.ckpt"), \
        weights(tmp_path / "parts" / "checkpoint.ckpt")
    for key in whole:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_the_split_classifier_step_is_the_global_batch_step(tmp_path):
    """Without dropout (whose masks are drawn per rank), 2 ranks train the classifier as
    one process does, including an uneven last batch (200 = 6 x 32 + 8)."""
    program = (
        "import sys, numpy as np\n"
        "from minicnn.models.classifier import train_classifier\n"
        "from minicnn.distributed.batch_split import BatchSplit\n"
        "r = train_classifier(epochs=1, batch_size=32, dropout=0.0, limit_train=200, "
        "limit_test=50, split=BatchSplit.from_launcher())\n"
        "np.savez(sys.argv[1], loss=r.run.curve('loss')[1], "
        "**{k: v.numpy() for k, v in r.model.state_dict().items()})\n")
    for name, ranks in (("two", 2), ("one", None)):
        command = [sys.executable, "-c", program, str(tmp_path / f"{name}.npz")]
        if ranks:
            command = [_mpiexec(), "-n", str(ranks)] + command
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
        ok(done)
    two, one = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
    assert len(one["loss"]) == 7
    for key in one.files:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_mistakes_under_mpiexec_are_one_line_printed_once(tmp_path):
    done = minicnn(["train", "dcgan", "--steps", "1", "--batch-size", "7", "--out", "odd",
                    "--no-progress"], tmp_path, ranks=2)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--batch-size 7 does not split evenly over 2 ranks" in lines[0]
    assert not (tmp_path / "odd").exists()

    done = minicnn(["train", "stylegan", "--steps", "1", "--out", "style", "--no-progress"],
                   tmp_path, ranks=2)
    assert done.returncode == 2 and "train it in one process" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_rank_that_fails_after_the_ranks_joined_stops_them_all(tmp_path):
    program = (
        "import sys, minicnn.cli as cli, minicnn.distributed as dist, minicnn.gan.train as t\n"
        "def broken(*args, split=None, **kwargs):\n"
        "    if split.rank == 1:\n"
        "        raise RuntimeError('rank 1 broke')\n"
        "    dist.barrier()   # rank 0 waits for a rank that will never come\n"
        "t.train_gan = broken\n"
        "sys.exit(cli.main(sys.argv[1:]))\n")
    command = [_mpiexec(), "-n", "2", sys.executable, "-c", program, "train", "dcgan",
               "--steps", "1", "--out", str(tmp_path / "run"), "--no-progress"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0 and time.perf_counter() - started < 30
    assert "rank 1 of 2 failed" in done.stderr and "RuntimeError: rank 1 broke" in done.stderr
