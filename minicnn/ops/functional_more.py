r"""More of ``torch.nn.functional``: norms and distances, small activations, pixel
shuffling, im2col (unfold / fold), adaptive max pooling, spatial transformers (affine_grid,
grid_sample), gumbel_softmax and scaled_dot_product_attention. The losses are in
``loss_more.py``, alpha_dropout in ``dropout.py`` (their names are exported from here too).

Almost everything is a composition of differentiable ops (so second derivatives are exact
without a hand-written backward); integer positions (window arg-maxes, grid corners) are
computed on raw arrays and enter the graph as constant indices of ``gather``/``getitem``::

    normalize(x)          = x / max(||x||_p, eps)
    cosine_similarity     = sum((x1 / max(||x1||, eps)) (x2 / max(||x2||, eps)))
                            (the clamps pass the gradient through, as PyTorch's no-grad clamp)
    pairwise_distance     = ||x1 - x2 + eps||_p over the last dim
    softsign(x)           = x / (1 + |x|);   tanhshrink(x) = x - tanh x
    threshold(x)          = x if x > threshold else value
    glu(a | b)            = a sigmoid(b)  (the input halved along dim)
    unfold: (N, C, H, W) -> (N, C kh kw, L), column l = the window at output position l;
    fold is its adjoint (overlapping windows add up): fold(unfold(x)) = x * overlap count
    grid_sample bilinear: y = sum over the 4 corners of w_corner x[corner], with
        w = (1 - |ix - cx|)(1 - |iy - cy|): linear in the grid, so d/dgrid is exact, and the
        mixed second derivative d^2/(dix diy) is the one cross term.
    gumbel_softmax        = softmax((logits + g) / tau), g = -log(E), E ~ Exp(1);
                            hard: one_hot(argmax) - stop_grad(y_soft) + y_soft
    sdpa(q, k, v)         = softmax(q k^T scale + mask) v,  scale = 1 / sqrt(E)
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..autograd import Function, Tensor
from ..backend import get_array_module, to_device
from .activation import sigmoid, softmax, tanh
from .dropout import dropout as _dropout
from .index_ops import gather, split
from .grouped_query import grouped_heads
from .math import (MaskMul, abs as _abs, amax, clamp, connected, matmul, power, sqrt,
                   sum as _sum, where)
from .shape import IndexAdd, getitem, pad as _pad, permute, reshape, transpose, unsqueeze
from .grid_sample_padding import PADDING_MODES as _PADDING_MODES, pad_coordinates
from .torch_errors import RuntimeValueError
from .loss_more import __all__ as _loss_names
from .loss_more import *  # noqa: F401,F403
from .dropout import alpha_dropout  # noqa: F401 - exported here, defined with dropout


def _check(op: str, input, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op}: {name}: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    return input


def _const(array, like: Tensor) -> Tensor:
    """A constant (no gradient) with ``like``'s dtype and device."""
    array = to_device(np.asarray(array), like.device) if isinstance(array, np.ndarray) else array
    return Tensor._wrap(get_array_module(array).asarray(array, dtype=like.dtype))


def _dim(op: str, dim: int, ndim: int) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim: expected a dim in [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                         f"got {dim}")
    return dim % max(ndim, 1)


def _root(total: Tensor, p: float) -> Tensor:
    """total^(1/p), with the gradient 0 (not inf * 0 = nan) where total = 0: PyTorch's
    norm gives a zero vector the subgradient 0."""
    zero = total.array == 0
    safe = where(zero, 1.0, total)
    return where(zero, 0.0, sqrt(safe) if p == 2 else power(safe, 1.0 / p))


def _norm(x: Tensor, p: float = 2.0, dim=None, keepdim: bool = False) -> Tensor:
    """||x||_p over ``dim`` (p = inf: max |x|); the math of normalize and the distances."""
    if p == 2:
        return _root(_sum(x * x, dim, keepdim=keepdim), 2)
    if p == 1:
        return _sum(_abs(x), dim, keepdim=keepdim)
    if p == math.inf:
        return amax(_abs(x), dim, keepdim=keepdim)
    if not p > 0:
        raise ValueError(f"norm: p: expected a positive number or inf, got {p!r}")
    return _root(_sum(power(_abs(x), p), dim, keepdim=keepdim), p)


