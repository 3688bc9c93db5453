"""The random number generator behind ``mc.randn``, dropout, initialisation and shuffling.

One NumPy ``Generator`` (PCG64) for the whole library, reseeded by ``mc.manual_seed``.
Its state can be read and restored exactly (``get_rng_state``/``set_rng_state``), which
is what makes a resumed training run produce the same numbers as an uninterrupted one.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minicnn's generator (PyTorch's ``torch.manual_seed``)."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    """The generator's exact state, a JSON-friendly dict."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state
