r"""Window geometry shared by convolution, transposed convolution, pooling and transforms.

Hyperparameters arrive as an int or a pair; padding also as ``'same'``/``'valid'`` (conv)
or (top, bottom, left, right) (the kernels). Everything here turns them into checked
tuples and computes output sizes, one formula each:

* convolution, per spatial dimension, with total padding ``pad`` (= top + bottom):

  .. math:: P = \left\lfloor \frac{H + pad - d (R - 1) - 1}{s} \right\rfloor + 1

* transposed convolution (the input gradient of the above, read backwards):

  .. math:: H = (P - 1) s - pad + d (R - 1) + output\_padding + 1

* pooling (padding on both sides, PyTorch's ``ceil_mode``: round up, but the last window
  must start inside the input or the top/left padding).

Imports nothing but the standard library, so the kernels (kernels/) can use it too.
"""
from __future__ import annotations


def pair(value, name: str, minimum: int = 0, op: str | None = None) -> tuple[int, int]:
    """(a, b) from an int or a pair of ints, each at least ``minimum``.

    Raises ValueError (a sequence of the wrong length, a value below ``minimum``) or
    TypeError (not an int), naming ``op`` and the argument.
    """
    where = f"{op}: {name}" if op else name
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{where}: expected an int or a pair of ints, got {value!r}")
        values = tuple(value)
    else:
        values = (value, value)
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int) and not hasattr(item, "__index__"):
            raise TypeError(f"{where}: expected an int or a pair of ints, got {value!r}")
    values = (int(values[0]), int(values[1]))
    if min(values) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{where}: expected {what} values, got {value!r}")
    return values


def conv_padding(padding, kernel_hw, dilation, stride, op: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same'.

    'same' keeps P = H at stride 1. Its total padding d (R - 1) can be odd (even kernels);
    then, as in PyTorch, the extra row/column goes at the bottom/right.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if tuple(stride) != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            total_h = dilation[0] * (kernel_hw[0] - 1)
            total_w = dilation[1] * (kernel_hw[1] - 1)
            return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        raise ValueError(f"{op}: padding: expected an int, a pair, 'same' or 'valid', "
                         f"got {padding!r}")
    pad_h, pad_w = pair(padding, "padding", 0, op)
    return (pad_h, pad_h, pad_w, pad_w)


def padding4(padding) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair (h, w) or a 4-tuple, each >= 0."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        sides = tuple(int(v) for v in padding)
    else:
        pad_h, pad_w = pair(padding, "padding")
        sides = (pad_h, pad_h, pad_w, pad_w)
    if min(sides) < 0:
        raise ValueError(f"padding: expected non-negative values, got {padding!r}")
    return sides


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """P = (H + padding - dilation (kernel - 1) - 1) // stride + 1, padding = top + bottom."""
    return (size + padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_output_hw(input_hw, kernel_hw, stride, padding, dilation) -> tuple[int, int]:
    """(P, Q) of conv2d, ``padding`` = (top, bottom, left, right)."""
    top, bottom, left, right = padding
    return (conv_output_size(input_hw[0], kernel_hw[0], stride[0], top + bottom, dilation[0]),
            conv_output_size(input_hw[1], kernel_hw[1], stride[1], left + right, dilation[1]))


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int,
                               dilation: int, output_padding: int = 0) -> int:
    """H = (P - 1) stride - padding + dilation (kernel - 1) + output_padding + 1, padding =
    top + bottom (the largest H whose conv2d output is P, less the unused output_padding)."""
    return (size - 1) * stride - padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                     ceil_mode: bool) -> int:
    """Output length of one spatial dimension of pooling, PyTorch's rule (padding per side)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window would start inside the bottom/right padding
    return out
