"""Tensor methods of the ops in index_ops.py, sort_scan.py and elementwise_extra.py, with
PyTorch's calling forms (``x.flip(0, 1)`` and ``x.flip((0, 1))``, ``x.repeat(2, 3)``,
``x // y``, ``2 % x`` ...), and the in-place ``scatter_``, ``scatter_add_``,
``masked_fill_``, ``tril_``, ``triu_``. ``extra_methods()`` returns them by name;
``minicnn/ops/__init__.py`` binds them to ``Tensor`` with the rest of the table."""
from __future__ import annotations

from . import diagonals as dg
from . import elementwise_extra as ew
from . import index_ops as ix
from . import sort_scan as ss
from .inplace import apply_in_place


def _varargs(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _reflected(op):
    return lambda self, other: op(other, self)


def _in_place(name, op):
    """``x.scatter_(...)`` is ``x.scatter(...)`` written into x (inplace.py's rules)."""
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: op(x, *args, **kwargs), name)

    method.__name__ = name
    return method


def extra_methods() -> dict:
    return {
        "flip": lambda self, *dims, **kw: ix.flip(self, kw["dims"] if "dims" in kw and not dims
                                                  else _varargs(dims)),
        "roll": ix.roll, "repeat": ix.repeat, "repeat_interleave": ix.repeat_interleave,
        "split": ix.split, "chunk": ix.chunk, "gather": ix.gather, "scatter": ix.scatter,
        "scatter_add": ix.scatter_add, "masked_fill": ix.masked_fill,
        "tril": ix.tril, "triu": ix.triu,
        "diag": dg.diag, "diagonal": dg.diagonal, "trace": dg.trace, "outer": dg.outer,
        "ger": dg.outer,
        "cumsum": ss.cumsum, "prod": ss.prod, "any": ss.any, "all": ss.all,
        "sort": ss.sort, "argsort": ss.argsort, "topk": ss.topk, "logsumexp": ss.logsumexp,
        "sin": ew.sin, "cos": ew.cos, "floor": ew.floor, "ceil": ew.ceil, "round": ew.round,
        "trunc": ew.trunc, "sign": ew.sign, "rsqrt": ew.rsqrt, "log2": ew.log2, "erf": ew.erf,
        "isnan": ew.isnan, "isinf": ew.isinf, "isfinite": ew.isfinite,
        "floor_divide": ew.floor_divide, "remainder": ew.remainder,
        "__floordiv__": ew.floor_divide, "__rfloordiv__": _reflected(ew.floor_divide),
        "__mod__": ew.remainder, "__rmod__": _reflected(ew.remainder),
        "scatter_": _in_place("scatter_", ix.scatter),
        "scatter_add_": _in_place("scatter_add_", ix.scatter_add),
        "masked_fill_": _in_place("masked_fill_", ix.masked_fill),
        "tril_": _in_place("tril_", ix.tril), "triu_": _in_place("triu_", ix.triu),
    }
