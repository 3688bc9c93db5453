r"""Losses (regression, classification, binary).

Every loss computes one number per element (or per sample) and then reduces it:

* ``reduction='mean'``: the average (for the classification losses with class weights:
  the weighted average, \sum_n w_{y_n} l_n / \sum_n w_{y_n}, as PyTorch);
* ``reduction='sum'``: the sum;
* ``reduction='none'``: no reduction, one loss per element (or sample).

Argument order follows ``torch.nn.functional``, including the deprecated ``size_average``
and ``reduce`` slots (they must stay None here: use ``reduction``).

Everything is made of differentiable Tensor ops (or Functions whose backward is), so
second derivatives are right too.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module, to_device
from .activation import log_softmax, softplus
from .math import MaskMul, abs as _abs, clamp, log, where
from .math import sum as _sum
from .shape import reshape, unsqueeze
from .torch_errors import IndexValueError, RuntimeTypeError, RuntimeValueError

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        raise ValueError(f"{op}: size_average and reduce are deprecated in PyTorch and not "
                         f"supported here; use reduction='mean'|'sum'|'none'")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction: expected 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _target_tensor(target, like: Tensor) -> Tensor:
    """A target (or weight) as a Tensor; arrays and numbers take the input's dtype and
    device (so float32 stays float32)."""
    if isinstance(target, Tensor):
        return target
    if not hasattr(target, "dtype"):
        target = np.asarray(target)
    target = to_device(target, like.device)
    return Tensor._wrap(get_array_module(target).asarray(target, dtype=like.dtype))


def _pair_up(op, input, target):
    """input and target as Tensors of the same dtype; a shape mismatch broadcasts with
    PyTorch's warning (it is almost always a bug, e.g. (N, 1) against (N,))."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    target = _target_tensor(target, input)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{op}: input of shape {input.shape} and target of shape "
                             f"{target.shape} cannot be broadcast together") from None
        warnings.warn(f"{op}: using a target size ({target.shape}) that is different to the "
                      f"input size ({input.shape}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
    return input, target


# ---------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------
def mse_loss(input: Tensor, target, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    r"""Mean squared error: l = (x - t)^2;  dl/dx = 2 (x - t)."""
    _check_reduction("mse_loss", reduction, size_average, reduce)
    input, target = _pair_up("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction)


def l1_loss(input: Tensor, target, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    r"""Mean absolute error: l = |x - t|;  dl/dx = sign(x - t) (0 at x = t, as PyTorch)."""
    _check_reduction("l1_loss", reduction, size_average, reduce)
    input, target = _pair_up("l1_loss", input, target)
    return _reduce(_abs(input - target), reduction)


def _quadratic_then_linear(d: Tensor, delta: float) -> Tensor:
    r"""h(d) = d^2 / 2 for |d| < \delta, \delta (|d| - \delta / 2) beyond: Huber's function.
    Quadratic near 0 (gradient d), linear outside (gradient \pm \delta, so one outlier
    cannot dominate the gradient); value and slope are continuous at |d| = \delta."""
    magnitude = _abs(d)
    inside = magnitude.array < delta
    return where(inside, 0.5 * d * d, delta * (magnitude - 0.5 * delta))


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss: l = (x - t)^2 / 2 if |x - t| < \delta, else \delta (|x - t| - \delta / 2).

    dl/dx = x - t inside, \delta sign(x - t) outside;  d^2l/dx^2 = 1 inside, 0 outside.
    """
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta: expected a positive number, got {delta!r}")
    input, target = _pair_up("huber_loss", input, target)
    return _reduce(_quadratic_then_linear(input - target, float(delta)), reduction)


def smooth_l1_loss(input: Tensor, target, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""Smooth L1: l = (x - t)^2 / (2 \beta) if |x - t| < \beta, else |x - t| - \beta / 2.

    It is Huber divided by \beta (``huber_loss(delta=beta) / beta``); with beta = 0 it is L1.
    """
    _check_reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta: expected a non-negative number, got {beta!r}")
    input, target = _pair_up("smooth_l1_loss", input, target)
    if beta == 0:
        return _reduce(_abs(input - target), reduction)
    return _reduce(_quadratic_then_linear(input - target, float(beta)) / float(beta), reduction)


# ---------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------
def _class_weights(op, weight, C, like: Tensor):
    """The class-weight vector as an array of ``like``'s dtype (ones when None)."""
    xp = get_array_module(like.array)
    if weight is None:
        return xp.ones(C, dtype=like.dtype)
    array = weight.array if isinstance(weight, Tensor) else xp.asarray(weight)
    if array.shape != (C,):
        raise ValueError(f"{op}: weight: expected one weight per class, shape ({C},), got "
                         f"{tuple(array.shape)}")
    return xp.asarray(array, dtype=like.dtype)


def _labels(op, target, input: Tensor, ignore_index: int):
    """Integer labels as an array on input's device, checked: shape (N, *) for an input
    (N, C, *), and every label in [0, C-1] or equal to ``ignore_index``."""
    if isinstance(target, Tensor):
        labels = target.array
        if labels.dtype != np.int64 and labels.dtype != np.uint8 and labels.dtype.kind in "iu":
            raise RuntimeTypeError(f"{op}: expected target dtype to be int64 (Long) or uint8 "
                                   f"(Byte), got {labels.dtype} (as PyTorch); use "
                                   "target.long()")
    else:
        labels = target
    if not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    labels = to_device(labels, input.device)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: target: expected integer class labels, got dtype {labels.dtype}")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(labels.shape) != expected:
        raise RuntimeValueError(f"{op}: target: expected shape {expected} for input of shape "
                                f"{input.shape} (one label per sample and position), got "
                                f"{tuple(labels.shape)}")
    C = input.shape[1]
    bad = ((labels < 0) | (labels >= C)) & (labels != ignore_index)
    if bool(bad.any()):
        position = tuple(int(i) for i in np.argwhere(to_device(bad, "cpu"))[0])
        value = int(labels[position])
        raise IndexValueError(f"{op}: target {value} is out of bounds: labels must be in "
                              f"[0, {C - 1}] ({C} classes) or equal ignore_index="
                              f"{ignore_index}; got {value} at position {position}")
    return labels


def _pick_coefficients(labels, input: Tensor, class_weights, ignore_index):
    """coef (same shape as input) with coef[n, y_n, *] = w_{y_n} and zeros elsewhere (also
    zero for ignored samples), and the per-sample weights w_{y_n} (0 when ignored).

    ``sum_c coef * logp`` picks w_{y_n} logp[n, y_n]: a one-hot multiply instead of an
    index, so the backward is a multiply by the same constant.
    """
    xp = get_array_module(input.array)
    kept = labels != ignore_index
    safe = xp.where(kept, labels, 0)
    sample_weight = class_weights[safe] * kept.astype(input.dtype)            # (N, *)
    classes = xp.arange(input.shape[1]).reshape((1, -1) + (1,) * (input.ndim - 2))
    one_hot = (xp.expand_dims(safe, 1) == classes).astype(input.dtype)        # (N, C, *)
    return one_hot * xp.expand_dims(sample_weight, 1), sample_weight


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of log-probabilities: l_n = -w_{y_n} input[n, y_n].

    Args:
        input: log-probabilities (N, C), (N, C, *) or (C,) (one sample).
        target: integer labels (N,), (N, *) or () in [0, C-1], or ``ignore_index``.
        weight: class weights (C,) or None.
        reduction 'mean': \sum_n l_n / \sum_n w_{y_n} over the samples not ignored
            (NaN when all are ignored, as PyTorch).
    """
    op = "nll_loss"
    _check_reduction(op, reduction, size_average, reduce)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.ndim == 1:  # one sample: (C,) with a scalar label
        loss = nll_loss(unsqueeze(input, 0), _as_batch_of_one(target), weight, None,
                        ignore_index, None, reduction)
        return reshape(loss, ()) if reduction == "none" else loss
    if input.ndim < 2:
        raise ValueError(f"{op}: input: expected (N, C) or (N, C, *), got shape {input.shape}")
    labels = _labels(op, target, input, ignore_index)
    coefficients, sample_weight = _pick_coefficients(
        labels, input, _class_weights(op, weight, input.shape[1], input), ignore_index)
    per_sample = -_sum(MaskMul.apply(input, mask=coefficients), dim=1)
    if reduction == "mean":
        return per_sample.sum() / Tensor._wrap(sample_weight.sum())
    return _reduce(per_sample, reduction)


def _as_batch_of_one(target):
    data = target.array if isinstance(target, Tensor) else target
    return get_array_module(data).asarray(data).reshape(1)


def cross_entropy(input: Tensor, target, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy from logits: l_n = -w_{y_n} log softmax(x_n)_{y_n}.

    Computed as ``nll_loss(log_softmax(x, dim=1))``: log_softmax is the stable
    log-sum-exp form, so logits of any size are safe. Gradient (no weights, no
    smoothing): dl_n/dx_n = softmax(x_n) - onehot(y_n).

    Label smoothing \epsilon mixes the one-hot target with the uniform distribution:
    l = (1 - \epsilon) l_{nll} + \epsilon l_{smooth}, where
    l_{smooth,n} = -\sum_c w_c log softmax(x_n)_c / C; with reduction 'mean' both terms
    are divided by \sum_n w_{y_n} (PyTorch's rule).

    Args:
        input: logits (N, C), (N, C, *) or (C,).
        target: integer labels (N,), (N, *) or (), each in [0, C-1] or ``ignore_index``;
            or class probabilities of the same shape as ``input`` (float).
        weight: class weights (C,) or None.
        label_smoothing: \epsilon in [0, 1].
    """
    op = "cross_entropy"
    _check_reduction(op, reduction, size_average, reduce)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing: expected a number in [0, 1], got "
                         f"{label_smoothing!r}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input: expected logits (N, C), (N, C, *) or (C,), got a scalar")
    class_dim = 0 if input.ndim == 1 else 1
    C = input.shape[class_dim]
    target_dtype = getattr(target, "dtype", None) or np.asarray(target).dtype
    log_probabilities = log_softmax(input, dim=class_dim)
    if np.dtype(target_dtype).kind == "f":
        return _cross_entropy_with_probabilities(op, log_probabilities, target, weight,
                                                 reduction, label_smoothing, class_dim)
    nll = nll_loss(log_probabilities, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0:
        return nll
    if input.ndim == 1:
        log_probabilities = unsqueeze(log_probabilities, 0)
        target = _as_batch_of_one(target)
    labels = _labels(op, target, log_probabilities, ignore_index)
    class_weights = _class_weights(op, weight, C, input)
    xp = get_array_module(input.array)
    kept = (labels != ignore_index).astype(input.dtype)
    weights_over_classes = class_weights.reshape((1, C) + (1,) * (log_probabilities.ndim - 2))
    smooth = -_sum(MaskMul.apply(log_probabilities,
                                 mask=xp.expand_dims(kept, 1) * weights_over_classes), dim=1)
    if reduction == "mean":
        _, sample_weight = _pick_coefficients(labels, log_probabilities, class_weights,
                                              ignore_index)
        smooth = smooth.sum() / Tensor._wrap(sample_weight.sum())
    else:
        smooth = _reduce(smooth, reduction)
        if input.ndim == 1 and reduction == "none":
            smooth = reshape(smooth, ())
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / C)


def _cross_entropy_with_probabilities(op, log_probabilities, target, weight, reduction,
                                      label_smoothing, class_dim):
    """l_n = -\\sum_c w_c t_{n,c} log softmax(x_n)_c (soft targets); 'mean' divides by
    the number of samples (N times the spatial positions), not by the weights."""
    given = target if hasattr(target, "dtype") else np.asarray(target)
    given_dtype, given_shape = np.dtype(given.dtype), tuple(given.shape)
    if given_shape != log_probabilities.shape:
        labels_shape = tuple(n for d, n in enumerate(log_probabilities.shape) if d != class_dim)
        hint = (": these look like class labels stored as floats; pass them as int64 "
                "(target.long())"
                if given_shape == labels_shape else "")
        raise ValueError(f"{op}: target: expected integer class indices (int64) of shape "
                         f"{labels_shape} (floating-point class probabilities must have the "
                         f"input's shape {log_probabilities.shape}), got {given_dtype} of "
                         f"shape {given_shape}{hint}")
    target = _target_tensor(target, log_probabilities)
    C = log_probabilities.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / C
    product = log_probabilities * target
    if weight is not None:
        class_weights = _class_weights(op, weight, C, log_probabilities)
        shape = (C,) if class_dim == 0 else (1, C) + (1,) * (log_probabilities.ndim - 2)
        product = MaskMul.apply(product, mask=class_weights.reshape(shape))
    per_sample = -_sum(product, dim=class_dim)
    if reduction == "mean":
        return per_sample.sum() / max(per_sample.numel(), 1)
    return _reduce(per_sample, reduction)


# ---------------------------------------------------------------------------------------
# Binary classification
# ---------------------------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    r"""l = -(t log p + (1 - t) log(1 - p)), each log clamped to >= -100 (PyTorch's rule:
    p = 0 or 1 gives a large finite loss, not inf).

    dl/dp = (p - t) / max(p (1 - p), 1e-12) (finite at p = 0 and 1, as PyTorch);
    dl/dt = log(1 - p) - log p (clamped). Both are Tensor expressions.
    """

    def forward(self, p, t):
        xp = get_array_module(p)
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_not_p = xp.maximum(xp.log(1 - p), -100)
        return (t - 1) * log_not_p - t * log_p + 0.0   # + 0.0: no "-0." when both are 0

    def backward(self, g):
        p, t = self.inputs
        grad_p = grad_t = None
        if self.needs_input_grad[0]:
            grad_p = g * (p - t) / clamp(p * (1 - p), min=1e-12)
        if self.needs_input_grad[1]:
            grad_t = g * (clamp(log(1 - p), min=-100) - clamp(log(p), min=-100))
        return grad_p, grad_t


def binary_cross_entropy(input: Tensor, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy of probabilities: l = -w (t log p + (1 - t) log(1 - p)).

    Logs are clamped to >= -100 as PyTorch's. Prefer ``binary_cross_entropy_with_logits``
    on the logit: sigmoid then log loses precision (sigmoid(40) rounds to 1).

    Args:
        input: probabilities p in [0, 1], any shape.
        target: t of the same shape (usually 0 or 1).
        weight: broadcast against the elementwise loss, or None.
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction, size_average, reduce)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    target = _target_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: target of shape {target.shape} must have the input's shape "
                         f"{input.shape}")
    data = input.array
    if not bool(((data >= 0) & (data <= 1)).all()):  # NaN too, as PyTorch
        raise RuntimeValueError(f"{op}: input: all elements should be probabilities in [0, 1]; "
                                f"got values in [{float(data.min())}, {float(data.max())}] "
                                "(use binary_cross_entropy_with_logits on logits)")
    data = target.array
    if not bool(((data >= 0) & (data <= 1)).all()):
        raise RuntimeValueError(f"{op}: target: all elements should be between 0 and 1 (as "
                                f"PyTorch); got values in [{float(data.min())}, "
                                f"{float(data.max())}]")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * _target_tensor(weight, input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    r"""Binary cross-entropy on logits x: l = -w [p_w t log \sigma(x) + (1 - t) log(1 - \sigma(x))].

    With softplus(x) = log(1 + e^x), -log \sigma(x) = softplus(-x) and
    -log(1 - \sigma(x)) = softplus(x), so

    .. math:: l = w [(1 - t + p_w t)\, softplus(x) - p_w t\, x]

    and without ``pos_weight`` (p_w = 1): l = softplus(x) - t x
    = max(x, 0) - t x + log(1 + e^{-|x|}), finite for any logit (x = \pm 100 included).
    Gradient: dl/dx = w [(1 - t + p_w t) \sigma(x) - p_w t], i.e. \sigma(x) - t.

    Args:
        input: logits x, any shape.
        target: t of the same shape, in [0, 1].
        weight: broadcast against the loss, or None.
        pos_weight: p_w, weight of the positive term, broadcast along the last dim
            (one per class), or None.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction, size_average, reduce)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    target = _target_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: target of shape {target.shape} must have the input's shape "
                         f"{input.shape}")
    softplus_x = softplus(input, threshold=float("inf"))
    if pos_weight is None:
        loss = softplus_x - target * input
    else:
        positive = _target_tensor(pos_weight, input) * target
        loss = (1 - target + positive) * softplus_x - positive * input
    if weight is not None:
        loss = loss * _target_tensor(weight, input)
    return _reduce(loss, reduction)


__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "nll_loss", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]
