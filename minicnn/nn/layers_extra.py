r"""Still more layers, as ``torch.nn``: thin Modules over ``minicnn/ops/activation_shrink.py``,
``functional_extra.py`` and ``loss_margin.py`` (the math is there), and LazyLinear.

    Hardshrink: x if |x| > lambda else 0    Softshrink: x -+ lambda outside [-lambda, lambda]
    Softmin: softmax(-x)                    RReLU: random negative slope (mean in eval)
    LocalResponseNorm: AlexNet's channel normalisation
    Bilinear: y_k = x1^T W_k x2 + b_k      ChannelShuffle: ShuffleNet's channel interleave
    Dropout1d / Dropout3d / FeatureAlphaDropout: whole-channel dropouts
    MaxUnpool1d / MaxUnpool2d: values back at max_pool's indices
    AdaptiveMaxPool1d, LPPool1d, LPPool2d: (sum x^p)^(1/p) per window
    LazyLinear: Linear whose in_features is read from the first input
    MultiMarginLoss, MultiLabelMarginLoss, TripletMarginWithDistanceLoss
"""
from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor
from ..backend import get_array_module
from . import _checks, init
from .layers import Linear
from .loss import _Loss, _WeightedLoss
from .module import Module, Parameter
from . import _inplace


class Hardshrink(Module):
    """y = x where |x| > lambd, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _checks.number(type(self).__name__, "lambd", lambd,
                                    finite=type(self).__name__ == "Softshrink")
        if type(self).__name__ == "Softshrink" and lambd < 0:
            raise ValueError(f"Softshrink: lambd: expected a number >= 0, got {lambd}")

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """y = x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class RReLU(Module):
    """Leaky relu with a slope drawn from U(lower, upper) per element in training, the
    mean slope (lower + upper) / 2 in eval mode."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        _checks.number("RReLU", "lower", lower, finite=True)
        _checks.number("RReLU", "upper", upper, finite=True)
        if lower > upper:
            raise ValueError(f"RReLU: lower: expected lower <= upper, got lower={lower} and "
                             f"upper={upper}")
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, F.rrelu, input, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                           else "")


class LocalResponseNorm(Module):
    """x_c / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = _checks.size("LocalResponseNorm", "size", size, 1)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Bilinear(Module):
    """y = x1^T W x2 + b; weight (out, in1, in2), bias (out,), both U(-1/sqrt(in1),
    1/sqrt(in1)) as PyTorch's ``reset_parameters``."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        from ..ops.creation import zeros

        self.in1_features = _checks.size("Bilinear", "in1_features", in1_features)
        self.in2_features = _checks.size("Bilinear", "in2_features", in2_features)
        self.out_features = _checks.size("Bilinear", "out_features", out_features)
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Parameter(zeros(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(zeros(self.out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = _checks.size("ChannelShuffle", "groups", groups, 1)

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class _ChannelDropout(Module):
    _function = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _checks.probability(type(self).__name__, "p", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_ChannelDropout):
    """Zero whole channels of (N, C, L) or (C, L) input in training (F.dropout1d)."""
    _function = staticmethod(F.dropout1d)


class Dropout3d(_ChannelDropout):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input (F.dropout3d)."""
    _function = staticmethod(F.dropout3d)


class FeatureAlphaDropout(_ChannelDropout):
    """Alpha dropout of whole channels (F.feature_alpha_dropout); identity in eval."""
    _function = staticmethod(F.feature_alpha_dropout)


class _MaxUnpoolNd(Module):
    _function = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self)._function(input, indices, self.kernel_size, self.stride,
                                    self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    _function = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    _function = staticmethod(F.max_unpool2d)


class AdaptiveMaxPool1d(Module):
    """Max over ``output_size`` adaptive windows of the last dim."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _LPPoolNd(Module):
    _function = None

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        _checks.number(type(self).__name__, "norm_type", norm_type, nonzero=True)
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, float(self.norm_type), self.kernel_size,
                                    self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    _function = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    _function = staticmethod(F.lp_pool2d)


class LazyLinear(Linear):
    """Linear whose ``in_features`` comes from the first input's last dim, as PyTorch's
    lazy modules: until then the weight is an empty (out_features, 0) Parameter; the first
    forward fills the same Parameter objects in place (so an optimizer built before it
    still holds them), initialises them as Linear does, and the module becomes a Linear.
    As in PyTorch, run one forward before building an optimizer whose state depends on
    shapes, or before loading a state_dict."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, out_features, bias, device, dtype)

    def has_uninitialized_params(self) -> bool:
        return self.weight.array.size == 0 and self.in_features == 0

    def initialize_parameters(self, input: Tensor) -> None:
        if not isinstance(input, Tensor) or input.ndim == 0:
            raise ValueError(f"LazyLinear: input: expected a Tensor of at least 1 dim, got "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        self.in_features = int(input.shape[-1])
        xp = get_array_module(self.weight.array)
        self.weight.array = xp.zeros((self.out_features, self.in_features),
                                     dtype=self.weight.dtype)
        self.reset_parameters()
        self.__class__ = self.cls_to_become

    def forward(self, input: Tensor) -> Tensor:
        if self.has_uninitialized_params():
            self.initialize_parameters(input)
        return Linear.forward(self, input)  # self is a Linear now


# -- losses -------------------------------------------------------------------------------
class MultiMarginLoss(_WeightedLoss):
    """sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C per sample (F.multi_margin_loss)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p: only p == 1 and p == 2 supported, got "
                             f"{p!r}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """The multi-label hinge loss (F.multilabel_margin_loss)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) with any distance function."""

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction=reduction)
        if not margin > 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin: expected a positive "
                             f"number, got {margin!r}")
        self.distance_function, self.margin, self.swap = distance_function, margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


__all__ = ["Hardshrink", "Softshrink", "Softmin", "RReLU", "LocalResponseNorm", "Bilinear",
           "ChannelShuffle", "Dropout1d", "Dropout3d", "FeatureAlphaDropout", "MaxUnpool1d",
           "MaxUnpool2d", "AdaptiveMaxPool1d", "LPPool1d", "LPPool2d", "LazyLinear",
           "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss"]
