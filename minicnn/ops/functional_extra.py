r"""Yet more of ``torch.nn.functional``: local_response_norm (AlexNet's), bilinear, pdist,
channel_shuffle, dropout1d, dropout3d, feature_alpha_dropout, max_unpool1d/2d,
adaptive_max_pool1d, lp_pool1d/2d. Each is a composition of differentiable ops, so every
derivative (second ones too) comes from the parts:

    local_response_norm  y_c = x_c / (k + alpha / n sum_{c' in window(c)} x_{c'}^2)^beta,
                         window(c) = [c - n//2, c + (n-1)//2] (zero outside the channels)
    bilinear             y_k = x1^T W_k x2 + b_k;  x1 (*, in1), x2 (*, in2),
                         W (out, in1, in2), b (out,) -> y (*, out)
    pdist                the p-norm distances ||x_i - x_j||_p of the rows i < j of an
                         (N, M) input, in row order: N (N - 1) / 2 of them
    channel_shuffle      (N, g c, *) -> view (N, g, c, *) -> swap g, c -> (N, c g, *)
    max_unpool           zeros, with input's values written at the flat positions of the
                         indices max_pool returned (each plane): y = scatter, dL/dx = gather
    lp_pool              (sum over the window of x^p)^(1/p) = (k avg_pool(x^p))^(1/p),
                         PyTorch's formula (sign(s) relu(|s|) before the root)
    dropout1d / 3d       whole channels zeroed, kept ones scaled by 1 / (1 - p)
    feature_alpha        alpha dropout with one mask per channel (keeps SELU's statistics)
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..backend import get_array_module, to_device
from .activation import relu
from .dropout import _check_probability, _keep_mask
from .elementwise_extra import sign
from .index_ops import scatter
from .math import MaskMul, abs as _abs, matmul, power
from .math import sum as _sum
from .pool import avg_pool2d
from .shape import pad, reshape, transpose, unsqueeze

_SELU_ALPHA_PRIME = 1.7580993408473766  # -scale * alpha of SELU: where dropped units sit


def _check(op: str, input, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(input).__name__}")
    return input


def _floating(op: str, input: Tensor) -> Tensor:
    if _check(op, input).dtype.kind not in "fc":
        raise TypeError(f"{op}: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    return input


# -- local response norm ------------------------------------------------------------------
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalise each channel by the energy of ``size`` neighbouring channels (dim 1);
    input (N, C, *) with at least 3 dims."""
    op = "local_response_norm"
    _floating(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: input: expected 3D or higher dimensionality input (N, C, *), "
                         f"got shape {input.shape}")
    if not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"{op}: size: expected a positive int, got {size!r}")
    if input.numel() == 0:
        return input * 1
    channels = input.shape[1]
    squares = input * input
    widths = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = pad(squares, tuple(widths))          # zeros before and after the channels
    total = None
    for shift in range(size):                     # the window sum, one shifted slice each
        part = padded[:, shift:shift + channels]
        total = part if total is None else total + part
    return input / power(total * (alpha / size) + k, beta)


