r"""Activation layers added for PyTorch scripts: ``ELU``, ``GELU``, ``SiLU``, ``Softmax``,
``LogSoftmax``, ``ReLU6``, ``Hardtanh``, ``Mish``, ``SELU``, ``CELU``, ``LogSigmoid``,
``Hardsigmoid``, ``Hardswish``, ``PReLU``.

Each calls its function (the math and both derivatives are in ``minicnn/ops/activation.py``
and ``minicnn/ops/activation_extra.py``)::

    ELU:  y = x if x > 0 else \alpha (e^x - 1)
    GELU: y = x \Phi(x) (exact, with erf), or the tanh approximation (approximate='tanh')
    SiLU: y = x \sigma(x)   (also called swish)
    PReLU: y = x if x > 0 else a x, with a learned a (one, or one per channel)

``inplace=True`` writes the result into the input, as PyTorch's (``nn/_inplace.py``).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..ops.activation import elu, log_softmax, softmax
from ..ops.activation_extra import (celu, gelu, hardsigmoid, hardswish, hardtanh, logsigmoid,
                                    mish, relu6, selu, silu)
from ..ops.math import where
from ..ops.shape import reshape
from ..ops.creation import allocate
from . import _checks
from .module import Module, Parameter
from . import _inplace


class ELU(Module):
    r"""y = x for x > 0, \alpha (e^x - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, elu, input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    r"""y = x \Phi(x), \Phi the standard normal CDF; ``approximate='tanh'`` uses
    x (1 + tanh(\sqrt{2/\pi} (x + 0.044715 x^3))) / 2."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate: expected 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    r"""y = x \sigma(x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, silu, input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _Elementwise(Module):
    """An activation without settings (``inplace=True`` writes into the input)."""

    function = None

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, type(self).function, input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU6(_Elementwise):
    """y = min(max(x, 0), 6)."""
    function = staticmethod(relu6)


class Mish(_Elementwise):
    """y = x tanh(softplus(x))."""
    function = staticmethod(mish)


class SELU(_Elementwise):
    """y = scale elu(x, alpha) with the self-normalising constants."""
    function = staticmethod(selu)


class Hardsigmoid(_Elementwise):
    """y = clip(x / 6 + 1/2, 0, 1)."""
    function = staticmethod(hardsigmoid)


class Hardswish(_Elementwise):
    """y = x hardsigmoid(x)."""
    function = staticmethod(hardswish)


class LogSigmoid(Module):
    """y = log sigmoid(x) = -softplus(-x), stable for any x."""

    def forward(self, input: Tensor) -> Tensor:
        return logsigmoid(input)


class CELU(Module):
    r"""y = max(0, x) + min(0, \alpha (e^{x/\alpha} - 1))."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, celu, input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(Module):
    """y = clip(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, hardtanh, input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class Softmax(Module):
    """Probabilities along ``dim``: e^{x_i} / sum_j e^{x_j} (pass dim, as PyTorch asks)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return softmax(input, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim`` (stable); pairs with ``NLLLoss``."""

    def forward(self, input: Tensor) -> Tensor:
        return log_softmax(input, dim=self.dim)


class PReLU(Module):
    r"""y = x for x > 0, a x otherwise, with a learned slope a: one for all channels
    (``num_parameters=1``) or one per channel (dim 1 of the input). Initialised to ``init``.

    dL/dx = g (x > 0) + a g (x <= 0) (PyTorch's side at 0: the slope a);
    dL/da = \sum g x over x <= 0.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters = _checks.size("PReLU", "num_parameters",
                                                            num_parameters)
        _checks.number("PReLU", "init", init)
        weight = Tensor._wrap(allocate(np.full, (num_parameters,), dtype, "PReLU",
                                          fill_value=init))
        self.weight = Parameter(weight.to(device) if device else weight)

    def forward(self, input: Tensor) -> Tensor:
        slope = self.weight
        if self.num_parameters > 1:
            if input.ndim < 2 or input.shape[1] != self.num_parameters:
                raise ValueError(f"PReLU: input: expected {self.num_parameters} channels in "
                                 f"dim 1, got shape {input.shape}")
            slope = reshape(slope, (1, -1) + (1,) * (input.ndim - 2))
        return where(input.array > 0, input, slope * input)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
