r"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

For each parameter :math:`\theta` with gradient :math:`g` (PyTorch's exact order):

.. math::

    g &\leftarrow g + \lambda \theta                && \lambda = \text{weight\_decay (L2)} \\
    b &\leftarrow \mu b + (1 - \tau) g              && \mu = \text{momentum},
                                                   \tau = \text{dampening}; b = g \text{ at step 1} \\
    g &\leftarrow g + \mu b \text{ (nesterov), else } b \\
    \theta &\leftarrow \theta - \eta g              && \eta = \text{lr}

Momentum is a ball rolling downhill: ``b`` is its velocity, an exponentially weighted sum
of past gradients, so steps along a consistent direction grow (up to 1 / (1 - mu) times)
while zig-zags across a narrow valley cancel. Nesterov looks one step ahead (it applies
the gradient plus the velocity it is about to have). ``maximize=True`` climbs instead.

Note: PyTorch's momentum differs from the textbook ``v = mu v - lr g`` form only in where
the learning rate sits; with a constant lr the trajectories are identical.
"""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number


class SGD(Optimizer):
    """``SGD(model.parameters(), lr=0.1, momentum=0.9)``; arguments as ``torch.optim.SGD``.

    State per parameter: ``momentum_buffer`` (only when momentum != 0). ``foreach``
    (default True): the fused step over flat buffers (``Optimizer``'s docstring), the same
    numbers as the per-parameter ``_update``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize), foreach=foreach)

    def _update(self, param, grad, group, state):
        momentum = group["momentum"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = self._zeros_like(param)
                state["momentum_buffer"].array[...] = grad
            else:
                buffer = state["momentum_buffer"].array
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            buffer = state["momentum_buffer"].array
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.array -= group["lr"] * grad

    # the fused step: _update's operations in its order, on flat buffers
    def _state_keys(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _phase(self, state, group):
        return "momentum_buffer" in state

    def _fused_update(self, param, grad, buffers, group, states, phase):
        xp = get_array_module(param)
        momentum = group["momentum"]
        if group["maximize"]:
            xp.negative(grad, out=grad)
        if group["weight_decay"] != 0:
            grad += group["weight_decay"] * param
        if momentum != 0:
            buffer = buffers["momentum_buffer"]
            if not phase:                       # the first step: the buffer is the gradient
                xp.copyto(buffer, grad)
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            if group["nesterov"]:
                grad += momentum * buffer
            else:
                grad = buffer
        param -= group["lr"] * grad
