"""In-place methods (``x.add_(y)``, ``p -= lr * p.grad``, ``w.normal_(0, 0.02)``) with
PyTorch's rules.

Each in-place op computes its out-of-place twin and writes the result into the tensor's own
array (same object, same storage, so ``state_dict`` views and optimizer state stay valid),
then bumps the tensor's version counter.

* Outside ``no_grad``, a leaf that requires grad cannot be modified in place (its gradient
  would describe a value that no longer exists): RuntimeError, as PyTorch.
* On a tensor inside a graph, the op is recorded: the tensor's history is *rebased*. A
  snapshot takes over the old value and the old creator, the in-place op's Function reads
  the snapshot, and the tensor becomes that Function's output. Functions that used the
  tensor before the op are pointed at the snapshot by the walk (``_resolve_inputs``).
* A tensor modified where no snapshot was kept (under ``no_grad``, or a leaf) while a
  Function still needs its old value: backward raises, naming the Function and the
  versions (the version counter).
"""
from __future__ import annotations

import weakref

import numpy as np

from .. import autograd, backward_walk
from .. import random as _random
from ..autograd import Tensor, as_tensor, no_grad


def _write(target: Tensor, values, name: str) -> None:
    array = target.array
    values = values.array if isinstance(values, Tensor) else values
    if not np.can_cast(values.dtype, array.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {values.dtype} can't be cast to the tensor's "
                           f"dtype {array.dtype} in place (PyTorch refuses too); use the "
                           f"out-of-place op (x = x.{name.rstrip('_')}(...))")
    if not getattr(array.flags, "writeable", True):
        raise RuntimeError(f"{name}: this tensor's array is a read-only view (made by expand "
                           "or broadcasting); call .clone() first to modify a copy")
    array[...] = values
    target._version_box[0] += 1
    backward_walk._inplace_ops_done += 1


def _rebind(target: Tensor, values, name: str) -> None:
    """For ops that change the shape (``unsqueeze_``, ``t_``...): ``target`` takes the new
    array (a view of the same memory), as PyTorch changes only this tensor's view."""
    target.array = values.array if isinstance(values, Tensor) else values
    target.__dict__.pop("_views", None)  # a new layout: its views no longer index it
    target.__dict__.pop("_view_of", None)
    target._version_box[0] += 1
    backward_walk._inplace_ops_done += 1


def apply_in_place(self: Tensor, compute, name: str, write=_write) -> Tensor:
    """Replace ``self``'s value by ``compute(self)`` in place, with PyTorch's rules
    (``write=_rebind`` for the ops that change its shape)."""
    if not isinstance(self, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(self).__name__}")
    if not autograd.is_grad_enabled():
        write(self, compute(self), name)
        return self
    view = self.__dict__.get("_view_of")
    if view is not None and write is _write and _still_a_view(self, view[0]) and (
            view[0].requires_grad or self.requires_grad
            or compute(Tensor._wrap(self.array.copy())).requires_grad):
        return _through_base(self, view, compute, name)
    if self.requires_grad and self.creator is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           "in-place operation. (PyTorch raises the same.) Wrap the update in "
                           "`with mc.no_grad():`, or modify p.data (outside the graph).")
    if self.requires_grad:  # the old value may be needed by backward: keep a copy
        snapshot = Tensor._wrap(self.array.copy())
        snapshot.creator, snapshot._requires_grad = self.creator, True
    else:  # a constant: share its array and its version counter (the check catches misuse)
        snapshot = Tensor._wrap(self.array)
        snapshot._version_box = self._version_box
    result = compute(snapshot)
    if result is snapshot or result is self:  # the op returned its input: make it a new node
        result = result * 1
    old_version = self._version
    if self.requires_grad:
        if self.creator is not None:
            self.creator._output_ref = weakref.ref(snapshot)
            self.creator._output_version = 0
        self.__dict__.setdefault("_snapshots", {})[old_version] = weakref.ref(snapshot)
    write(self, result, name)
    if not result.requires_grad:  # overwritten by a constant: no gradient reaches the old value
        self.creator, self._requires_grad = None, False
    else:
        fn = result.creator
        fn._output_ref = weakref.ref(self)
        fn._output_version = self._version
        self.creator, self._requires_grad = fn, True
    if "_views" in self.__dict__ and write is _write:
        _refresh_views(self)
    return self


def _through_base(self: Tensor, view, compute, name: str) -> Tensor:
    """An in-place op on ``self``, a view of a base tensor's memory (``base[index]``, a
    reshape or a permute of it), in a graph: recorded on the base as
    ``base = put_back(base, compute(make_view(base)))``, so the base's gradient sees the
    change (PyTorch's view + in-place rule); ``self`` (and every other view of the base)
    then reads the new base (``_refresh_views``). A leaf base that requires grad refuses,
    as in PyTorch."""
    base, make_view, put_back = view
    apply_in_place(base, lambda b: put_back(b, compute(make_view(b))), name)
    return self


def _still_a_view(view: Tensor, base: Tensor) -> bool:
    """``view`` still reads ``base``'s memory (not after ``base.data = ...`` or a shape
    change of either, which end the view relation); else the record is dropped."""
    from .shape import _same_memory

    if _same_memory(view.array, base.array):
        return True
    view.__dict__.pop("_view_of", None)
    return False


