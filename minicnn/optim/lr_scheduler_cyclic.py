r"""``CyclicLR`` (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017): the lr
climbs from ``base_lr`` to ``max_lr`` and back, every batch, as PyTorch's. Import it from
``lr_scheduler``.

With ``total = step_size_up + step_size_down`` and ``t`` batches done::

    cycle = floor(1 + t / total)                  # 1, 2, 3 ...
    x     = 1 + t / total - cycle                 # position in the cycle, in [0, 1)
    rise  = x / r            if x <= r            # r = step_size_up / total
            (x - 1) / (r - 1) otherwise           # 0 -> 1 -> 0 over one cycle
    lr    = base_lr + (max_lr - base_lr) * rise * scale

``scale`` is 1 (``triangular``), ``1 / 2 ** (cycle - 1)`` (``triangular2``: each cycle half
as tall), ``gamma ** t`` (``exp_range``), or ``scale_fn(cycle)`` / ``scale_fn(t)`` of your
own (``scale_mode`` 'cycle' or 'iterations'). With ``cycle_momentum`` the momentum (Adam:
beta1) moves the opposite way, from ``max_momentum`` down to ``base_momentum``:
``momentum = max_momentum - (max_momentum - base_momentum) * rise * scale``.
"""
from __future__ import annotations

import math
import types

from .lr_scheduler import LRScheduler
from .lr_scheduler_more import _check_optimizer, _format_param

__all__ = ["CyclicLR"]

_MODES = ("triangular", "triangular2", "exp_range")


class CyclicLR(LRScheduler):
    """Call ``step()`` after every batch (not every epoch). See the module docstring."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down=None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn=None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        _check_optimizer(optimizer)
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if not (up > 0 and down >= 0):
            raise ValueError(f"CyclicLR: step_size_up must be > 0 and step_size_down >= 0, "
                             f"got {step_size_up!r} and {step_size_down!r}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in _MODES and scale_fn is None:
            raise ValueError(f"CyclicLR: mode: expected one of {_MODES} (or a scale_fn), got "
                             f"{mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode: expected 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom, self.scale_mode = scale_fn, scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("CyclicLR: optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for high, low, group in zip(self.max_momentums, self.base_momentums,
                                            optimizer.param_groups):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        """The built-in mode's scale and the variable it reads (PyTorch's pairing)."""
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref, self.scale_mode = (lambda x: 1.0), "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref, self.scale_mode = (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
        else:
            gamma = self.gamma
            self._scale_fn_ref, self.scale_mode = (lambda x: gamma ** x), "iterations"

    def scale_fn(self, x) -> float:
        fn = self._scale_fn_custom if self._scale_fn_custom is not None else self._scale_fn_ref
        return fn(x)

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self) -> list:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [low + (high - low) * rise * scale for low, high in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                self._set_momentum(group, high - (high - low) * rise * scale)
        return lrs

    def state_dict(self) -> dict:
        """PyTorch's: everything but the optimizer and the scale functions (a callable
        object's ``__dict__`` is kept, a plain function's is not)."""
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)
        custom = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if custom is not None and not isinstance(custom, types.FunctionType):
            state["_scale_fn_custom"] = custom.__dict__.copy()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        custom = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if custom is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(custom)
        self._init_scale_fn()
