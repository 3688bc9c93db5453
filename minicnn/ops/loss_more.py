r"""More losses, as ``torch.nn.functional``: kl_div, margin_ranking_loss,
hinge_embedding_loss, soft_margin_loss, cosine_embedding_loss, triplet_margin_loss,
poisson_nll_loss, gaussian_nll_loss, multilabel_soft_margin_loss.

Each is a composition of differentiable ops (second derivatives exact), reduced with
``reduction='mean'|'sum'|'none'`` as the losses of loss.py::

    kl_div             l = t (log t - x)   (t log t = 0 at t = 0);  log_target: e^t (t - x)
                       'batchmean' = sum / N, the KL divergence's own definition
    margin_ranking     l = max(0, -y (x1 - x2) + margin)
    hinge_embedding    l = x (y = 1),  max(0, margin - x) (y = -1)
    soft_margin        l = log(1 + e^{-y x})
    cosine_embedding   l = 1 - cos(x1, x2) (y = 1),  max(0, cos(x1, x2) - margin) (y = -1)
    triplet_margin     l = max(0, d(a, p) - d(a, n) + margin), d = pairwise_distance
    poisson_nll        l = e^x - t x (log_input),  x - t log(x + eps) otherwise; ``full``
                       adds Stirling's t log t - t + log(2 pi t) / 2 (for t > 1)
    gaussian_nll       l = (log max(var, eps) + (x - t)^2 / max(var, eps)) / 2 (+ log(2 pi)/2)
    multilabel_soft    l = -mean_c [t_c log sigmoid(x_c) + (1 - t_c) log sigmoid(-x_c)] w_c
"""
from __future__ import annotations

import math
import numbers
import warnings


from ..autograd import Tensor
from ..backend import get_array_module
from .activation import relu
from .activation_extra import logsigmoid
from .loss import _check_reduction, _pair_up, _reduce, _target_tensor
from .math import clamp, exp, log, minimum, sqrt, where
from .math import sum as _sum


