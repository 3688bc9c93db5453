"""Data parallelism on MPI: 2 ranks under ``mpiexec -n 2`` train exactly as one process on
the global batch, the sampler shards cover the data once, a dead rank ends the run.

The programs are in ``tests/mpi/worker.py``. Skipped without mpi4py, unless
MINICNN_REQUIRE_MPI=1 (set by CI), where a missing MPI is a failure."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.data import DistributedSampler

WORKER = Path(__file__).resolve().parent / "mpi" / "worker.py"


def _mpiexec() -> str:
    if os.environ.get("MINICNN_REQUIRE_MPI") != "1":
        pytest.importorskip("mpi4py")
    found = shutil.which("mpiexec") or str(Path(sys.executable).parent / "mpiexec")
    if not Path(found).exists():
        if os.environ.get("MINICNN_REQUIRE_MPI") == "1":
            raise AssertionError("mpiexec not found (pip install 'minicnn[distributed]')")
        pytest.skip("mpiexec not found")
    return found


def run_worker(mode: str, out: Path, ranks: int | None = 2, timeout: float = 120):
    command = [sys.executable, str(WORKER), mode, str(out)]
    if ranks is not None:
        command = [_mpiexec(), "-n", str(ranks)] + command
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def _result(mode: str, tmp_path: Path, ranks):
    out = tmp_path / f"{mode}_{ranks}.npz"
    done = run_worker(mode, out, ranks)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return np.load(out)


@pytest.mark.parametrize("mode", ["plain", "syncbn"])
def test_two_ranks_train_exactly_as_one_process_on_the_global_batch(tmp_path, mode):
    two = _result(mode, tmp_path, 2)
    one = _result(mode, tmp_path, None)
    params = [k for k in one.files if k.startswith("param:")]
    assert params and len(two["buckets"]) > 1  # the gradients travelled in several buckets
    for key in params:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-10, atol=1e-12, err_msg=key)
    # not vacuous: training moved the weights away from the initial ones
    assert np.abs(two["param:0.weight"] - _initial("0.weight", mode)).max() > 1e-3
    assert all(k.startswith("module.") for k in two["state_keys"])
    if mode == "syncbn":  # the running statistics came from the global batch too
        np.testing.assert_allclose(two["param:2.running_var"], one["param:2.running_var"],
                                   rtol=1e-10)


def _initial(name: str, mode: str):
    sys.path.insert(0, str(WORKER.parent))
    try:
        import worker
    finally:
        sys.path.pop(0)
    return worker.small_net(mode == "syncbn").state_dict()[name].numpy()


def test_syncbatchnorm_gradcheck_over_two_ranks(tmp_path):
    result = _result("syncbn_gradcheck", tmp_path, 2)
    assert result["grad_scale"] > 1e-2            # not vacuous: the gradients are not ~0
    assert result["max_error"][0] < 1e-7, result["max_error"]


def test_no_sync_accumulates_and_the_next_backward_reduces_the_sum(tmp_path):
    grads = _result("no_sync", tmp_path, 2)
    sys.path.insert(0, str(WORKER.parent))
    import worker

    sys.path.pop(0)
    model = worker.small_net(False)
    images, targets = worker.data()
    from minicnn import functional as F

    for k in range(3):  # one process: both ranks' 4 samples of each micro-batch
        for rank in range(2):
            x = mc.tensor(images[k, rank * 4:(rank + 1) * 4])
            F.mse_loss(model(x), mc.tensor(targets[k, rank * 4:(rank + 1) * 4])).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[f"grad:{name}"], p.grad.numpy() / 2, rtol=1e-10)


def test_collectives(tmp_path):
    r = _result("collectives", tmp_path, 2)
    np.testing.assert_array_equal(r["SUM"], [3.0, -2.0])
    np.testing.assert_array_equal(r["AVG"], [1.5, -1.0])
    np.testing.assert_array_equal(r["MAX"], [2.0, 0.0])
    np.testing.assert_array_equal(r["MIN"], [1.0, -2.0])
    np.testing.assert_array_equal(r["broadcast"], [1.0, 1.0, 1.0])
    assert bool(r["async_done"])


def test_sampler_shards_cover_the_dataset_once_per_epoch(tmp_path):
    r = _result("sampler", tmp_path, 2)
    for epoch in ("epoch0", "epoch1"):
        shards = r[epoch]
        assert shards.shape == (2, 6)  # 11 samples padded to 12, 6 per rank
        assert sorted(set(shards.ravel().tolist())) == list(range(11))
        assert len(shards.ravel()) - len(set(shards.ravel().tolist())) == 1  # one pad
    assert not np.array_equal(r["epoch0"], r["epoch1"])  # set_epoch reshuffles
    np.testing.assert_array_equal(r["loader_rank"], [0, 2, 4, 6, 8, 10])


@pytest.mark.parametrize("mode", ["kill", "raise"])
def test_a_failing_rank_ends_the_whole_run_within_seconds(tmp_path, mode):
    start = time.monotonic()
    done = run_worker(mode, tmp_path / "x.npz", 2, timeout=60)
    assert done.returncode != 0
    assert time.monotonic() - start < 30
    if mode == "raise":
        assert "rank 1 of 2 failed" in done.stderr and "deliberate failure" in done.stderr


def test_distributed_sampler_as_pytorch():
    """Padding, drop_last and the rank/num_replicas checks, without MPI."""
    assert list(DistributedSampler(range(10), 3, 1, shuffle=False)) == [1, 4, 7, 0]
    assert len(DistributedSampler(range(10), 3, 0, drop_last=True)) == 3
    shards = [list(DistributedSampler(range(10), 3, r, seed=5)) for r in range(3)]
    assert sorted(set(sum(shards, []))) == list(range(10))
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="mutually exclusive"):
        mc.data.DataLoader(mc.data.TensorDataset(np.arange(4.0)), shuffle=True,
                           sampler=DistributedSampler(range(4), 2, 0))


def test_without_a_process_group_ddp_refuses_and_syncbn_is_batchnorm():
    from minicnn.nn.parallel import DistributedDataParallel

    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(nn.Linear(2, 2))
    mc.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).double()
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(
        nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).double())
    synced.load_state_dict(plain.state_dict())
    assert isinstance(synced[1], nn.SyncBatchNorm)
    x = mc.randn(4, 1, 3, 3, dtype=np.float64)
    np.testing.assert_allclose(synced(x).numpy(), plain(x).numpy(), rtol=1e-12)


def test_replacing_a_child_module_keeps_its_place():
    """convert_sync_batchnorm swaps children in place: order (and so Sequential's forward
    and the state_dict) must not change, as in PyTorch."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert [type(m).__name__ for m in model] == ["Linear", "SyncBatchNorm", "Linear"]
    keys = list(model.state_dict())
    model[0].weight = nn.Parameter(mc.zeros(3, 2))
    assert list(model.state_dict()) == keys
