"""The process group: which MPI processes train together, and who this one is.

Data parallelism runs the same program in N processes (*ranks* 0 .. N-1), started by
MPI's launcher::

    mpiexec -n 2 python train.py

``init_process_group(backend="mpi")`` joins them: it starts MPI (through ``mpi4py``) and
takes a private copy of ``MPI.COMM_WORLD``, the communicator every collective of
``minicnn.distributed`` goes through. ``get_rank()`` and ``get_world_size()`` then say who
this process is and how many there are. Run without ``mpiexec``, the same program is a
group of one (rank 0 of 1), so a script written for N processes also runs alone.

A rank that fails must not leave the others waiting forever inside a collective (MPI has
no timeout). ``init_process_group`` therefore installs an exception hook: an uncaught
exception in any rank prints ``minicnn.distributed: rank R of N failed: ...`` with its
traceback, then calls ``MPI.COMM_WORLD.Abort``, which makes ``mpiexec`` end every rank.
A rank killed outright (a signal, out of memory) is noticed by ``mpiexec`` itself, which
ends the job the same way.
"""
from __future__ import annotations

import sys
import time
import traceback

from ..kernels.cpu_threads import share_cores

_state = {"comm": None, "previous_excepthook": None}


def _import_mpi():
    """``mpi4py.MPI``, or an ImportError that names the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "minicnn.distributed needs mpi4py and an MPI library: "
            'pip install "minicnn[distributed]" (installs mpi4py and mpich, '
            f"mpiexec included). The import failed with: {error}") from error
    return MPI


def is_available() -> bool:
    """Whether the MPI backend can be used (mpi4py imports)."""
    try:
        _import_mpi()
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    """Whether ``init_process_group`` was called (and not undone)."""
    return _state["comm"] is not None


def init_process_group(backend: str = "mpi", init_method=None, world_size: int = -1,
                       rank: int = -1, abort_on_error: bool = True) -> None:
    """Join the processes started by ``mpiexec`` into one group.

    Args:
        backend: ``"mpi"``, the only one (as PyTorch's MPI backend, MPI itself decides the
            ranks, so ``init_method`` is not needed).
        world_size, rank: optional checks; -1 (the default) takes MPI's values.
        abort_on_error: install the exception hook that ends every rank when one fails.
    """
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend: expected 'mpi', got {backend!r}")
    if is_initialized():
        raise RuntimeError("init_process_group: the process group is already initialised; "
                           "call destroy_process_group() first")
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD.Dup()
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given != -1 and given != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={given}, but MPI started this "
                             f"process with {name}={actual} (set by mpiexec -n)")
    _state["comm"] = comm
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)  # the ranks on this machine
    share_cores(node.Get_size())  # each its share of the cores, unless chosen
    node.Free()
    if abort_on_error:
        _install_abort_hook()


def destroy_process_group() -> None:
    """Leave the group (MPI itself is finalised when Python exits)."""
    comm = _require("destroy_process_group")
    _state["comm"] = None
    if _state["previous_excepthook"] is not None:
        sys.excepthook = _state["previous_excepthook"]
        _state["previous_excepthook"] = None
    comm.Free()


def get_rank() -> int:
    """This process's number in the group, 0 .. world_size - 1."""
    return _require("get_rank").Get_rank()


def get_world_size() -> int:
    """How many processes are in the group."""
    return _require("get_world_size").Get_size()


def get_backend() -> str:
    _require("get_backend")
    return "mpi"


def communicator():
    """The group's ``mpi4py`` communicator (for readers who want to call MPI directly)."""
    return _require("communicator")


def _require(caller: str):
    comm = _state["comm"]
    if comm is None:
        raise RuntimeError(f"{caller}: the default process group is not initialised; call "
                           "minicnn.distributed.init_process_group('mpi') first (and start "
                           "the program with mpiexec -n N)")
    return comm


def abort(message: str, exit_code: int = 1) -> None:
    """Print ``message`` to stderr with this rank's number, then end every rank."""
    comm = _state["comm"]
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    sys.stderr.write(f"minicnn.distributed: rank {rank} of {size} failed: {message}\n"
                     f"minicnn.distributed: stopping all {size} ranks (MPI Abort)\n")
    sys.stderr.flush()
    time.sleep(0.5)  # Abort kills at once: give mpiexec time to forward the message first
    _import_mpi().COMM_WORLD.Abort(exit_code)


def _install_abort_hook() -> None:
    if _state["previous_excepthook"] is None:
        _state["previous_excepthook"] = sys.excepthook

    def abort_all_ranks(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt) or _state["comm"] is None \
                or _state["comm"].Get_size() == 1:
            return _state["previous_excepthook"](kind, value, tb)
        text = "".join(traceback.format_exception(kind, value, tb))
        abort(f"{kind.__name__}: {value}\n{text}")

    sys.excepthook = abort_all_ranks