def _clamp_min_passing_gradient(x: Tensor, minimum: float) -> Tensor:
    """max(x, minimum) in value, with gradient 1 everywhere (PyTorch's in-place clamp
    under ``no_grad``)."""
    xp = get_array_module(x.array)
    shift = xp.maximum(x.array, minimum) - x.array
    return x + Tensor._wrap(shift.astype(x.dtype, copy=False))


# -- norms and distances ------------------------------------------------------------------
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    _check("normalize", input)
    if out is not None:
        raise ValueError("normalize: out: not supported, use the returned tensor")
    dim = _dim("normalize", dim, input.ndim)
    return input / clamp(_norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (x1, x2 broadcast)."""
    _check("cosine_similarity", x1, "x1")
    _check("cosine_similarity", x2, "x2")
    try:
        ndim = len(np.broadcast_shapes(x1.shape, x2.shape))
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 of shape {x1.shape} and x2 of shape "
                         f"{x2.shape} cannot be broadcast together") from None
    dim = _dim("cosine_similarity", dim, ndim)
    n1 = _clamp_min_passing_gradient(_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _clamp_min_passing_gradient(_norm(x2, 2, dim, keepdim=True), eps)
    return _sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    _check("pairwise_distance", x1, "x1")
    _check("pairwise_distance", x2, "x2")
    ndim = max(x1.ndim, x2.ndim)
    return _norm(x1 - x2 + eps, p, max(ndim - 1, 0), keepdim=keepdim)


# -- small activations --------------------------------------------------------------------
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    _check("softsign", input)
    return input / (_abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    _check("tanhshrink", input)
    return input - tanh(input)


class ThresholdFunction(Function):
    """y = x where x > threshold, else value;  dL/dx = g where x > threshold, else 0 (the
    gradient linked to x with a zero derivative, as PyTorch's ``threshold_backward``)."""

    def forward(self, x, threshold, value):
        return get_array_module(x).where(x > threshold, x, x.dtype.type(value))

    def backward(self, g):
        x = self.inputs[0]
        keep = (x.array > self.keywords["threshold"]).astype(g.dtype)
        return connected(MaskMul.apply(g, mask=keep, rule=("mask",)), x)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value (``inplace=True`` writes it into the input)."""
    if inplace:
        from .activation_extra import in_place

        bound, function = threshold, globals()["threshold"]
        return in_place(input, lambda x: function(x, bound, value), "threshold_")
    _check("threshold", input)
    return ThresholdFunction.apply(input, threshold=float(threshold), value=float(value))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a sigmoid(b), where a, b are the two halves of the input along ``dim``."""
    _check("glu", input)
    if input.ndim == 0:
        raise ValueError("glu: input: glu does not support scalars because halving size must "
                         "be even")
    dim = _dim("glu", dim, input.ndim)
    if input.shape[dim] % 2:
        raise ValueError(f"glu: dim: Halving dimension must be even, but dimension {dim} is "
                         f"size {input.shape[dim]}")
    a, b = split(input, input.shape[dim] // 2, dim)
    return a * sigmoid(b)


# -- pixel shuffle ------------------------------------------------------------------------
def _factor(op: str, name: str, value) -> int:
    if not hasattr(type(value), "__index__") or int(value) < 1:
        raise ValueError(f"{op}: {name}: expected a positive int, got {value!r}")
    return int(value)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel (i, j)
    of each r x r block."""
    _check("pixel_shuffle", input)
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_shuffle: input: expected at least 3 dims (*, C, H, W), got "
                         f"shape {input.shape}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: input: channels ({c}) must be divisible by the "
                         f"square of upscale_factor ({r * r})")
    n = len(lead)
    x = reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``pixel_shuffle``."""
    _check("pixel_unshuffle", input)
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_unshuffle: input: expected at least 3 dims (*, C, H, W), got "
                         f"shape {input.shape}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: input: height ({h}) and width ({w}) must be "
                         f"divisible by downscale_factor ({r})")
    n = len(lead)
    x = reshape(input, (*lead, c, h // r, r, w // r, r))
    x = permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return reshape(x, (*lead, c * r * r, h // r, w // r))


# -- unfold / fold (im2col / col2im) ------------------------------------------------------
def _pairs(op: str, minimum: int, **values):
    out = []
    for name, value in values.items():
        pair = (value, value) if hasattr(type(value), "__index__") else tuple(value)
        if len(pair) != 2 or not all(hasattr(type(v), "__index__") and int(v) >= minimum
                                     for v in pair):
            raise ValueError(f"{op}: {name}: expected an int >= {minimum} or a pair of them, "
                             f"got {value!r}")
        out.append(tuple(int(v) for v in pair))
    return out


def _window_index(size, kernel, dilation, padding, stride, op, output=None):
    """Row (or column) index of each (kernel offset, output position): shape (k, o)."""
    count = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if count < 1:
        raise ValueError(f"{op}: kernel_size: the window (kernel {kernel}, dilation "
                         f"{dilation}) is larger than the padded input ({size + 2 * padding})")
    return (np.arange(kernel)[:, None] * dilation + np.arange(count)[None, :] * stride), count


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C kh kw, L), or (C, H, W) -> (C kh kw, L)."""
    _check("unfold", input)
    if input.ndim not in (3, 4):
        raise ValueError(f"unfold: input: expected 3 or 4 dims ((N,) C, H, W), got shape "
                         f"{input.shape}")
    (kh, kw), (dh, dw), (sh, sw) = _pairs("unfold", 1, kernel_size=kernel_size,
                                          dilation=dilation, stride=stride)
    ((ph, pw),) = _pairs("unfold", 0, padding=padding)
    batched = input if input.ndim == 4 else unsqueeze(input, 0)
    n, c, h, w = batched.shape
    rows, oh = _window_index(h, kh, dh, ph, sh, "unfold")
    cols, ow = _window_index(w, kw, dw, pw, sw, "unfold")
    x = _pad(batched, (pw, pw, ph, ph)) if ph or pw else batched
    xp = get_array_module(x.array)
    index = (slice(None), slice(None), xp.asarray(rows[:, None, :, None]),
             xp.asarray(cols[None, :, None, :]))
    out = reshape(getitem(x, index), (n, c * kh * kw, oh * ow))
    return out if input.ndim == 4 else reshape(out, out.shape[1:])


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, the adjoint of ``unfold``: (N, C kh kw, L) -> (N, C, H, W), overlaps added."""
    _check("fold", input)
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: input: expected 2 or 3 dims ((N,) C kh kw, L), got shape "
                         f"{input.shape}")
    ((oh_size, ow_size),) = _pairs("fold", 1, output_size=output_size)
    (kh, kw), (dh, dw), (sh, sw) = _pairs("fold", 1, kernel_size=kernel_size,
                                          dilation=dilation, stride=stride)
    ((ph, pw),) = _pairs("fold", 0, padding=padding)
    batched = input if input.ndim == 3 else unsqueeze(input, 0)
    n, ckk, length = batched.shape
    if ckk % (kh * kw):
        raise ValueError(f"fold: input: expected size of input's dimension 1 ({ckk}) to be "
                         f"divisible by the product of kernel_size ({kh * kw})")
    rows, oh = _window_index(oh_size, kh, dh, ph, sh, "fold")
    cols, ow = _window_index(ow_size, kw, dw, pw, sw, "fold")
    if length != oh * ow:
        raise ValueError(f"fold: input: expected its last dim to be the number of blocks "
                         f"({oh} x {ow} = {oh * ow}) for output_size={output_size!r}, got "
                         f"{length}")
    c = ckk // (kh * kw)
    xp = get_array_module(batched.array)
    index = (slice(None), slice(None), xp.asarray(rows[:, None, :, None]),
             xp.asarray(cols[None, :, None, :]))
    padded = IndexAdd.apply(reshape(batched, (n, c, kh, kw, oh, ow)), index=index,
                            shape=(n, c, oh_size + 2 * ph, ow_size + 2 * pw))
    out = getitem(padded, (slice(None), slice(None), slice(ph, ph + oh_size),
                           slice(pw, pw + ow_size)))
    return out if input.ndim == 3 else reshape(out, out.shape[1:])


# -- adaptive max pooling -----------------------------------------------------------------
def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows rows [floor(i H / oh), ceil((i + 1) H / oh)). The gradient
    goes to the first maximum of each window (PyTorch's pick); ``return_indices`` gives
    the flat h * W + w positions."""
    _check("adaptive_max_pool2d", input)
    if input.ndim not in (3, 4) or 0 in input.shape[-2:]:
        raise ValueError(f"adaptive_max_pool2d: input: expected 3 or 4 dims ((N,) C, H, W) "
                         f"with non-zero H and W, got shape {input.shape}")
    *lead, h, w = input.shape
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if len(sizes) != 2 or not all(s is None or (hasattr(type(s), "__index__") and int(s) >= 0)
                                  for s in sizes):
        raise ValueError(f"adaptive_max_pool2d: output_size: expected an int or a pair of ints "
                         f"(or None), got {output_size!r}")
    oh, ow = (h if sizes[0] is None else int(sizes[0])), (w if sizes[1] is None else int(sizes[1]))
    xa = input.numpy()
    index = np.zeros((*lead, oh, ow), dtype=np.int64)
    for i in range(oh):
        h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            window = xa[..., h0:h1, w0:w1].reshape(*lead, (h1 - h0) * (w1 - w0))
            arg = np.argmax(window, axis=-1)
            index[..., i, j] = (h0 + arg // (w1 - w0)) * w + w0 + arg % (w1 - w0)
    flat_index = Tensor._wrap(to_device(index.reshape(*lead, oh * ow), input.device))
    out = reshape(gather(reshape(input, (*lead, h * w)), -1, flat_index), (*lead, oh, ow))
    if return_indices:
        return out, Tensor._wrap(to_device(index, input.device))
    return out


# -- spatial transformers -----------------------------------------------------------------
def _base_coordinates(size: int, align_corners: bool) -> np.ndarray:
    if size <= 1:
        return np.zeros(max(size, 0))
    steps = np.linspace(-1.0, 1.0, size)
    return steps if align_corners else steps * (size - 1) / size


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """Sampling grid (N, H, W, 2) of [x, y] = theta [x_out, y_out, 1] for each output pixel
    (theta (N, 2, 3), size (N, C, H, W)); 5-d: theta (N, 3, 4), grid (N, D, H, W, 3)."""
    _check("affine_grid", theta, "theta")
    size = tuple(int(s) for s in size)
    align = bool(align_corners)
    if len(size) not in (4, 5):
        raise ValueError(f"affine_grid: size: expected 4 (N, C, H, W) or 5 (N, C, D, H, W) "
                         f"sizes, got {size}")
    spatial = size[2:][::-1]                          # x (width) first
    k = len(spatial)
    if theta.ndim != 3 or theta.shape != (size[0], k, k + 1):
        raise ValueError(f"affine_grid: theta: expected shape ({size[0]}, {k}, {k + 1}) for "
                         f"size {size}, got {theta.shape}")
    axes = [_base_coordinates(s, align) for s in spatial]
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]     # x varies along the last dim
    base = np.stack([*mesh, np.ones_like(mesh[0])], axis=-1).reshape(1, -1, k + 1)
    grid = matmul(_const(base, theta), transpose(theta, 1, 2))
    return reshape(grid, (size[0], *size[2:], k))


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _sample(x_flat: Tensor, rows: np.ndarray, cols: np.ndarray, h: int, w: int) -> tuple:
    """x at integer (rows, cols) (N, Ho, Wo): values (N, C, Ho, Wo) and the in-bounds mask."""
    n, c = x_flat.shape[:2]
    valid = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    linear = np.clip(rows, 0, h - 1) * w + np.clip(cols, 0, w - 1)
    index = np.ascontiguousarray(np.broadcast_to(linear.reshape(n, 1, -1), (n, c, linear[0].size)))
    values = gather(x_flat, 2, Tensor._wrap(to_device(index, x_flat.device)))
    return reshape(values, (n, c, *rows.shape[1:])), valid


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners=None) -> Tensor:
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) ([x, y] in [-1, 1]) -> (N, C, Ho,
    Wo). Modes 'bilinear' and 'nearest'; padding 'zeros' (outside reads 0), 'border'
    (coordinates clamped to the edge, gradient 0 where clamped) or 'reflection' (mirrored at
    the edges, then clamped; see ops/grid_sample_padding.py)."""
    _check("grid_sample", input)
    _check("grid_sample", grid, "grid")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"grid_sample: mode: expected 'bilinear' or 'nearest', got {mode!r}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"grid_sample: padding_mode: expected one of {_PADDING_MODES}, got "
                         f"{padding_mode!r}")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid_sample: grid: expected input (N, C, H, W) and grid (N, Ho, Wo, 2) "
                         f"with the same N, got input {input.shape} and grid {grid.shape}")
    align = bool(align_corners)
    n, c, h, w = input.shape
    ix = _unnormalize(getitem(grid, (Ellipsis, 0)), w, align)
    iy = _unnormalize(getitem(grid, (Ellipsis, 1)), h, align)
    ix, iy = (pad_coordinates(ix, w, padding_mode, align),
              pad_coordinates(iy, h, padding_mode, align))
    x_flat = reshape(input, (n, c, h * w))
    ixa, iya = np.asarray(ix.numpy()), np.asarray(iy.numpy())
    if mode == "nearest":
        values, valid = _sample(x_flat, np.rint(iya).astype(np.int64),
                                np.rint(ixa).astype(np.int64), h, w)
        return connected(values * _const(valid[:, None], input), grid)
    x0, y0 = np.floor(ixa), np.floor(iya)
    out = None
    for dy in (0, 1):
        wy = (iy - _const(y0, iy)) if dy else (_const(y0 + 1, iy) - iy)
        for dx in (0, 1):
            wx = (ix - _const(x0, ix)) if dx else (_const(x0 + 1, ix) - ix)
            values, valid = _sample(x_flat, (y0 + dy).astype(np.int64),
                                    (x0 + dx).astype(np.int64), h, w)
            term = values * unsqueeze(wx * wy * _const(valid, ix), 1)
            out = term if out is None else out + term
    return out


# -- gumbel softmax, attention ------------------------------------------------------------
def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A differentiable sample of the categorical softmax(logits): softmax((logits + g) /
    tau) with Gumbel noise g; ``hard=True`` returns the one-hot of its argmax with the soft
    sample's gradient (straight-through). Noise comes from minicnn's generator."""
    _check("gumbel_softmax", logits, "logits")
    if not tau > 0:
        raise ValueError(f"gumbel_softmax: tau: expected a positive number, got {tau!r}")
    dim = _dim("gumbel_softmax", dim, logits.ndim)
    uniform = _random.default_generator().random(logits.shape)
    gumbels = -np.log(-np.log1p(-uniform))            # -log(E), E = -log(1 - U) ~ Exp(1)
    y_soft = softmax((logits + _const(gumbels, logits)) / tau, dim)
    if not hard:
        return y_soft
    soft = np.asarray(y_soft.numpy())
    one_hot = (np.arange(soft.shape[dim]).reshape([-1 if d == dim else 1
                                                   for d in range(soft.ndim)])
               == np.expand_dims(soft.argmax(axis=dim), dim))
    return _const(one_hot, logits) - _const(soft, logits) + y_soft


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T scale + bias) v for q (..., L, E), k (..., S, E), v (..., S, Ev). A bool
    ``attn_mask`` marks the pairs that take part (False -> -inf); a float one is added;
    ``is_causal`` keeps j <= i; ``enable_gqa``: fewer key/value heads (dim -3) than query
    heads, each repeated for its group of query heads (grouped-query attention)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check("scaled_dot_product_attention", t, name)
        if t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name}: expected at least 2 dims, "
                             f"got shape {t.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key: expected query (..., L, E), key "
                         f"(..., S, E), value (..., S, Ev), got {query.shape}, {key.shape}, "
                         f"{value.shape}")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        key, value = grouped_heads(query, key, value)
    if is_causal and attn_mask is not None:
        raise RuntimeValueError("scaled_dot_product_attention: is_causal: expected "
                                "attn_mask=None when is_causal=True")
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = matmul(query, transpose(key, -2, -1)) * scale
    if is_causal:
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.array if isinstance(attn_mask, Tensor) else attn_mask
        if getattr(mask, "dtype", None) == np.bool_:
            xp = get_array_module(scores.array)
            scores = scores + _const(xp.where(xp.asarray(mask), 0.0, -xp.inf), scores)
        elif isinstance(attn_mask, Tensor):
            scores = scores + attn_mask
        else:
            scores = scores + _const(np.asarray(mask), scores)
    xp = get_array_module(scores.array)
    dead = xp.isneginf(scores.array).all(axis=-1, keepdims=True)
    if dead.any():  # a query that may attend to nothing gets 0 (PyTorch's), not NaN
        scores = where(xp.broadcast_to(dead, scores.shape), _const(xp.zeros((), scores.dtype),
                                                                   scores), scores)
        weights = softmax(scores, -1) * _const((~dead).astype(scores.dtype), scores)
    else:
        weights = softmax(scores, -1)
    if dropout_p:
        weights = _dropout(weights, dropout_p, training=True)
    return matmul(weights, value)


__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "softsign", "tanhshrink",
           "threshold", "glu", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold",
           "adaptive_max_pool2d", "affine_grid", "grid_sample", "gumbel_softmax",
           "scaled_dot_product_attention", "alpha_dropout", *_loss_names]


def methods() -> dict:
    """{Tensor method name: function}, bound to Tensor by minicnn/ops/__init__.py."""
    return {}
