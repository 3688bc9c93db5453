r"""Volumetric pooling: max_pool3d, avg_pool3d, adaptive_avg_pool3d (the 3-D twins of
``pool.py`` and ``resize.py``; read those first).

Shapes::

    input   x  (N, C, D, H, W)     (a 4-D input (C, D, H, W) is one unbatched volume)
    kernel     T x R x S           stride (sd, sh, sw), padding (pd, ph, pw), dilation
    output  y  (N, C, O, P, Q)

Window (o, p, q) reads the input planes ``o sd - pd + t dd`` for t = 0 .. T-1 (rows and
columns alike). Each output length is PyTorch's (``geometry.pool_output_size``)::

    O = floor((D + 2 pd - dd (T - 1) - 1) / sd) + 1                      (ceil_mode=False)
    O = ceil (...) + 1, minus one if the last window would start in the back padding

How gradients flow (as in 2-D):

* **max pooling** sends each output gradient to the window's winner:
  ``dL/dx = scatter(g, argmax)`` (``MaxPool3dScatter``), whose backward is the **gather**
  at the same positions (``MaxPool3dGather``), whose backward is the scatter again; the
  winners are constants, so second derivatives are exact (zero curvature).
* **average pooling** is linear, ``y = A x``; its backward ``A^T g`` spreads each gradient
  evenly over the window (``AvgPool3dTranspose``), whose backward is ``A`` again.
* **adaptive average pooling** is separable, ``y = M_d (M_h x M_w^T)``: three ``matmul``\ s
  with small constant matrices, differentiable to any order by matmul's own backward.

The array functions register in ``minicnn.registry`` as ``max_pool3d``,
``max_pool3d_backward``, ``avg_pool3d`` and ``avg_pool3d_backward``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .. import registry
from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..geometry import pool_output_size
from .conv3d import triple
from .math import connected, matmul
from .pool import _average_pool
from .resize import _check_float_or_uint8, adaptive_average_matrix
from .shape import reshape


# ---------------------------------------------------------------------------------------
# Geometry: where the windows lie
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pool3dGeometry:
    """Where the windows of a 3-D pooling lie; every field is a (depth, height, width)
    triple. ``padded_size``: the padded input the windows read (``padding`` in front, and
    behind as many as the last window needs)."""
    input_size: tuple
    output_size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple

    @classmethod
    def build(cls, input_size, kernel_size, stride=None, padding=0, dilation=1,
              ceil_mode=False) -> "Pool3dGeometry":
        """The geometry from PyTorch-style arguments (ints or triples; stride None = kernel)."""
        kernel = triple(kernel_size, "kernel_size")
        stride = kernel if stride is None or stride == () or stride == [] else triple(
            stride, "stride")
        padding, dilation = triple(padding, "padding"), triple(dilation, "dilation")
        input_size = tuple(int(v) for v in input_size)
        output_size = tuple(pool_output_size(i, k, s, p, d, ceil_mode) for i, k, s, p, d in
                            zip(input_size, kernel, stride, padding, dilation))
        return cls(input_size, output_size, kernel, stride, padding, dilation)

    @property
    def padded_size(self) -> tuple:
        return tuple(max((o - 1) * s + d * (k - 1) + 1, i + p)
                     for o, s, d, k, i, p in zip(self.output_size, self.stride, self.dilation,
                                                 self.kernel, self.input_size, self.padding))

    def offsets(self):
        """For each kernel offset (t, r, s): its number (t R + r) S + s and the strided
        slices that pick, from the padded input, the voxel each window reads there."""
        ranges = (range(k) for k in self.kernel)
        for number, offset in enumerate(itertools.product(*ranges)):
            yield number, tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s in
                                zip(offset, self.dilation, self.output_size, self.stride))

    def pad(self, x, value):
        """x (N, C, D, H, W) padded to ``padded_size`` with ``value``."""
        widths = ((0, 0), (0, 0)) + tuple(
            (p, full - i - p) for i, p, full in zip(self.input_size, self.padding,
                                                    self.padded_size))
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def crop(self, x_padded):
        """The inverse of ``pad``: the input's region of a padded array."""
        return x_padded[(slice(None), slice(None)) + tuple(
            slice(p, p + i) for i, p in zip(self.input_size, self.padding))]


