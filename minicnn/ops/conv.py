r"""Convolution: conv2d, conv_transpose2d and the weight-gradient op, closed under
differentiation.

Shapes (the names used in every docstring of this file)::

    input   x  (N, C, H, W)          N images, C channels, H x W pixels
    weight  w  (K, C/G, R, S)        K filters of size R x S, G = groups
    output  y  (N, K, P, Q)          P x Q output pixels

With stride (sh, sw), dilation (dh, dw) and zero padding (top, bottom, left, right):

.. math::

    y[n, k, p, q] = \sum_{c, r, s} w[k, c, r, s]\,
                    x_{pad}[n, g(k) C/G + c,\; p\,s_h + r\,d_h,\; q\,s_w + s\,d_w]

    P = \lfloor (H + pad_{top} + pad_{bottom} - d_h (R - 1) - 1) / s_h \rfloor + 1

(this is a cross-correlation, as in every deep-learning library).

y is linear in x and linear in w, so both gradients are "the same sum read backwards":

* dL/dx = conv2d_input_grad(dL/dy, w) = **conv_transpose2d**(dL/dy, w): every output
  pixel sends w-weighted copies of its gradient back to the pixels it read.
* dL/dw = **conv2d_weight**(x, dL/dy): correlate the input with the output gradient.

Those two are linear too, so their gradients are again conv2d, conv_transpose2d or
conv2d_weight: the three ``Function`` classes below differentiate each other, and second
derivatives (WGAN-GP's gradient penalty) need nothing else.

How the numbers are computed (the NumPy reference, ``*_reference`` below): **im2col**. A
strided view (``as_strided``, no copy) shows the input as patches of shape
(N, C, P, Q, R, S); reshaped to a matrix with one row per output pixel, the whole
convolution is one matrix product with the weight matrix (one per group). The input
gradient goes the other way: a matrix product, then **col2im**, which adds each kernel
offset's slice back into the input, a loop over the R x S offsets. ``lessons/03_convolution.py``
builds this step by step from plain loops.

Faster implementations (``kernels/``, listed in ``kernels/registrations.py``) register
under the same op names ("conv2d", "conv2d_input_grad", "conv2d_weight_grad") in
``minicnn.registry``; the
``Function`` classes call whichever is chosen, and the tests run all of them against the
reference.
"""
from __future__ import annotations

import numpy as np

from .. import registry
from ..autograd import Function, Tensor
from .. import geometry
from ..backend import get_array_module
from ..geometry import conv2d_output_hw, conv_padding, pair
from .torch_errors import RuntimeValueError

# Hyperparameters (ints or pairs in, checked tuples out) and output sizes: minicnn/geometry.py.

# ---------------------------------------------------------------------------------------
# The NumPy reference, on raw arrays (NumPy or CuPy through xp).
# All hyperparameters arrive checked: stride, dilation (sh, sw), (dh, dw);
# padding (top, bottom, left, right); groups an int.
# ---------------------------------------------------------------------------------------


def _pad(x, padding):
    top, bottom, left, right = padding
    if not any(padding):
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def im2col_view(x_padded, kernel_hw, output_hw, stride, dilation):
    """The patches of a padded input as a strided view (no copy).

    patches[n, c, p, q, r, s] = x_padded[n, c, p sh + r dh, q sw + s dw]

    Returns an array of shape (N, C, P, Q, R, S) that shares memory with ``x_padded``:
    stepping p moves ``sh`` rows in memory, stepping r moves ``dh`` rows.
    """
    xp = get_array_module(x_padded)
    N, C = x_padded.shape[:2]
    stride_n, stride_c, stride_h, stride_w = x_padded.strides
    shape = (N, C, output_hw[0], output_hw[1], kernel_hw[0], kernel_hw[1])
    strides = (stride_n, stride_c, stride_h * stride[0], stride_w * stride[1],
               stride_h * dilation[0], stride_w * dilation[1])
    if xp is np:  # read-only: writing through overlapping windows would be a bug
        return np.lib.stride_tricks.as_strided(x_padded, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x_padded, shape, strides)  # CuPy: no flag


