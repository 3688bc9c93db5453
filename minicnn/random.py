"""The random number generator behind ``mc.randn``, dropout, initialisation and shuffling.

One NumPy ``Generator`` (PCG64) for the whole library, reseeded by ``mc.manual_seed``.
Its state can be read and restored exactly (``get_rng_state``/``set_rng_state``), which
is what makes a resumed training run produce the same numbers as an uninterrupted one.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)
_seed = 0


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minicnn's generator (PyTorch's ``torch.manual_seed``)."""
    global _generator, _seed
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _generator


def seed() -> int:
    """Reseed minicnn's generator from the operating system's entropy and return the seed
    (``torch.seed``): a run that prints it can be repeated with ``manual_seed``."""
    manual_seed(int(np.random.SeedSequence().entropy % 2**63))
    return _seed


def initial_seed() -> int:
    """The seed the generator was last seeded with (0 at import)."""
    return _seed


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    """The generator's exact state, a JSON-friendly dict."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state


class Generator:
    """A generator of one's own, PyTorch's ``torch.Generator``: for ``random_split`` and
    ``DataLoader(generator=...)``, where a script wants an order that does not depend on
    how many numbers the rest of the program drew.

    ``Generator().manual_seed(42)`` returns the generator itself, as PyTorch's does;
    ``.numpy`` is the NumPy ``Generator`` (PCG64) behind it.
    """

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % 2**63)
        self.numpy = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be a non-negative integer, "
                             f"got {seed!r}")
        self._seed = int(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        self.numpy.bit_generator.state = state
        return self


def numpy_generator(generator=None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s (a ``Generator`` or a NumPy one),
    or minicnn's global generator when None."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator: expected a minicnn.Generator or numpy.random.Generator, got "
                    f"{type(generator).__name__}")
