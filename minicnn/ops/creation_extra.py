"""More tensor makers, as PyTorch: ``eye`` and ``linspace`` (float32 unless told otherwise)."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from .creation import _make
from .torch_errors import RuntimeTypeError, RuntimeValueError


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False,
        device=None) -> Tensor:
    """The n x m identity matrix (m = n by default): ones on the diagonal, zeros elsewhere."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (isinstance(value, bool) or not hasattr(value, "__index__")
                                  or int(value) < 0):
            raise RuntimeValueError(f"eye: {name}: expected a non-negative int, got {value!r}")
    return _make(np.eye(int(n), None if m is None else int(m)), dtype, requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if isinstance(steps, bool) or not hasattr(steps, "__index__") or int(steps) < 0:
        raise RuntimeValueError(f"linspace: steps: expected a non-negative int, got {steps!r}")
    if dtype is not None and np.dtype(dtype) == np.bool_:
        raise RuntimeTypeError("linspace: dtype: expected a floating-point or integer dtype, "
                               "got bool (PyTorch: 'linspace_cpu' not implemented for 'Bool')")
    start, end = (float(v.item()) if hasattr(v, "item") else v for v in (start, end))
    return _make(np.linspace(start, end, int(steps)), dtype, requires_grad, device)


__all__ = ["eye", "linspace"]
