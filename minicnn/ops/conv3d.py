r"""Volumetric convolution: conv3d, conv_transpose3d and the weight-gradient op, closed under
differentiation (the 3-D twin of ``conv.py``; read that file first).

Shapes (the names used in every docstring of this file)::

    input   x  (N, C, D, H, W)          N volumes, C channels, D x H x W voxels
    weight  w  (K, C/G, T, R, S)        K filters of size T x R x S, G = groups
    output  y  (N, K, O, P, Q)          O x P x Q output voxels

With stride (sd, sh, sw), dilation (dd, dh, dw) and zero padding
(front, back, top, bottom, left, right):

.. math::

    y[n, k, o, p, q] = \sum_{c, t, r, s} w[k, c, t, r, s]\,
        x_{pad}[n, g(k) C/G + c,\; o s_d + t d_d,\; p s_h + r d_h,\; q s_w + s d_w]

    O = \lfloor (D + pad_{front} + pad_{back} - d_d (T - 1) - 1) / s_d \rfloor + 1

(and P, Q alike). As in 2-D, y is linear in x and in w:

* dL/dx = **conv_transpose3d**(dL/dy, w)   (``ConvTranspose3dFunction``)
* dL/dw = **conv3d_weight**(x, dL/dy)      (``Conv3dWeight``)

and the three ``Function`` classes below differentiate each other, so second derivatives
need nothing else.

The NumPy reference is **vol2col** (im2col with one more axis): a strided view shows the
padded input as patches (N, C, O, P, Q, T, R, S) without a copy; reshaped to one row per
output voxel, the convolution is one matrix product per group. The input gradient is a
matrix product and then **col2vol**: one strided ``+=`` per kernel offset (t, r, s).
The references register in ``minicnn.registry`` as "conv3d", "conv3d_input_grad" and
"conv3d_weight_grad", so a faster kernel can register under the same names later.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import registry
from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..geometry import conv_output_size, conv_transpose_output_size
from .conv import _check_groups
from .conv_checks import _check_kernel_fits
from .conv_checks import _check_tensors as _check_conv_tensors

AXES = ("depth", "height", "width")


# ---------------------------------------------------------------------------------------
# Hyperparameters: ints or triples in, checked triples out
# ---------------------------------------------------------------------------------------
def triple(value, name: str, minimum: int = 0, op: str | None = None) -> tuple[int, int, int]:
    """(a, b, c) from an int or a triple of ints, each at least ``minimum``."""
    where = f"{op}: {name}" if op else name
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise ValueError(f"{where}: expected an int or a triple of ints, got {value!r}")
        values = tuple(value)
    else:
        values = (value,) * 3
    for item in values:
        if isinstance(item, bool) or not hasattr(item, "__index__"):
            raise TypeError(f"{where}: expected an int or a triple of ints, got {value!r}")
    values = tuple(int(v) for v in values)
    if min(values) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{where}: expected {what} values, got {value!r}")
    return values


def conv3d_padding(padding, kernel, dilation, stride, op: str) -> tuple:
    """(front, back, top, bottom, left, right) from an int, a triple, 'valid' or 'same'
    ('same' at stride 1 only; an odd total puts the extra voxel at the back/bottom/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * 6
        if padding != "same":
            raise ValueError(f"{op}: padding: expected an int, a triple, 'same' or 'valid', "
                             f"got {padding!r}")
        if tuple(stride) != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        sides = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    return tuple(p for p in triple(padding, "padding", 0, op) for _ in range(2))


def conv3d_output_size(input_size, kernel, stride, padding, dilation) -> tuple:
    """(O, P, Q) of conv3d, ``padding`` = (front, back, top, bottom, left, right)."""
    return tuple(conv_output_size(input_size[i], kernel[i], stride[i],
                                  padding[2 * i] + padding[2 * i + 1], dilation[i])
                 for i in range(3))


# ---------------------------------------------------------------------------------------
# The NumPy reference, on raw arrays (NumPy or CuPy through xp); arguments arrive checked
# ---------------------------------------------------------------------------------------
def _pad(x, padding):
    if not any(padding):
        return x
    f, b, t, bo, le, r = padding
    return get_array_module(x).pad(x, ((0, 0), (0, 0), (f, b), (t, bo), (le, r)))


def vol2col_view(x_padded, kernel, output_size, stride, dilation):
    """The patches of a padded volume as a strided view (no copy).

    patches[n, c, o, p, q, t, r, s] = x_padded[n, c, o sd + t dd, p sh + r dh, q sw + s dw]

    Shape (N, C, O, P, Q, T, R, S); stepping o moves ``sd`` planes in memory, stepping t
    moves ``dd`` planes.
    """
    xp = get_array_module(x_padded)
    N, C = x_padded.shape[:2]
    step_n, step_c, *steps = x_padded.strides
    shape = (N, C) + tuple(output_size) + tuple(kernel)
    strides = ((step_n, step_c) + tuple(a * s for a, s in zip(steps, stride))
               + tuple(a * d for a, d in zip(steps, dilation)))
    if xp is np:  # read-only: writing through overlapping windows would be a bug
        return np.lib.stride_tricks.as_strided(x_padded, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x_padded, shape, strides)  # CuPy: no flag


def _columns(patches, groups):
    """Patches (N, C, O, P, Q, T, R, S) as one matrix per group: (G, N O P Q, C/G T R S)."""
    N, C, O, P, Q = patches.shape[:5]
    per_group = patches.reshape((N, groups, C // groups) + patches.shape[2:])
    width = (C // groups) * patches.shape[5] * patches.shape[6] * patches.shape[7]
    # the width spelled out: -1 cannot be inferred when the batch (or output) is empty
    return per_group.transpose(1, 0, 3, 4, 5, 2, 6, 7, 8).reshape(groups, N * O * P * Q, width)


def _rows_per_group(y, groups):
    """(N, K, O, P, Q) -> (G, N O P Q, K/G): one row per output voxel."""
    N, K = y.shape[:2]
    grouped = y.reshape((N, groups, K // groups) + y.shape[2:])
    return grouped.transpose(1, 0, 3, 4, 5, 2).reshape(groups, -1, K // groups)


def _from_rows_per_group(rows, N, output_size):
    """(G, N O P Q, K/G) -> (N, K, O, P, Q), the inverse of ``_rows_per_group``."""
    G, _, K_per_group = rows.shape
    y = rows.reshape((G, N) + tuple(output_size) + (K_per_group,)).transpose(1, 0, 5, 2, 3, 4)
    return get_array_module(rows).ascontiguousarray(
        y.reshape((N, G * K_per_group) + tuple(output_size)))


def conv3d_reference(x, weight, stride=(1, 1, 1), padding=(0,) * 6, dilation=(1, 1, 1),
                     groups=1, output_size=None):
    """y = conv3d(x, w): vol2col (a strided view) and one matrix product per group.

    x (N, C, D, H, W), weight (K, C/G, T, R, S) -> y (N, K, O, P, Q). ``output_size`` may
    ask for fewer outputs than fit (the adjoint of conv_transpose3d with output_padding).

    Per group g:  Y_g (N O P Q, K/G) = X_cols_g (N O P Q, C/G T R S) @ W_g^T.
    """
    K, kernel = weight.shape[0], weight.shape[2:]
    if output_size is None:
        output_size = conv3d_output_size(x.shape[2:], kernel, stride, padding, dilation)
    patches = vol2col_view(_pad(x, padding), kernel, output_size, stride, dilation)
    columns = _columns(patches, groups)                              # (G, NOPQ, C/G TRS)
    weight_matrix = weight.reshape(groups, K // groups, -1)         # (G, K/G, C/G TRS)
    rows = columns @ weight_matrix.transpose(0, 2, 1)               # (G, NOPQ, K/G)
    return _from_rows_per_group(rows, x.shape[0], output_size)


def conv3d_input_grad_reference(grad_output, weight, input_size, stride=(1, 1, 1),
                                padding=(0,) * 6, dilation=(1, 1, 1), groups=1):
    """dL/dx of conv3d (= conv_transpose3d's forward): a matrix product, then col2vol.

    grad_output (N, K, O, P, Q), weight (K, C/G, T, R, S), input_size (D, H, W)
    -> (N, C, D, H, W):

        grad_cols_g (N O P Q, C/G T R S) = grad_Y_g (N O P Q, K/G) @ W_g
        grad_x_pad[n, c, o sd + t dd, p sh + r dh, q sw + s dw] += grad_cols[n, c, o, p, q, t, r, s]

    col2vol: for one kernel offset (t, r, s) the O x P x Q outputs read a strided grid of
    the padded input, so one strided ``+=`` per offset sends their gradients back.
    """
    xp = get_array_module(grad_output)
    N, K, *output_size = grad_output.shape
    _, C_per_group, *kernel = weight.shape
    C = C_per_group * groups
    weight_matrix = weight.reshape(groups, K // groups, -1)                # (G, K/G, C/G TRS)
    grad_columns = _rows_per_group(grad_output, groups) @ weight_matrix    # (G, NOPQ, C/G TRS)
    grad_patches = grad_columns.reshape(
        (groups, N) + tuple(output_size) + (C_per_group,) + tuple(kernel)).transpose(
        1, 0, 5, 2, 3, 4, 6, 7, 8).reshape((N, C) + tuple(output_size) + tuple(kernel))
    padded_size = tuple(size + padding[2 * i] + padding[2 * i + 1]
                        for i, size in enumerate(input_size))
    grad_padded = xp.zeros((N, C) + padded_size, dtype=grad_output.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        window = tuple(slice(k * d, k * d + s * (o - 1) + 1, s) for k, d, s, o in
                       zip(offset, dilation, stride, output_size))
        grad_padded[(slice(None), slice(None)) + window] += grad_patches[(...,) + offset]
    inside = tuple(slice(padding[2 * i], padding[2 * i] + size)
                   for i, size in enumerate(input_size))
    return xp.ascontiguousarray(grad_padded[(slice(None), slice(None)) + inside])


def conv3d_weight_grad_reference(x, grad_output, kernel_size, stride=(1, 1, 1),
                                 padding=(0,) * 6, dilation=(1, 1, 1), groups=1):
    """dL/dw of conv3d: vol2col of x, then one matrix product per group.

    x (N, C, D, H, W), grad_output (N, K, O, P, Q), kernel_size (T, R, S) -> (K, C/G, T, R, S):

        grad_W_g (K/G, C/G T R S) = grad_Y_g^T (K/G, N O P Q) @ X_cols_g (N O P Q, C/G T R S)
    """
    C, K = x.shape[1], grad_output.shape[1]
    patches = vol2col_view(_pad(x, padding), kernel_size, grad_output.shape[2:], stride,
                           dilation)
    columns = _columns(patches, groups)                                   # (G, NOPQ, C/G TRS)
    grad_rows = _rows_per_group(grad_output, groups)                      # (G, NOPQ, K/G)
    grad_weight = grad_rows.transpose(0, 2, 1) @ columns                  # (G, K/G, C/G TRS)
    return grad_weight.reshape((K, C // groups) + tuple(kernel_size))


for _op, _function in (("conv3d", conv3d_reference),
                       ("conv3d_input_grad", conv3d_input_grad_reference),
                       ("conv3d_weight_grad", conv3d_weight_grad_reference)):
    registry.register(_op, "reference", _function, device="cpu")
    registry.register(_op, "reference", _function, device="cuda")


# ---------------------------------------------------------------------------------------
# Autograd Functions: each one's backward is made of the other two (and itself)
# ---------------------------------------------------------------------------------------
class Conv3dFunction(Function):
    r"""y = conv3d(x, w).  x (N, C, D, H, W), w (K, C/G, T, R, S) -> y (N, K, O, P, Q).

    Backward for g = dL/dy: dL/dx = conv_transpose3d(g, w), dL/dw = conv3d_weight(x, g).
    """

    def forward(self, x, weight, stride, padding, dilation, groups, output_size=None):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv3d", x, weight, output_size=output_size, **self.params)

    def backward(self, grad_output):
        x, weight = self.inputs
        grad_x = grad_weight = None
        if self.needs_input_grad[0]:
            grad_x = ConvTranspose3dFunction.apply(grad_output, weight,
                                                   input_size=x.shape[2:], **self.params)
        if self.needs_input_grad[1]:
            grad_weight = Conv3dWeight.apply(x, grad_output, kernel_size=weight.shape[2:],
                                             **self.params)
        return grad_x, grad_weight


class ConvTranspose3dFunction(Function):
    r"""z = conv_transpose3d(y, w) = the input gradient of conv3d with weight w.

    y (N, K, O, P, Q), w (K, C/G, T, R, S) -> z (N, C, D, H, W), (D, H, W) = ``input_size``.
    Since ``<g, z> = <conv3d(g, w), y>``, for g = dL/dz:
    dL/dy = conv3d(g, w) (the first O x P x Q outputs), dL/dw = conv3d_weight(g, y).
    """

    def forward(self, y, weight, input_size, stride, padding, dilation, groups):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv3d_input_grad", y, weight, input_size=tuple(input_size),
                            **self.params)

    def backward(self, grad_output):
        y, weight = self.inputs
        grad_y = grad_weight = None
        if self.needs_input_grad[0]:
            grad_y = Conv3dFunction.apply(grad_output, weight, output_size=y.shape[2:],
                                          **self.params)
        if self.needs_input_grad[1]:
            grad_weight = Conv3dWeight.apply(grad_output, y, kernel_size=weight.shape[2:],
                                             **self.params)
        return grad_y, grad_weight


class Conv3dWeight(Function):
    r"""gw = conv3d_weight(x, g): the weight gradient of conv3d.

    x (N, C, D, H, W), g (N, K, O, P, Q) -> gw (K, C/G, T, R, S), (T, R, S) = ``kernel_size``.
    Bilinear, with ``<v, gw> = <conv3d(x, v), g> = <x, conv_transpose3d(g, v)>``, so for
    v = dL/dgw: dL/dx = conv_transpose3d(g, v), dL/dg = conv3d(x, v).
    """

    def forward(self, x, grad_output, kernel_size, stride, padding, dilation, groups):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv3d_weight_grad", x, grad_output,
                            kernel_size=tuple(kernel_size), **self.params)

    def backward(self, grad_output):
        x, g = self.inputs
        grad_x = grad_g = None
        if self.needs_input_grad[0]:
            grad_x = ConvTranspose3dFunction.apply(g, grad_output, input_size=x.shape[2:],
                                                   **self.params)
        if self.needs_input_grad[1]:
            grad_g = Conv3dFunction.apply(x, grad_output, output_size=g.shape[2:],
                                          **self.params)
        return grad_x, grad_g


# ---------------------------------------------------------------------------------------
# Argument checks: errors name the argument, what was expected and what came
# ---------------------------------------------------------------------------------------
_SHAPES_3D = {"input": "(N, C, D, H, W) or unbatched (C, D, H, W)",
              "grad_output": "(N, K, O, P, Q)", "weight": "(K, C/G, T, R, S)"}


def _check_tensors(op: str, first: tuple, second: tuple) -> None:
    """Both 5-D float tensors of one dtype on one device (``(name, tensor)`` pairs): conv2d's
    check at rank 5."""
    _check_conv_tensors(op, first, second, rank=5, shapes=_SHAPES_3D)


def _add_bias(y: Tensor, bias, channels: int, op: str) -> Tensor:
    if bias is None:
        return y
    if not isinstance(bias, Tensor) or bias.shape != (channels,):
        got = tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(f"{op}: bias: expected a tensor of shape ({channels},), got {got}")
    return y + bias.reshape(1, channels, 1, 1, 1)


# ---------------------------------------------------------------------------------------
# Public functions (PyTorch's names, argument order and defaults)
# ---------------------------------------------------------------------------------------
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""3-D convolution (cross-correlation), as ``torch.nn.functional.conv3d``.

    .. math::
        y[n, k, o, p, q] = b[k] + \sum_{c, t, r, s} w[k, c, t, r, s]\,
            x_{pad}[n, g(k) C/G + c, o s_d + t d_d, p s_h + r d_h, q s_w + s d_w]

    Args:
        input: x, shape (N, C, D, H, W) (or unbatched (C, D, H, W)).
        weight: w, shape (K, C/G, T, R, S).
        bias: b, shape (K,), or None.
        stride, dilation: an int or a triple (sd, sh, sw), each >= 1.
        padding: an int, a triple, ``'valid'`` (= 0) or ``'same'`` (stride 1 only).
        groups: G, dividing C and K.

    Returns:
        y, shape (N, K, O, P, Q), O = floor((D + 2 pd - dd (T - 1) - 1) / sd) + 1.
    """
    op = "conv3d"
    if isinstance(input, Tensor) and input.ndim == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    _check_tensors(op, ("input", input), ("weight", weight))
    C, K, C_per_group = input.shape[1], weight.shape[0], weight.shape[1]
    kernel = weight.shape[2:]
    groups = _check_groups(op, groups, [(C, "the input channels"),
                                        (K, "the output channels (weight.shape[0])")])
    if C != C_per_group * groups:
        raise ValueError(f"{op}: input has {C} channels but weight expects "
                         f"{C_per_group * groups} (weight.shape[1]={C_per_group} x "
                         f"groups={groups}); weight shape {tuple(weight.shape)}")
    stride = triple(stride, "stride", 1, op)
    dilation = triple(dilation, "dilation", 1, op)
    padding = conv3d_padding(padding, kernel, dilation, stride, op)
    _check_kernel_fits(op, input.shape[2:], kernel, padding, dilation)
    y = Conv3dFunction.apply(input, weight, stride=stride, padding=padding, dilation=dilation,
                             groups=groups)
    return _add_bias(y, bias, K, op)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``: the input
    gradient of a conv3d with the same weight and hyperparameters (each input voxel spreads
    a w-weighted copy of itself over a T x R x S window of the output).

    Args:
        input: x, shape (N, C_in, D, H, W) (or unbatched (C_in, D, H, W)).
        weight: shape (C_in, C_out/G, T, R, S) (PyTorch's ConvTranspose3d layout).
        bias: shape (C_out,), or None.
        stride, dilation: an int or a triple, >= 1.
        padding: an int or a triple: trims that many voxels from each side of the output.
        output_padding: an int or a triple, added at the back/bottom/right; each must be
            smaller than its stride or dilation.
        groups: G, dividing C_in and C_out.

    Returns:
        shape (N, C_out, D_out, H_out, W_out),
        D_out = (D - 1) sd - 2 pd + dd (T - 1) + output_padding_d + 1.
    """
    op = "conv_transpose3d"
    if isinstance(input, Tensor) and input.ndim == 4:
        return conv_transpose3d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    _check_tensors(op, ("input", input), ("weight", weight))
    C_in, weight_in, C_out_per_group = input.shape[1], weight.shape[0], weight.shape[1]
    kernel = weight.shape[2:]
    if C_in != weight_in:
        raise ValueError(f"{op}: input has {C_in} channels but weight expects {weight_in} "
                         f"(weight.shape[0]; weight shape {tuple(weight.shape)})")
    groups = _check_groups(op, groups, [(C_in, "the input channels")])
    stride = triple(stride, "stride", 1, op)
    dilation = triple(dilation, "dilation", 1, op)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding: expected an int or a triple, got {padding!r} "
                         "(string padding exists only for conv3d)")
    pads = triple(padding, "padding", 0, op)
    output_padding = triple(output_padding, "output_padding", 0, op)
    for axis, o, s, d in zip(AXES, output_padding, stride, dilation):
        if o >= max(s, d):
            raise ValueError(f"{op}: output_padding: must be smaller than stride or dilation "
                             f"along the {axis}, got output_padding={o}, stride={s}, "
                             f"dilation={d}")
    size = tuple(conv_transpose_output_size(i, k, s, 2 * p, d, o) for i, k, s, p, d, o in
                 zip(input.shape[2:], kernel, stride, pads, dilation, output_padding))
    if min(size) < 1:
        raise ValueError(f"{op}: the output size {'x'.join(map(str, size))} is not positive "
                         f"(input {tuple(input.shape[2:])}, kernel {tuple(kernel)}, stride "
                         f"{stride}, padding {pads}, dilation {dilation})")
    z = ConvTranspose3dFunction.apply(input, weight, input_size=size, stride=stride,
                                      padding=tuple(p for p in pads for _ in range(2)),
                                      dilation=dilation, groups=groups)
    return _add_bias(z, bias, C_out_per_group * groups, op)


def conv3d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:
    r"""The gradient of conv3d with respect to its weight, as ``torch.nn.grad.conv3d_weight``.

    .. math::
        \frac{\partial L}{\partial w}[k, c, t, r, s] = \sum_{n, o, p, q} g[n, k, o, p, q]\,
            x_{pad}[n, g(k) C/G + c, o s_d + t d_d, p s_h + r d_h, q s_w + s d_w]

    Args: input x (N, C, D, H, W); weight_size (K, C/G, T, R, S); grad_output g = dL/dy
    (N, K, O, P, Q); stride, padding, dilation, groups those of the conv3d.
    Returns dL/dw of shape ``weight_size``, differentiable in both x and g.
    """
    op = "conv3d_weight"
    if len(tuple(weight_size)) != 5:
        raise ValueError(f"{op}: weight_size: expected 5 numbers (K, C/G, T, R, S), got "
                         f"{tuple(weight_size)}")
    K, C_per_group, *kernel = (int(v) for v in weight_size)
    _check_tensors(op, ("input", input), ("grad_output", grad_output))
    N, C = input.shape[:2]
    groups = _check_groups(op, groups, [(C, "the input channels"),
                                        (K, "the output channels (weight_size[0])")])
    if C != C_per_group * groups:
        raise ValueError(f"{op}: input has {C} channels but weight_size expects "
                         f"{C_per_group * groups} ({C_per_group} x groups={groups})")
    stride = triple(stride, "stride", 1, op)
    dilation = triple(dilation, "dilation", 1, op)
    padding = conv3d_padding(padding, kernel, dilation, stride, op)
    _check_kernel_fits(op, input.shape[2:], kernel, padding, dilation)
    expected = (N, K) + conv3d_output_size(input.shape[2:], kernel, stride, padding, dilation)
    if tuple(grad_output.shape) != expected:
        raise ValueError(f"{op}: grad_output: expected shape {expected} (the conv3d's "
                         f"output), got {tuple(grad_output.shape)}")
    return Conv3dWeight.apply(input, grad_output, kernel_size=tuple(kernel), stride=stride,
                              padding=padding, dilation=dilation, groups=groups)


__all__ = ["conv3d", "conv_transpose3d", "conv3d_weight", "triple", "conv3d_padding",
           "conv3d_output_size", "conv3d_reference", "conv3d_input_grad_reference",
           "conv3d_weight_grad_reference", "vol2col_view"]
