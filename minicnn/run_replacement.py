"""``--overwrite``: replacing a run in a folder without ever losing it to a failed start.

The files an earlier run wrote (``RUN_OUTPUTS``, ``samples_stepNNNNNN.png``) are not deleted
when the command line is checked, but moved aside into ``DIR/.minicnn-replaced/`` just
before the new run starts. They are deleted once the new run has written its first
checkpoint; if the new run stops before that (no GPU after all, a download that fails, a
NaN at step 3, Ctrl-C), they are moved back and the folder holds the earlier run, as
before the command. A process killed in between (``kill -9``) leaves the folder aside:
the next command in that folder moves it back first (``recover``), so the earlier run is
never hidden, whatever the new one did.

While a run trains, its folder is locked (``DIR/.minicnn-lock``, ``flock``: the system
releases it when the process ends, however it ends): a second command training into the
same folder is refused instead of overwriting the first one's checkpoints.
"""
from __future__ import annotations

import os
import shutil

# What a ``minicnn train`` run writes into its folder; ``--overwrite`` replaces exactly
# these, so no picture of the replaced run (a ``samples_step004000.png`` a shorter new run
# never reaches) is left beside the new run's files. Anything else in the folder is the
# user's.
RUN_OUTPUTS = ("checkpoint.ckpt", "model.ckpt", "losses.csv", "losses.png", "samples.png",
               "loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png")
ASIDE = ".minicnn-replaced"
CHECKPOINT = "checkpoint.ckpt"


def run_outputs(out: str) -> list[str]:
    """The names of the run files in the folder ``out`` (see ``RUN_OUTPUTS``)."""
    if not os.path.isdir(out):
        return []
    return sorted(name for name in os.listdir(out)
                  if (name in RUN_OUTPUTS or name.startswith("samples_step")
                      and name.endswith(".png"))
                  and os.path.isfile(os.path.join(out, name)))


def recover(out: str, ours: bool = False) -> bool:
    """Move back a run an interrupted replacement left aside, when the folder holds no
    newer checkpoint; drop the aside copy when it does. True when a run was moved back.
    ``ours``: this process holds the folder's lock (else a locked folder is left alone:
    its replacement is still going on)."""
    aside = os.path.join(out, ASIDE)
    if not os.path.isdir(aside) or not ours and in_use(out):   # another run's replacement
        return False
    if os.path.exists(os.path.join(out, CHECKPOINT)):   # the new run got going: keep it
        shutil.rmtree(aside, ignore_errors=True)
        return False
    for name in run_outputs(out):   # what the new run wrote before it stopped
        os.remove(os.path.join(out, name))
    for name in os.listdir(aside):
        os.replace(os.path.join(aside, name), os.path.join(out, name))
    os.rmdir(aside)
    return True


def move_aside(out: str) -> str | None:
    """Move the earlier run's files into ``out/.minicnn-replaced``; returns that folder
    (None when there was nothing to move). Raises ``OSError`` naming what failed."""
    names = run_outputs(out)
    if not names:
        return None
    aside = os.path.join(out, ASIDE)
    os.makedirs(aside, exist_ok=True)
    for name in names:
        os.replace(os.path.join(out, name), os.path.join(aside, name))
    return aside


def settle(out: str, aside: str | None) -> None:
    """After the new run ended (or failed): drop the earlier run if the new one wrote a
    checkpoint, else put the earlier run back."""
    if aside is not None:
        recover(out, ours=True)


LOCK = ".minicnn-lock"


class FolderInUse(Exception):
    """Another minicnn process is training into the folder (its pid in ``args[0]``)."""


def lock_folder(out: str):
    """Take ``out``'s lock (``out/.minicnn-lock``, ``flock``ed: released by the system
    when the process ends, however it ends); returns the open lock file, or raises
    ``FolderInUse`` naming the process that holds it. None where ``fcntl`` is missing
    (Windows): no lock, as before."""
    try:
        import fcntl
    except ImportError:
        return None
    made = not os.path.isdir(out)
    os.makedirs(out, exist_ok=True)
    stream = open(os.path.join(out, LOCK), "a+")
    stream.made_folder = made   # removed again if the run leaves nothing in it
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        stream.seek(0)
        holder = stream.read().strip() or "?"
        stream.close()
        raise FolderInUse(holder) from None
    stream.seek(0)
    stream.truncate()
    stream.write(str(os.getpid()))
    stream.flush()
    return stream


def in_use(out: str) -> bool:
    """True while another process holds ``out``'s lock."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        stream = open(os.path.join(out, LOCK))
    except OSError:
        return False
    with stream:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
    return False


def unlock_folder(out: str, stream) -> None:
    """Release the lock and remove its file (the folder holds only the run's files)."""
    if stream is None:
        return
    try:
        os.remove(os.path.join(out, LOCK))
        if getattr(stream, "made_folder", False) and not os.listdir(out):
            os.rmdir(out)
    except OSError:
        pass
    stream.close()
