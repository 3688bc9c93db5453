r"""Three relatives of Adam, as ``torch.optim``'s (same numbers, same state names).

With ``m`` and ``v`` Adam's running averages of the gradient and its square (``m <- m +
(1 - beta1)(g - m)``, ``v <- beta2 v + (1 - beta2) g^2``) at step t:

**Adamax** (Kingma & Ba, 2015, section 7): the infinity norm instead of the square,
``u <- max(beta2 u, |g| + eps)``, ``theta <- theta - lr / (1 - beta1^t) * m / u``.

**NAdam** (Dozat, 2016): Adam with Nesterov momentum. The momentum coefficient warms up,
``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))`` (psi = ``momentum_decay``), and the step looks
ahead with the next one::

    theta <- theta - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
                   - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d,   d = sqrt(v / (1 - beta2^t)) + eps

**RAdam** (Liu et al., 2020): Adam whose adaptive step is switched on only once the
variance of ``v``'s estimate is tractable. With ``rho_inf = 2 / (1 - beta2) - 1`` and
``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``::

    m_hat = m / (1 - beta1^t)
    rho_t > 5:  theta <- theta - lr m_hat r_t sqrt(1 - beta2^t) / (sqrt(v) + eps),
                r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    otherwise:  theta <- theta - lr m_hat                      (plain momentum SGD)

``decoupled_weight_decay=True`` (NAdam, RAdam) shrinks ``theta`` by ``1 - lr lambda`` first
(AdamW's way) instead of adding ``lambda theta`` to the gradient.
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from .optimizer import Optimizer
from ._args import number

__all__ = ["Adamax", "NAdam", "RAdam"]


def _check(lr, betas, eps, weight_decay) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _number(value) -> float:
    """A state scalar as a float (ours are floats; PyTorch's are 0-d tensors)."""
    return float(value.item()) if hasattr(value, "item") else float(value)



class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``. State:
    ``step``, ``exp_avg`` (m), ``exp_inf`` (u)."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach=None, *, maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        _check(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._zeros_like(param)
            state["exp_inf"] = self._zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        exp_avg, exp_inf = state["exp_avg"].array, state["exp_inf"].array
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + group["eps"], out=exp_inf)
        step_size = group["lr"] / (1 - beta1 ** state["step"])
        param.array -= step_size * (exp_avg / exp_inf)


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False)``. State: ``step``, ``mu_product``,
    ``exp_avg``, ``exp_avg_sq``."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        _check(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = self._zeros_like(param)
            state["exp_avg_sq"] = self._zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param.array *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.array
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        mu_product = _number(state["mu_product"]) * mu
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denominator = xp.sqrt(exp_avg_sq / (1 - beta2 ** step)) + group["eps"]
        param.array += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denominator)
        param.array += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denominator)


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False)``. State: ``step``, ``exp_avg``, ``exp_avg_sq``."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach=None, maximize: bool = False):
        lr = number(lr)  # lr=torch.tensor(0.01) too, as PyTorch 2
        _check(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._zeros_like(param)
            state["exp_avg_sq"] = self._zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param.array *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.array
        exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias_correction2 ** 0.5 / (xp.sqrt(exp_avg_sq) + group["eps"])
            param.array -= corrected * lr * adaptive * rect
        else:
            param.array -= corrected * lr


