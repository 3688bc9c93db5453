r"""Collectives: operations that every rank of the group calls together.

=================================  ======================================================
``all_reduce(t, op)``              every rank's ``t`` becomes op(t_0, ..., t_{N-1}),
                                   in place (SUM, AVG, MAX, MIN, PRODUCT; AVG = SUM / N)
``broadcast(t, src)``              every rank's ``t`` becomes rank ``src``'s, in place
``all_gather(tensor_list, t)``     ``tensor_list[r]`` receives rank r's ``t`` on every rank
``barrier()``                      wait until every rank got here
=================================  ======================================================

Every rank must call the same collectives in the same order with tensors of the same
shape and dtype: MPI matches the calls by their order, so a rank that skips one leaves
the others waiting. They work on the raw array behind a Tensor (``tensor.array``) in
place and do not build a graph (``SyncBatchNorm`` has a differentiable all-reduce).

What an all-reduce costs. MPI's ring algorithm sends each rank's n numbers as N pieces
around the ring twice (reduce-scatter, then all-gather): every rank sends and receives
2 (N - 1) / N * n numbers, whatever N is. That is why data parallelism scales: the
traffic per rank does not grow with the number of ranks.

CuPy arrays (on a GPU) are handed to MPI as they are, through ``__cuda_array_interface__``,
which a CUDA-aware MPI (MPICH or Open MPI built with CUDA, e.g. ``mpich`` configured
``--with-cuda``) reads and writes on the device directly. MPI cannot tell whether a
library is CUDA-aware, so set ``MINICNN_MPI_CUDA_AWARE=0`` when yours is not: the arrays
then travel through host memory (copied to NumPy and back). The current CUDA stream is
synchronised before each call, so MPI sees finished results.
"""
from __future__ import annotations

import enum
import os

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .process_group import _import_mpi, _require


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (PyTorch's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _mpi_op(op: ReduceOp):
    MPI = _import_mpi()
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


def _array_of(caller: str, name: str, tensor):
    """The raw array of a Tensor (or an array), checked to be writable in place."""
    array = tensor.array if isinstance(tensor, Tensor) else tensor
    xp = get_array_module(array)
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"{caller}: {name}: expected a minicnn Tensor or an array, "
                        f"got {type(tensor).__name__}")
    if xp is np and not array.flags.writeable:
        raise ValueError(f"{caller}: {name}: the array is read-only (a broadcast view?); "
                         "collectives write their result in place")
    return array


class _Staged:
    """A contiguous buffer MPI can read and write for ``array``, and the copy back.

    Non-contiguous arrays go through a contiguous copy; CuPy arrays go through host
    memory unless the MPI is CUDA-aware (see the module docstring)."""

    def __init__(self, array):
        self.array = array
        xp = get_array_module(array)
        self.on_gpu = xp is not np
        if self.on_gpu:
            xp.cuda.get_current_stream().synchronize()
            if os.environ.get("MINICNN_MPI_CUDA_AWARE", "1") == "0":
                self.buffer = xp.asnumpy(array)
                return
        self.buffer = array if array.flags.c_contiguous else xp.ascontiguousarray(array)

    def finish(self):
        if self.buffer is not self.array:
            xp = get_array_module(self.array)
            self.array[...] = xp.asarray(self.buffer)


class Work:
    """A collective started with ``async_op=True``; ``wait()`` finishes it (PyTorch's)."""

    def __init__(self, request, finish):
        self._request, self._finish, self._done = request, finish, False

    def wait(self) -> bool:
        if not self._done:
            self._request.Wait()
            self._finish()
            self._done = True
        return True

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._finish()
            self._done = True
        return self._done


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks, in place: afterwards every rank holds
    op(tensor on rank 0, ..., tensor on rank N-1).

    ``ReduceOp.AVG`` is SUM divided by the world size, for floating-point tensors.
    With ``async_op=True`` the reduction is started (``MPI_Iallreduce``) and a ``Work`` is
    returned; the result is in ``tensor`` after ``work.wait()``. Returns None otherwise.
    """
    comm = _require("all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op: expected a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), "
                        f"got {op!r}")
    array = _array_of("all_reduce", "tensor", tensor)
    if op is ReduceOp.AVG and array.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got dtype "
                        f"{array.dtype}; use SUM and divide")
    staged = _Staged(array)
    MPI = _import_mpi()
    world = comm.Get_size()

    def finish():
        if op is ReduceOp.AVG:
            staged.buffer /= world
        staged.finish()

    if async_op:
        request = comm.Iallreduce(MPI.IN_PLACE, staged.buffer, op=_mpi_op(op))
        return Work(request, finish)
    comm.Allreduce(MPI.IN_PLACE, staged.buffer, op=_mpi_op(op))
    finish()
    return None


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``, in place."""
    comm = _require("broadcast")
    world = comm.Get_size()
    if not isinstance(src, (int, np.integer)) or not 0 <= src < world:
        raise ValueError(f"broadcast: src: expected a rank in 0..{world - 1}, got {src!r}")
    staged = _Staged(_array_of("broadcast", "tensor", tensor))
    if async_op:
        return Work(comm.Ibcast(staged.buffer, root=int(src)), staged.finish)
    comm.Bcast(staged.buffer, root=int(src))
    staged.finish()
    return None


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` receives rank r's ``tensor`` (same shape and dtype), on every
    rank. ``tensor_list`` holds world-size Tensors, written in place."""
    comm = _require("all_gather")
    world = comm.Get_size()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != world:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else \
            type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list: expected a list of {world} tensors (one "
                         f"per rank), got {got}")
    array = _array_of("all_gather", "tensor", tensor)
    outputs = [_array_of("all_gather", f"tensor_list[{r}]", t) for r, t in enumerate(tensor_list)]
    for r, out in enumerate(outputs):
        if out.shape != array.shape or out.dtype != array.dtype:
            raise ValueError(f"all_gather: tensor_list[{r}]: expected shape {array.shape} and "
                             f"dtype {array.dtype} (tensor's), got {out.shape} {out.dtype}")
    xp = get_array_module(array)
    send = _Staged(xp.ascontiguousarray(array))
    receive = _Staged(xp.empty((world,) + array.shape, dtype=array.dtype))

    def finish():
        receive.finish()
        for r, out in enumerate(outputs):
            out[...] = receive.array[r]

    if async_op:
        return Work(comm.Iallgather(send.buffer, receive.buffer), finish)
    comm.Allgather(send.buffer, receive.buffer)
    finish()
    return None


def barrier(group=None, async_op: bool = False):
    """Return only when every rank of the group has called ``barrier``."""
    comm = _require("barrier")
    if async_op:
        return Work(comm.Ibarrier(), lambda: None)
    comm.Barrier()
    return None
