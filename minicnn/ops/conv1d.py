r"""1-D convolutions as 2-D ones of height 1: conv1d and conv_transpose1d.

A signal x of shape (N, C, L) is an image of shape (N, C, 1, L); a kernel w of shape
(K, C/G, S) is one of shape (K, C/G, 1, S). With stride (1, s), padding (0, p) and
dilation (1, d), conv2d computes exactly

.. math::
    y[n, k, q] = b[k] + \sum_{c, s} w[k, c, s]\, x_{pad}[n, g(k) C/G + c, q s + s d]

so both ops are a reshape onto ``conv2d`` / ``conv_transpose2d`` and a reshape back, and
inherit their gradients (to any order) and their fast kernels.
"""
from __future__ import annotations

from ..autograd import Tensor
from .conv import conv2d, conv_transpose2d
from .torch_errors import RuntimeValueError


def _single(value, name: str, op: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name}: expected an int or a 1-tuple, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{op}: {name}: expected an int or a 1-tuple, got {value!r}")
    return int(value)


def _check(op: str, input, weight, input_dims=(2, 3)):
    for name, value in (("input", input), ("weight", weight)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name}: expected a Tensor, got {type(value).__name__}")
    if input.ndim not in input_dims:
        raise ValueError(f"{op}: input: expected 3 dims (N, C, L) or 2 (C, L), got shape "
                         f"{input.shape}")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight: expected 3 dims, got shape {weight.shape}")
    if weight.shape[-1] == 0 or weight.shape[1 if "transpose" in op else 0] == 0:
        raise RuntimeValueError(f"{op}: weight: expected a non-empty kernel and at least one output "
                         f"channel, got weight of shape {weight.shape} (PyTorch raises too)")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""1-D convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    Shapes: input (N, C, L) (or (C, L)), weight (K, C/G, S), bias (K,) -> (N, K, L_out),
    L_out = floor((L + 2 p - d (S - 1) - 1) / s) + 1. ``padding`` may be an int,
    ``'valid'`` or ``'same'``.
    """
    op = "conv1d"
    _check(op, input, weight)
    if input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    stride = _single(stride, "stride", op)
    dilation = _single(dilation, "dilation", op)
    if not isinstance(padding, str):
        pad = _single(padding, "padding", op)
        span = dilation * (weight.shape[-1] - 1) + 1
        if input.shape[-1] + 2 * pad < span:
            raise ValueError(f"{op}: kernel size {weight.shape[-1]} (dilation {dilation}, "
                             f"span {span}) is larger than the padded input: length "
                             f"{input.shape[-1]} + 2 x padding {pad}")
        padding = (0, pad)
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, stride),
               padding=padding, dilation=(1, dilation), groups=groups)
    return y.squeeze(2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Shapes: input (N, C_in, L) (or (C_in, L)), weight (C_in, C_out/G, S), bias (C_out,)
    -> (N, C_out, L_out), L_out = (L - 1) s - 2 p + d (S - 1) + output_padding + 1.
    """
    op = "conv_transpose1d"
    _check(op, input, weight)
    if input.ndim == 2:
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding: expected an int, got {padding!r} (string padding "
                         "exists only for conv1d)")
    stride, padding = _single(stride, "stride", op), _single(padding, "padding", op)
    output_padding = _single(output_padding, "output_padding", op)
    dilation = _single(dilation, "dilation", op)
    length = ((input.shape[-1] - 1) * stride - 2 * padding + dilation * (weight.shape[-1] - 1)
              + output_padding + 1)
    if length < 1:
        raise ValueError(f"{op}: the output length {length} is not positive (input length "
                         f"{input.shape[-1]}, kernel {weight.shape[-1]}, stride {stride}, "
                         f"padding {padding}, dilation {dilation})")
    z = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, stride),
                         padding=(0, padding), output_padding=(0, output_padding),
                         groups=groups, dilation=(1, dilation))
    return z.squeeze(2)


__all__ = ["conv1d", "conv_transpose1d"]
