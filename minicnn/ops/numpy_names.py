"""PyTorch's NumPy-style keyword names: ``x.sum(axis=1)``, ``torch.mean(x, axis=(0, 2),
keepdims=True)``, ``x.max(axis=0)``.

PyTorch's argument parser takes ``axis`` for ``dim`` and ``keepdims`` for ``keepdim`` in
every operator that has them (NumPy compatibility), so code written with NumPy habits runs
there unchanged. Here one wrapper renames the two keywords, and only when one is given
(the plain call pays one dict lookup). Giving both spellings is a ``TypeError``, as
PyTorch's "got multiple values for argument".

``x.sum(dtype=torch.float64)`` and ``x.mean(dtype=...)`` (PyTorch's ``dtype=`` of a
reduction: the input is cast first) are here too: ``with_dtype_argument(fn)``.

``with_numpy_names(fn)`` wraps one function; ``methods_with_numpy_names(table)`` wraps
every entry of a method table whose signature has a ``dim`` or ``keepdim`` parameter;
``functions()`` are the top-level ``torch.*`` reductions so wrapped.
"""
from __future__ import annotations

import functools
import inspect

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def _renamed(name: str, kwargs: dict) -> dict:
    kwargs = dict(kwargs)
    for alias, real in _ALIASES:
        if alias in kwargs:
            if real in kwargs:
                raise TypeError(f"{name}(): got both {real!r} and its NumPy alias {alias!r}; "
                                f"give one")
            kwargs[real] = kwargs.pop(alias)
    return kwargs


def with_numpy_names(fn):
    """``fn`` that also takes ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    if getattr(fn, "_numpy_names", False):
        return fn
    name = getattr(fn, "__name__", "function")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            kwargs = _renamed(name, kwargs)
        return fn(*args, **kwargs)

    wrapper._numpy_names = True
    return wrapper


def with_dtype_argument(fn):
    """``fn(input, ..., dtype=d)`` = ``fn(input.to(d), ...)``, for the reductions whose own
    signature has no ``dtype``."""
    try:
        if "dtype" in inspect.signature(fn).parameters:
            return fn
    except (TypeError, ValueError):
        pass

    @functools.wraps(fn)
    def wrapper(input, *args, dtype=None, **kwargs):
        if dtype is None:
            return fn(input, *args, **kwargs)
        out = fn(input.to(dtype), *args, **kwargs)  # int32 sums to int64 unless dtype says
        return out if out.dtype == dtype else out.to(dtype)

    return wrapper


DTYPE_REDUCTIONS = ("sum", "mean")


def _has_dim(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "dim" in params or "keepdim" in params


def methods_with_numpy_names(table: dict) -> dict:
    """The entries of ``table`` (name -> function) that take ``dim``/``keepdim``, wrapped."""
    return {name: with_numpy_names(with_dtype_argument(fn) if name in DTYPE_REDUCTIONS else fn)
            for name, fn in table.items()
            if callable(fn) and not name.startswith("__") and _has_dim(fn)}


_FUNCTIONS = ("sum", "mean", "var", "std", "std_mean", "var_mean", "prod", "amax", "amin",
              "argmax", "argmin", "any", "all", "logsumexp", "cumsum", "cumprod", "cummax",
              "cummin", "logcumsumexp", "nansum", "nanmean", "median", "nanmedian", "mode",
              "count_nonzero", "aminmax", "softmax", "log_softmax", "norm", "sort", "argsort",
              "topk", "kthvalue", "squeeze", "unsqueeze", "flip", "roll", "cat", "concat",
              "concatenate", "stack", "gather", "scatter", "index_select", "diff",
              "unbind", "split", "chunk", "narrow", "select", "flatten", "unflatten", "movedim",
              "quantile", "nanquantile")


def functions(namespace) -> dict:
    """The top-level reductions of ``namespace`` (the ``minicnn`` module), wrapped."""
    out = {}
    for name in _FUNCTIONS:
        fn = getattr(namespace, name, None)
        if fn is not None and callable(fn) and _has_dim(fn):
            if name in DTYPE_REDUCTIONS:
                fn = with_dtype_argument(fn)
            out[name] = with_numpy_names(fn)
    return out
