r"""Three tricks that make GAN training calmer, each a flag on ``minicnn train``.

**Spectral normalisation** (``--spectral-norm``, Miyato et al. 2018): every Conv2d/Linear
weight of the discriminator is divided by its largest singular value, so each layer is
1-Lipschitz and the discriminator cannot become arbitrarily steep. See
``minicnn.nn.utils.spectral_norm`` for the power iteration.

**Historical averaging** (``--historical-averaging LAMBDA``, Salimans et al. 2016): each
player's loss gets the extra term

.. math::  \lambda \,\Big\lVert \theta_t - \tfrac{1}{t}\textstyle\sum_{i=1}^{t}\theta_i \Big\rVert^2

that pulls its parameters towards the mean of all the values they have had (the current
one included, as in the paper's formula). Two players that circle around an equilibrium
instead of reaching it are damped: the mean of a circle is its centre. The mean is a
running (cumulative) one, ``mean <- mean + (theta - mean) / t``, so it costs one copy of
the parameters, and it is treated as a constant: the penalty's gradient is
``2 lambda (theta - mean)``.

**Generator EMA** (``--ema DECAY``, Karras et al. 2018; Yazici et al. 2019): a second copy
of the generator whose weights follow ``avg <- decay * avg + (1 - decay) * theta`` after
every generator update. Training never uses it; samples drawn from it are smoother
because the average washes out the last few steps' oscillation.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation on every Conv2d, ConvTranspose2d and Linear inside ``module``
    (in place; returns it). Call it before making the module's optimizer: afterwards the
    trained parameter of each layer is ``weight_orig``."""
    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    targets = [m for m in module.modules() if isinstance(m, layers)]
    if not targets:
        raise ValueError("apply_spectral_norm: the module has no Conv2d/ConvTranspose2d/"
                         "Linear layer to normalise")
    for layer in targets:
        nn.utils.spectral_norm(layer)
    return module


def uses_spectral_norm(module: nn.Module) -> bool:
    """True when some layer of ``module`` is spectrally normalised."""
    return any(name.endswith("weight_orig") for name, _ in module.named_parameters())


class HistoricalAverage:
    r"""The penalty :math:`\lambda \lVert\theta - \bar\theta\rVert^2` for one player.

    ``penalty()`` returns it as a Tensor (add it to the player's loss before backward);
    ``update()`` folds the current parameters into the running mean (call it after the
    player's optimizer step). The mean starts at the initial parameters.
    ``state_dict``/``load_state_dict`` make it part of a checkpoint.
    """

    def __init__(self, module: nn.Module, weight: float):
        if weight <= 0:
            raise ValueError(f"HistoricalAverage: weight must be positive, got {weight}")
        self.weight = float(weight)
        self.parameters = dict(module.named_parameters())
        self.means = {name: p.array.copy() for name, p in self.parameters.items()}
        self.count = 1

    def penalty(self) -> Tensor:
        total = None
        for name, parameter in self.parameters.items():
            term = ((parameter - Tensor._wrap(self.means[name])) ** 2).sum()
            total = term if total is None else total + term
        return total * self.weight

    def update(self) -> None:
        self.count += 1
        for name, parameter in self.parameters.items():
            mean = self.means[name]
            mean += (parameter.array - mean) / self.count

    def to(self, device) -> "HistoricalAverage":
        from ..backend import to_device
        self.means = {name: to_device(mean, device) for name, mean in self.means.items()}
        return self

    def state_dict(self) -> dict:
        return {"count": int(self.count), "weight": self.weight,
                "means": {name: mean for name, mean in self.means.items()}}

    def load_state_dict(self, state: dict) -> None:
        if set(state["means"]) != set(self.means):
            raise ValueError(f"HistoricalAverage: saved parameters {sorted(state['means'])} "
                             f"differ from the model's {sorted(self.means)}")
        self.count = int(state["count"])
        self.weight = float(state["weight"])
        from ..backend import device_of, to_device
        for name, mean in state["means"].items():
            old = self.means[name]
            mean = mean.array if isinstance(mean, Tensor) else mean
            self.means[name] = to_device(np.array(to_device(mean, "cpu"), dtype=old.dtype,
                                                  copy=True), device_of(old))


class GeneratorEMA:
    """An exponential moving average of a generator's weights, kept in ``self.average``
    (a Module of the same shape, never trained). Buffers (BatchNorm's running statistics)
    are copied, not averaged."""

    def __init__(self, generator: nn.Module, decay: float = 0.999):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"GeneratorEMA: decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.generator = generator
        self.average = copy.deepcopy(generator)
        self.average.requires_grad_(False)
        self.average.eval()

    def update(self) -> None:
        with no_grad():
            averaged = dict(self.average.named_parameters())
            for name, parameter in self.generator.named_parameters():
                target = averaged[name].array
                target *= self.decay
                target += (1.0 - self.decay) * parameter.array
            averaged_buffers = dict(self.average.named_buffers())
            for name, buffer in self.generator.named_buffers():
                averaged_buffers[name].array[...] = buffer.array
