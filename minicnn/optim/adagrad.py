r"""Adagrad (Duchi et al., 2011): each coordinate's step shrinks with the sum of all its
squared gradients so far.

For each parameter at step :math:`t = 1, 2, ...` (PyTorch's exact order):

.. math::

    g &\leftarrow g + \lambda \theta                     && \text{weight\_decay } \lambda \\
    \tilde\eta &= \eta / (1 + (t - 1)\, \text{lr\_decay}) && \\
    S &\leftarrow S + g^2       && S_0 = \text{initial\_accumulator\_value} \\
    \theta &\leftarrow \theta - \tilde\eta\, g / (\sqrt{S} + \epsilon)

Rare features (small accumulated S) keep large steps; frequent ones slow down. Because S
only grows, the steps only shrink: the reason RMSprop and Adam average instead of summing.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10)``, as ``torch.optim.Adagrad``. State per parameter: ``step``, ``sum`` (S)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("epsilon value", eps)):
            if not 0.0 <= value:  # NaN too, as PyTorch
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        if not state:
            state["step"] = 0
            state["sum"] = Tensor._wrap(
                xp.full_like(param.array, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        accumulated = state["sum"].array
        accumulated += grad * grad
        param.array -= clr * (grad / (xp.sqrt(accumulated) + group["eps"]))
