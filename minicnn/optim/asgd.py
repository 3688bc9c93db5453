r"""Averaged SGD (Polyak & Juditsky, 1992), as ``torch.optim.ASGD``: plain SGD with a
decaying step, plus a running average ``ax`` of the iterates, which is what one evaluates.

At step t (``lambd`` the decay, ``alpha`` its power, ``t0`` when averaging starts)::

    theta <- theta (1 - lambd eta) - eta g         (g includes weight_decay * theta)
    ax    <- ax + mu (theta - ax)   if mu != 1,  else  ax <- theta
    eta   <- lr / (1 + lambd lr t)^alpha,   mu <- 1 / max(1, t - t0)

``state['ax']`` holds the average (copy it into the model to use it).
"""
from __future__ import annotations

from .optimizer import Optimizer
from ._args import number

__all__ = ["ASGD"]


def _number(value) -> float:
    return float(value.item()) if hasattr(value, "item") else float(value)


class ASGD(Optimizer):
    """``ASGD(params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0)``. State:
    ``step``, ``eta``, ``mu``, ``ax``."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, foreach=None,
                 maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["eta"] = float(group["lr"])
            state["mu"] = 1.0
            state["ax"] = self._zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        eta, mu = _number(state["eta"]), _number(state["mu"])
        param.array *= 1 - group["lambd"] * eta
        param.array -= eta * grad
        ax = state["ax"].array
        if mu != 1:
            ax += (param.array - ax) * mu
        else:
            ax[...] = param.array
        state["eta"] = group["lr"] / ((1 + group["lambd"] * group["lr"] * step) ** group["alpha"])
        state["mu"] = 1 / max(1, step - group["t0"])
