r"""Weight initialisation: fill a tensor in place with numbers drawn from a distribution.

Why it matters: if each layer multiplies the size of its signal by a factor ``g``, a deep
network multiplies it by ``g^depth`` and it explodes or vanishes. The schemes below choose
the spread of the weights so that ``g`` is about 1.

* **Xavier / Glorot** (for tanh/sigmoid/linear layers): keep the variance equal going
  forward and backward,
  :math:`\mathrm{Var}(w) = \text{gain}^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})`.
* **Kaiming / He** (for ReLU-family layers): ReLU zeroes half of its input, so double the
  variance, :math:`\mathrm{Var}(w) = \text{gain}^2 / \text{fan}` with gain = :math:`\sqrt{2}`.

A uniform distribution on :math:`[-b, b]` has standard deviation :math:`b / \sqrt{3}`, hence
the :math:`\sqrt{3}` in the ``*_uniform_`` bounds.

fan_in and fan_out of a weight ``(out, in, *kernel)`` are ``in * prod(kernel)`` and
``out * prod(kernel)``: the number of inputs each output sums over, and the reverse.

Every function draws from minicnn's generator (``mc.manual_seed`` makes it reproducible),
draws on the host so CPU and GPU models start from the same numbers, writes into
``tensor.array`` without building a graph, and returns the tensor.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..backend import device_of, to_device


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` (a NumPy array or a number) into ``tensor`` in place."""
    values = np.asarray(values, dtype=tensor.dtype)
    tensor.array[...] = to_device(values, device_of(tensor.array)) if values.ndim else values
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which ``nonlinearity`` shrinks the standard deviation of its input,
    inverted: linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
    leaky_relu sqrt(2 / (1 + slope^2)) (slope = ``param``, default 0.01), selu 3/4."""
    linear_like = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "sigmoid"]
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight ``(out, in, *kernel)``: see the module docstring.

    Note ConvTranspose2d's weight is ``(in, out/groups, R, S)``, so for it "fan_in" is
    really ``out/groups * R * S``; PyTorch computes it this way too and we keep its numbers.
    """
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         f"2 dimensions (got shape {tensor.shape})")
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor: Tensor, name: str) -> bool:
    """A zero-element tensor: nothing to fill (PyTorch warns and leaves it, rather than
    dividing by a fan of 0)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: tensor: expected a Tensor, got {type(tensor).__name__}")
    if tensor.array.size:
        return False
    import warnings

    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return True


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of U(a, b) (from ``generator``, a ``mc.Generator``, if given)."""
    rng = _random.numpy_generator(generator)
    return _fill(tensor, rng.uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of N(mean, std^2)."""
    rng = _random.numpy_generator(generator)
    return _fill(tensor, rng.normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    if isinstance(val, (str, bytes)) or val is None or not hasattr(val, "__float__"):
        raise TypeError(f"constant_: val: expected a number, got {val!r} "
                        f"({type(val).__name__})")
    tensor.array[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    r"""U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    if _empty(tensor, "xavier_uniform_"):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    r"""N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _empty(tensor, "xavier_normal_"):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    r"""U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015); ``a`` is the leaky
    ReLU's negative slope used in the gain.

    PyTorch's default for Linear and Conv2d weights is ``kaiming_uniform_(w, a=sqrt(5))``,
    which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    r"""N(0, std^2) with std = gain / sqrt(fan)."""
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    r"""Fill with N(mean, std^2) conditioned on [a, b] (a and b are absolute bounds, as in
    PyTorch, not multiples of std). Drawn by rejection: values outside are redrawn (the
    same distribution as PyTorch's inverse-CDF method, different numbers)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: a: expected a < b, got a={a}, b={b}")
    rng = _random.numpy_generator(generator)
    values = rng.normal(mean, std, tensor.shape)
    for _ in range(1000):
        outside = (values < a) | (values > b)
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, int(outside.sum()))
    return _fill(tensor, np.clip(values, a, b))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    r"""Fill with a (semi-)orthogonal matrix (Saxe et al., 2013): the Q of a QR
    decomposition of a normal matrix, signs fixed by diag(R); dims after the first are
    flattened. Rows (or columns, whichever are fewer) are orthonormal, times ``gain``."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: tensor: Only tensors with 2 or more dimensions are "
                         f"supported, got shape {tensor.shape}")
    if tensor.array.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.array.size // rows
    flat = _random.numpy_generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity (ones on the diagonal of a non-square one)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: tensor: Only tensors with 2 dimensions are supported, got "
                         f"shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-d convolution weight (out, in, *kernel) with the Dirac delta: a
    convolution that copies its input channels (per group) to the outputs."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: tensor: Only tensors with 3, 4, or 5 dimensions are "
                         f"supported, got shape {tensor.shape}")
    if groups < 1 or tensor.shape[0] % groups:
        raise ValueError(f"dirac_: groups: dim 0 ({tensor.shape[0]}) must be divisible by "
                         f"groups ({groups})")
    out_per_group = tensor.shape[0] // groups
    values = np.zeros(tensor.shape)
    center = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            values[(g * out_per_group + d, d, *center)] = 1
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-d tensor with N(0, std^2) values, then zero ceil(sparsity * rows) of the
    entries of each column (Martens, 2010)."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: tensor: Only tensors with 2 dimensions are supported, got "
                         f"shape {tensor.shape}")
    rng = _random.numpy_generator(generator)
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    values = rng.normal(0.0, std, (rows, cols))
    for col in range(cols):
        values[rng.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)
