r"""Adam and AdamW: momentum plus RMSprop-style per-coordinate step sizes, bias-corrected.

For each parameter at step :math:`t = 1, 2, ...` (PyTorch's exact order):

.. math::

    g &\leftarrow g + \lambda \theta             && \text{Adam's weight\_decay: L2 in } g \\
    \theta &\leftarrow \theta (1 - \eta \lambda)  && \text{AdamW instead: decoupled} \\
    m &\leftarrow \beta_1 m + (1 - \beta_1) g     && \text{(first moment: mean of } g\text{)}\\
    v &\leftarrow \beta_2 v + (1 - \beta_2) g^2   && \text{(second moment: mean of } g^2\text{)}\\
    \hat v &= \max(\hat v, v)\;\text{(amsgrad) or } v &&\\
    \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t}\,
        \frac{m}{\sqrt{\hat v} / \sqrt{1 - \beta_2^t} + \epsilon} &&

Why the bias correction: m and v start at 0, so early on they underestimate the true
means by the factors :math:`1 - \beta^t`; dividing by those factors removes the bias.

Why AdamW (Loshchilov & Hutter, 2019): in Adam, an L2 term in the gradient is divided by
:math:`\sqrt{v}` like everything else, so parameters with large gradients are barely
decayed. AdamW shrinks every weight by the same factor, which is what "weight decay"
means in plain SGD.
"""
from __future__ import annotations

import math

from .. import registry
from ..backend import get_array_module
from ..ops.torch_errors import IndexValueError
from ._args import number
from .optimizer import Optimizer


class Adam(Optimizer):
    """``Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))`` (DCGAN's setting);
    arguments as ``torch.optim.Adam``, including ``decoupled_weight_decay`` (= AdamW).

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), and
    ``max_exp_avg_sq`` with amsgrad. ``foreach`` (default True): the fused step over flat
    buffers (``Optimizer``'s docstring), the same numbers as the per-parameter ``_update``.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, foreach: bool | None = None):
        lr, eps, weight_decay = number(lr), number(eps), number(weight_decay)
        if not 0.0 <= lr:  # NaN too, as PyTorch
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = tuple(number(beta) for beta in betas)
        if len(betas) != 2:
            raise IndexValueError(f"betas: expected two coefficients (beta1, beta2), got "
                                  f"{betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay),
                         foreach=foreach)

    def _update(self, param, grad, group, state):
        xp = get_array_module(param.array)
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._zeros_like(param)
            state["exp_avg_sq"] = self._zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = self._zeros_like(param)
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
        exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"].array
            xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            second_moment = max_exp_avg_sq
        else:
            second_moment = exp_avg_sq
        denominator = xp.sqrt(second_moment) / bias_correction2_sqrt + group["eps"]
        param.array -= step_size * (exp_avg / denominator)

    # the fused step: the registry's adam_update on flat buffers (below)
    def _state_keys(self, group):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def _phase(self, state, group):
        return state.get("step", 0)

    def _new_state(self, state, group):
        state["step"] = 0

    def _fused_update(self, param, grad, buffers, group, states, phase):
        beta1, beta2 = group["betas"]
        step = phase + 1
        for state in states:
            state["step"] = step
        registry.run("adam_update", param, grad, buffers["exp_avg"], buffers["exp_avg_sq"],
                     buffers.get("max_exp_avg_sq"), lr=group["lr"], beta1=beta1, beta2=beta2,
                     eps=group["eps"], weight_decay=group["weight_decay"], step=step,
                     maximize=group["maximize"],
                     decoupled_weight_decay=group["decoupled_weight_decay"])


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps,
                weight_decay, step, maximize, decoupled_weight_decay):
    """One Adam step on flat arrays, in place: ``param``, ``exp_avg``, ``exp_avg_sq`` (and
    ``max_exp_avg_sq``, None without amsgrad) updated; ``grad`` (a scratch copy) may be
    overwritten. ``step``: this step's number (1, 2, ...). The registry's ``adam_update``
    reference (a one-kernel implementation registers beside it): ``Adam._update``'s
    operations in its order, so the same numbers bit for bit, with one temporary ``t``."""
    xp = get_array_module(param)
    if maximize:
        xp.negative(grad, out=grad)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad += weight_decay * param
    t = xp.subtract(grad, exp_avg)
    t *= 1 - beta1
    exp_avg += t
    exp_avg_sq *= beta2
    xp.multiply(grad, 1 - beta2, out=t)
    t *= grad
    exp_avg_sq += t
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    second_moment = exp_avg_sq
    if max_exp_avg_sq is not None:
        second_moment = max_exp_avg_sq
        xp.maximum(second_moment, exp_avg_sq, out=second_moment)
    xp.sqrt(second_moment, out=t)
    t /= bias_correction2_sqrt
    t += eps
    xp.divide(exp_avg, t, out=t)
    t *= step_size
    param -= t


for _device in ("cpu", "cuda"):
    registry.register("adam_update", "reference", adam_update, device=_device)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01): see the module docstring."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, foreach=foreach)
