r"""More layers, as ``torch.nn``: thin Modules over the functions of
``minicnn/ops/functional_more.py`` and ``minicnn/ops/loss_more.py`` (the math is there), and
``ParameterDict``.

    Softsign: x / (1 + |x|)      Tanhshrink: x - tanh x      Threshold: x if x > t else v
    GLU: a sigmoid(b)            Softmax2d: softmax over the channels of (N, C, H, W)
    PixelShuffle / PixelUnshuffle: (C r^2, H, W) <-> (C, H r, W r)
    Unfold / Fold: im2col / col2im;  AdaptiveMaxPool2d: max over adaptive windows
    UpsamplingNearest2d, UpsamplingBilinear2d (align_corners=True, as PyTorch's)
    AlphaDropout: dropout that keeps SELU's mean and variance (identity in eval mode)
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

from .. import functional as F
from ..autograd import Tensor
from . import _checks
from .layers import Upsample
from .loss import _Loss, _WeightedLoss
from .module import Module, Parameter
from . import _inplace as _in_place
from .module_dict import _NamedDict


def _inplace(inplace: bool) -> str:
    return ", inplace=True" if inplace else ""


class Softsign(Module):
    r"""y = x / (1 + |x|)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Tanhshrink(Module):
    r"""y = x - tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Threshold(Module):
    """y = x if x > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _in_place.run(self, F.threshold, input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace(self.inplace)}"


class GLU(Module):
    """y = a sigmoid(b), a and b the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels at each pixel: input (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: input: expected 3 or 4 dims ((N,) C, H, W), got "
                             f"shape {input.shape}")
        return F.softmax(input, -3)


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = _checks.size("PixelShuffle", "upscale_factor", upscale_factor, 1)

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = _checks.size("PixelUnshuffle", "downscale_factor",
                                             downscale_factor, 1)

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (an int, a pair, None keeps the input's size)."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        for size in sizes:
            if size is not None:
                _checks.size("AdaptiveMaxPool2d", "output_size", size)
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Unfold(Module):
    """im2col: (N, C, H, W) -> (N, C kh kw, L)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        _checks.window("Unfold", "kernel_size", kernel_size, 1)
        _checks.window("Unfold", "dilation", dilation, 1)
        _checks.window("Unfold", "padding", padding, 0)
        _checks.window("Unfold", "stride", stride, 1)
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding="
                f"{self.padding}, stride={self.stride}")


class Fold(Module):
    """col2im: (N, C kh kw, L) -> (N, C, H, W), overlapping windows added."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        _checks.window("Fold", "output_size", output_size, 1)
        _checks.window("Fold", "kernel_size", kernel_size, 1)
        _checks.window("Fold", "dilation", dilation, 1)
        _checks.window("Fold", "padding", padding, 0)
        _checks.window("Fold", "stride", stride, 1)
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation="
                f"{self.dilation}, padding={self.padding}, stride={self.stride}")


class UpsamplingNearest2d(Upsample):
    """Upsample with mode='nearest'."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample with mode='bilinear' and align_corners=True (PyTorch's fixed choice)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class AlphaDropout(Module):
    """Alpha dropout (``F.alpha_dropout``) in training mode; the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _checks.probability("AlphaDropout", "p", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# -- losses -------------------------------------------------------------------------------
class KLDivLoss(_Loss):
    """KL(target || exp(input)); reduction also 'batchmean' (sum / batch size)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        batchmean = reduction == "batchmean"
        super().__init__(size_average, reduce, "mean" if batchmean else reduction)
        if batchmean:
            self.reduction = "batchmean"
        self.log_target = log_target

    def forward(self, input: Tensor, target) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MarginRankingLoss(_Loss):
    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target) -> Tensor:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    def forward(self, input: Tensor, target) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        if not margin > 0:
            raise ValueError(f"TripletMarginLoss: margin: expected a positive number, got "
                             f"{margin!r}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target) -> Tensor:
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target, var) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    def forward(self, input: Tensor, target) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


# -- ParameterDict ------------------------------------------------------------------------
class ParameterDict(_NamedDict):
    """A dict of named Parameters the parent module trains and saves ("scales.a", ...);
    a Tensor that is not a Parameter is made one (sharing its data), as in PyTorch."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    _registry, _noun = "_parameters", "parameter"

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        if not isinstance(value, Parameter):
            if not isinstance(value, Tensor):
                raise TypeError(f"ParameterDict: expected Parameters or Tensors, got "
                                f"{type(value).__name__}")
            value = Parameter(value)
        self.register_parameter(key, value)

    def get(self, key: str, default=None):
        return self._parameters.get(key, default)

    def setdefault(self, key: str, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, parameters) -> None:
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())        # PyTorch sorts a plain dict's keys
        else:
            pairs = parameters
        for pair in pairs:
            key, value = pair
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(f"({key}): Parameter containing: [minicnn.{p.dtype} of size "
                         f"{'x'.join(str(s) for s in p.shape)}]"
                         for key, p in self._parameters.items())


__all__ = ["Softsign", "Tanhshrink", "Threshold", "GLU", "Softmax2d", "PixelShuffle",
           "PixelUnshuffle", "CosineSimilarity", "PairwiseDistance", "AdaptiveMaxPool2d",
           "Unfold", "Fold", "UpsamplingNearest2d", "UpsamplingBilinear2d", "AlphaDropout",
           "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
           "MultiLabelSoftMarginLoss", "ParameterDict"]
