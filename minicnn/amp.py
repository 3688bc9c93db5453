r"""Mixed precision, shaped as ``torch.amp``: ``GradScaler`` (loss scaling) and ``autocast``.

Mixed-precision training keeps weights in float32 but runs some ops in float16, whose
smallest normal number is about 6e-5: small gradients would flush to zero. Loss scaling is
the cure, and it is plain arithmetic, so minicnn has the real thing::

    scaler = mc.amp.GradScaler("cpu")          # or mc.cuda.amp.GradScaler()
    loss = criterion(model(x), y)
    scaler.scale(loss).backward()              # backward of  S * loss: every grad is S * g
    scaler.step(optimizer)                     # grads /= S; skipped if any is inf or NaN
    scaler.update()                            # S /= 2 after an overflow; S *= 2 after
                                               # ``growth_interval`` clean steps

The scale ``S`` is a power of two, so multiplying and dividing by it is exact in floating
point (unless a value overflows, which is what the inf/NaN check catches): with float32
gradients the scaled step gives the same bits as the unscaled one.

``autocast`` is the other half: it picks a lower precision per op. minicnn has no
lower-precision kernels, so ``autocast`` runs everything in the tensors' own dtype. When
enabled it says so once (a ``UserWarning``), as PyTorch itself does when asked for an
autocast dtype a device does not support ("... Disabling autocast"). Scripts written as
``autocast(enabled=use_amp)`` with ``use_amp = False`` on a CPU run silently, as on PyTorch.

As PyTorch's, ``mc.cuda.amp.GradScaler()`` (a CUDA scaler) is disabled, with a warning,
when no CUDA GPU is usable; ``mc.amp.GradScaler("cpu")`` works everywhere.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from .backend import cuda_is_available, get_array_module

__all__ = ["GradScaler", "autocast"]


class GradScaler:
    """Dynamic loss scaling (``torch.amp.GradScaler``).

    Args:
        device: 'cuda' (default, as PyTorch) or 'cpu'. A 'cuda' scaler without a usable
            GPU is disabled (with a warning), as in PyTorch.
        init_scale: the first scale ``S`` (2^16).
        growth_factor, backoff_factor: ``S`` is multiplied by these after
            ``growth_interval`` steps without inf/NaN, and after a step with one.
        enabled: False makes every method a pass-through (``scale(loss)`` is ``loss``,
            ``step(opt)`` is ``opt.step()``).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if not isinstance(device, str):
            raise TypeError(f"GradScaler: device: expected 'cuda' or 'cpu', got "
                            f"{type(device).__name__} (torch.cuda.amp.GradScaler's first "
                            "argument is init_scale; write init_scale=...)")
        if not (init_scale > 0 and math.isfinite(init_scale)):
            raise ValueError(f"GradScaler: init_scale: expected a positive finite number, got "
                             f"{init_scale!r}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor: expected > 1, got {growth_factor!r}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor: expected in (0, 1), got "
                             f"{backoff_factor!r}")
        if not (isinstance(growth_interval, int) and growth_interval > 0):
            raise ValueError(f"GradScaler: growth_interval: expected a positive int, got "
                             f"{growth_interval!r}")
        self.device = str(device).split(":")[0]
        if enabled and self.device == "cuda" and not cuda_is_available():
            warnings.warn("GradScaler is enabled for 'cuda', but no CUDA GPU is usable: "
                          "disabling it (as PyTorch does); use GradScaler('cpu') to scale "
                          "on the CPU", UserWarning, stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._per_optimizer: dict[int, dict] = {}  # id(optimizer) -> {"unscaled", "found_inf"}

    # -- scaling -----------------------------------------------------------------------
    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled, as PyTorch)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs * S``: a tensor, or a list/tuple of them (same structure back)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(output) for output in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide every gradient of ``optimizer``'s parameters by ``S``, in place, and note
        whether any is inf or NaN. Call it before clipping gradients; at most once per
        optimizer between two ``update()`` calls."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {"unscaled": False,
                                                               "found_inf": False})
        if state["unscaled"]:
            raise RuntimeError("GradScaler.unscale_: already called for this optimizer since "
                               "the last update()")
        inverse = 1.0 / self._scale
        found_inf = False
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                grad = parameter.grad.array
                xp = get_array_module(grad)
                if not bool(xp.isfinite(grad).all()):
                    found_inf = True
                grad *= grad.dtype.type(inverse) if grad.dtype.kind == "f" else inverse
        state.update(unscaled=True, found_inf=found_inf)

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` on unscaled gradients, unless one of them is inf or NaN (then
        the step is skipped and None returned)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._per_optimizer.get(id(optimizer))
        if state is None or not state["unscaled"]:
            self.unscale_(optimizer)
            state = self._per_optimizer[id(optimizer)]
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """End of an iteration: back off ``S`` if any optimizer saw inf/NaN, grow it after
        ``growth_interval`` clean iterations; or set it to ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"GradScaler.update: new_scale: expected a positive finite "
                                 f"number, got {new_scale!r}")
            self._scale = value
        elif any(state["found_inf"] for state in self._per_optimizer.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._per_optimizer.clear()

    # -- saving ------------------------------------------------------------------------
    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def state_dict(self) -> dict:
        """PyTorch's keys; empty when disabled (as PyTorch)."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("GradScaler.load_state_dict: the state dict is empty (it came "
                               "from a disabled scaler)")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: the state dict lacks {sorted(missing)} "
                           "(not a GradScaler's state_dict?)")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


_warned = set()


class autocast:  # noqa: N801 - PyTorch's name
    """``with mc.autocast(device_type="cuda", dtype=mc.float16, enabled=use_amp):``, also a
    decorator. minicnn has no lower-precision kernels: inside it every op runs in its
    tensors' own dtype. Enabled, it warns once per device type that autocast is disabled
    (PyTorch's behaviour for an autocast dtype a device does not support)."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled=None):
        if not isinstance(device_type, str):
            raise TypeError(f"autocast: device_type: expected a string such as 'cuda' or "
                            f"'cpu', got {type(device_type).__name__}")
        from .torch_runtime import bfloat16

        if dtype is not None and dtype is not bfloat16:
            np.dtype(dtype)  # a dtype at all? (raises TypeError naming it if not)
        self.device_type, self.dtype = device_type.split(":")[0], dtype
        self.enabled = bool(enabled)

    def __enter__(self):
        if self.enabled and self.device_type not in _warned:
            _warned.add(self.device_type)
            warnings.warn(f"autocast({self.device_type!r}): minicnn has no lower-precision "
                          "kernels, so autocast is disabled and ops run in their tensors' "
                          "dtype (float32 stays float32)", UserWarning, stacklevel=2)
        return self

    def __exit__(self, *exc_info) -> bool:
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return run
