"""Run a PyTorch script unchanged on minicnn: ``python -m minicnn.as_torch script.py [args]``.

The script's ``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import
DataLoader`` ... get minicnn's modules (``torch`` is ``minicnn``, ``torch.X`` is
``minicnn.X``), so every line it runs is minicnn's Python, which a debugger steps into::

    python -m minicnn.as_torch train.py --epochs 1          # run it
    python -m pdb -m minicnn.as_torch train.py              # step through it, into minicnn

How: ``install()`` puts every loaded ``minicnn.X`` into ``sys.modules`` as ``torch.X`` and a
finder first on ``sys.meta_path`` answers any other ``torch.X`` with ``minicnn.X`` (so the
real PyTorch, if installed, is never imported). A name minicnn does not have fails as
Python's own ``ModuleNotFoundError``, saying that the script asked for PyTorch's
``torch.X`` and minicnn has no ``minicnn.X``. ``torchvision`` and other packages built on
PyTorch are not mapped.

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


class _TorchFinder(importlib.abc.MetaPathFinder):
    """``torch`` and ``torch.X`` -> ``minicnn`` and ``minicnn.X``."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch" and not name.startswith("torch."):
            return None
        mapped = "minicnn" + name[len("torch"):]
        if importlib.util.find_spec(mapped) is None:
            raise ModuleNotFoundError(
                f"the script imports PyTorch's {name!r}; minicnn has no {mapped!r} (run it "
                f"with PyTorch, or write the part it needs with minicnn's names)", name=name)
        return importlib.machinery.ModuleSpec(name, _AliasLoader(mapped))


_finder = _TorchFinder()
_saved: dict = {}


def install() -> None:
    """From now on ``import torch...`` gives minicnn (see the module docstring)."""
    import minicnn  # noqa: F401 - loads minicnn.nn, .optim, .functional, .utils ...

    if _finder in sys.meta_path:
        return
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        _saved[name] = sys.modules.pop(name)   # a real torch imported before: set aside
    for name, module in list(sys.modules.items()):
        if name == "minicnn" or name.startswith("minicnn."):
            sys.modules["torch" + name[len("minicnn"):]] = module
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Undo ``install``: ``import torch`` means PyTorch again (a PyTorch imported before
    ``install`` comes back)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
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
    ``sys.argv = [SCRIPT, ARGS...]``, ``torch`` being minicnn."""
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
