"""``torch.cuda.amp``'s older spellings: ``GradScaler(init_scale=...)`` for CUDA and
``autocast(enabled=..., dtype=...)`` (both are ``minicnn.amp``'s, see there)."""
from __future__ import annotations

from .. import amp as _amp

__all__ = ["GradScaler", "autocast"]


class GradScaler(_amp.GradScaler):
    """``torch.cuda.amp.GradScaler``: ``minicnn.amp.GradScaler('cuda', ...)`` (disabled,
    with a warning, when no CUDA GPU is usable, as in PyTorch)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class autocast(_amp.autocast):  # noqa: N801 - PyTorch's name
    """``torch.cuda.amp.autocast(enabled=True, dtype=float16, cache_enabled=True)``."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled=None):
        super().__init__("cuda", dtype, enabled, cache_enabled)
