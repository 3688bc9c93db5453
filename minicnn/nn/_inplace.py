"""``inplace=True`` of the activation and dropout layers, as PyTorch's: the result is
written into the input tensor (``nn.ReLU(inplace=True)(x) is x``), with the in-place rules
of ``ops/inplace.py`` (a leaf that requires grad refuses, the history is rebased, a view's
base changes too)."""
from __future__ import annotations

from ..autograd import Tensor


def run(module, function, input, *args, **kwargs):
    """``function(input, *args, **kwargs)``, written into ``input`` when ``module.inplace``."""
    if getattr(module, "inplace", False) and isinstance(input, Tensor):
        from ..ops.inplace import apply_in_place

        return apply_in_place(input, lambda x: function(x, *args, **kwargs),
                              f"{type(module).__name__}(inplace=True)")
    return function(input, *args, **kwargs)
