r"""Loss modules (``torch.nn.MSELoss``, ``BCELoss``, ``CrossEntropyLoss`` ...).

Each is a thin ``Module`` around a function of ``minicnn.functional`` (the math, the
gradients and the argument checks live in ``minicnn/ops/loss.py``): ``__init__`` stores
the options, ``forward(input, target)`` calls the function. So::

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(logits, labels)  # F.cross_entropy(logits, labels, label_smoothing=0.1)

``reduction`` is 'mean' (default), 'sum' or 'none' (one loss per element or sample).
Class weights (``weight``) and BCEWithLogitsLoss's ``pos_weight`` are registered as
buffers, as in PyTorch: ``criterion.to('cuda')`` moves them and ``state_dict()`` holds them.

The legacy ``size_average`` / ``reduce`` arguments are turned into ``reduction`` with
PyTorch's rule and warning (``reduce=False`` -> 'none'; else ``size_average=False`` ->
'sum'; else 'mean'), so old scripts run unchanged.
"""
from __future__ import annotations

import warnings

from .. import functional as F
from ..autograd import Tensor, tensor
from .module import Module


def _legacy_reduction(size_average, reduce) -> str:
    """PyTorch's ``_Reduction.legacy_get_string``: the reduction the old flags meant."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        reduction = "none"
    elif size_average:
        reduction = "mean"
    else:
        reduction = "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=4)
    return reduction


def _as_buffer(name: str, value):
    """A weight given as a list or array becomes a float32 Tensor (PyTorch wants a Tensor;
    accepting the list is a convenience)."""
    if value is None or isinstance(value, Tensor):
        return value
    try:
        converted = tensor(value)
    except (TypeError, ValueError):
        converted = None
    if converted is None or converted.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a Tensor of weights (or None), got "
                        f"{type(value).__name__}")
    return converted


class _Loss(Module):
    """What every loss shares: the ``reduction`` setting (checked here, once)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction: expected 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with optional class (or element) weights, kept as the buffer ``weight``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer("weight", weight))


# ---------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------
class MSELoss(_Loss):
    r"""l = (x - t)^2, reduced. Shapes: input (*), target (*) the same."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""l = |x - t|, reduced. Shapes: input (*), target (*) the same."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    r"""l = (x - t)^2 / 2 if |x - t| < \delta, else \delta (|x - t| - \delta / 2)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    r"""l = (x - t)^2 / (2 \beta) if |x - t| < \beta, else |x - t| - \beta / 2
    (Huber divided by \beta; L1 at \beta = 0)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


# ---------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------
class NLLLoss(_WeightedLoss):
    r"""l_n = -w_{y_n} input[n, y_n] on log-probabilities (pair it with ``LogSoftmax``).

    Shapes: input (N, C) or (N, C, *) or (C,); target integer labels (N,), (N, *) or ().
    'mean' divides by \sum_n w_{y_n} over the samples not ignored (``ignore_index``).
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    r"""l_n = -w_{y_n} log softmax(x_n)_{y_n} on logits (log_softmax + NLLLoss in one).

    Shapes: input logits (N, C), (N, C, *) or (C,); target integer labels (N,), (N, *)
    or (), or class probabilities of the input's shape. ``label_smoothing`` \epsilon mixes
    the target with the uniform distribution over the C classes.
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


# ---------------------------------------------------------------------------------------
# Binary classification
# ---------------------------------------------------------------------------------------
class BCELoss(_WeightedLoss):
    r"""l = -w (t log p + (1 - t) log(1 - p)) on probabilities p in [0, 1] (after a
    ``Sigmoid``); each log is clamped to >= -100. Shapes: input (*), target (*) the same;
    ``weight`` broadcasts against them. Prefer ``BCEWithLogitsLoss`` on logits."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    r"""l = -w [p_w t log \sigma(x) + (1 - t) log(1 - \sigma(x))] on logits x, computed
    stably (finite for any logit). ``pos_weight`` p_w weighs the positive term, one per
    class along the last dim (p_w > 1 raises recall)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", _as_buffer("pos_weight", pos_weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "NLLLoss", "CrossEntropyLoss",
           "BCELoss", "BCEWithLogitsLoss"]
