"""Argument checks for layer constructors: one place, one message shape.

Each check raises when the layer is built (not at its first forward, nor as a
``ZeroDivisionError`` from inside the weight initialisation), naming the layer, the
argument, what was expected and what came::

    Conv2d: kernel_size: expected positive values, got 0
    Linear: in_features: expected an int >= 0, got -1
    GroupNorm: num_groups: expected an int >= 1, got 0

What is accepted follows PyTorch:

* what PyTorch's layers build and run is accepted, sizes of 0 included: ``Linear(0, 3)``
  maps an (N, 0) input to the bias alone (its weight is empty, its bias 0, as PyTorch's
  ``reset_parameters`` makes it), ``BatchNorm2d(0)``, ``LayerNorm(0)``, ``Conv2d(0, 4, 3)``;
* what PyTorch rejects in its constructor is rejected (``groups=0``, negative sizes,
  ``padding='same'`` with a stride, a float size);
* what PyTorch's constructor takes but no forward call can ever run with, whatever the
  input, is rejected here at once rather than at the first batch: a ``kernel_size``,
  ``stride`` or ``dilation`` below 1, negative padding, pooling padding over half the
  kernel, a transposed convolution's ``output_padding`` not below its stride or dilation,
  ``GroupNorm(0, C)``, an empty or negative ``normalized_shape``.

Integers may be Python ints or NumPy integers (anything with ``__index__``), not floats.
"""
from __future__ import annotations

import math
import numbers
import operator

from ..geometry import pair, single_int


def size(layer: str, name: str, value, minimum: int = 0) -> int:
    """``value`` as an int ``>= minimum`` (a number of features, channels or groups).
    Bools pass as 0 and 1, as in PyTorch (``nn.Linear(True, 3)`` builds there too)."""
    if not hasattr(type(value), "__index__"):
        raise TypeError(f"{layer}: {name}: expected an int >= {minimum}, got {value!r} "
                        f"({type(value).__name__})")
    number = operator.index(value)
    if number < minimum:
        raise ValueError(f"{layer}: {name}: expected an int >= {minimum}, got {number}")
    return number


def window(layer: str, name: str, value, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints, each ``>= minimum``) as a pair."""
    return pair(value, name, minimum, layer)


def single(layer: str, name: str, value, minimum: int) -> tuple[int]:
    """``value`` (an int or a 1-tuple of an int ``>= minimum``) as a 1-tuple (Conv1d's
    kernel_size, stride, padding ...)."""
    return (single_int(value, name, layer, minimum),)


def divisible(layer: str, name: str, value: int, by_name: str, by: int) -> None:
    """``value`` must be a multiple of ``by`` (channels split into groups)."""
    if value % by:
        raise ValueError(f"{layer}: {name} ({value}) must be divisible by {by_name} ({by})")


def number(layer: str, name: str, value, finite: bool = False, nonzero: bool = False):
    """A real number (an activation's slope, a shrink threshold, a norm's power): a string,
    None or a tensor is a TypeError; NaN or infinity a ValueError when ``finite``; 0 a
    ValueError when ``nonzero`` (``LPPool(0, k)`` would divide by zero)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name}: expected a number, got {value!r} "
                        f"({type(value).__name__})")
    if finite and not math.isfinite(value):
        raise ValueError(f"{layer}: {name}: expected a finite number, got {value}")
    if nonzero and value == 0:
        raise ValueError(f"{layer}: {name}: expected a non-zero number, got {value}")
    return value


def probability(layer: str, name: str, value) -> float:
    """A number in [0, 1] (a dropout probability)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name}: expected a probability between 0 and 1, got "
                        f"{value!r} ({type(value).__name__})")
    if not 0 <= value <= 1:  # NaN fails too
        raise ValueError(f"{layer}: {name}: dropout probability has to be between 0 and 1, "
                         f"but got {value}")
    return value


def shape(layer: str, name: str, value) -> tuple[int, ...]:
    """An int or a non-empty sequence of ints ``>= 0`` (LayerNorm's normalized_shape)."""
    if isinstance(value, (str, bytes)) or not (hasattr(type(value), "__index__")
                                               or hasattr(value, "__iter__")):
        raise TypeError(f"{layer}: {name}: expected an int or a sequence of ints, got "
                        f"{value!r} ({type(value).__name__})")
    dims = (value,) if hasattr(type(value), "__index__") else tuple(value)
    if not dims:
        raise ValueError(f"{layer}: {name}: expected at least one dimension, got {value!r}")
    return tuple(size(layer, f"{name}[{i}]", dim) for i, dim in enumerate(dims))


def pool_padding(layer: str, kernel_size, padding) -> None:
    """Pooling pads at most half a window on each side (so every window overlaps the
    input), as PyTorch's pooling requires."""
    kernel = window(layer, "kernel_size", kernel_size, 1)
    pad = window(layer, "padding", padding, 0)
    if any(p > k // 2 for k, p in zip(kernel, pad)):
        raise ValueError(f"{layer}: padding should be at most half of kernel_size, got "
                         f"padding={padding!r} for kernel_size={kernel_size!r}")
