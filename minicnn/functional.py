"""``torch.nn.functional``, minicnn's edition: the same names, argument order and defaults.

``import minicnn.functional as F`` and code written for PyTorch reads the same::

    y = F.leaky_relu(F.conv2d(x, w, b, stride=2, padding=1), 0.2)
    loss = F.cross_entropy(logits, labels, label_smoothing=0.1)

This module is thin on purpose: each function lives with its forward and backward in
``minicnn/ops/`` (conv.py, pool.py, resize.py, activation.py, norm.py, loss.py); look
there for the math. Only ``linear``, ``pad`` and ``one_hot`` are defined here.
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor
from .backend import get_array_module
from .ops.torch_errors import RuntimeTypeError, RuntimeValueError
from .ops.activation import (elu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus,
                             tanh)
from .ops.activation_extra import (celu, gelu, hardsigmoid, hardswish, hardtanh, logsigmoid,
                                   mish, relu6, rms_norm, selu, silu)
from .ops.conv import conv2d, conv_transpose2d
from .ops.conv1d import conv1d, conv_transpose1d
from .ops.conv3d import conv3d, conv_transpose3d
from .ops.dropout import dropout, dropout2d
from .ops.embedding import embedding
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                       huber_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .ops.math import matmul
from .ops.attention import multi_head_attention_forward  # noqa: F401
from .ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from .ops.pool import avg_pool2d, max_pool2d
from .ops.pool1d import adaptive_avg_pool1d, avg_pool1d, max_pool1d
from .ops.pool3d import adaptive_avg_pool3d, avg_pool3d, max_pool3d
from .ops.resize import adaptive_avg_pool2d, interpolate, upsample
from .ops.pad_modes import pad as _pad_modes
from .ops.shape import pad as _pad
from .ops.shape import reshape
from .ops.functional_more import *  # noqa: E402,F401,F403  (its __all__: more F.* names)
from .ops.activation_shrink import *  # noqa: E402,F401,F403  (hardshrink, softmin, rrelu ...)
from .ops.functional_extra import *  # noqa: E402,F401,F403  (lrn, bilinear, max_unpool ...)
from .ops.loss_margin import *  # noqa: E402,F401,F403  (multi_margin_loss ...)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Fully connected layer: y = x W^T + b.

    Shapes: input (*, in_features), weight (out_features, in_features) (PyTorch's layout),
    bias (out_features,) -> y (*, out_features).
    Gradients: dL/dx = G W, dL/dW = G^T x (summed over the leading dims), dL/db = sum G.
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("linear: input and weight must be Tensors")
    if weight.ndim != 2:
        raise RuntimeValueError(f"linear: weight: expected 2 dims (out_features, in_features), "
                                f"got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeValueError(f"linear: input has {input.shape[-1] if input.ndim else 0} "
                                f"features in its last dim (shape {input.shape}), but weight "
                                f"of shape {weight.shape} expects {weight.shape[1]}")
    y = matmul(input, weight.T)
    if bias is not None:
        try:
            bias_shape = tuple(bias.shape)
        except AttributeError:
            raise TypeError(f"linear(): argument 'bias' (position 3) must be Tensor, not "
                            f"{type(bias).__name__}") from None
        if bias_shape != (weight.shape[0],):
            raise RuntimeValueError(f"linear: bias: expected shape ({weight.shape[0]},), got "
                                    f"{bias_shape}")
        if bias.dtype != y.dtype:
            raise RuntimeTypeError(f"linear: bias has dtype {bias.dtype} but input and weight "
                                   f"{y.dtype}; they must have the same dtype (as PyTorch)")
        y = y + bias
    return y


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """PyTorch's ``F.pad``: ``pad = (left, right, top, bottom, ...)`` from the last dim
    backwards. ``mode='constant'`` fills with ``value`` (None means 0; negative widths
    crop); 'reflect', 'replicate' and 'circular' copy the border from the input
    (ops/pad_modes.py)."""
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: value: only mode 'constant' uses a fill value, got "
                             f"value={value!r} with mode {mode!r}")
        return _pad_modes(input, pad, mode)
    return _pad(input, pad, mode=mode, value=0.0 if value is None else value)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Integer labels (*,) -> int64 one-hot (*, num_classes); -1 infers max label + 1."""
    labels = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer labels, got dtype {labels.dtype}")
    xp = get_array_module(labels)
    if num_classes == -1:
        if not labels.size:
            raise RuntimeValueError("one_hot: can not infer the total number of classes from "
                                    "an empty tensor (as PyTorch); pass num_classes")
        num_classes = int(labels.max()) + 1
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise RuntimeValueError(f"one_hot: labels must be in [0, {num_classes - 1}] for "
                                f"num_classes={num_classes}, got values in "
                                f"[{int(labels.min())}, {int(labels.max())}]")
    return Tensor._wrap((labels[..., None] == xp.arange(num_classes)).astype(np.int64))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``torch.flatten``: merge dims start_dim..end_dim."""
    return input.flatten(start_dim, end_dim)


__all__ = [
    "linear", "conv2d", "conv_transpose2d", "pad", "one_hot", "flatten", "reshape",
    "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate", "upsample",
    "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu", "softmax", "log_softmax",
    "batch_norm", "layer_norm", "group_norm", "instance_norm",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout", "dropout2d",
    "gelu", "silu", "selu", "celu", "mish", "hardtanh", "relu6", "logsigmoid", "hardsigmoid",
    "hardswish", "rms_norm", "conv1d", "conv_transpose1d", "embedding", "max_pool1d",
    "avg_pool1d", "adaptive_avg_pool1d",
]
from .ops import functional_more as _functional_more  # noqa: E402

__all__ += _functional_more.__all__
from .ops import activation_shrink as _shrink, functional_extra as _extra  # noqa: E402
from .ops import loss_margin as _loss_margin  # noqa: E402

__all__ += _shrink.__all__ + _extra.__all__ + _loss_margin.__all__
__all__ += ["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"]
__all__ += ["multi_head_attention_forward"]
