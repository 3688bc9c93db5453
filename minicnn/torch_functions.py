"""The top-level ``torch.*`` twins of ``torch.nn.functional`` functions (``torch.conv2d``,
``torch.dropout``, ``torch.batch_norm`` ...), with the top-level signatures, which are
not always F's: PyTorch generates them from its operator table, so

* ``torch.dropout(input, p, train)`` (and alpha_dropout, feature_dropout,
  feature_alpha_dropout) take every argument, positionally;
* ``torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum,
  eps, cudnn_enabled)`` and ``torch.instance_norm`` put weight and bias first;
* ``torch.embedding(weight, indices, padding_idx=-1, ...)`` takes the table first, -1
  meaning no padding row;
* ``torch.max_pool1d/2d`` have no ``return_indices``; ``torch.adaptive_max_pool1d``
  always returns (values, indices).

The math is F's (minicnn/functional.py and minicnn/ops/); the cuDNN switches are accepted
and change nothing.
"""
from __future__ import annotations

from . import functional as F


def dropout(input, p: float, train: bool):
    """``torch.dropout(input, p, train)`` = ``F.dropout(input, p, training=train)``."""
    return F.dropout(input, p, train)


def alpha_dropout(input, p: float, train: bool):
    return F.alpha_dropout(input, p, train)


def feature_dropout(input, p: float, train: bool):
    """Whole channels of (N, C, *) dropped (F.dropout2d's mask for any rank)."""
    from .ops.dropout import _check_probability, _keep_mask
    from .ops.math import MaskMul

    _check_probability("feature_dropout", p)
    if not train or p == 0:
        return input
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return MaskMul.apply(input, mask=_keep_mask(shape, p, input))


def feature_alpha_dropout(input, p: float, train: bool):
    return F.feature_alpha_dropout(input, p, train)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d(input, kernel_size, stride if stride != () else None, padding,
                        dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return F.max_pool2d(input, kernel_size, stride if stride not in ((), []) else None,
                        padding, dilation, ceil_mode)


def adaptive_max_pool1d(input, output_size):
    """(values, indices), always (the top-level op returns both)."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def batch_norm(input, weight, bias, running_mean, running_var, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                        eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool,
                  momentum: float, eps: float, cudnn_enabled: bool):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enable: bool = True):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enabled: bool = True):
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False):
    """``torch.embedding(weight, indices)``: the table first; padding_idx -1 = none."""
    if scale_grad_by_freq or sparse:
        raise ValueError("embedding: scale_grad_by_freq / sparse: not supported here "
                         "(dense gradients only); leave them False")
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return F.avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def threshold(input, threshold, value):
    return F.threshold(input, threshold, value)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator=None):
    if generator is not None:
        raise ValueError("rrelu: generator: not supported here; the slopes come from "
                         "minicnn's default generator (seed it with mc.manual_seed)")
    return F.rrelu(input, lower, upper, training)


def celu(input, alpha: float = 1.0):
    return F.celu(input, alpha)


def selu(input):
    return F.selu(input)


def _same(name):
    function = getattr(F, name)

    def twin(*args, **kwargs):
        return function(*args, **kwargs)

    twin.__name__ = twin.__qualname__ = name
    twin.__doc__ = f"``torch.{name}``: the same signature as ``F.{name}``."
    return twin


cosine_similarity, pairwise_distance, pdist = (_same(n) for n in (
    "cosine_similarity", "pairwise_distance", "pdist"))
pixel_shuffle, pixel_unshuffle, channel_shuffle = (_same(n) for n in (
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"))
adaptive_avg_pool1d, bilinear, hardshrink, prelu = (_same(n) for n in (
    "adaptive_avg_pool1d", "bilinear", "hardshrink", "prelu"))
relu_, rrelu_ = F.relu_, F.rrelu_

__all__ = ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout",
           "max_pool1d", "max_pool2d", "adaptive_max_pool1d", "batch_norm", "instance_norm",
           "layer_norm", "group_norm", "embedding", "conv2d", "conv1d", "conv_transpose2d",
           "conv_transpose1d", "avg_pool1d", "threshold", "rrelu", "celu", "selu",
           "cosine_similarity", "pairwise_distance", "pdist", "pixel_shuffle",
           "pixel_unshuffle", "channel_shuffle", "adaptive_avg_pool1d", "bilinear",
           "hardshrink", "prelu", "relu_", "rrelu_"]

from .ops.clamp_tensor import clamp, clip  # noqa: E402  (Tensor bounds too)
from .ops.tensor_methods import positive  # noqa: E402
from .ops.bessel import i0  # noqa: E402
from .ops.method_aliases import (adjoint, conj, diag_embed, fix, index_put, is_complex,  # noqa
                                 msort, split_with_sizes)
from .ops import torch_more_names as _more_names  # noqa: E402

from .ops import scatter_views as _scatter_views  # noqa: E402

for _module in (_more_names, _scatter_views):
    globals().update({name: getattr(_module, name) for name in _module.__all__})
    __all__ += list(_module.__all__)
conv3d, conv_transpose3d = _same("conv3d"), _same("conv_transpose3d")
__all__ += ["conv3d", "conv_transpose3d", "max_pool3d"]


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``torch.max_pool3d``: F's, without ``return_indices``."""
    return F.max_pool3d(input, kernel_size, stride or None, padding, dilation, ceil_mode)
from .ops.numeric_more import (chain_matmul, combinations, frexp, kthvalue, ldexp,  # noqa: E402
                               logdet, ravel, vander)


def where(condition, input=None, other=None):
    """``torch.where(condition, input, other)``; ``torch.where(condition)`` alone is
    ``nonzero(condition, as_tuple=True)``, as PyTorch."""
    from .ops.math import where as _where
    from .ops.shape_more import nonzero

    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): expected both input and other, or neither (as PyTorch)")
    return _where(condition, input, other)
from .ops.scatter_reduce import scatter_reduce  # noqa: E402

__all__ += ["scatter_reduce", "clamp", "clip", "positive", "where", "chain_matmul",
            "combinations", "frexp", "ldexp", "logdet", "ravel", "vander", "kthvalue", "i0",
            "adjoint", "conj", "diag_embed", "fix", "index_put", "is_complex", "msort",
            "split_with_sizes"]

from .tensor_from_data import as_tensor  # noqa: E402  (torch.as_tensor(data, dtype, device))

__all__ += ["as_tensor"]

# torch.sum(x, axis=1), torch.std_mean(x, axis=(1, 2)): NumPy's keyword names, as PyTorch's.
import sys as _sys  # noqa: E402

from .ops import numpy_names as _numpy_names  # noqa: E402

_with_numpy_names = _numpy_names.functions(_sys.modules[__package__])
globals().update(_with_numpy_names)
__all__ += list(_with_numpy_names)
