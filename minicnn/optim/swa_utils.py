r"""Weight averaging, as ``torch.optim.swa_utils``: a model whose weights are a running average
of another's, for stochastic weight averaging (SWA, Izmailov et al., 2018) and for the
exponential moving average (EMA) of a GAN's generator.

``AveragedModel(model)`` holds a deep copy; ``update_parameters(model)`` folds the current
weights in. The first call copies them; call ``n`` (n >= 1 averaged so far) computes::

    SWA (default):  avg <- avg + (w - avg) / (n + 1)     (the plain mean of all snapshots)
    EMA:            avg <- avg + (1 - decay) (w - avg)   (get_ema_multi_avg_fn(decay))

Buffers (BatchNorm's running statistics) are copied from the model unless
``use_buffers=True`` averages them too; ``update_bn(loader, model)`` recomputes an averaged
model's BatchNorm statistics with one pass over the data instead. ``SWALR`` anneals each
group's lr to ``swa_lr`` over ``anneal_epochs`` (cos or linear) and holds it there.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..nn.module import Module
from .lr_scheduler import LRScheduler
from .lr_scheduler_more import _format_param

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _lerp_(averaged: Tensor, current: Tensor, weight: float) -> None:
    """``averaged <- averaged + weight (current - averaged)`` in place (PyTorch's lerp:
    computed from the other end when weight >= 0.5, for the same rounding)."""
    a, c = averaged.array, current.array
    if a.dtype.kind not in "fc":   # an integer buffer (num_batches_tracked): PyTorch's copy_
        a[...] = np.trunc(a * (1 - weight) + c * weight).astype(a.dtype)
    elif weight < 0.5:
        a += weight * (c - a)
    else:
        a[...] = c - (c - a) * (1 - weight)


def get_ema_multi_avg_fn(decay: float = 0.999):
    """EMA over lists of tensors: ``avg <- lerp(avg, w, 1 - decay)``."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"get_ema_multi_avg_fn: decay: expected in [0, 1], got {decay!r}")

    def ema_update(averaged_list, current_list, num_averaged):
        for averaged, current in zip(averaged_list, current_list):
            _lerp_(averaged, current, 1 - decay)
    return ema_update


def get_swa_multi_avg_fn():
    """SWA over lists of tensors: ``avg <- lerp(avg, w, 1 / (n + 1))``."""
    def swa_update(averaged_list, current_list, num_averaged):
        weight = 1.0 / (float(num_averaged) + 1)
        for averaged, current in zip(averaged_list, current_list):
            _lerp_(averaged, current, weight)
    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """EMA of one tensor: returns ``decay * avg + (1 - decay) * w``."""
    return lambda averaged, current, num_averaged: decay * averaged + (1 - decay) * current


def get_swa_avg_fn():
    """SWA of one tensor: returns ``avg + (w - avg) / (n + 1)``."""
    return lambda averaged, current, num_averaged: (
        averaged + (current - averaged) / (float(num_averaged) + 1))


class AveragedModel(Module):
    """A running average of ``model``'s weights (see the module docstring). Calling it runs
    the averaged copy; its ``state_dict`` has ``n_averaged`` and ``module.*`` (PyTorch's)."""

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model: expected a Module, got "
                            f"{type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)
        self.register_buffer("n_averaged", Tensor._wrap(np.array(0, dtype=np.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list:
        tensors = list(model.parameters())
        return tensors + list(model.buffers()) if self.use_buffers else tensors

    @no_grad()
    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average."""
        averaged, current = self._tensors(self.module), self._tensors(model)
        if len(averaged) != len(current):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(current)} "
                             f"tensors to average, the averaged copy {len(averaged)}")
        for position, (a, c) in enumerate(zip(averaged, current)):
            if a.shape != c.shape:
                raise ValueError(f"AveragedModel.update_parameters: tensor {position} of the "
                                 f"model has shape {tuple(c.shape)}, the averaged copy's "
                                 f"{tuple(a.shape)} (is it the model the average was made "
                                 "of?)")
        current = [c.detach().to(a.device) for a, c in zip(averaged, current)]
        count = int(self.n_averaged.item())
        if count == 0:
            for a, c in zip(averaged, current):
                a.array[...] = c.array
        elif self.multi_avg_fn is not None or self.avg_fn is None:
            (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, count)
        else:
            for a, c in zip(averaged, current):
                a.array[...] = self.avg_fn(a.detach(), c, count).array
        if not self.use_buffers:   # keep the buffers in sync with the source model
            for b_average, b_model in zip(self.module.buffers(), model.buffers()):
                b_average.array[...] = b_model.detach().to(b_average.device).array
        self.n_averaged.array[...] = count + 1


@no_grad()
def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass over
    ``loader`` (batches, or (inputs, ...) tuples whose first item is the input), as a
    cumulative average (momentum None); the model's train/eval mode is restored."""
    from ..nn.normalization import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to ``swa_lr`` in ``anneal_epochs``
    steps (``anneal_strategy`` 'cos': alpha = (1 - cos(pi t)) / 2, or 'linear': alpha = t),
    then hold it; as PyTorch's (the same numbers and state)."""

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) \
                or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
