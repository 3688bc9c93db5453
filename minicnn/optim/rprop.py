r"""Rprop (Riedmiller & Braun, 1993): each weight has its own step size, grown while its
gradient keeps its sign and cut when the sign flips; only the gradient's *sign* is used.

Per element, with ``s`` the previous gradient's sign product and step size ``delta``::

    g * g_prev > 0:  delta <- min(delta * eta_plus,  step_max)
    g * g_prev < 0:  delta <- max(delta * eta_minus, step_min),  and this step g is taken as 0
    theta <- theta - sign(g) * delta,   g_prev <- g

(as ``torch.optim.Rprop``: the first step size is ``lr``). Full-batch training is what it is
for: with mini-batches the signs flip from noise.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number

__all__ = ["Rprop"]


def _sign(xp, array):
    """sign with sign(NaN) = 0, as PyTorch's (a NaN gradient leaves the parameter as it is,
    rather than making it NaN)."""
    return xp.nan_to_num(xp.sign(array), nan=0.0)


class Rprop(Optimizer):
    """``Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))``. State: ``step``,
    ``prev`` (the last gradient used), ``step_size``."""

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 foreach=None, maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        eta_minus, eta_plus = group["etas"]
        step_min, step_max = group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = self._zeros_like(param)
            state["step_size"] = Tensor._wrap(xp.full_like(param.array, group["lr"]))
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        prev, step_size = state["prev"].array, state["step_size"].array
        sign = _sign(xp, grad * prev)
        factor = xp.where(sign > 0, eta_plus, xp.where(sign < 0, eta_minus, 1.0))
        step_size *= factor.astype(step_size.dtype, copy=False)
        xp.clip(step_size, step_min, step_max, out=step_size)
        grad = xp.where(sign < 0, 0, grad).astype(param.array.dtype, copy=False)
        param.array -= _sign(xp, grad) * step_size
        prev[...] = grad