def _tensor(op: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    return value


def _zero_safe_xlogx(t: Tensor) -> Tensor:
    """t log t, with 0 at t = 0 and NaN for t < 0 (as ``torch.xlogy(t, t)``: a negative
    target is no probability, and PyTorch's kl_div gives NaN for it, not a number)."""
    positive = t.array > 0
    negative = t.array < 0
    outside = Tensor._wrap(get_array_module(t.array).where(negative, t.dtype.type("nan"),
                                                            t.dtype.type(0))) \
        if negative.any() else 0.0
    return where(positive, t * log(where(positive, t, 1.0)), outside)


def kl_div(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise; input holds log-probabilities."""
    if reduction != "batchmean":
        _check_reduction("kl_div", reduction, size_average, reduce)
    elif size_average is not None or reduce is not None:
        _check_reduction("kl_div", "mean", size_average, reduce)
    input, target = _pair_up("kl_div", input, target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = _zero_safe_xlogx(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin): x1 should rank above x2 where y = 1, below where -1."""
    _check_reduction("margin_ranking_loss", reduction, size_average, reduce)
    _tensor("margin_ranking_loss", "input1", input1)
    _tensor("margin_ranking_loss", "input2", input2)
    target = _target_tensor(target, input1)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"margin_ranking_loss: target: All input tensors should have same "
                         f"dimension but got sizes: input1: {input1.shape}, input2: "
                         f"{input2.shape}, target: {target.shape}")
    return _reduce(relu(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (y in {1, -1})."""
    _check_reduction("hinge_embedding_loss", reduction, size_average, reduce)
    _tensor("hinge_embedding_loss", "input", input)
    target = _target_tensor(target, input)
    t = target.array
    margin_part = where(t != 1, clamp(margin - input, min=0), 0.0)
    self_part = where(t != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction)


def soft_margin_loss(input: Tensor, target, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + e^{-y x}) = -logsigmoid(y x) (stable for large |x|)."""
    _check_reduction("soft_margin_loss", reduction, size_average, reduce)
    input, target = _pair_up("soft_margin_loss", input, target)
    return _reduce(-logsigmoid(target * input), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos where y = 1, max(0, cos - margin) where y = -1; cos over dim 1 for (N, D)
    inputs and a (N,) target, over dim 0 for (D,) inputs and a 0-d target. As PyTorch,
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))."""
    op = "cosine_embedding_loss"
    _check_reduction(op, reduction, size_average, reduce)
    _tensor(op, "input1", input1)
    _tensor(op, "input2", input2)
    target = _target_tensor(target, input1)
    if target.ndim not in (0, 1):
        raise ValueError(f"{op}: target: 0D or 1D target tensor expected, multi-target not "
                         f"supported, got shape {target.shape}")
    if not input1.ndim == input2.ndim == target.ndim + 1:
        raise ValueError(f"{op}: input1: a {target.ndim}D target expects {target.ndim + 1}D "
                         f"inputs, but found inputs with sizes {input1.shape} and {input2.shape}")
    dim = target.ndim
    products = _sum(input1 * input2, dim)
    squares1 = _sum(input1 * input1, dim) + 1e-12
    squares2 = _sum(input2 * input2, dim) + 1e-12
    cos = products / sqrt(squares1 * squares2)
    t = target.array
    loss = where(t == 1, 1 - cos, 0.0) + where(t == -1, clamp(cos - margin, min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin), d = pairwise_distance(., ., p, eps); ``swap``
    uses min(d(a, n), d(p, n)) as the negative distance."""
    from .functional_more import pairwise_distance

    op = "triplet_margin_loss"
    _check_reduction(op, reduction, size_average, reduce)
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _tensor(op, name, t)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor: The anchor, positive, and negative tensors are expected "
                         f"to have the same number of dimensions, but got: anchor "
                         f"{anchor.ndim}D, positive {positive.ndim}D, and negative "
                         f"{negative.ndim}D inputs")
    if not margin > 0:
        raise ValueError(f"{op}: margin: expected a positive number, got {margin!r}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(d_pos - d_neg + margin, min=0), reduction)


def poisson_nll_loss(input: Tensor, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ Poisson(rate), rate = e^x (log_input) or x."""
    _check_reduction("poisson_nll_loss", reduction, size_average, reduce)
    input, target = _pair_up("poisson_nll_loss", input, target)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = target.array > 1
        safe = where(big, target, 2.0)
        stirling = safe * log(safe) - safe + 0.5 * log(safe * (2 * math.pi))
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ N(input, var). ``var`` has the input's shape, or
    one dim fewer, or a last dim of 1 (one variance per sample), or is a number. It is
    clamped to eps in value only: the gradient passes as through the identity (PyTorch
    clamps a clone under ``no_grad``)."""
    op = "gaussian_nll_loss"
    input, target = _pair_up(op, input, target)
    if isinstance(var, numbers.Real):
        var = Tensor._wrap(get_array_module(input.array).full(input.shape, var,
                                                              dtype=input.dtype))
    var = _target_tensor(var, input)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.ndim and var.shape[-1] == 1):
            raise ValueError(f"{op}: var: var is of incorrect size {var.shape} for input of "
                             f"shape {input.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction: {reduction} is not valid")
    xp = get_array_module(var.array)
    if bool(xp.any(var.array < 0)):
        raise ValueError(f"{op}: var: var has negative entry/entries")
    clamped = var + Tensor._wrap((xp.maximum(var.array, eps) - var.array).astype(var.dtype))
    difference = input - target
    loss = (log(clamped) + difference * difference / clamped) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target, weight=None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """Per sample: -mean over classes of w_c [t_c log sigmoid(x_c) + (1 - t_c) log
    sigmoid(-x_c)] (classes along the last dim)."""
    op = "multilabel_soft_margin_loss"
    _check_reduction(op, reduction, size_average, reduce)
    input, target = _pair_up(op, input, target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _target_tensor(weight, input)
    classes = input.shape[-1] if input.ndim else 1
    loss = _sum(loss, input.ndim - 1) / classes if input.ndim else loss
    return _reduce(loss, reduction)


__all__ = ["kl_div", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multilabel_soft_margin_loss"]

