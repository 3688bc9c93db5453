r"""Adadelta (Zeiler, 2012): step sizes from running averages of squared gradients *and*
squared updates, so the update has the parameter's units and lr can stay 1.

For each parameter (PyTorch's exact order), with decay ``rho``:

.. math::

    g &\leftarrow g + \lambda \theta                    && \text{weight\_decay } \lambda \\
    s &\leftarrow \rho s + (1 - \rho) g^2                 && \text{mean of } g^2 \\
    \Delta &= \sqrt{u + \epsilon} / \sqrt{s + \epsilon}\, g && \text{the update} \\
    u &\leftarrow \rho u + (1 - \rho) \Delta^2            && \text{mean of } \Delta^2 \\
    \theta &\leftarrow \theta - \eta \Delta

The ratio :math:`\sqrt{u} / \sqrt{s}` is a per-coordinate step size learned from the
past: RMS of recent updates over RMS of recent gradients. It is the optimizer of PyTorch's
MNIST example (``Adadelta(model.parameters(), lr=1.0)`` with ``StepLR``).
"""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)``, as
    ``torch.optim.Adadelta``. State per parameter: ``step``, ``square_avg`` (s),
    ``acc_delta`` (u)."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        if not 0.0 <= lr:  # NaN too, as PyTorch
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = self._zeros_like(param)
            state["acc_delta"] = self._zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        square_avg, acc_delta = state["square_avg"].array, state["acc_delta"].array
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param.array -= group["lr"] * delta
