r"""RMSprop: divide each gradient by a running root-mean-square of its recent values.

For each parameter (PyTorch's exact order), with smoothing ``alpha``:

.. math::

    g &\leftarrow g + \lambda \theta                  && \text{weight\_decay } \lambda \\
    s &\leftarrow \alpha s + (1 - \alpha) g^2          && \text{running mean of } g^2 \\
    m &\leftarrow \alpha m + (1 - \alpha) g            && \text{centered only: mean of } g \\
    d &= \sqrt{s - m^2} + \epsilon \text{ (centered), else } \sqrt{s} + \epsilon \\
    b &\leftarrow \mu b + g / d, \quad \theta \leftarrow \theta - \eta b
                                                     && \text{momentum } \mu > 0 \\
    \theta &\leftarrow \theta - \eta \, g / d          && \text{otherwise}

Each coordinate gets its own step size: steep directions (large |g|) take small steps,
flat ones large steps. ``centered`` divides by the standard deviation instead of the root
mean square. Note eps is added *outside* the square root, as PyTorch does.
"""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number


class RMSprop(Optimizer):
    """``RMSprop(model.parameters(), lr=0.01)``; arguments as ``torch.optim.RMSprop``.

    State per parameter: ``step``, ``square_avg``, plus ``momentum_buffer`` (momentum > 0)
    and ``grad_avg`` (centered). ``foreach`` (default True): the fused step over flat
    buffers (``Optimizer``'s docstring), the same numbers as the per-parameter ``_update``.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        for name, value in (("learning rate", lr), ("epsilon value", eps),
                            ("momentum value", momentum), ("weight_decay value", weight_decay),
                            ("alpha value", alpha)):
            if not 0.0 <= value:  # NaN too, as PyTorch
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize),
                         foreach=foreach)

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = self._zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = self._zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = self._zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        square_avg = state["square_avg"].array
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"].array
            grad_avg += (1 - alpha) * (grad - grad_avg)  # PyTorch's lerp
            denominator = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = xp.sqrt(square_avg)
        denominator += group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"].array
            buffer *= group["momentum"]
            buffer += grad / denominator
            param.array -= group["lr"] * buffer
        else:
            param.array -= group["lr"] * (grad / denominator)

    # the fused step: _update's operations in its order, on flat buffers (t: one temporary)
    def _state_keys(self, group):
        return (("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def _phase(self, state, group):
        return state.get("step", 0)

    def _new_state(self, state, group):
        state["step"] = 0

    def _fused_update(self, param, grad, buffers, group, states, phase):
        xp = get_array_module(param)
        alpha = group["alpha"]
        for state in states:
            state["step"] = phase + 1
        if group["maximize"]:
            xp.negative(grad, out=grad)
        if group["weight_decay"] != 0:
            grad += group["weight_decay"] * param
        square_avg = buffers["square_avg"]
        square_avg *= alpha
        t = xp.multiply(grad, 1 - alpha)
        t *= grad
        square_avg += t
        if group["centered"]:
            grad_avg = buffers["grad_avg"]
            xp.subtract(grad, grad_avg, out=t)
            t *= 1 - alpha
            grad_avg += t
            xp.multiply(grad_avg, grad_avg, out=t)
            xp.subtract(square_avg, t, out=t)
            xp.sqrt(t, out=t)
        else:
            xp.sqrt(square_avg, out=t)
        t += group["eps"]
        xp.divide(grad, t, out=t)
        if group["momentum"] > 0:
            buffer = buffers["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += t
            xp.multiply(buffer, group["lr"], out=t)
        else:
            t *= group["lr"]
        param -= t
