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

The second half checks the arguments of one kernel call against its arrays' shapes
(``conv_geometry``, ``conv_grad_geometry``, ``pool_geometry`` ...): the kernels take every
size from the arrays, so the host checks them first, with errors that name the argument.

Imports nothing but the standard library, so the kernels (kernels/) can use it too.
"""
from __future__ import annotations

import operator
from typing import NamedTuple


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


def single_int(value, name: str, op: str, minimum: int | None = None) -> int:
    """An int or a 1-tuple of one as an int (a float or a bool is a TypeError, as in
    PyTorch, never truncated); at least ``minimum`` when given. The 1-D layers' and ops'
    ``kernel_size``, ``stride``, ``padding`` ..."""
    item = value
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name}: expected an int or a 1-tuple, got {value!r}")
        item = value[0]
    if isinstance(item, bool) or not hasattr(type(item), "__index__"):
        raise TypeError(f"{op}: {name}: expected an int or a 1-tuple of an int, got "
                        f"{value!r} ({type(item).__name__})")
    number = operator.index(item)
    if minimum is not None and number < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name}: expected a {what} int, got {value!r}")
    return number


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


# ---------------------------------------------------------------------------------------
# Checked geometry of one call, for the kernels (they take every size from the arrays)
# ---------------------------------------------------------------------------------------
class ConvGeometry(NamedTuple):
    """What a conv kernel needs: stride, top/left padding, dilation, output size (P, Q)."""
    stride: tuple
    padding: tuple      # (top, left)
    dilation: tuple
    output_hw: tuple


def check_conv_shapes(x_shape, weight_shape, groups, x_name="input") -> None:
    """x (N, C, H, W) and weight (K, C/groups, R, S) fit together; ValueError otherwise."""
    if len(x_shape) != 4:
        raise ValueError(f"{x_name}: expected a 4-D (N, C, H, W) array, got shape {tuple(x_shape)}")
    if len(weight_shape) != 4:
        raise ValueError(f"weight: expected a 4-D (K, C/groups, R, S) array, got shape "
                         f"{tuple(weight_shape)}")
    if groups <= 0 or x_shape[1] % groups or weight_shape[0] % groups:
        raise ValueError(f"groups: expected a positive divisor of the {x_shape[1]} input and "
                         f"{weight_shape[0]} output channels, got {groups}")
    if weight_shape[1] * groups != x_shape[1]:
        raise ValueError(f"weight: expected {x_shape[1] // groups} input channels per group "
                         f"({x_name} has {x_shape[1]}, groups={groups}), got {weight_shape[1]}")


def conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups,
                  output_hw=None) -> ConvGeometry:
    """Check a conv2d's arguments; P, Q as many as fit unless ``output_hw`` asks for fewer.
    ``stride``/``dilation`` an int or a pair, ``padding`` an int, a pair or a 4-tuple."""
    stride = pair(stride, "stride", 1)
    dilation = pair(dilation, "dilation", 1)
    top, bottom, left, right = padding4(padding)
    check_conv_shapes(x_shape, weight_shape, groups)
    P = conv_output_size(x_shape[2], weight_shape[2], stride[0], top + bottom, dilation[0])
    Q = conv_output_size(x_shape[3], weight_shape[3], stride[1], left + right, dilation[1])
    if P <= 0 or Q <= 0:
        raise ValueError(f"weight: kernel {tuple(weight_shape[2:])} with dilation {dilation} is "
                         f"larger than the padded input {x_shape[2] + top + bottom}x"
                         f"{x_shape[3] + left + right}")
    if output_hw is not None:
        if not (0 < output_hw[0] <= P and 0 < output_hw[1] <= Q):
            raise ValueError(f"output_hw: expected at most {(P, Q)} outputs, got "
                             f"{tuple(output_hw)}")
        P, Q = int(output_hw[0]), int(output_hw[1])
    return ConvGeometry(stride, (top, left), dilation, (P, Q))


def conv_grad_geometry(x_shape, weight_shape, grad_shape, stride, padding, dilation,
                       groups) -> ConvGeometry:
    """Geometry of a conv2d gradient: P, Q are grad_output's (at most as many as fit)."""
    N, K = x_shape[0], weight_shape[0]
    geometry = conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups)
    P, Q = geometry.output_hw
    if (len(grad_shape) != 4 or tuple(grad_shape[:2]) != (N, K)
            or not (0 < grad_shape[2] <= P and 0 < grad_shape[3] <= Q)):
        raise ValueError(f"grad_output: expected shape {(N, K, P, Q)} (or fewer outputs) for "
                         f"input {tuple(x_shape)} and weight {tuple(weight_shape)}, got "
                         f"{tuple(grad_shape)}")
    return geometry._replace(output_hw=(int(grad_shape[2]), int(grad_shape[3])))