def _columns(patches, groups):
    """Patches (N, C, P, Q, R, S) as one matrix per group: (G, N P Q, C/G R S)."""
    N, C, P, Q, R, S = patches.shape
    per_group = patches.reshape(N, groups, C // groups, P, Q, R, S)
    return per_group.transpose(1, 0, 3, 4, 2, 5, 6).reshape(groups, N * P * Q, -1)


def _rows_per_group(y, groups):
    """(N, K, P, Q) -> (G, N P Q, K/G): one row per output pixel, one column per filter."""
    N, K, P, Q = y.shape
    return y.reshape(N, groups, K // groups, P, Q).transpose(1, 0, 3, 4, 2).reshape(
        groups, N * P * Q, K // groups)


def _from_rows_per_group(rows, N, P, Q):
    """(G, N P Q, K/G) -> (N, K, P, Q), the inverse of ``_rows_per_group``."""
    G, _, K_per_group = rows.shape
    y = rows.reshape(G, N, P, Q, K_per_group).transpose(1, 0, 4, 2, 3)
    return get_array_module(rows).ascontiguousarray(y.reshape(N, G * K_per_group, P, Q))


def conv2d_reference(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                     groups=1, output_hw=None):
    """y = conv2d(x, w): im2col (a strided view) and one matrix product per group.

    x (N, C, H, W), weight (K, C/G, R, S) -> y (N, K, P, Q). ``output_hw`` may ask for
    fewer output pixels than fit (the adjoint of conv_transpose2d with a large
    output_padding needs that); by default P, Q are as many as fit.

    In matrices, per group g:  Y_g (N P Q, K/G) = X_cols_g (N P Q, C/G R S) @ W_g^T.
    """
    N, C, H, W = x.shape
    K, _, R, S = weight.shape
    if output_hw is None:
        output_hw = conv2d_output_hw((H, W), (R, S), stride, padding, dilation)
    P, Q = output_hw
    patches = im2col_view(_pad(x, padding), (R, S), (P, Q), stride, dilation)
    columns = _columns(patches, groups)                          # (G, NPQ, C/G R S)
    weight_matrix = weight.reshape(groups, K // groups, -1)     # (G, K/G, C/G R S)
    rows = columns @ weight_matrix.transpose(0, 2, 1)           # (G, NPQ, K/G)
    return _from_rows_per_group(rows, N, P, Q)


def conv2d_input_grad_reference(grad_output, weight, input_hw, stride=(1, 1),
                                padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """dL/dx of conv2d (= conv_transpose2d's forward): a matrix product, then col2im.

    grad_output (N, K, P, Q), weight (K, C/G, R, S), input_hw = (H, W) -> (N, C, H, W).

        grad_cols_g (N P Q, C/G R S) = grad_Y_g (N P Q, K/G) @ W_g
        grad_x_pad[n, c, p sh + r dh, q sw + s dw] += grad_cols[n, c, p, q, r, s]

    col2im loops over the R S kernel offsets: for one offset (r, s), the P x Q output
    pixels read a strided P x Q grid of the padded input, so one strided ``+=`` per offset
    sends their gradients back. Padding is cut off at the end.
    """
    xp = get_array_module(grad_output)
    N, K, P, Q = grad_output.shape
    _, C_per_group, R, S = weight.shape
    C, (H, W) = C_per_group * groups, input_hw
    top, bottom, left, right = padding
    weight_matrix = weight.reshape(groups, K // groups, -1)               # (G, K/G, C/G R S)
    grad_columns = _rows_per_group(grad_output, groups) @ weight_matrix   # (G, NPQ, C/G R S)
    grad_patches = grad_columns.reshape(groups, N, P, Q, C_per_group, R, S).transpose(
        1, 0, 4, 2, 3, 5, 6).reshape(N, C, P, Q, R, S)
    grad_padded = xp.zeros((N, C, H + top + bottom, W + left + right), dtype=grad_output.dtype)
    for r in range(R):
        for s in range(S):
            h0, w0 = r * dilation[0], s * dilation[1]
            grad_padded[:, :, h0:h0 + stride[0] * (P - 1) + 1:stride[0],
                        w0:w0 + stride[1] * (Q - 1) + 1:stride[1]] += grad_patches[..., r, s]
    return xp.ascontiguousarray(grad_padded[:, :, top:top + H, left:left + W])


def conv2d_weight_grad_reference(x, grad_output, kernel_hw, stride=(1, 1),
                                 padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """dL/dw of conv2d: im2col of x, then one matrix product per group.

    x (N, C, H, W), grad_output (N, K, P, Q), kernel_hw = (R, S) -> (K, C/G, R, S).

        grad_W_g (K/G, C/G R S) = grad_Y_g^T (K/G, N P Q) @ X_cols_g (N P Q, C/G R S)
    """
    N, C, H, W = x.shape
    _, K, P, Q = grad_output.shape
    R, S = kernel_hw
    patches = im2col_view(_pad(x, padding), (R, S), (P, Q), stride, dilation)
    columns = _columns(patches, groups)                                   # (G, NPQ, C/G R S)
    grad_rows = _rows_per_group(grad_output, groups)                      # (G, NPQ, K/G)
    grad_weight = grad_rows.transpose(0, 2, 1) @ columns                  # (G, K/G, C/G R S)
    return grad_weight.reshape(K, C // groups, R, S)


registry.register("conv2d", "reference", conv2d_reference, device="cpu")
registry.register("conv2d", "reference", conv2d_reference, device="cuda")
registry.register("conv2d_input_grad", "reference", conv2d_input_grad_reference, device="cpu")
registry.register("conv2d_input_grad", "reference", conv2d_input_grad_reference, device="cuda")
registry.register("conv2d_weight_grad", "reference", conv2d_weight_grad_reference, device="cpu")
registry.register("conv2d_weight_grad", "reference", conv2d_weight_grad_reference, device="cuda")

# The fast kernels (Numba CPU, Numba CUDA, CUDA C) register under the same op names, with a
# higher priority, from one table: kernels/registrations.py.


# ---------------------------------------------------------------------------------------
# Autograd Functions: each one's backward is made of the other two (and itself).
# ---------------------------------------------------------------------------------------
class Conv2dFunction(Function):
    r"""y = conv2d(x, w).   x (N, C, H, W), w (K, C/G, R, S) -> y (N, K, P, Q).

    Backward, for an upstream gradient g = dL/dy:

    * dL/dx = conv_transpose2d(g, w)        (``ConvTranspose2dFunction``, back to size H x W)
    * dL/dw = conv2d_weight(x, g)           (``Conv2dWeight``)
    """

    def forward(self, x, weight, stride, padding, dilation, groups, output_hw=None):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv2d", x, weight, output_hw=output_hw, **self.params)

    def backward(self, grad_output):
        x, weight = self.inputs
        grad_x = grad_weight = None
        if self.needs_input_grad[0]:
            grad_x = ConvTranspose2dFunction.apply(grad_output, weight, input_hw=x.shape[2:],
                                                   **self.params)
        if self.needs_input_grad[1]:
            grad_weight = Conv2dWeight.apply(x, grad_output, kernel_hw=weight.shape[2:],
                                             **self.params)
        return grad_x, grad_weight


class ConvTranspose2dFunction(Function):
    r"""z = conv_transpose2d(y, w) = the input gradient of conv2d with weight w.

    y (N, K, P, Q), w (K, C/G, R, S) -> z (N, C, H, W), with (H, W) = ``input_hw``.
    It is linear in y and in w, and ``<g, z> = <conv2d(g, w), y>``, so for g = dL/dz:

    * dL/dy = conv2d(g, w)                  (only the first P x Q outputs)
    * dL/dw = conv2d_weight(g, y)           (g plays the input, y the output gradient)
    """

    def forward(self, y, weight, input_hw, stride, padding, dilation, groups):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv2d_input_grad", y, weight, input_hw=tuple(input_hw),
                            **self.params)

    def backward(self, grad_output):
        y, weight = self.inputs
        grad_y = grad_weight = None
        if self.needs_input_grad[0]:
            grad_y = Conv2dFunction.apply(grad_output, weight, output_hw=y.shape[2:], **self.params)
        if self.needs_input_grad[1]:
            grad_weight = Conv2dWeight.apply(grad_output, y, kernel_hw=weight.shape[2:],
                                             **self.params)
        return grad_y, grad_weight


class Conv2dWeight(Function):
    r"""gw = conv2d_weight(x, g): the weight gradient of conv2d.

    x (N, C, H, W), g (N, K, P, Q) -> gw (K, C/G, R, S), with (R, S) = ``kernel_hw``:
    gw[k, c, r, s] = sum_{n, p, q} g[n, k, p, q] x_pad[n, c', p sh + r dh, q sw + s dw]
    with c' = g(k) C/G + c, channel c of filter k's group.
    Bilinear, with ``<v, gw> = <conv2d(x, v), g> = <x, conv_transpose2d(g, v)>``, so for
    v = dL/dgw:

    * dL/dx = conv_transpose2d(g, v)
    * dL/dg = conv2d(x, v)
    """

    def forward(self, x, grad_output, kernel_hw, stride, padding, dilation, groups):
        self.params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return registry.run("conv2d_weight_grad", x, grad_output, kernel_hw=tuple(kernel_hw),
                            **self.params)

    def backward(self, grad_output):
        x, g = self.inputs
        grad_x = grad_g = None
        if self.needs_input_grad[0]:
            grad_x = ConvTranspose2dFunction.apply(g, grad_output, input_hw=x.shape[2:],
                                                   **self.params)
        if self.needs_input_grad[1]:
            grad_g = Conv2dFunction.apply(x, grad_output, output_hw=g.shape[2:], **self.params)
        return grad_x, grad_g


# Argument checks (bad input gets an error naming the argument): ops/conv_checks.py
from .conv_checks import (_add_bias, _check_groups, _check_kernel_fits,  # noqa: E402
                          _check_tensors, _empty_conv)


# ---------------------------------------------------------------------------------------
# Public functions (PyTorch's names, argument order and defaults)
# ---------------------------------------------------------------------------------------
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    .. math::
        y[n, k, p, q] = b[k] + \sum_{c, r, s} w[k, c, r, s]\,
            x_{pad}[n, g(k) C/G + c, p s_h + r d_h, q s_w + s d_w]

    Args:
        input: x, shape (N, C, H, W) (or (C, H, W) for one image).
        weight: w, shape (K, C/G, R, S).
        bias: b, shape (K,), or None.
        stride, dilation: an int or a pair (sh, sw), each >= 1.
        padding: an int, a pair (ph, pw), ``'valid'`` (= 0) or ``'same'`` (P = H, only
            with stride 1; an odd total padding puts the extra row/column at the
            bottom/right, as PyTorch).
        groups: G; the channels split into G groups convolved separately (G = C with
            C/G = 1: depthwise).

    Returns:
        y, shape (N, K, P, Q), P = floor((H + 2 ph - dh (R - 1) - 1) / sh) + 1.

    Gradients: dL/dx = conv_transpose2d(dL/dy, w), dL/dw = conv2d_weight(x, w.shape, dL/dy),
    dL/db = sum of dL/dy over (N, P, Q); all twice differentiable.
    """
    op = "conv2d"
    if isinstance(input, Tensor) and input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    _check_tensors(op, ("input", input), ("weight", weight))
    N, C, H, W = input.shape
    K, C_per_group, R, S = weight.shape
    groups = _check_groups(op, groups, [(C, "the input channels"),
                                        (K, "the output channels (weight.shape[0])")])
    if C != C_per_group * groups:
        raise RuntimeValueError(f"{op}: input has {C} channels but weight expects "
                                f"{C_per_group * groups} (weight.shape[1]={C_per_group} x "
                                f"groups={groups}); weight shape {tuple(weight.shape)}")
    stride = pair(stride, "stride", 1, op)
    dilation = pair(dilation, "dilation", 1, op)
    padding = conv_padding(padding, (R, S), dilation, stride, op)
    _check_kernel_fits(op, (H, W), (R, S), padding, dilation)
    if not K or not C_per_group:
        return _empty_conv(op, input, weight, bias, stride, padding, dilation)
    y = Conv2dFunction.apply(input, weight, stride=stride, padding=padding, dilation=dilation,
                             groups=groups)
    return _add_bias(y, bias, K, op)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    It is the input gradient of a conv2d with the same weight and hyperparameters: each
    input pixel spreads a w-weighted copy of itself over an R x S window of the output,
    windows ``stride`` apart (so stride 2 doubles the size: the DCGAN generator's
    upsampling).

    .. math::
        z[n, g\,C_{out}/G + c,\; p s_h + r d_h - pad_h,\; q s_w + s d_w - pad_w]
            \mathrel{+}= x[n, k, p, q]\, w[k, c, r, s]

    for every input pixel (n, k, p, q) and tap (c, r, s), k in group g; then + b.

    Args:
        input: x, shape (N, C_in, H_in, W_in) (or unbatched (C_in, H_in, W_in)).
        weight: shape (C_in, C_out/G, R, S) (PyTorch's ConvTranspose2d layout: it is the
            layout of the conv2d whose input gradient this is, K = C_in).
        bias: shape (C_out,), or None.
        stride, dilation: an int or a pair, >= 1.
        padding: an int or a pair (ph, pw): the padding of the conv2d this is the
            gradient of; here it trims ph rows (pw columns) from each side of the output.
        output_padding: an int or a pair, adds rows/columns at the bottom/right so that
            the size is unambiguous; each must be smaller than stride or dilation.
        groups: G, must divide C_in and C_out.

    Returns:
        shape (N, C_out, H_out, W_out) with
        H_out = (H_in - 1) sh - 2 ph + dh (R - 1) + output_padding_h + 1.
    """
    op = "conv_transpose2d"
    if isinstance(input, Tensor) and input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    _check_tensors(op, ("input", input), ("weight", weight))
    N, C_in, H_in, W_in = input.shape
    weight_in, C_out_per_group, R, S = weight.shape
    if not weight.array.size:
        raise RuntimeValueError(f"{op}: non-empty 4-D weight tensor expected, got shape "
                                f"{tuple(weight.shape)} (as PyTorch)")
    if C_in != weight_in:
        raise RuntimeValueError(f"{op}: input has {C_in} channels but weight expects {weight_in} "
                                f"(weight.shape[0]; weight shape {tuple(weight.shape)})")
    groups = _check_groups(op, groups, [(C_in, "the input channels")])
    stride = pair(stride, "stride", 1, op)
    dilation = pair(dilation, "dilation", 1, op)
    if isinstance(padding, str):
        raise RuntimeValueError(f"{op}: padding: expected an int or a pair, got {padding!r} "
                                "(string padding exists only for conv2d)")
    pad_h, pad_w = pair(padding, "padding", 0, op)
    output_padding = pair(output_padding, "output_padding", 0, op)
    for i, axis in enumerate(("height", "width")):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise RuntimeValueError(f"{op}: output_padding: must be smaller than stride or "
                                    f"dilation along the {axis}, got output_padding={output_padding[i]}, "
                                    f"stride={stride[i]}, dilation={dilation[i]}")
    H = geometry.conv_transpose_output_size(H_in, R, stride[0], 2 * pad_h, dilation[0],
                                            output_padding[0])
    W = geometry.conv_transpose_output_size(W_in, S, stride[1], 2 * pad_w, dilation[1],
                                            output_padding[1])
    if H < 1 or W < 1:
        raise RuntimeValueError(f"{op}: the output size {H}x{W} is not positive (input "
                                f"{H_in}x{W_in}, kernel {R}x{S}, stride {stride}, padding "
                                f"{(pad_h, pad_w)}, dilation {dilation})")
    z = ConvTranspose2dFunction.apply(input, weight, input_hw=(H, W), stride=stride,
                                      padding=(pad_h, pad_h, pad_w, pad_w), dilation=dilation,
                                      groups=groups)
    return _add_bias(z, bias, C_out_per_group * groups, op)


def conv2d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:
    r"""The gradient of conv2d with respect to its weight, as
    ``torch.nn.grad.conv2d_weight``.

    .. math::
        \frac{\partial L}{\partial w}[k, c, r, s] = \sum_{n, p, q}
            g[n, k, p, q]\, x_{pad}[n, g(k) C/G + c, p s_h + r d_h, q s_w + s d_w]

    Args:
        input: x, shape (N, C, H, W).
        weight_size: (K, C/G, R, S), the shape of the weight.
        grad_output: g = dL/dy, shape (N, K, P, Q).
        stride, padding, dilation, groups: those of the conv2d.

    Returns:
        dL/dw, shape ``weight_size``; differentiable in both x and g.
    """
    op = "conv2d_weight"
    if len(tuple(weight_size)) != 4:
        raise RuntimeValueError(f"{op}: weight_size: expected 4 numbers (K, C/G, R, S), got "
                                f"{tuple(weight_size)}")
    K, C_per_group, R, S = (int(v) for v in weight_size)
    _check_tensors(op, ("input", input), ("grad_output", grad_output))
    N, C, H, W = input.shape
    groups = _check_groups(op, groups, [(C, "the input channels"),
                                        (K, "the output channels (weight_size[0])")])
    if C != C_per_group * groups:
        raise RuntimeValueError(f"{op}: input has {C} channels but weight_size expects "
                                f"{C_per_group * groups} ({C_per_group} x groups={groups})")
    stride = pair(stride, "stride", 1, op)
    dilation = pair(dilation, "dilation", 1, op)
    padding = conv_padding(padding, (R, S), dilation, stride, op)
    _check_kernel_fits(op, (H, W), (R, S), padding, dilation)
    P, Q = conv2d_output_hw((H, W), (R, S), stride, padding, dilation)
    if tuple(grad_output.shape) != (N, K, P, Q):
        raise RuntimeValueError(f"{op}: grad_output: expected shape {(N, K, P, Q)} (the conv2d's "
                                f"output), got {tuple(grad_output.shape)}")
    return Conv2dWeight.apply(input, grad_output, kernel_hw=(R, S), stride=stride,
                              padding=padding, dilation=dilation, groups=groups)
