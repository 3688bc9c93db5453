r"""``clamp`` / ``clip`` with Tensor bounds (``x.clamp(min=lo_tensor, max=hi_tensor)``), next
to the number bounds of ops/math.py's ``clamp``, which this dispatches to otherwise.

y = min(max(x, lo), hi), broadcast over x, lo and hi (NaN anywhere gives NaN), in the
promoted dtype of the three. Gradients are PyTorch's (``clamp_backward_min_max``):

* x gets g where lo <= x <= hi;
* lo gets g where x < lo, and lo < hi when both are given;
* hi gets g where x > hi, or hi < lo (then hi is the whole result) when both are given;

each summed back to its own shape. The masks are constants (clamp is piecewise linear),
so the gradient differentiates again (to 0 through the masks, as PyTorch).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module, result_type
from .conversion import cast
from .math import MaskMul, clamp as _number_clamp
from .shape import sum_to
from .torch_errors import RuntimeValueError


class ClampTensors(Function):
    """y = min(max(x, lo), hi) for Tensor bounds (either may be None)."""

    def forward(self, x, lo, hi, has_lo, has_hi):
        xp = get_array_module(x)
        self.shapes = (x.shape, lo.shape, hi.shape)
        y = x
        if has_lo:
            y = xp.maximum(y, lo)
        if has_hi:
            y = xp.minimum(y, hi)
        y = xp.broadcast_to(y, np.broadcast_shapes(x.shape, lo.shape, hi.shape))
        with np.errstate(invalid="ignore"):
            keep_x = xp.ones(y.shape, dtype=bool)
            if has_lo:
                keep_x = keep_x & (x >= lo)
            if has_hi:
                keep_x = keep_x & (x <= hi)
            to_lo = (x < lo) & (lo < hi) if has_lo and has_hi else (x < lo) if has_lo else None
            to_hi = (x > hi) | (hi < lo) if has_lo and has_hi else (x > hi) if has_hi else None
        self.masks = [xp.broadcast_to(m, y.shape).astype(y.dtype) if m is not None else None
                      for m in (keep_x, to_lo, to_hi)]
        return xp.ascontiguousarray(y)

    def backward(self, g):
        grads = []
        for k, (mask, shape) in enumerate(zip(self.masks, self.shapes)):
            if mask is None or not self.needs_input_grad[k]:
                grads.append(None)
                continue
            grads.append(sum_to(MaskMul.apply(g, mask=mask), shape))
        return tuple(grads)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """``torch.clamp`` / ``Tensor.clamp`` / ``clip``: number bounds (ops/math.py) or Tensor
    bounds (here); at least one bound is required (RuntimeError, as PyTorch)."""
    if min is None and max is None:
        raise RuntimeValueError("clamp: at least one of min and max must be given")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return _number_clamp(input, min, max)
    bounds = [b for b in (min, max) if b is not None]
    dtype = result_type(input, *bounds)
    x = input if input.dtype == dtype else cast(input, dtype)

    def bound(value):
        if value is None:
            return Tensor._wrap(get_array_module(x.array).zeros((), dtype=dtype))
        value = value if isinstance(value, Tensor) else as_tensor(value, like=x)
        return value if value.dtype == dtype else cast(value, dtype)

    return ClampTensors.apply(x, bound(min), bound(max), has_lo=min is not None,
                              has_hi=max is not None)


__all__ = ["clamp", "clip"]
clip = clamp


def methods() -> dict:
    """{Tensor method name: function}."""
    return {"clamp": clamp, "clip": clamp}
