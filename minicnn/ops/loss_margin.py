r"""Margin losses over classes, and the triplet loss with any distance, as
``torch.nn.functional``:

    multi_margin (one target class y per sample, C classes):
        l = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C,   p in {1, 2}
    multilabel_margin (a set of target classes per sample: target lists them, and the
    first -1 ends the list):
        l = sum_{j in targets} sum_{i not in targets} max(0, 1 - (x_j - x_i)) / C
    triplet_margin_with_distance:
        l = max(0, d(a, p) - d(a, n) + margin),  d = ``distance_function`` (default:
        pairwise_distance); ``swap`` uses min(d(a, n), d(p, n)) as the negative distance

All are compositions of differentiable ops (relu, gather, sums), so second derivatives
come out exact. Shapes: input (N, C) or (C,); reduction 'mean' (over samples), 'sum' or
'none' (one loss per sample).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .activation import relu
from .index_ops import gather
from .loss import _check_reduction, _reduce
from .math import clamp, minimum
from .math import sum as _sum
from .shape import reshape


def _tensor(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    return value


def _scores(op: str, input: Tensor) -> Tensor:
    _tensor(op, "input", input)
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op}: input: expected a floating-point tensor, got dtype "
                        f"{input.dtype}")
    if input.ndim not in (1, 2) or (input.ndim == 2 and input.shape[1] == 0):
        raise ValueError(f"{op}: input: expected (C,) or (N, C) with C > 0, got shape "
                         f"{input.shape}")
    return input


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight=None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """The multi-class hinge loss (Weston and Watkins): every wrong class should score at
    least ``margin`` below the target class."""
    op = "multi_margin_loss"
    _check_reduction(op, reduction, size_average, reduce)
    _scores(op, input)
    _tensor(op, "target", target)
    if p not in (1, 2):
        raise ValueError(f"{op}: p: only p == 1 and p == 2 supported, got {p!r}")
    single = input.ndim == 1
    x = reshape(input, (1, -1)) if single else input
    n, classes = x.shape
    if target.dtype.kind not in "iu" or target.numel() != n or target.ndim > 1:
        raise ValueError(f"{op}: target: expected {n} int64 class indices (shape ({n},)), "
                         f"got shape {target.shape} and dtype {target.dtype}")
    labels = target.array.reshape(n, 1)
    if n and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"{op}: target: expected class indices in [0, {classes - 1}], got "
                         f"values in [{int(labels.min())}, {int(labels.max())}]")
    index = Tensor._wrap(labels.astype(np.int64))
    xp = get_array_module(labels)
    others = (xp.arange(classes)[None, :] != labels).astype(input.dtype)  # i != y
    hinge = relu(x - gather(x, 1, index) + margin)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        _tensor(op, "weight", weight)
        if tuple(weight.shape) != (classes,):
            raise ValueError(f"{op}: weight: expected shape ({classes},) (one per class), got "
                             f"{weight.shape}")
        hinge = hinge * reshape(weight, (-1,))[index.reshape(-1)].reshape(n, 1)
    loss = _sum(hinge * Tensor._wrap(others), 1) / classes
    if single:
        loss = reshape(loss, ())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """The multi-label hinge loss: every target class should score at least 1 above every
    other class. ``target`` has input's shape and holds class indices, -1 after the last."""
    op = "multilabel_margin_loss"
    _check_reduction(op, reduction, size_average, reduce)
    _scores(op, input)
    _tensor(op, "target", target)
    if tuple(target.shape) != tuple(input.shape) or target.dtype.kind not in "iu":
        raise ValueError(f"{op}: target: expected an int64 tensor of input's shape "
                         f"{input.shape}, got shape {target.shape} and dtype {target.dtype}")
    single = input.ndim == 1
    x = reshape(input, (1, -1)) if single else input
    n, classes = x.shape
    labels = np.asarray(target.numpy()).reshape(n, classes)
    if labels.size and (int(labels.min()) < -1 or int(labels.max()) >= classes):
        raise ValueError(f"{op}: target: expected class indices in [0, {classes - 1}] (or -1 "
                         f"to end the list), got values in [{int(labels.min())}, "
                         f"{int(labels.max())}]")
    # pairs[n, j, i] = how often (target class j, non-target class i) is counted
    pairs = np.zeros((n, classes, classes))
    for row in range(n):
        listed = []
        for label in labels[row]:
            if label < 0:
                break
            listed.append(int(label))
        is_target = np.zeros(classes, dtype=bool)
        is_target[listed] = True
        for j in listed:                      # a repeated label counts again, as PyTorch's
            pairs[row, j] += ~is_target
    xp = get_array_module(input.array)
    weights = Tensor._wrap(xp.asarray(pairs, dtype=input.dtype))
    # margin term for every (j, i): 1 - x_j + x_i
    hinge = relu(reshape(x, (n, 1, classes)) - reshape(x, (n, classes, 1)) + 1.0)
    loss = _sum(_sum(hinge * weights, 2), 1) / classes
    if single:
        loss = reshape(loss, ())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with any distance d (a callable of two tensors
    returning one distance per sample)."""
    from .functional_more import pairwise_distance

    op = "triplet_margin_with_distance_loss"
    _check_reduction(op, reduction)
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _tensor(op, name, t)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor: The anchor, positive, and negative tensors are "
                         f"expected to have the same number of dimensions, but got: anchor "
                         f"{anchor.ndim}D, positive {positive.ndim}D, and negative "
                         f"{negative.ndim}D inputs")
    if not margin > 0:
        raise ValueError(f"{op}: margin: expected a positive number, got {margin!r}")
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{op}: distance_function: expected a callable, got "
                        f"{type(distance_function).__name__}")
    distance = distance_function or pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    return _reduce(clamp(d_pos - d_neg + margin, min=0), reduction)


__all__ = ["multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"]
