"""Which implementation runs a hot op: the NumPy reference or a faster kernel.

Each hot op (``conv2d``, ``conv2d_input_grad``, ``conv2d_weight_grad``, ``im2col``,
``max_pool2d``, ``leaky_relu`` ...) has a name; each implementation registers under
``(op, device, name)``: device is ``"cpu"`` (NumPy arrays) or ``"cuda"`` (CuPy arrays).
The NumPy reference is registered as ``"reference"`` for both devices (it runs on
CuPy arrays through ``xp``). ``run(op, array, ...)`` calls the chosen implementation
for the array's device: the one selected with ``use()``/``select()`` if any, else the
registered one with the highest priority.

Tests and benchmarks run every implementation by name::

    with registry.use("conv2d", "reference"):
        y = F.conv2d(x, w)

``registry.last_used(op)`` tells which implementation ran last, so that it is
never a mystery.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

from .backend import device_of


@dataclass
class Implementation:
    op: str
    device: str
    name: str
    function: Callable
    priority: int = 0
    available: Callable[[], bool] = lambda: True


_implementations: dict[tuple[str, str], dict[str, Implementation]] = {}
_selected: dict[tuple[str, str], str] = {}
_last_used: dict[str, str] = {}


def register(op: str, name: str, function: Callable, device: str = "cpu", priority: int = 0,
             available: Callable[[], bool] | None = None) -> None:
    """Register ``function`` as implementation ``name`` of ``op`` on ``device``."""
    impl = Implementation(op, device, name, function, priority, available or (lambda: True))
    _implementations.setdefault((op, device), {})[name] = impl


def implementations(op: str, device: str = "cpu") -> list[str]:
    """Names of the available implementations of ``op`` on ``device``, best first."""
    impls = _implementations.get((op, device), {}).values()
    ready = [i for i in impls if i.available()]
    return [i.name for i in sorted(ready, key=lambda i: -i.priority)]


def select(op: str, name: str | None, device: str = "cpu") -> None:
    """Make ``name`` the implementation of ``op`` on ``device`` (None: back to the best)."""
    if name is None:
        _selected.pop((op, device), None)
        return
    known = _implementations.get((op, device), {})
    if name not in known:
        raise ValueError(f"implementation: expected one of {sorted(known)} for op {op!r} on "
                         f"{device}, got {name!r}")
    _selected[(op, device)] = name


@contextlib.contextmanager
def use(op: str, name: str, device: str = "cpu"):
    """Run ``op`` with implementation ``name`` inside the ``with`` block."""
    previous = _selected.get((op, device))
    select(op, name, device)
    try:
        yield
    finally:
        select(op, previous, device)


def get(op: str, device: str = "cpu") -> Implementation:
    key = (op, device)
    if key not in _implementations:
        raise KeyError(f"no implementation of op {op!r} is registered for device {device!r}")
    if key in _selected:
        return _implementations[key][_selected[key]]
    names = implementations(op, device)
    if not names:
        raise RuntimeError(f"no available implementation of op {op!r} on {device}")
    return _implementations[key][names[0]]


def run(op: str, array, *args, **kwargs):
    """Call the chosen implementation of ``op`` for the device ``array`` lives on."""
    impl = get(op, device_of(array))
    _last_used[op] = impl.name
    return impl.function(array, *args, **kwargs)


def last_used(op: str) -> str | None:
    """Name of the implementation that ran ``op`` most recently."""
    return _last_used.get(op)
