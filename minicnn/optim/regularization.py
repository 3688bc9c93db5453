r"""Regularisation penalties: discourage large weights so a model cannot memorise noise.

* **L2** ("weight decay", ridge): add :math:`\frac{\lambda}{2}\sum w^2` to the loss. Its
  gradient is :math:`\lambda w`, so every step shrinks each weight in proportion to its
  size. Use the optimizers' ``weight_decay=lambda`` argument: it adds exactly that
  gradient without building a graph (``l2_penalty`` below spells it out as a loss term;
  with SGD the two give the same steps). With Adam prefer ``AdamW`` (see ``adam.py``).
* **L1** (lasso): add :math:`\lambda \sum |w|`. Its gradient :math:`\lambda\,\mathrm{sign}(w)`
  is the same size for small and large weights, so it pushes small weights all the way to
  zero: L1 makes weights *sparse*. No optimizer option does this; add ``l1_penalty`` to
  your loss::

      loss = F.cross_entropy(model(x), y) + l1_penalty(model.parameters(), 1e-4)

Usually biases and normalisation parameters are left out: pass only the weights, e.g.
``[p for name, p in model.named_parameters() if name.endswith("weight")]``.
"""
from __future__ import annotations

from ..autograd import Tensor


def l1_penalty(parameters, weight: float) -> Tensor:
    r"""weight * sum over parameters of sum |w|  (differentiable: add it to the loss).

    Its gradient is weight * sign(w) (0 at w = 0, as PyTorch's abs).
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not parameters:
        raise ValueError("l1_penalty: got no parameters")
    total = None
    for param in parameters:
        term = param.abs().sum()
        total = term if total is None else total + term
    return total * weight


def l2_penalty(parameters, weight: float) -> Tensor:
    r"""weight / 2 * sum over parameters of sum w^2: the loss whose gradient,
    weight * w, is what ``weight_decay=weight`` adds inside SGD/Adam."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not parameters:
        raise ValueError("l2_penalty: got no parameters")
    total = None
    for param in parameters:
        term = (param * param).sum()
        total = term if total is None else total + term
    return total * (weight / 2)
