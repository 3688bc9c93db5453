"""Programs the distributed tests run under ``mpiexec -n 2`` (and alone, as the reference).

``python worker.py MODE OUT``: MODE is one of the functions below; rank 0 writes what it
found to OUT (a .npz file) for the test to read.
"""
import os
import signal
import sys

import numpy as np

import minicnn as mc
import minicnn.distributed as dist
from minicnn import functional as F
from minicnn import nn, optim
from minicnn.data import DistributedSampler
from minicnn.nn.parallel import DistributedDataParallel

GLOBAL_BATCH, STEPS = 8, 3


def small_net(batch_norm: bool) -> nn.Sequential:
    mc.manual_seed(0)
    layers = [nn.Conv2d(1, 4, 3), nn.ReLU()]
    if batch_norm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.Conv2d(4, 4, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 9, 3)]
    return nn.Sequential(*layers).double()


def data():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((STEPS, GLOBAL_BATCH, 1, 10, 10))
    targets = rng.standard_normal((STEPS, GLOBAL_BATCH, 3))
    return images, targets


def train(batch_norm: bool, distributed: bool) -> dict:
    """STEPS steps of SGD with momentum on the same global batches: with DDP every rank
    takes its contiguous shard; alone, the process takes the whole batch."""
    model = small_net(batch_norm)
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if distributed:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model, bucket_cap_mb=0.0005)  # several buckets
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    images, targets = data()
    shard = GLOBAL_BATCH // world
    losses = []
    for step in range(STEPS):
        x = mc.tensor(images[step, rank * shard:(rank + 1) * shard])
        y = mc.tensor(targets[step, rank * shard:(rank + 1) * shard])
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    inner = model.module if distributed else model
    result = {f"param:{k}": v.numpy() for k, v in inner.state_dict().items()}
    result["losses"] = np.array(losses)
    if distributed:
        result["state_keys"] = np.array(list(model.state_dict()))
        result["buckets"] = np.array(model.bucket_sizes)
    return result


def equivalence(batch_norm: bool) -> dict:
    if dist.is_available() and "PMI_RANK" in os.environ:
        dist.init_process_group("mpi")
        return train(batch_norm, distributed=True)
    return train(batch_norm, distributed=False)


def mode_plain():
    return equivalence(batch_norm=False)


def mode_syncbn():
    return equivalence(batch_norm=True)


def mode_no_sync():
    """Two micro-batches under no_sync, then one synchronised: the same as one backward
    of the summed losses."""
    dist.init_process_group("mpi")
    model = DistributedDataParallel(small_net(False))
    images, targets = data()
    rank = dist.get_rank()
    for k in range(3):
        x = mc.tensor(images[k, rank * 4:(rank + 1) * 4])
        loss = F.mse_loss(model(x), mc.tensor(targets[k, rank * 4:(rank + 1) * 4]))
        if k < 2:
            with model.no_sync():
                loss.backward()
        else:
            loss.backward()
    return {f"grad:{n}": p.grad.numpy() for n, p in model.module.named_parameters()}


def mode_sampler():
    dist.init_process_group("mpi")
    seen = {}
    for epoch in range(2):
        sampler = DistributedSampler(range(11), shuffle=True, seed=3)
        sampler.set_epoch(epoch)
        mine = np.array(list(sampler), dtype=np.int64)
        shards = [mc.tensor(np.zeros_like(mine)) for _ in range(dist.get_world_size())]
        dist.all_gather(shards, mc.tensor(mine))
        seen[f"epoch{epoch}"] = np.stack([s.numpy() for s in shards])
    loader = mc.data.DataLoader(mc.data.TensorDataset(np.arange(11.0)), batch_size=4,
                                sampler=DistributedSampler(range(11), shuffle=False))
    seen["loader_rank"] = np.concatenate([b[0].numpy() for b in loader])
    return seen


def mode_collectives():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {}
    for op in ("SUM", "AVG", "MAX", "MIN"):
        t = mc.tensor(np.array([rank + 1.0, -rank * 2.0]))
        dist.all_reduce(t, getattr(dist.ReduceOp, op))
        out[op] = t.numpy()
    t = mc.tensor(np.full(3, float(rank)))
    dist.broadcast(t, src=1)
    out["broadcast"] = t.numpy()
    work = dist.all_reduce(mc.tensor(np.ones(2)), async_op=True)
    out["async_done"] = np.array(work.wait())
    dist.barrier()
    return out


def mode_syncbn_gradcheck():
    """SyncBatchNorm's backward over two ranks against central differences of the global
    loss L = sum_r sum(w_r * SyncBN(x_r)): each rank perturbs its own input in turn while
    the other holds still (so every forward is still a collective of both). The ranks hold
    different batch sizes (3 and 2), as PyTorch allows."""
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(10 + rank)
    shape = (3 - rank, 2, 3, 2)    # rank r holds 3 - r samples
    x0 = rng.standard_normal(shape) * 2.0 + 0.5
    w = mc.tensor(rng.standard_normal(shape))
    shared = np.random.default_rng(99)      # the same affine parameters on every rank
    bn = nn.SyncBatchNorm(2).double()
    bn.weight.array[...] = shared.standard_normal(2)
    bn.bias.array[...] = shared.standard_normal(2)

    def global_loss(array) -> float:
        with mc.no_grad():
            local = mc.tensor(np.array([float((bn(mc.tensor(array)) * w).sum().item())]))
        dist.all_reduce(local)
        return float(local.numpy()[0])

    x = mc.tensor(x0.copy(), requires_grad=True)
    (bn(x) * w).sum().backward()
    analytic_x = x.grad.numpy()
    analytic_weight = bn.weight.grad.detach()
    dist.all_reduce(analytic_weight)      # a shared parameter: its gradient sums the ranks'
    h, worst = 1e-6, 0.0
    for owner in range(world):
        for i in range(int(np.prod((3 - owner,) + shape[1:]))):   # the owner's input size
            plus, minus = x0.copy(), x0.copy()
            if rank == owner:
                plus.flat[i] += h
                minus.flat[i] -= h
            numeric = (global_loss(plus) - global_loss(minus)) / (2 * h)
            if rank == owner:
                worst = max(worst, abs(numeric - analytic_x.flat[i]))
    for c in range(2):
        saved = bn.weight.array[c]
        bn.weight.array[c] = saved + h
        up = global_loss(x0)
        bn.weight.array[c] = saved - h
        down = global_loss(x0)
        bn.weight.array[c] = saved
        worst = max(worst, abs((up - down) / (2 * h) - analytic_weight.numpy()[c]))
    error = mc.tensor(np.array([worst]))
    dist.all_reduce(error, dist.ReduceOp.MAX)
    return {"max_error": error.numpy(), "grad_scale": np.abs(analytic_x).max()}


def mode_kill():
    """Rank 1 dies (SIGKILL) while rank 0 waits in a collective."""
    dist.init_process_group("mpi")
    if dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.barrier()
    return {}


def mode_raise():
    """Rank 1 raises: the abort hook names it and stops rank 0 too."""
    dist.init_process_group("mpi")
    if dist.get_rank() == 1:
        raise RuntimeError("a deliberate failure in rank 1")
    dist.barrier()
    return {}


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    result = globals()[f"mode_{mode}"]()
    if not dist.is_initialized() or dist.get_rank() == 0:
        np.savez(out, **result)
