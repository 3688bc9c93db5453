"""Which implementation runs a hot op: the NumPy reference or a faster kernel.

Each hot op (``conv2d``, ``conv2d_input_grad``, ``conv2d_weight_grad``, ``max_pool2d``,
``leaky_relu`` ...) has a name; each implementation registers under ``(op, device, name)``:
device is ``"cpu"`` (NumPy arrays) or ``"cuda"`` (CuPy arrays). The NumPy reference is
registered as ``"reference"`` for both devices (it runs on CuPy arrays through ``xp``) and
supports every call. Every implementation takes exactly the reference's signature, and
declares what it can compute with a ``supports(*args, **kwargs)`` predicate over that
same call (dtype, slope sign, ``divisor_override`` ...).

``run(op, array, ...)`` looks at the implementations for the array's device in order of
preference -- the one selected with ``use()``/``select()`` first, then the others by
priority, highest first -- and calls the first that is available and supports the call.
``last_used(op)`` names the implementation that really ran: no kernel falls back on its
own behind the registry's back, so the name is never a lie.

Tests and benchmarks prefer one implementation, for one op or for a whole family::

    with registry.use("conv2d", "reference"):   # one op
        y = F.conv2d(x, w)
    with registry.use("numba"):                 # every op that has a "numba" implementation
        y = F.conv2d(x, w)

``table()`` lists every registered implementation (``minicnn info`` prints it). The
NumPy references register next to their ops (``minicnn/ops``); every accelerated kernel
registers from one table, ``kernels/registrations.py``. A kernel may be registered by
name, ``"package.module:function"``: its module is imported the first time the kernel
runs, so registering the GPU kernels imports neither CuPy nor ``numba.cuda``.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Callable

from .backend import device_of


def _always(*args, **kwargs) -> bool:
    return True


def resolve(target: Callable | str) -> Callable:
    """``target`` itself, or the function a ``"package.module:function"`` string names."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    if not name:
        raise ValueError(f"function: expected a callable or 'package.module:function', "
                         f"got {target!r}")
    return getattr(importlib.import_module(module), name)


@dataclass
class Implementation:
    op: str
    device: str
    name: str
    target: Callable | str      # the function, or where to import it from on first use
    priority: int = 0
    available: Callable[[], bool] = field(default=_always)
    supports: Callable[..., bool] = field(default=_always)
    _function: Callable | None = field(default=None, repr=False)

    @property
    def function(self) -> Callable:
        """The function itself (imported now if it was registered by name)."""
        if self._function is None:
            self._function = resolve(self.target)
        return self._function


_implementations: dict[tuple[str, str], dict[str, Implementation]] = {}
_selected: dict[tuple[str, str], str] = {}
_last_used: dict[str, str] = {}


def register(op: str, name: str, function: Callable | str, device: str = "cpu",
             priority: int = 0, available: Callable[[], bool] | None = None,
             supports: Callable[..., bool] | None = None) -> None:
    """Register ``function`` as implementation ``name`` of ``op`` on ``device``.

    ``function`` is a callable or ``"package.module:function"`` (imported on its first
    run). ``available()`` says whether it can run on this machine at all (checked at
    dispatch time); ``supports(*args, **kwargs)``, called with the arguments of a call,
    whether it computes that call. Both default to "always".
    """
    impl = Implementation(op, device, name, function, priority, available or _always,
                          supports or _always)
    _implementations.setdefault((op, device), {})[name] = impl


def implementations(op: str, device: str = "cpu") -> list[str]:
    """Names of the available implementations of ``op`` on ``device``, best first."""
    impls = _implementations.get((op, device), {}).values()
    ready = [i for i in impls if i.available()]
    return [i.name for i in sorted(ready, key=lambda i: -i.priority)]


def select(op: str, name: str | None, device: str = "cpu") -> None:
    """Prefer ``name`` for ``op`` on ``device`` (None: back to the priority order)."""
    if name is None:
        _selected.pop((op, device), None)
        return
    known = _implementations.get((op, device), {})
    if name not in known:
        raise ValueError(f"implementation: expected one of {sorted(known)} for op {op!r} on "
                         f"{device}, got {name!r}")
    _selected[(op, device)] = name


@contextlib.contextmanager
def use(op_or_family: str, name: str | None = None, device: str = "cpu"):
    """Prefer an implementation inside the ``with`` block.

    ``use(op, name)`` prefers ``name`` for ``op``; ``use(name)`` prefers ``name`` for every
    op on ``device`` that has an implementation called ``name`` (a family: ``"numba"``,
    ``"reference"``, ``"cuda_c"`` ...).
    """
    if name is None:
        family = op_or_family
        ops = [op for (op, dev), impls in _implementations.items()
               if dev == device and family in impls]
        if not ops:
            raise ValueError(f"implementation: no op on {device} has an implementation "
                             f"named {family!r}")
    else:
        ops, family = [op_or_family], name
    previous = {op: _selected.get((op, device)) for op in ops}
    for op in ops:
        select(op, family, device)
    try:
        yield
    finally:
        for op in ops:
            select(op, previous[op], device)


def _preference(op: str, device: str) -> list[Implementation]:
    key = (op, device)
    if key not in _implementations:
        raise KeyError(f"no implementation of op {op!r} is registered for device {device!r}")
    impls = _implementations[key]
    order = [impls[name] for name in implementations(op, device)]
    chosen = _selected.get(key)
    if chosen is not None:
        order = [impls[chosen]] + [i for i in order if i.name != chosen]
    return order


def get(op: str, device: str = "cpu") -> Implementation:
    """The preferred implementation of ``op`` on ``device`` (before looking at a call)."""
    order = _preference(op, device)
    if not order:
        raise RuntimeError(f"no available implementation of op {op!r} on {device}")
    return order[0]


def choose(op: str, device: str, *args, **kwargs) -> Implementation:
    """The implementation that ``run`` calls for these arguments on ``device``."""
    for impl in _preference(op, device):
        if impl.supports(*args, **kwargs):
            return impl
    raise RuntimeError(f"no implementation of op {op!r} on {device} supports this call "
                       f"(registered: {sorted(_implementations[(op, device)])})")


def run(op: str, array, *args, **kwargs):
    """Call the best implementation of ``op`` that supports this call, on ``array``'s device."""
    impl = choose(op, device_of(array), array, *args, **kwargs)
    _last_used[op] = impl.name
    return impl.function(array, *args, **kwargs)


def last_used(op: str) -> str | None:
    """Name of the implementation that ran ``op`` most recently."""
    return _last_used.get(op)


def table() -> str:
    """Every registered implementation, one row each: op, device, name, priority, whether it
    can run on this machine, and what it is restricted to (its ``supports`` docstring)."""
    rows = [("op", "device", "implementation", "priority", "available", "supports")]
    for (op, device), impls in sorted(_implementations.items()):
        for impl in sorted(impls.values(), key=lambda i: -i.priority):
            try:
                ready = "yes" if impl.available() else "no"
            except Exception:
                ready = "no"
            limit = (impl.supports.__doc__ or "").strip().splitlines()
            rows.append((op, device, impl.name, str(impl.priority), ready,
                         limit[0] if limit and impl.supports is not _always else "every call"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)
