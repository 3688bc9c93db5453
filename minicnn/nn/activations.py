r"""Activation layers added for PyTorch scripts: ``ELU``, ``GELU``, ``SiLU``.

Each calls its function (the math and both derivatives are in ``minicnn/ops/activation.py``
and ``minicnn/ops/activation_extra.py``)::

    ELU:  y = x if x > 0 else \alpha (e^x - 1)
    GELU: y = x \Phi(x) (exact, with erf), or the tanh approximation (approximate='tanh')
    SiLU: y = x \sigma(x)   (also called swish)

``inplace`` is accepted for PyTorch compatibility and ignored, as for ``ReLU``.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops.activation import elu
from ..ops.activation_extra import gelu, silu
from .module import Module


class ELU(Module):
    r"""y = x for x > 0, \alpha (e^x - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return elu(input, self.alpha)

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
        return silu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
