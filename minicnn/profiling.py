"""Count what a training step asks of the array library: launches, Functions, host time.

On a GPU every array operation is a kernel launch (a few microseconds of host time each,
whatever the array's size), so a step's launch count bounds how fast it can be. The same
count is measurable on the CPU, where the step runs the same code through NumPy::

    with count_launches(G, D, opt_g, opt_d) as counts:
        training.train_step()
    print(counts.report())

What counts as one **launch** (what a CuPy step would launch for the same call):

* each ufunc call on a counted array (``a + b``, ``xp.sqrt(a)``, ``a.sum()`` is
  ``add.reduce``), named by the ufunc and its method;
* each NumPy function call with a counted array among its arguments (``concatenate``,
  ``where``, ``copyto``, ``zeros_like`` ...), once, not what it does inside; functions that
  only make views or read metadata (``reshape``, ``transpose``, ``result_type`` ...) are
  tallied apart as ``free`` calls;
* the array methods that copy: ``copy``, ``astype`` (when it copies), ``reshape`` (when
  it copies), item assignment (``a[i] = v``), indexing with arrays or masks;
* ``np.zeros/ones/full`` (and their ``*_like``) while counting, and ``np.asarray``,
  ``np.ascontiguousarray`` and ``np.array`` of a counted array when they copy (a cast);
* each run of a registered kernel (``minicnn.registry``), once: the kernel sees plain
  arrays and what it does inside is not counted. The NumPy ``reference`` implementation
  is not one kernel: its array operations are counted one by one, as on a GPU.

Also counted: every ``Function`` application (autograd nodes, by class), host
synchronisations (``item()``, ``float(array)``, ``tolist()``), and time: ``wall_s`` (the
block), ``array_s`` (inside the counted calls) and ``python_s`` (the rest: Python, plus
the counter's own bookkeeping of a few microseconds per counted call).

How: the arrays of the given modules (parameters, gradients, buffers) and optimizers
(their state and flat buffers) are viewed as ``CountingArray``, an ``np.ndarray`` subclass
whose ``__array_ufunc__``/``__array_function__`` count and hand back ``CountingArray``
results, so everything computed from them is counted too. Arrays made from scratch
(a data batch, random noise) join as soon as they meet a counted one. On exit every array
is viewed back as a plain ``np.ndarray`` (same memory, nothing copied). Nothing is
patched or wrapped outside the ``with`` block: counting costs nothing when it is off.
CuPy arrays cannot be viewed this way: on a GPU only Functions, kernel runs and time
are counted (``benchmarks/launch_count.py`` counts the rest on the CPU).
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter

import numpy as np

__all__ = ["CountingArray", "LaunchCounts", "count_launches"]

_active: "LaunchCounts | None" = None

# NumPy functions that make views or read metadata: no kernel on a GPU
FREE_FUNCTIONS = frozenset("""
reshape ravel transpose swapaxes moveaxis rollaxis expand_dims squeeze broadcast_to
broadcast_arrays atleast_1d atleast_2d atleast_3d result_type can_cast min_scalar_type
shape ndim size may_share_memory shares_memory real imag diagonal split array_split
""".split())

_CREATORS = ("zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
             "empty_like")
_CONVERTERS = ("asarray", "ascontiguousarray", "array")


def _data(array) -> int:
    return array.__array_interface__["data"][0]


class LaunchCounts:
    """What ``count_launches`` counted. ``launches``: launch kind -> count; ``functions``:
    Function class -> applications; ``syncs``: host synchronisations; ``free``: view and
    metadata calls (not launches); ``seconds``: kind -> time inside its calls;
    ``sources``: the line that made each launch (``path:line (function)``) -> launches;
    times in seconds."""

    def __init__(self):
        self.launches: Counter = Counter()
        self.functions: Counter = Counter()
        self.syncs: Counter = Counter()
        self.free: Counter = Counter()
        self.seconds: Counter = Counter()   # time inside the counted calls, by kind
        self.sources: Counter = Counter()   # "path:line (function)" -> launches made there
        self.wall_s = 0.0
        self.array_s = 0.0
        self._suspended = 0

    @property
    def total(self) -> int:
        """Launches in all."""
        return sum(self.launches.values())

    @property
    def applications(self) -> int:
        """Function applications in all."""
        return sum(self.functions.values())

    @property
    def python_s(self) -> float:
        return max(self.wall_s - self.array_s, 0.0)

    def kernels(self) -> int:
        """How many of the launches were registered kernel runs."""
        return sum(n for kind, n in self.launches.items() if kind.startswith("kernel "))

    def report(self, top: int = 15, per: int = 1) -> str:
        """A few lines: totals (divided by ``per``, e.g. the number of steps) and the
        ``top`` launch kinds."""
        def each(n):
            return f"{n / per:.0f}" if per != 1 else str(n)
        lines = [f"launches: {each(self.total)} ({each(self.kernels())} registered kernel "
                 f"runs), Function applications: {each(self.applications)}, host syncs: "
                 f"{each(sum(self.syncs.values()))}, free view/metadata calls: "
                 f"{each(sum(self.free.values()))}",
                 f"time: {self.wall_s / per * 1e3:.1f} ms wall, {self.array_s / per * 1e3:.1f} "
                 f"ms inside the counted calls, {self.python_s / per * 1e3:.1f} ms Python "
                 "(with the counter's own overhead)",
                 f"top {top} launch kinds:"]
        for kind, n in self.launches.most_common(top):
            lines.append(f"  {each(n):>6}  {kind}")
        lines.append(f"top {top} sources (the line making the launches):")
        for where, n in self.sources.most_common(top):
            lines.append(f"  {each(n):>6}  {where}")
        return "\n".join(lines)


# -- the counting array ----------------------------------------------------------------
def _plain(value):
    """``value`` with every CountingArray in it (also inside lists and tuples, as
    ``concatenate``'s) viewed as a plain ndarray."""
    if isinstance(value, CountingArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        converted = [_plain(v) for v in value]
        if any(a is not b for a, b in zip(converted, value)):
            return type(value)(converted)
    return value


def _counted(value):
    if isinstance(value, np.generic):   # a reduction's scalar: a 0-d array, as CuPy's
        value = np.asarray(value)
    if type(value) is np.ndarray:
        counted = value.view(CountingArray)
        if value.base is None:      # it owns its memory: so does its counted view
            counted._owner = True
        return counted
    if isinstance(value, tuple) and any(type(v) is np.ndarray for v in value):
        return tuple(_counted(v) for v in value)
    if isinstance(value, list) and any(type(v) is np.ndarray for v in value):
        return [_counted(v) for v in value]
    return value


def _call(kind: str, function, args, kwargs, free: bool = False):
    """``function(*args, **kwargs)`` on plain arrays; counted (when counting) and its
    array results viewed as CountingArray."""
    counts = _active
    args, kwargs = _plain(args), {k: _plain(v) for k, v in kwargs.items()}
    if counts is None or counts._suspended:
        return function(*args, **kwargs)
    if free:
        counts.free[kind] += 1
    else:
        counts.launches[kind] += 1
        counts.sources[_source()] += 1
    counts._suspended += 1
    start = time.perf_counter()
    try:
        result = function(*args, **kwargs)
    finally:
        spent = time.perf_counter() - start
        counts.array_s += spent
        counts.seconds[kind] += spent
        counts._suspended -= 1
    return _counted(result)


_HERE = os.path.abspath(__file__)
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


def _source() -> str:
    """Where a launch comes from: the first frame outside this file and NumPy, as
    ``path:line (function)`` relative to the repository."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != _HERE and not name.startswith(_NUMPY):
            path = os.path.relpath(name, _ROOT) if name.startswith(_ROOT) else name
            return f"{path}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "?"


class CountingArray(np.ndarray):
    """An ``np.ndarray`` whose operations are counted while ``count_launches`` is active
    (and that behaves as a plain array otherwise). A counted view of an array that owns
    its memory says ``base is None`` too (code that copies views, such as the gradient
    store, behaves as it does uncounted)."""

    @property
    def base(self):
        return None if self.__dict__.get("_owner") else np.ndarray.base.__get__(self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        kind = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        out = kwargs.get("out")
        result = _call(kind, getattr(ufunc, method), inputs, kwargs)
        if out is not None:     # hand back the caller's own output arrays
            return out[0] if len(out) == 1 else out
        return result

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        return _call(name, func, args, kwargs, free=name in FREE_FUNCTIONS)

    def copy(self, order="C"):
        return _call("copy", np.ndarray.copy, (self, order), {})

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return _call("astype", np.ndarray.astype, (self, dtype, order, casting), {})

    def __setitem__(self, key, value):
        _call("setitem", np.ndarray.__setitem__, (self, key, value), {})

    def __getitem__(self, key):
        if _advanced(key):
            return _call("getitem (gather)", np.ndarray.__getitem__, (self, key), {})
        return super().__getitem__(key)

    def reshape(self, *shape, **kwargs):
        result = super().reshape(*shape, **kwargs)
        if self.size and _active is not None and not _active._suspended \
                and _data(result) != _data(self):      # not a view: it copied
            _active.launches["reshape (copy)"] += 1
            _active.sources[_source()] += 1
        return result

    def fill(self, value):
        _call("fill", np.ndarray.fill, (self, value), {})

    def flatten(self, order="C"):
        return _call("copy", np.ndarray.flatten, (self, order), {})

    def item(self, *args):
        _sync("item")
        return self.view(np.ndarray).item(*args)

    def tolist(self):
        _sync("tolist")
        return self.view(np.ndarray).tolist()

    def __float__(self):
        _sync("float")
        return float(self.view(np.ndarray))

    def __bool__(self):
        _sync("bool")
        return bool(self.view(np.ndarray))


def _advanced(key) -> bool:
    """Whether indexing with ``key`` gathers (arrays, lists or masks) instead of viewing."""
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in keys)


def _sync(kind: str) -> None:
    if _active is not None and not _active._suspended:
        _active.syncs[kind] += 1


# -- what is viewed as counted ---------------------------------------------------------
def _tensors_of(obj):
    """The Tensors whose arrays a module or an optimizer holds (gradients included)."""
    from .autograd import Tensor
    from .nn import Module
    from .optim import Optimizer
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, Module):
        for module in obj.modules():
            for store in (module._parameters, module._buffers):
                yield from (t for t in store.values() if t is not None)
    elif isinstance(obj, Optimizer):
        for group in obj.param_groups:
            yield from group["params"]
        for state in obj.state.values():
            yield from (v for v in state.values() if isinstance(v, Tensor))
    else:
        raise TypeError(f"count_launches: expected Modules, Optimizers or Tensors, "
                        f"got {type(obj).__name__}")


def _view_all(objects, kind) -> None:
    """View every array of ``objects`` (and their gradients, and the optimizers' flat
    buffers) as ``kind`` (CountingArray or np.ndarray): same memory, no copy."""
    from .optim import Optimizer

    def convert(array):
        return array.view(kind) if isinstance(array, np.ndarray) else array
    seen = set()
    for obj in objects:
        for tensor in _tensors_of(obj):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                tensor.array = convert(tensor.array)
                if tensor.grad is not None and id(tensor.grad) not in seen:
                    seen.add(id(tensor.grad))
                    tensor.grad.array = convert(tensor.grad.array)
        if isinstance(obj, Optimizer):
            obj._view_buffers(convert)


@contextlib.contextmanager
def _patched(counts: LaunchCounts):
    """Function.apply and registry.run count while the block runs; NumPy's creation
    functions make counted arrays. Restored on exit."""
    from . import registry
    from .autograd import Function
    from .backend import device_of

    apply, run = Function.apply.__func__, registry.run

    def counting_apply(cls, *inputs, **params):
        counts.functions[cls.__name__] += 1
        return apply(cls, *inputs, **params)

    def counting_run(op, array, *args, **kwargs):
        impl = registry.choose(op, device_of(array), array, *args, **kwargs)
        if impl.name == "reference" or counts._suspended:
            return run(op, array, *args, **kwargs)     # its array operations are counted
        return _call(f"kernel {op} ({impl.name})", run, (op, array) + args, kwargs)

    def creator(name, function):
        def create(*args, **kwargs):
            if counts._suspended:
                return function(*args, **kwargs)
            return _call(name, function, args, kwargs, free=name.startswith("empty"))
        return create

    def converter(name, function):
        """np.asarray & co. (not dispatched to subclasses): a counted array in, a counted
        array out; a launch when it copied (a cast, a contiguous copy)."""
        def convert(value, *args, **kwargs):
            if counts._suspended or not isinstance(value, CountingArray):
                return function(value, *args, **kwargs)
            plain = value.view(np.ndarray)
            result = function(plain, *args, **kwargs)
            if result is plain or (isinstance(result, np.ndarray) and result.dtype == plain.dtype
                                   and _data(result) == _data(plain) and name != "array"):
                return value if result is plain else _counted(result)
            counts.launches[f"{name} (copy)"] += 1
            counts.sources[_source()] += 1
            return _counted(result)
        return convert

    originals = {name: getattr(np, name) for name in _CREATORS + _CONVERTERS}
    Function.apply = classmethod(counting_apply)
    registry.run = counting_run
    for name, function in originals.items():
        setattr(np, name, (converter if name in _CONVERTERS else creator)(name, function))
    try:
        yield
    finally:
        Function.apply = classmethod(apply)
        registry.run = run
        for name, function in originals.items():
            setattr(np, name, function)


@contextlib.contextmanager
def count_launches(*objects):
    """Count launches, Function applications, host syncs and time inside the block (see
    the module docstring). ``objects``: the Modules, Optimizers and Tensors the block
    computes with (their arrays are viewed as counted ones inside the block, and viewed
    back after). Yields a ``LaunchCounts``, filled in when the block ends."""
    global _active
    if _active is not None:
        raise RuntimeError("count_launches: already counting (blocks do not nest)")
    counts = LaunchCounts()
    _view_all(objects, CountingArray)
    _active = counts
    start = time.perf_counter()
    try:
        with _patched(counts):
            yield counts
    finally:
        counts.wall_s = time.perf_counter() - start
        _active = None
        _view_all(objects, np.ndarray)
