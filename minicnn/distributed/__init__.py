"""Data-parallel training on MPI, with PyTorch's names (``torch.distributed``).

Every process (rank) runs the same script on its own shard of each batch; gradients are
averaged with an all-reduce after ``backward()`` so every rank takes the same optimizer
step and the models stay identical. Start N ranks with MPI's launcher, on one machine or
many (``mpiexec -n 4 -f hosts python train.py``; a host file lists one machine a line)::

    import minicnn.distributed as dist
    from minicnn.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    model = DDP(model)                              # rank 0's weights, on every rank
    sampler = mc.data.DistributedSampler(dataset)   # this rank's shard
    ...
    loss.backward()                                 # .grad = the average over ranks

Needs the optional extra: ``pip install "minicnn[distributed]"`` (mpi4py and MPICH,
``mpiexec`` included). ``process_group.py`` holds the group (and stops every rank when
one fails), ``collectives.py`` the collectives; ``minicnn/nn/parallel.py`` the
``DistributedDataParallel`` wrapper, ``minicnn/nn/sync_batchnorm.py`` batch norm over the
global batch, ``minicnn/data/sampler.py`` the ``DistributedSampler``.
"""
from .collectives import ReduceOp, Work, all_gather, all_reduce, barrier, broadcast
from .process_group import (abort, communicator, destroy_process_group, get_backend,
                            get_rank, get_world_size, init_process_group, is_available,
                            is_initialized)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "get_rank", "get_world_size", "get_backend", "communicator", "abort", "ReduceOp",
           "Work", "all_reduce", "broadcast", "all_gather", "barrier"]
