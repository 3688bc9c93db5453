"""Differentiable primitives, and the Tensor methods and operators built on them.

The table at the bottom is where ``x + y``, ``x.sum()``, ``x[0]`` ... get their meaning.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import DEFAULT_DTYPE, to_device
from . import math, shape
from .creation import (arange, full, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, zeros, zeros_like)
from .activation import relu, sigmoid, tanh
from .math import (abs, add, amax, amin, argmax, clamp, div, eq, exp, ge, gt, le, log, lt,
                   matmul, maximum, mean, minimum, mul, ne, neg, power, sqrt, std, sub, sum,
                   var, where)
from .shape import (broadcast_to, cat, expand, flatten, getitem, pad, permute, reshape,
                    squeeze, stack, sum_to, transpose, unsqueeze)
from .creation_extra import eye, linspace
from .diagonals import diag, diagonal, outer, trace
from .einsum import einsum
from .elementwise_extra import (ceil, cos, erf, floor, floor_divide, isfinite, isinf, isnan,
                                log2, remainder, round, rsqrt, sign, sin, trunc)
from .index_ops import (chunk, flip, gather, masked_fill, repeat_interleave, roll, scatter,
                        scatter_add, split, tril, triu)
from .sort_scan import all, any, argsort, cumsum, logsumexp, prod, sort, topk


def _reflected(op):
    """``2 - x`` is ``sub(2, x)``: the op promotes the number with PyTorch's rule."""
    return lambda self, other: op(other, self)


def _astype(self, dtype):
    from .conversion import cast

    return cast(self, dtype)


def _checked_dtype(value):
    """What ``x.to(value)`` got where it was not a device: a dtype, or a clear error."""
    if isinstance(value, str):
        try:
            np.dtype(value)
        except TypeError:
            raise ValueError(f"to: expected a device ('cpu', 'cuda', 'cuda:N') or a dtype, got "
                             f"{value!r}") from None
    return value


def _to(self, *args, dtype=None, device=None, non_blocking=False, copy=False,
        memory_format=None):
    """``x.to('cuda')``, ``x.to(np.float64)``, ``x.to(device=..., dtype=...)``,
    ``x.to(other)`` (other's dtype and device). ``non_blocking`` and ``memory_format`` are
    accepted as PyTorch's and change nothing here (transfers are synchronous; every tensor
    is contiguous); ``copy=True`` returns a new tensor even when nothing changes."""
    from .conversion import cast, move

    if len(args) == 1 and isinstance(args[0], Tensor):
        args = (args[0].dtype, args[0].device)

    for arg in args:
        if isinstance(arg, str) and (arg in ("cpu", "cuda", "gpu")
                                     or arg.startswith(("cuda:", "cpu:"))):
            device = arg
        else:
            dtype = _checked_dtype(arg)
    out = self
    if dtype is not None:
        out = cast(out, dtype)
    if device is not None:
        out = move(out, device)
    if copy and out is self:
        out = self.clone()
    return out


def _format(self, spec: str) -> str:
    """``f"{loss:.4f}"``: a 0-d tensor formats as its number, as PyTorch's; a bigger one
    only with an empty spec (its printout)."""
    if self.ndim == 0:
        return format(self.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} passed to a Tensor of shape "
                        f"{self.shape}: only 0-d tensors format as numbers (use .item() or "
                        f".tolist())")
    return str(self)


def _view_shape(args):
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


from .arg_checks import other_tensor  # noqa: E402

_methods = {
    "__add__": add, "__radd__": _reflected(add),
    "__sub__": sub, "__rsub__": _reflected(sub),
    "__mul__": mul, "__rmul__": _reflected(mul),
    "__truediv__": div, "__rtruediv__": _reflected(div),
    "__pow__": power, "__rpow__": _reflected(power),
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul),
    "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs,
    "__getitem__": getitem,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid,
    "relu": relu, "clamp": clamp, "clip": clamp, "neg": neg,
    "sum": sum, "mean": mean, "var": var, "std": std, "amax": amax, "amin": amin,
    "argmax": argmax, "matmul": matmul,
    "pow": lambda self, exponent: power(self, exponent),
    "reshape": lambda self, *s, shape=None: reshape(self, *(s if shape is None else (shape,))),
    "view": lambda self, *s: reshape(self, *s),
    "flatten": flatten, "permute": lambda self, *d: permute(self, *d),
    "transpose": transpose, "t": lambda self: transpose(self, 0, 1) if self.ndim == 2 else self,
    "squeeze": squeeze, "unsqueeze": unsqueeze,
    "expand": lambda self, *s, size=None: expand(self, *(s if size is None else (size,))),
    "expand_as": lambda self, other: expand(self, other_tensor("expand_as", other).shape),
    "view_as": lambda self, other: reshape(self, other_tensor("view_as", other).shape),
    "to": _to, "astype": _astype, "__format__": _format,
    "float": lambda self: _astype(self, DEFAULT_DTYPE),
    "double": lambda self: _astype(self, "float64"),
    "cpu": lambda self: _to(self, "cpu"),
    "cuda": lambda self: _to(self, "cuda"),
}
from .inplace import in_place_methods  # noqa: E402

_methods.update(in_place_methods())
from .setitem import setitem  # noqa: E402

_methods["__setitem__"] = setitem
from .tensor_methods import tensor_methods  # noqa: E402

_methods.update(tensor_methods())
from .extra_methods import extra_methods  # noqa: E402

_methods.update(extra_methods())
from . import (bitwise, elementwise_more, functional_more, reduce_linalg_more,  # noqa: E402
               sampling, shape_more)

for _more in (elementwise_more, shape_more, reduce_linalg_more, functional_more, bitwise,
              sampling):
    _methods.update(_more.methods())
from . import activation_shrink, scan_search, shape_extra, special  # noqa: E402

from . import bessel as _bessel, clamp_tensor as _clamp_tensor  # noqa: E402
from . import method_aliases as _method_aliases, numeric_more as _numeric_more  # noqa: E402
from . import scatter_views as _scatter_views, torch_more_names as _torch_more_names  # noqa
from . import scatter_reduce as _scatter_reduce, view_dtype as _view_dtype  # noqa: E402

for _more in (activation_shrink, special, scan_search, shape_extra, _scatter_reduce,
              _view_dtype, _clamp_tensor, _numeric_more, _bessel, _method_aliases,
              _torch_more_names, _scatter_views):
    _methods.update(_more.methods())
from .inplace_more import missing_in_place_methods  # noqa: E402  (x.sigmoid_() ...)

_methods.update(missing_in_place_methods(_methods))
from .numpy_names import methods_with_numpy_names  # noqa: E402  (x.sum(axis=1))

_methods.update(methods_with_numpy_names(_methods))
for _name, _function in _methods.items():
    setattr(Tensor, _name, _function)
Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))

# Every accelerated kernel (Numba CPU, Numba CUDA, CUDA C) registers from one table,
# kernels/registrations.py; registering imports no kernel module: each loads on first use.
from ..kernels import registrations as _kernel_registrations  # noqa: E402

_kernel_registrations.register()