def conv_input_shape(grad_shape, weight_shape, input_hw, groups) -> tuple:
    """(N, C, H, W) of conv2d's input, from (H, W) or from a whole shape."""
    if len(input_hw) == 4:
        return tuple(int(v) for v in input_hw)
    return (grad_shape[0], weight_shape[1] * groups, int(input_hw[0]), int(input_hw[1]))


def conv_weight_shape(x_shape, grad_shape, kernel_hw, groups) -> tuple:
    """(K, C/groups, R, S) of conv2d's weight, from (R, S) or from a whole shape."""
    if len(kernel_hw) == 4:
        return tuple(int(v) for v in kernel_hw)
    return (grad_shape[1], x_shape[1] // groups, int(kernel_hw[0]), int(kernel_hw[1]))


def conv_transpose_output_shape(x_shape, weight_shape, stride, padding, output_padding, groups,
                                dilation) -> tuple:
    """(N, C_out, H_out, W_out) of conv_transpose2d, weight (C_in, C_out/groups, R, S) as
    PyTorch's ConvTranspose2d; H_out by ``conv_transpose_output_size``."""
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ValueError(f"conv_transpose2d: expected 4-D input and weight, got shapes "
                         f"{tuple(x_shape)} and {tuple(weight_shape)}")
    if weight_shape[0] != x_shape[1]:
        raise ValueError(f"weight: expected {x_shape[1]} input channels (dim 0) to match the "
                         f"input, got {weight_shape[0]}")
    (sh, sw), (dh, dw) = pair(stride, "stride", 1), pair(dilation, "dilation", 1)
    top, bottom, left, right = padding4(padding)
    oph, opw = pair(output_padding, "output_padding")
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError(f"output_padding: expected values smaller than stride or dilation, got "
                         f"{(oph, opw)}")
    H = conv_transpose_output_size(x_shape[2], weight_shape[2], sh, top + bottom, dh, oph)
    W = conv_transpose_output_size(x_shape[3], weight_shape[3], sw, left + right, dw, opw)
    return (x_shape[0], weight_shape[1] * groups, H, W)


def pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked (kernel, stride, padding, dilation, (P, Q)) pairs of a pooling call on an
    (N, C, H, W) input; stride None (or ()) means the kernel size, as in PyTorch."""
    if len(shape) != 4:
        raise ValueError(f"input: expected a 4-D (N, C, H, W) array, got shape {tuple(shape)}")
    R, S = pair(kernel_size, "kernel_size", 1)
    sh, sw = (R, S) if stride is None or stride == () else pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation", 1)
    if not (0 <= ph <= R // 2 and 0 <= pw <= S // 2):
        raise ValueError(f"padding: expected at most half the kernel size {(R, S)}, got {(ph, pw)}")
    P = pool_output_size(shape[2], R, sh, ph, dh, ceil_mode)
    Q = pool_output_size(shape[3], S, sw, pw, dw, ceil_mode)
    if P <= 0 or Q <= 0:
        raise ValueError(f"kernel_size: window {(R, S)} larger than the padded input "
                         f"{tuple(shape[2:])}")
    return (R, S), (sh, sw), (ph, pw), (dh, dw), (P, Q)
