"""Run a PyTorch script unchanged on minicnn: ``python -m minicnn.as_torch script.py [args]``.

The script's ``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import
DataLoader`` ... get minicnn's modules (``torch`` is ``minicnn``, ``torch.X`` is
``minicnn.X``), and so do ``import torchvision.utils as vutils``, ``from torchvision import
datasets, transforms`` (``torchvision`` is ``minicnn.vision``, ``torchvision.X`` is
``minicnn.vision.X``), so every line it runs is minicnn's Python, which a debugger steps
into::

    python -m minicnn.as_torch train.py --epochs 1          # run it
    python -m pdb -m minicnn.as_torch train.py              # step through it, into minicnn

How: ``install()`` puts every loaded ``minicnn.X`` into ``sys.modules`` as ``torch.X`` and a
finder first on ``sys.meta_path`` answers any other ``torch.X`` with ``minicnn.X`` and any
``torchvision.X`` with ``minicnn.vision.X`` (so the real PyTorch and torchvision, if
installed, are never imported). A name minicnn does not have fails as Python's own
``ModuleNotFoundError``, saying that the script asked for PyTorch's ``torch.X`` (or
torchvision's ``torchvision.X``) and minicnn has no ``minicnn.X`` (``minicnn.vision.X``).
Other packages built on PyTorch (torchaudio, timm, ...) are not mapped.

In Python: ``with minicnn.as_torch.installed(): exec(...)`` or ``install()``/``uninstall()``.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys

__all__ = ["install", "uninstall", "installed", "main"]


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already imported ``minicnn.X`` for ``torch.X``."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.original_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.original_spec   # the import machinery set torch.X's spec


# the packages mapped: (their name, whose they are, minicnn's package for them)
_MAPPED = (("torch", "PyTorch", "minicnn"), ("torchvision", "torchvision", "minicnn.vision"))


def _mapping(name: str):
    """``(owner, minicnn's name)`` for ``torch[.X]`` / ``torchvision[.X]``, else None."""
    for package, owner, ours in _MAPPED:
        if name == package or name.startswith(package + "."):
            return owner, ours + name[len(package):]
    return None


def _is_mapped(name: str) -> bool:
    return _mapping(name) is not None


def _exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:   # a parent that is a module, not a package
        return False


class _TorchFinder(importlib.abc.MetaPathFinder):
    """``torch[.X]`` -> ``minicnn[.X]``, ``torchvision[.X]`` -> ``minicnn.vision[.X]``."""

    def find_spec(self, name, path=None, target=None):
        found = _mapping(name)
        if found is None:
            return None
        owner, mapped = found
        if not _exists(mapped):
            raise ModuleNotFoundError(
                f"the script imports {owner}'s {name!r}; minicnn has no {mapped!r} (run it "
                f"with {owner}, or write the part it needs with minicnn's names)", name=name)
        return importlib.machinery.ModuleSpec(name, _AliasLoader(mapped))


_finder = _TorchFinder()
_saved: dict = {}


def install() -> None:
    """From now on ``import torch...`` gives minicnn and ``import torchvision...``
    minicnn.vision (see the module docstring)."""
    import minicnn  # noqa: F401 - loads minicnn.nn, .optim, .functional, .utils ...

    if _finder in sys.meta_path:
        return
    for name in [n for n in sys.modules if _is_mapped(n)]:
        _saved[name] = sys.modules.pop(name)   # a real torch imported before: set aside
    for name, module in list(sys.modules.items()):
        if name == "minicnn" or name.startswith("minicnn."):
            sys.modules["torch" + name[len("minicnn"):]] = module
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Undo ``install``: ``import torch`` means PyTorch again, ``import torchvision``
    torchvision (a PyTorch or torchvision imported before ``install`` comes back)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if _is_mapped(n)]:
        if getattr(sys.modules[name], "__name__", "").startswith("minicnn"):
            del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()


@contextlib.contextmanager
def installed():
    """``with installed(): ...``: ``install()`` for the block."""
    install()
    try:
        yield
    finally:
        uninstall()


def main(argv=None) -> int:
    """``python -m minicnn.as_torch SCRIPT [ARGS...]``: run SCRIPT as ``__main__`` with
    ``sys.argv = [SCRIPT, ARGS...]``, ``torch`` being minicnn and ``torchvision``
    minicnn.vision."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0])
        print("usage: python -m minicnn.as_torch SCRIPT [ARGS...]")
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"minicnn.as_torch: error: cannot open {script!r}: no such file",
              file=sys.stderr)
        return 2
    install()
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))   # as ``python script.py``
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
