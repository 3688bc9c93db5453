r"""``scatter_reduce`` (``Tensor.scatter_reduce``, ``torch.scatter_reduce``) and the
``reduce=`` of ``scatter``: every ``src[i]`` is combined into ``y[.., index[i], ..]`` along
``dim`` with ``reduce`` in sum / prod / mean / amax / amin, starting from the input's own
value there (``include_self=True``) or from nothing (``include_self=False``: a position no
index reaches keeps the input's value).

Gradients, as PyTorch's:

* sum:  dL/dx = g where x counts (0 where it is left out), dL/dsrc = g.gather(dim, index);
* mean: the same divided by the number of values averaged at that position (the
  division is done as a Tensor op, so both are differentiable again);
* amax / amin: g is shared equally among the values equal to the result, 0 for the others
  (x gets no share when it is left out, but is still counted in the tie, as PyTorch);
  piecewise linear, so the second derivative is 0;
* prod: dL/dv = g * (the product of the other values at that position), written y / v
  where v != 0 (so it differentiates again through y), and the exact product of the others
  where v = 0 (a constant there: the second derivative through a 0 is not tracked).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .index_ops import Put, Take, _check_tensor, _gather_index, _source
from .math import where
from .shape import reshape
from .torch_errors import RuntimeTypeError, RuntimeValueError

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _extreme_start(dtype, largest: bool):
    if dtype.kind == "f":
        return -np.inf if largest else np.inf
    if dtype == np.bool_:
        return not largest
    info = np.iinfo(dtype)
    return info.min if largest else info.max


class _Combine(Function):
    """y = the amax / amin / prod of x (where it counts) and src, at each position.

    ``parts`` is the gather index tuple of ``index``; ``counted`` marks where x takes part."""

    def forward(self, x, s, parts, counted, reduce):
        xp = get_array_module(x)
        self.parts, self.counted, self.reduce = parts, counted, reduce
        ufunc = {"amax": np.maximum, "amin": np.minimum, "prod": np.multiply}[reduce]
        if reduce == "prod":
            start = xp.where(counted, x, xp.ones((), dtype=x.dtype))
        else:
            start = xp.where(counted, x, xp.asarray(_extreme_start(x.dtype, reduce == "amax"),
                                                    dtype=x.dtype))
        y = start.copy()
        (getattr(ufunc, "at") if xp is np else getattr(xp, ufunc.__name__).at)(y, parts, s)
        self.x, self.s, self.y = x, s, y
        return y

    def _weights(self):
        """(w_x, w_s): dy/dx and dy/ds at each value, as arrays."""
        xp = get_array_module(self.x)
        x, s, y, parts, counted = self.x, self.s, self.y, self.parts, self.counted
        if self.reduce == "prod":
            zero_x, zero_s = counted & (x == 0), s == 0
            zeros = zero_x.astype(np.int64)
            np.add.at(zeros, parts, zero_s.astype(np.int64))
            nonzero = xp.where(counted & ~zero_x, x, xp.ones((), dtype=x.dtype))
            np.multiply.at(nonzero, parts, xp.where(zero_s, xp.ones((), dtype=s.dtype), s))
            with np.errstate(divide="ignore", invalid="ignore"):
                w_x = xp.where(zero_x, xp.where(zeros == 1, nonzero, 0), y / xp.where(zero_x, 1, x))
                z_s, n_s, y_s = zeros[parts], nonzero[parts], y[parts]
                w_s = xp.where(zero_s, xp.where(z_s == 1, n_s, 0), y_s / xp.where(zero_s, 1, s))
            return xp.where(counted, w_x, 0).astype(x.dtype), w_s.astype(s.dtype)
        hit_x = counted & (x == y)
        hit_s = s == y[parts]
        count = (x == y).astype(x.dtype)  # PyTorch counts x in a tie even when left out
        np.add.at(count, parts, hit_s.astype(x.dtype))
        count = xp.where(count == 0, 1, count)
        return hit_x / count, hit_s / count[parts]

    def backward(self, g):
        w_x, w_s = self._weights()
        x, s = self.inputs
        if self.reduce == "prod":  # y / v where v != 0: differentiable again through y
            xp = get_array_module(w_x)
            exact_x = Tensor._wrap(~self.counted | (self.x == 0))
            exact_s = Tensor._wrap(self.s == 0)
            y = self.output
            safe_x = where(exact_x, Tensor._wrap(xp.ones((), dtype=w_x.dtype)), x)
            safe_s = where(exact_s, Tensor._wrap(xp.ones((), dtype=w_s.dtype)), s)
            w_x = where(exact_x, Tensor._wrap(w_x), y / safe_x)
            w_s = where(exact_s, Tensor._wrap(w_s), Take.apply(y, index=self.parts) / safe_s)
        else:
            w_x, w_s = Tensor._wrap(w_x), Tensor._wrap(w_s)
        grad_x = g * w_x if self.needs_input_grad[0] else None
        grad_s = Take.apply(g, index=self.parts) * w_s if self.needs_input_grad[1] else None
        return grad_x, grad_s


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    r"""y = x, then every src[i] is reduced into y[.., index[i], ..] along ``dim``.

    ``reduce``: 'sum', 'prod', 'mean', 'amax' or 'amin'; ``include_self=False`` leaves x's
    own value out where an index lands (positions no index reaches keep x). ``src`` has at
    least index's size in every dim and x's dtype; index as for ``scatter``."""
    op = "scatter_reduce"
    _check_tensor(op, "input", input)
    _check_tensor(op, "src", src)
    if reduce not in REDUCTIONS:
        raise RuntimeValueError(f"{op}: reduce: expected one of {', '.join(map(repr, REDUCTIONS))}"
                                f", got {reduce!r}")
    if src.dtype != input.dtype:
        raise RuntimeTypeError(f"{op}: src: expected dtype {input.dtype} (the input's), got "
                               f"{src.dtype}")
    if input.ndim == 0:
        one = reshape(src, (1,)) if src.ndim == 0 else src
        index = reshape(index, (1,)) if isinstance(index, Tensor) and index.ndim == 0 else index
        out = scatter_reduce(reshape(input, (1,)), 0, index, one, reduce,
                             include_self=include_self)
        return reshape(out, ())
    parts = _gather_index(op, input, dim, index)
    source = _source(op, input, index, src, None)
    xp = get_array_module(input.array)
    hit = xp.zeros(input.shape, dtype=bool)
    hit[parts] = True
    counted = xp.ones(input.shape, dtype=bool) if include_self else ~hit
    if reduce in ("sum", "mean"):
        keep = Tensor._wrap(counted.astype(input.dtype))
        total = input * keep + Put.apply(source, index=parts, shape=input.shape)
        if reduce == "sum":
            return total
        count = counted.astype(np.int64)
        np.add.at(count, parts, 1)
        if input.dtype.kind in "iub":
            return Tensor._wrap(total.array // count.astype(input.dtype))
        return total / Tensor._wrap(count.astype(input.dtype))
    return _Combine.apply(input, source, parts=parts, counted=counted, reduce=reduce)


def scatter_with_reduce(input: Tensor, dim: int, index: Tensor, src, value, reduce: str):
    """``scatter(..., reduce='add' | 'multiply')`` (PyTorch's older spelling): src (a Tensor)
    or value (a number) added into / multiplied into the input at index's positions."""
    names = {"add": "sum", "multiply": "prod"}
    if reduce not in names:
        raise RuntimeValueError(f"scatter: reduce: expected 'add' or 'multiply', got {reduce!r}")
    if not isinstance(src, Tensor):
        filler = value if src is None else src
        xp = get_array_module(input.array)
        src = Tensor._wrap(xp.full(index.shape, filler, dtype=input.dtype))
    return scatter_reduce(input, dim, index, src, names[reduce], include_self=True)


__all__ = ["scatter_reduce"]


def methods() -> dict:
    """{Tensor method name: function}."""
    return {"scatter_reduce": scatter_reduce}
