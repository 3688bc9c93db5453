"""``x.view(dtype)``: the same bytes read as another dtype (PyTorch's bitcast view), next
to ``x.view(*shape)`` (a reshape).

As PyTorch: with an element size that differs, the last dim is rescaled (float32 (3, 4)
viewed as int16 is (3, 8), as uint64 would need 4 to be even: (3, 2)); a 0-d tensor and
a last dim that does not divide evenly are errors. The result shares no gradient with
the input (the bits are not a differentiable function of the values), as PyTorch's
``view(dtype)`` to another dtype.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from .shape import reshape
from .torch_errors import RuntimeValueError


def _as_dtype(value):
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value)
    return None


def view(self: Tensor, *shape) -> Tensor:
    """``x.view(*shape)`` (a reshape that shares the data) or ``x.view(dtype)``."""
    dtype = _as_dtype(shape[0]) if len(shape) == 1 else None
    if dtype is None:
        return reshape(self, *shape)
    if dtype == self.dtype:
        return reshape(self, self.shape)
    old, new = self.dtype.itemsize, dtype.itemsize
    if old != new:
        if self.ndim == 0:
            raise RuntimeValueError(f"view: dtype: a 0-d tensor cannot be viewed as {dtype} "
                                    f"(element size {new} bytes, the tensor's {old})")
        if (self.shape[-1] * old) % new:
            raise RuntimeValueError(f"view: dtype: the last dim ({self.shape[-1]} x {old} "
                                    f"bytes) must divide into {dtype} elements of {new} bytes")
    array = self.array
    if not array.flags.c_contiguous:
        array = array.copy()
    return Tensor._wrap(array.view(dtype))


def methods() -> dict:
    """{Tensor method name: function}."""
    return {"view": view}
