r"""Learning-rate schedules: change ``group["lr"]`` as training goes on.

Call ``scheduler.step()`` once per epoch, after the optimizer's steps::

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch()          # optimizer.step() many times
        scheduler.step()

=================== ==========================================================
StepLR              lr = base_lr * gamma ** (epoch // step_size)
ExponentialLR       lr = base_lr * gamma ** epoch
CosineAnnealingLR   lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2
MultiStepLR         lr = base_lr * gamma ** (number of milestones <= epoch)
LambdaLR            lr = base_lr * lr_lambda(epoch)
=================== ==========================================================

As in PyTorch, each schedule is computed *recursively* from the current lr (so schedules
can be chained and an lr changed by hand is respected), which gives the closed forms
above when nothing else touches the lr. ``state_dict()`` holds every attribute except the
optimizer, with PyTorch's names.

``step(epoch)`` (deprecated in PyTorch, and warned about as there) sets the epoch and uses
the closed form (``_get_closed_form_lr``) where the schedule has one; SequentialLR relies
on it. More schedules (ReduceLROnPlateau, OneCycleLR, LinearLR, ConstantLR,
MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, SequentialLR,
ChainedScheduler) live in ``lr_scheduler_more.py``, CyclicLR in ``lr_scheduler_cyclic.py``;
all are importable from here.
"""
from __future__ import annotations

import math
import warnings
from bisect import bisect_right

from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available.")


class LRScheduler:
    """Base class: ``get_lr()`` returns the next lr of each group; ``step()`` applies it."""

    _is_initial = False  # True only during the constructor's step

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the constructor's step (which sets the starting
        lr; SequentialLR calls it again on the scheduler it starts with)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The lr of each group after the last ``step()``."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch. ``epoch`` (deprecated, as in PyTorch): jump to that epoch,
        with the closed form where the schedule has one."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


def _nonzero(scheduler: str, name: str, value) -> None:
    """A period the schedule divides by: a number, not 0 (PyTorch fails later, with a
    ZeroDivisionError at the first step)."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float)) and \
            not hasattr(type(value), "__index__"):
        raise TypeError(f"{scheduler}: {name}: expected a positive int, got {value!r} "
                        f"({type(value).__name__})")
    if value == 0:
        raise ValueError(f"{scheduler}: {name}: expected a positive int, got 0 (the schedule "
                         f"divides by it)")


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        _nonzero("StepLR", "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Follow half a cosine from base_lr down to ``eta_min`` over ``T_max`` epochs (and
    back up over the next T_max, and so on).

    The recursive form (PyTorch's) is the ratio of consecutive closed-form values:
    :math:`\eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
    \frac{1 + \cos(\pi t / T)}{1 + \cos(\pi (t - 1) / T)}`, with a special case at the
    bottom of each cycle, where that ratio would be 0/0.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        _nonzero("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resumed with last_epoch > 0: closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / period)) / 2
                    for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:  # leaving the bottom of a cycle
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each epoch listed in ``milestones`` (a milestone
    listed twice multiplies twice, as PyTorch)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones = {}
        for milestone in milestones:
            self.milestones[int(milestone)] = self.milestones.get(int(milestone), 0) + 1
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(m for m, count in self.milestones.items() for _ in range(count))
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); ``lr_lambda`` a function of the epoch, or one per
    parameter group. (Its state_dict leaves the functions out, as PyTorch's.)"""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"Expected {groups} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [base * rule(self.last_epoch) for base, rule in zip(self.base_lrs,
                                                                   self.lr_lambdas)]

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Ours, or PyTorch's, whose "lr_lambdas" entry (None for a function, the
        ``__dict__`` of a callable object) must not replace the functions."""
        state = {key: value for key, value in state_dict.items() if key != "lr_lambdas"}
        self.__dict__.update(state)
        for fn, fn_state in zip(self.lr_lambdas, state_dict.get("lr_lambdas") or ()):
            if fn_state is not None:
                fn.__dict__.update(fn_state)


# The other schedules (imported last: that module builds on LRScheduler above).
from .lr_scheduler_more import (  # noqa: E402
    ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, LinearLR, MultiplicativeLR,
    OneCycleLR, PolynomialLR, ReduceLROnPlateau, SequentialLR)
from .lr_scheduler_cyclic import CyclicLR  # noqa: E402

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR",
           "LambdaLR", "MultiplicativeLR", "ConstantLR", "LinearLR", "PolynomialLR",
           "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler",
           "ReduceLROnPlateau", "OneCycleLR", "CyclicLR"]