# -- bilinear, pdist, channel_shuffle -----------------------------------------------------
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k for every leading index."""
    op = "bilinear"
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check(op, t, name)
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight: expected 3 dims (out_features, in1_features, "
                         f"in2_features), got shape {weight.shape}")
    out, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1:
        raise ValueError(f"{op}: input1: expected {in1} features in the last dim (weight "
                         f"{weight.shape}), got shape {input1.shape}")
    if input2.ndim == 0 or input2.shape[-1] != in2:
        raise ValueError(f"{op}: input2: expected {in2} features in the last dim (weight "
                         f"{weight.shape}), got shape {input2.shape}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"{op}: input2: expected the leading dims of input1 "
                         f"{input1.shape[:-1]}, got {input2.shape[:-1]}")
    # x1 W: (*, in1) @ (in1, out in2) -> (*, out, in2); then the dot with x2 over in2
    w = reshape(transpose(weight, 0, 1), (in1, out * in2))
    left = reshape(matmul(input1, w), input1.shape[:-1] + (out, in2))
    y = _sum(left * unsqueeze(input2, -2), -1)
    if bias is not None:
        _check(op, bias, "bias")
        if tuple(bias.shape) != (out,):
            raise ValueError(f"{op}: bias: expected shape ({out},), got {bias.shape}")
        y = y + bias
    return y


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Distances between the rows of an (N, M) tensor, pairs i < j in row order."""
    from .functional_more import _norm

    _floating("pdist", input)
    if input.ndim != 2:
        raise ValueError(f"pdist: input: expected a 2-D tensor (N, M), got shape {input.shape}")
    if not p > 0:
        raise ValueError(f"pdist: p: expected a positive number (or inf), got {p!r}")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, k=1)
    if rows.size == 0:
        return Tensor._wrap(get_array_module(input.array).zeros((0,), dtype=input.dtype))
    xp = get_array_module(input.array)
    first = input[Tensor._wrap(xp.asarray(rows))]
    second = input[Tensor._wrap(xp.asarray(cols))]
    return _norm(first - second, float(p), 1)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet): input (N, C, *), C a
    multiple of groups."""
    _check("channel_shuffle", input)
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise ValueError(f"channel_shuffle: groups: expected a positive int, got {groups!r}")
    if input.ndim < 3:
        raise ValueError(f"channel_shuffle: input: expected at least 3 dims (N, C, *), got "
                         f"shape {input.shape}")
    n, c, *rest = input.shape
    if c % groups:
        raise ValueError(f"channel_shuffle: groups: number of channels ({c}) must be "
                         f"divisible by groups ({groups})")
    grouped = reshape(input, (n, groups, c // groups, *rest))
    return reshape(transpose(grouped, 1, 2), input.shape)


# -- channel dropouts ---------------------------------------------------------------------
def _channel_dropout(op: str, input: Tensor, p: float, training: bool, dims: tuple,
                     layout: str) -> Tensor:
    _check(op, input)
    _check_probability(op, p)
    if input.ndim not in dims:
        raise ValueError(f"{op}: input: expected {dims[0]}D or {dims[1]}D input {layout}, "
                         f"got shape {input.shape}")
    if not training or p == 0:
        return input
    batched = input.ndim == dims[1]
    lead = input.shape[:2] if batched else input.shape[:1]
    shape = lead + (1,) * (input.ndim - len(lead))
    return MaskMul.apply(input, mask=_keep_mask(shape, p, input))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input. ``inplace`` is accepted."""
    return _channel_dropout("dropout1d", input, p, training, (2, 3), "(C, L) or (N, C, L)")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    return _channel_dropout("dropout3d", input, p, training, (4, 5),
                            "(C, D, H, W) or (N, C, D, H, W)")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout with one draw per (sample, channel) of an (N, C, *) input: dropped
    channels become -alpha', then y = a (x m + alpha' (m - 1)) + alpha' a p."""
    op = "feature_alpha_dropout"
    _floating(op, input)
    _check_probability(op, p)
    if input.ndim < 2:
        raise ValueError(f"{op}: input: expected at least 2 dims (N, C, *), got shape "
                         f"{input.shape}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    alpha = _SELU_ALPHA_PRIME
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = (_random.default_generator().random(shape) >= p).astype(input.dtype)
    shift = (keep - 1) * (alpha * a) + alpha * a * p
    return (input * Tensor._wrap(to_device((keep * a).astype(input.dtype), input.device))
            + Tensor._wrap(to_device(shift.astype(input.dtype), input.device)))


# -- max_unpool, adaptive_max_pool1d, lp_pool ---------------------------------------------
def _ints(op: str, name: str, value, count: int):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{op}: {name}: expected an int or {count} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _max_unpool(op: str, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size, spatial: int) -> Tensor:
    _check(op, input)
    _check(op, indices, "indices")
    if tuple(indices.shape) != tuple(input.shape) or indices.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices: expected an int64 tensor of input's shape "
                         f"{input.shape}, got shape {indices.shape} and dtype {indices.dtype}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{op}: input: expected {spatial + 1} or {spatial + 2} dims, got "
                         f"shape {input.shape}")
    k = _ints(op, "kernel_size", kernel_size, spatial)
    s = k if stride is None or stride == () else _ints(op, "stride", stride, spatial)
    pd = _ints(op, "padding", padding, spatial)
    size_in = input.shape[-spatial:]
    default = tuple((i - 1) * st - 2 * q + kk for i, st, q, kk in zip(size_in, s, pd, k))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in tuple(output_size)[-spatial:])
        if len(size) != spatial:
            raise ValueError(f"{op}: output_size: expected {spatial} sizes, got "
                             f"{output_size!r}")
        for got, want, st in zip(size, default, s):
            if not want - st < got < want + st:
                raise ValueError(f"{op}: output_size: expected sizes between {default} - "
                                 f"stride and {default} + stride (exclusive), got {size}")
    lead = input.shape[:-spatial]
    plane = int(np.prod(size))
    flat_index = reshape(indices, lead + (-1,))
    if flat_index.numel() and (int(flat_index.array.min()) < 0
                               or int(flat_index.array.max()) >= plane):
        raise ValueError(f"{op}: indices: expected values in [0, {plane}) (the output plane "
                         f"{size}), got values in [{int(flat_index.array.min())}, "
                         f"{int(flat_index.array.max())}]")
    xp = get_array_module(input.array)
    zeros = Tensor._wrap(xp.zeros(lead + (plane,), dtype=input.dtype))
    out = scatter(zeros, -1, flat_index, reshape(input, lead + (-1,)))
    return reshape(out, lead + size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool1d: (N, C, L) values back at their positions."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding,
                       output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool2d: (N, C, H, W) values back at their positions
    (indices = the flat h W + w that ``max_pool2d(..., return_indices=True)`` gave)."""
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding,
                       output_size, 2)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows [floor(i L / o), ceil((i + 1) L / o)) of (N, C, L) or (C, L)
    input (adaptive_max_pool2d on a height-1 image)."""
    from .functional_more import adaptive_max_pool2d

    _check("adaptive_max_pool1d", input)
    if input.ndim not in (2, 3):
        raise ValueError(f"adaptive_max_pool1d: input: expected 2 or 3 dims ((N,) C, L), got "
                         f"shape {input.shape}")
    (size,) = _ints("adaptive_max_pool1d", "output_size", output_size, 1)
    result = adaptive_max_pool2d(unsqueeze(input, -2), (1, size), return_indices)
    if return_indices:
        return result[0].squeeze(-2), result[1].squeeze(-2)
    return result.squeeze(-2)


def _norm_type(op: str, norm_type) -> float:
    if isinstance(norm_type, (bool, str, bytes)) or not hasattr(norm_type, "__float__"):
        raise TypeError(f"{op}: norm_type: expected a number, got {norm_type!r}")
    if float(norm_type) == 0:
        raise ValueError(f"{op}: norm_type: expected a non-zero power, got {norm_type} "
                         f"(the root 1/norm_type would divide by zero)")
    return float(norm_type)


def _lp_root(total: Tensor, window: int, norm_type: float) -> Tensor:
    """(sign(s) relu(|s|) window)^(1/p) with s the window mean of x^p (PyTorch's steps)."""
    return power((sign(total) * relu(_abs(total))) * window, 1.0 / norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window: (sum x^p)^(1/p) (p = 1: sum; p = 2: Euclidean)."""
    _floating("lp_pool2d", input)
    norm_type = _norm_type("lp_pool2d", norm_type)
    kh, kw = _ints("lp_pool2d", "kernel_size", kernel_size, 2)
    mean = avg_pool2d(power(input, float(norm_type)), (kh, kw), stride, 0, ceil_mode)
    return _lp_root(mean, kh * kw, float(norm_type))


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window along the last dim of (N, C, L) or (C, L) input."""
    from .pool1d import avg_pool1d

    _floating("lp_pool1d", input)
    norm_type = _norm_type("lp_pool1d", norm_type)
    (k,) = _ints("lp_pool1d", "kernel_size", kernel_size, 1)
    mean = avg_pool1d(power(input, float(norm_type)), k, stride, 0, ceil_mode)
    return _lp_root(mean, k, float(norm_type))


__all__ = ["local_response_norm", "bilinear", "pdist", "channel_shuffle", "dropout1d",
           "dropout3d", "feature_alpha_dropout", "max_unpool1d", "max_unpool2d",
           "adaptive_max_pool1d", "lp_pool1d", "lp_pool2d"]