def _refresh_views(base: Tensor) -> None:
    """After an in-place op on ``base`` in a graph: each live view ``v = base[index]`` (same
    memory, so its values changed too) becomes ``base[index]`` of the new base, as PyTorch
    regenerates a view's history; functions that used v's old value keep a copy of it."""
    for view in list(base.__dict__.get("_views", ())):
        recorded = view.__dict__.get("_view_of")
        if recorded is None or recorded[0] is not base or not _still_a_view(view, base):
            continue
        snapshot = None
        if view.requires_grad:
            snapshot = Tensor._wrap(view.array.copy())
            snapshot.creator, snapshot._requires_grad = view.creator, True
            if view.creator is not None:
                view.creator._output_ref = weakref.ref(snapshot)
                view.creator._output_version = 0
            view.__dict__.setdefault("_snapshots", {})[view._version] = weakref.ref(snapshot)
        fresh = recorded[1](base)
        view._version_box[0] += 1
        if fresh.requires_grad:
            fn = fresh.creator
            fn._output_ref = weakref.ref(view)
            fn._output_version = view._version
            fn._old_value = snapshot  # alive as long as the graph that may read it
            view.creator, view._requires_grad = fn, True
        else:
            view.creator, view._requires_grad = None, False
        _refresh_views(view)


def _binary_in_place(name, op):
    def method(self, other, **kwargs):
        return apply_in_place(self, lambda x: op(x, as_tensor(other, like=x), **kwargs), name)

    method.__name__ = name
    return method


def _unary_in_place(name, op):
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: op(x, *args, **kwargs), name)

    method.__name__ = name
    return method


def add_(self, other, alpha=1):
    """self += alpha * other (PyTorch's ``add_(other, alpha=...)``)."""
    return apply_in_place(self, lambda x: x + (other * alpha if alpha != 1 else other), "add_")


def sub_(self, other, alpha=1):
    """self -= alpha * other."""
    return apply_in_place(self, lambda x: x - (other * alpha if alpha != 1 else other), "sub_")


def _constant(self, array, name):
    """Overwrite ``self`` with a constant: no gradient flows to the old value."""
    return apply_in_place(self, lambda x: Tensor._wrap(np.asarray(array, dtype=x.dtype)), name)


def fill_(self, value):
    """Every element becomes ``value``."""
    value = value.item() if isinstance(value, Tensor) else value
    if self.dtype.kind in "iu" and isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, (bool, np.bool_)):
        from .setitem import _check_fits

        _check_fits(value, self.dtype)
        value = np.asarray(value).astype(self.dtype)  # -1 in uint8 is 255, 2.7 in int 2
    return _constant(self, np.full(self.shape, value), "fill_")


def zero_(self):
    return _constant(self, np.zeros(self.shape), "zero_")


def copy_(self, source):
    """self[...] = source (broadcast to self's shape; the gradient flows to ``source``)."""
    from .shape import broadcast_to

    def compute(x):
        copied = broadcast_to(as_tensor(source, like=x), x.shape)
        return copied.astype(x.dtype) if copied.dtype != x.dtype else copied

    return apply_in_place(self, compute, "copy_")


def normal_(self, mean=0.0, std=1.0, generator=None):
    """Samples of N(mean, std^2), drawn by minicnn's generator."""
    rng = _random.numpy_generator(generator)
    return _constant(self, rng.normal(mean, std, self.shape), "normal_")


def uniform_(self, a=0.0, b=1.0, generator=None):
    """Samples of U[a, b)."""
    rng = _random.numpy_generator(generator)
    return _constant(self, rng.uniform(a, b, self.shape), "uniform_")


def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    from .clamp_tensor import clamp  # number or Tensor bounds

    return apply_in_place(self, lambda x: clamp(x, min, max), "clamp_")


def _reshaping(name, op):
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: op(x, *args, **kwargs), name, write=_rebind)

    method.__name__ = name
    return method


def in_place_methods():
    """``{method name: function}`` for ``ops/__init__.py`` to attach to Tensor."""
    from . import math

    methods = {
        "add_": add_, "sub_": sub_,
        "mul_": _binary_in_place("mul_", math.mul), "div_": _binary_in_place("div_", math.div),
        "pow_": _binary_in_place("pow_", math.power),
        "neg_": _unary_in_place("neg_", math.neg), "exp_": _unary_in_place("exp_", math.exp),
        "log_": _unary_in_place("log_", math.log), "sqrt_": _unary_in_place("sqrt_", math.sqrt),
        "abs_": _unary_in_place("abs_", math.abs),
        "fill_": fill_, "zero_": zero_, "copy_": copy_, "normal_": normal_,
        "uniform_": uniform_, "clamp_": clamp_, "clip_": clamp_,
    }
    from .shape import squeeze, transpose, unsqueeze

    methods.update({
        "unsqueeze_": _reshaping("unsqueeze_", unsqueeze),
        "squeeze_": _reshaping("squeeze_", squeeze),
        "transpose_": _reshaping("transpose_", transpose),
        "t_": _reshaping("t_", lambda x: transpose(x, 0, 1) if x.ndim == 2 else x * 1),
        "swapaxes_": _reshaping("swapaxes_", transpose),
    })
    methods.update({"__iadd__": add_, "__isub__": sub_, "__imul__": methods["mul_"],
                    "__itruediv__": methods["div_"]})
    return methods


__all__ = ["apply_in_place", "in_place_methods", "no_grad"]