# ---------------------------------------------------------------------------------------
# The array functions (NumPy reference), registered in ``minicnn.registry``
# ---------------------------------------------------------------------------------------
def max_pool3d_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The window maxima and where they are.

    x (N, C, D, H, W) -> (y (N, C, O, P, Q), indices (N, C, O, P, Q) int64), ``indices``
    the winner's flat position ``(d H + h) W + w`` in its input volume (PyTorch's
    ``return_indices``). A running max over the T R S kernel offsets, one strided slice per
    offset; strictly greater keeps the first maximum on ties, a NaN always wins, and the
    padding is -inf (it never wins against a real value).
    """
    geometry = Pool3dGeometry.build(x.shape[2:], kernel_size, stride, padding, dilation,
                                    ceil_mode)
    xp = get_array_module(x)
    lowest = -np.inf if x.dtype.kind in "fc" else np.iinfo(x.dtype).min  # never wins
    padded = geometry.pad(x, lowest)
    best = which = None
    for number, window in geometry.offsets():
        candidate = padded[(slice(None), slice(None)) + window]
        if best is None:
            best, which = candidate.copy(), xp.zeros(candidate.shape, dtype=np.int64)
            continue
        better = (candidate > best) | xp.isnan(candidate)
        best = xp.where(better, candidate, best)
        which = xp.where(better, number, which)
    offset = xp.unravel_index(which, geometry.kernel)      # (t, r, s) of each winner
    index = 0
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = geometry.output_size[axis]
        start = xp.arange(geometry.output_size[axis]).reshape(shape) * geometry.stride[axis]
        position = start - geometry.padding[axis] + offset[axis] * geometry.dilation[axis]
        size = geometry.input_size[axis]
        index = index * size + xp.clip(position, 0, size - 1)
    return best, index.astype(np.int64)


def max_pool3d_backward_reference(grad_output, indices, input_shape, kernel_size=None,
                                  stride=None, padding=0, dilation=1):
    """dx[n, c, indices[n, c, o, p, q]] += g[n, c, o, p, q]: a scatter-add (``bincount``
    over cells numbered consecutively across the N C volumes)."""
    xp = get_array_module(grad_output)
    N, C = (int(v) for v in input_shape[:2])
    cells = math.prod(int(v) for v in input_shape[2:])
    windows = math.prod(indices.shape[2:])
    volumes = xp.arange(N * C, dtype=np.int64).reshape(N, C, 1) * cells
    flat = xp.bincount((indices.reshape(N, C, windows) + volumes).ravel(),
                       weights=grad_output.reshape(N, C, windows).ravel(),
                       minlength=N * C * cells)
    return flat.reshape(tuple(int(v) for v in input_shape)).astype(grad_output.dtype, copy=False)


def _divisor(geometry, count_include_pad, divisor_override, dtype, xp):
    """D (O, P, Q): how many cells each window averages (see ``avg_pool3d``)."""
    if divisor_override is not None:
        return xp.full(geometry.output_size, divisor_override, dtype=dtype)
    counts = []
    for size, kernel, stride, padding, output in zip(geometry.input_size, geometry.kernel,
                                                     geometry.stride, geometry.padding,
                                                     geometry.output_size):
        start = np.arange(output) * stride - padding
        if count_include_pad:  # padding counts, the part past it (ceil_mode) does not
            counts.append(np.minimum(start + kernel, size + padding) - start)
        else:
            counts.append(np.minimum(start + kernel, size) - np.maximum(start, 0))
    product = counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
    return xp.asarray(product, dtype=dtype)


def avg_pool3d_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                         count_include_pad=True, divisor_override=None):
    """y[n, c, o, p, q] = (sum of window (o, p, q) of the zero-padded x) / D[o, p, q]."""
    geometry = Pool3dGeometry.build(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    xp = get_array_module(x)
    padded = geometry.pad(x, 0)
    total = None
    for _, window in geometry.offsets():
        cells = padded[(slice(None), slice(None)) + window]
        total = cells.copy() if total is None else total + cells
    return total / _divisor(geometry, count_include_pad, divisor_override, x.dtype, xp)


def avg_pool3d_backward_reference(grad_output, input_shape, kernel_size, stride=None,
                                  padding=0, ceil_mode=False, count_include_pad=True,
                                  divisor_override=None):
    """dx = A^T g: every window spreads g / D evenly over its cells (one strided ``+=``
    per kernel offset), then the padding is cut off."""
    geometry = Pool3dGeometry.build(input_shape[2:], kernel_size, stride, padding, 1,
                                    ceil_mode)
    xp = get_array_module(grad_output)
    share = grad_output / _divisor(geometry, count_include_pad, divisor_override,
                                   grad_output.dtype, xp)
    padded = xp.zeros(tuple(input_shape[:2]) + geometry.padded_size, dtype=grad_output.dtype)
    for _, window in geometry.offsets():
        padded[(slice(None), slice(None)) + window] += share
    return xp.ascontiguousarray(geometry.crop(padded))


for _op, _function in (("max_pool3d", max_pool3d_reference),
                       ("max_pool3d_backward", max_pool3d_backward_reference),
                       ("avg_pool3d", avg_pool3d_reference),
                       ("avg_pool3d_backward", avg_pool3d_backward_reference)):
    registry.register(_op, "reference", _function, device="cpu")
    registry.register(_op, "reference", _function, device="cuda")


# ---------------------------------------------------------------------------------------
# Max pooling: the op, its scatter, and the scatter's gather
# ---------------------------------------------------------------------------------------
def _backward_window(window: dict) -> dict:
    return {k: window[k] for k in ("kernel_size", "stride", "padding", "dilation")}


class MaxPool3dFunction(Function):
    """y[n, c, o, p, q] = max over window (o, p, q) of x[n, c]; dL/dx = scatter(g, argmax)."""

    def forward(self, x, window):
        y, self.indices = registry.run("max_pool3d", x, **window)
        self.window, self.input_shape = window, x.shape
        return y

    def backward(self, g):
        grad = MaxPool3dScatter.apply(g, indices=self.indices, input_shape=self.input_shape,
                                      window=self.window)
        return connected(grad, self.inputs[0])  # a function of x too, as PyTorch's


class MaxPool3dScatter(Function):
    """dx = zeros (N, C, D, H, W); dx[n, c, indices[n, c, o, p, q]] += g[n, c, o, p, q].
    Linear in g; its backward is the gather ``MaxPool3dGather``."""

    def forward(self, g, indices, input_shape, window):
        self.indices, self.input_shape, self.window = indices, input_shape, window
        return registry.run("max_pool3d_backward", g, indices, input_shape,
                            **_backward_window(window))

    def backward(self, gg):
        return MaxPool3dGather.apply(gg, indices=self.indices, input_shape=self.input_shape,
                                     window=self.window)


class MaxPool3dGather(Function):
    """y[n, c, o, p, q] = x[n, c, indices[n, c, o, p, q]] (read each window's winner).
    Linear in x; its backward is the scatter ``MaxPool3dScatter``."""

    def forward(self, x, indices, input_shape, window):
        self.indices, self.input_shape, self.window = indices, input_shape, window
        xp = get_array_module(x)
        N, C = x.shape[:2]
        picked = xp.take_along_axis(x.reshape(N, C, -1), indices.reshape(N, C, -1), axis=2)
        return picked.reshape(indices.shape)

    def backward(self, g):
        return MaxPool3dScatter.apply(g, indices=self.indices, input_shape=self.input_shape,
                                      window=self.window)


def _check_window(op, input, kernel_size, stride, padding, dilation, ceil_mode) -> dict:
    """Check the arguments of a 3-D pooling on a 5-D input; return them as triples."""
    kernel = triple(kernel_size, "kernel_size", 1, op)
    stride = kernel if stride is None or stride == () or stride == [] else triple(
        stride, "stride", 1, op)
    padding = triple(padding, "padding", 0, op)
    dilation = triple(dilation, "dilation", 1, op)
    if any(p > k // 2 for k, p in zip(kernel, padding)):
        raise ValueError(f"{op}: padding should be at most half of kernel_size, got "
                         f"padding={padding} for kernel_size={kernel}")
    geometry = Pool3dGeometry.build(input.shape[2:], kernel, stride, padding, dilation,
                                    ceil_mode)
    if min(geometry.output_size) < 1:
        raise ValueError(f"{op}: output size is too small: input {geometry.input_size} with "
                         f"kernel_size={kernel}, stride={stride}, padding={padding}, "
                         f"dilation={dilation} gives output {geometry.output_size}")
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=bool(ceil_mode))


def _batched(op, input):
    """(x as 5-D, whether to drop the batch dim again): (C, D, H, W) is one volume."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (4, 5):
        raise ValueError(f"{op}: input: expected a 5-D (N, C, D, H, W) or 4-D (C, D, H, W) "
                         f"tensor, got shape {input.shape}")
    if input.ndim == 4:
        return reshape(input, (1,) + input.shape), True
    return input, False


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""3-D max pooling (PyTorch's ``F.max_pool3d``).

    .. math:: y[n, c, o, p, q] = \max_{t, r, s}\;
              x_{pad}[n, c,\; o s_d + t d_d,\; p s_h + r d_h,\; q s_w + s d_w]

    with -inf padding. Gradient: each window's gradient goes to its winner (the first
    maximum on ties); second derivatives are zero.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride (default: kernel_size), padding (<= kernel_size // 2),
            dilation: an int or a triple (d, h, w).
        ceil_mode: round the output size up (see the module docstring).
        return_indices: also return the winners' flat positions ``(d H + h) W + w``.
    """
    x, unbatched = _batched("max_pool3d", input)
    window = _check_window("max_pool3d", x, kernel_size, stride, padding, dilation, ceil_mode)
    y = MaxPool3dFunction.apply(x, window=window)
    indices = None
    if return_indices:
        indices = (y.creator.indices if y.creator is not None else
                   registry.run("max_pool3d", x.array, **window)[1])
        indices = Tensor._wrap(indices[0] if unbatched else indices)
    if unbatched:
        y = reshape(y, y.shape[1:])
    return (y, indices) if return_indices else y


# ---------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------
def _run_average(op, array, *args, window, count_include_pad, divisor_override):
    return registry.run(op, array, *args, kernel_size=window["kernel_size"],
                        stride=window["stride"], padding=window["padding"],
                        ceil_mode=window["ceil_mode"], count_include_pad=count_include_pad,
                        divisor_override=divisor_override)


class AvgPool3dFunction(Function):
    """y = A x (the window averages). Linear; backward: A^T g (``AvgPool3dTranspose``)."""

    def forward(self, x, window, count_include_pad, divisor_override):
        self.input_shape = x.shape
        self.settings = dict(window=window, count_include_pad=count_include_pad,
                             divisor_override=divisor_override)
        return _run_average("avg_pool3d", x, **self.settings)

    def backward(self, g):
        grad = AvgPool3dTranspose.apply(g, input_shape=self.input_shape, **self.settings)
        return connected(grad, self.inputs[0])


class AvgPool3dTranspose(Function):
    """dx = A^T g: each window spreads g / D evenly over its cells. Linear; its backward
    is ``AvgPool3dFunction`` again."""

    def forward(self, g, input_shape, window, count_include_pad, divisor_override):
        self.settings = dict(window=window, count_include_pad=count_include_pad,
                             divisor_override=divisor_override)
        return _run_average("avg_pool3d_backward", g, input_shape, **self.settings)

    def backward(self, gg):
        return AvgPool3dFunction.apply(gg, **self.settings)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    r"""3-D average pooling (PyTorch's ``F.avg_pool3d``).

    .. math:: y[n, c, o, p, q] = \frac{1}{D_{opq}} \sum_{t, r, s}
              x_{pad}[n, c,\; o s_d + t,\; p s_h + r,\; q s_w + s]

    with zero padding. The divisor D, as PyTorch's: with ``count_include_pad=True`` the
    window's cells inside the *padded* input (T R S, except windows that ``ceil_mode`` lets
    run past the padding); with ``False`` only the cells inside the input; or
    ``divisor_override`` for every window. Gradient: g / D to every cell of the window.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride (default: kernel_size), padding: an int or a triple.

    PyTorch's avg_pool3d also rejects an input smaller than the kernel *before* padding
    ("input image smaller than kernel size"; its avg_pool2d does not); minicnn computes
    such windows as avg_pool2d would, from the padded input.
    """
    x, unbatched = _batched("avg_pool3d", input)
    window = _check_window("avg_pool3d", x, kernel_size, stride, padding, 1, ceil_mode)
    return _average_pool("avg_pool3d", AvgPool3dFunction, x, unbatched, window,
                         count_include_pad, divisor_override)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    r"""Average pooling to a fixed output size (PyTorch's ``F.adaptive_avg_pool3d``).

    Output voxel (o, p, q) averages input planes [floor(o D / O), ceil((o+1) D / O)) and
    the rows and columns alike: ``y = M_d (M_h x M_w^T)`` with the adaptive matrices of
    ``resize.adaptive_average_matrix``, three matmuls.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        output_size: an int or a triple (O, P, Q); None in the triple keeps that size.
    """
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched(op, input)
    sizes = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,) * 3
    if len(sizes) != 3:
        raise ValueError(f"{op}: output_size: expected an int or a triple, got {output_size!r}")
    _check_float_or_uint8(op, "average", x)
    O, P, Q = (x.shape[2 + i] if size is None else size for i, size in enumerate(sizes))
    if not all(isinstance(v, (int, np.integer)) and v >= 1 for v in (O, P, Q)):
        raise ValueError(f"{op}: output_size: expected positive ints, got {output_size!r}")
    N, C, D, H, W = x.shape
    xp = get_array_module(x.array)

    def constant(matrix):
        return Tensor._wrap(xp.asarray(matrix, dtype=x.dtype))

    rows = constant(adaptive_average_matrix(H, P))                          # (P, H)
    cols_t = constant(adaptive_average_matrix(W, Q).T.copy())               # (W, Q)
    planes = constant(adaptive_average_matrix(D, O))                        # (O, D)
    y = matmul(matmul(rows, x), cols_t)                                     # (N, C, D, P, Q)
    y = reshape(matmul(planes, reshape(y, (N, C, D, P * Q))), (N, C, O, P, Q))
    return reshape(y, y.shape[1:]) if unbatched else y


__all__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "Pool3dGeometry",
           "max_pool3d_reference", "max_pool3d_backward_reference", "avg_pool3d_reference",
           "avg_pool3d_backward_reference"]
