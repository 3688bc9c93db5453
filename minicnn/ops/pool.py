r"""Pooling: max_pool2d and avg_pool2d (resizing is in ``resize.py``).

Shapes (as in ``conv.py``)::

    input   x  (N, C, H, W)      (a 3-D input (C, H, W) is one unbatched image)
    kernel     R x S             stride (sh, sw), padding (ph, pw), dilation (dh, dw)
    output  y  (N, C, P, Q)

Window (p, q) reads the input rows ``p sh - ph + r dh`` for r = 0 .. R-1 (columns alike).
The output size is PyTorch's::

    P = floor((H + 2 ph - dh (R - 1) - 1) / sh) + 1                      (ceil_mode=False)
    P = ceil ((H + 2 ph - dh (R - 1) - 1) / sh) + 1, minus one if the last window would
        start in the bottom padding, i.e. if (P - 1) sh >= H + ph         (ceil_mode=True)

With ``ceil_mode`` the last window may hang past the padded input: the part outside is
ignored (max pooling) or not counted (average pooling). Padding may be at most half the
kernel (PyTorch's rule), so every window sees the image (only a dilated kernel can step
over it entirely; see ``max_pool2d_reference``).

How gradients flow:

* **max pooling** sends each output gradient to the window's winner (its argmax):
  ``dL/dx = scatter(g, argmax)``. That scatter is an op (``MaxPoolScatter``) whose own
  backward is a **gather** at the same positions (``MaxPoolGather``), and the gather's
  backward is the scatter again: the pair is closed under differentiation, and the winners
  are constants, so second derivatives are exact (zero curvature, as for relu).
* **average pooling** is linear, ``y = A x``: its backward ``A^T g`` spreads each gradient
  evenly over the window (``AvgPool2dTranspose``), whose backward is ``A`` again.

The pooling array functions (``*_reference``, NumPy or CuPy through ``xp``) are registered
in ``minicnn.registry`` as ``max_pool2d``, ``max_pool2d_backward``, ``avg_pool2d`` and
``avg_pool2d_backward``; faster kernels (``kernels/``) register under the same names and
signatures, and the ``Function`` classes call whichever is chosen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import registry
from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..geometry import pair, pool_output_size
from .math import connected
from .shape import reshape
from .torch_errors import RuntimeValueError


# ---------------------------------------------------------------------------------------
# Hyperparameters and geometry (pair and pool_output_size: minicnn/geometry.py)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolGeometry:
    """Where the windows of a 2-D pooling lie. All fields are (rows, cols) pairs.

    ``padded_hw`` is the size of the padded input the windows read: ``padding`` rows on
    top, and at the bottom as many as the last window needs (fewer than ``padding`` when the
    windows stop early, more with ``ceil_mode``).
    """
    input_hw: tuple
    output_hw: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple

    @classmethod
    def build(cls, input_hw, kernel_size, stride=None, padding=0, dilation=1,
              ceil_mode=False) -> "PoolGeometry":
        """The geometry from PyTorch-style arguments (ints or pairs; stride None = kernel)."""
        kernel = pair(kernel_size, "kernel_size")
        stride = kernel if stride is None or stride == () or stride == [] else pair(stride,
                                                                                    "stride")
        padding, dilation = pair(padding, "padding"), pair(dilation, "dilation")
        input_hw = tuple(int(v) for v in input_hw)
        output_hw = tuple(pool_output_size(i, k, s, p, d, ceil_mode) for i, k, s, p, d in
                          zip(input_hw, kernel, stride, padding, dilation))
        return cls(input_hw, output_hw, kernel, stride, padding, dilation)

    @property
    def padded_hw(self) -> tuple:
        return tuple(max((o - 1) * s + d * (k - 1) + 1, i + p)
                     for o, s, d, k, i, p in zip(self.output_hw, self.stride, self.dilation,
                                                 self.kernel, self.input_hw, self.padding))

    def offsets(self):
        """For each kernel offset (r, s): its number r S + s and the strided slices that
        pick, from the padded input, the pixel each of the P x Q windows reads there."""
        (P, Q), (sh, sw), (dh, dw), (R, S) = self.output_hw, self.stride, self.dilation, self.kernel
        for r in range(R):
            for s in range(S):
                yield r * S + s, (slice(r * dh, r * dh + (P - 1) * sh + 1, sh),
                                  slice(s * dw, s * dw + (Q - 1) * sw + 1, sw))

    def pad(self, x, value):
        """x (N, C, H, W) padded to ``padded_hw`` with ``value``."""
        (H, W), (ph, pw), (Hp, Wp) = self.input_hw, self.padding, self.padded_hw
        xp = get_array_module(x)
        return xp.pad(x, ((0, 0), (0, 0), (ph, Hp - H - ph), (pw, Wp - W - pw)),
                      mode="constant", constant_values=value)

    def crop(self, x_padded):
        """The inverse of ``pad``: the input's region of a padded array."""
        (H, W), (ph, pw) = self.input_hw, self.padding
        return x_padded[:, :, ph:ph + H, pw:pw + W]


def _check_window(op, input, kernel_size, stride, padding, dilation, ceil_mode) -> dict:
    """Check the arguments; return them as pairs, ready for the array functions."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise RuntimeValueError(f"{op}: input: expected a 4-D (N, C, H, W) or 3-D (C, H, W) "
                                f"tensor, got shape {input.shape}")
    kernel = pair(kernel_size, "kernel_size", 1, op)
    stride = kernel if stride is None or stride == () or stride == [] else pair(
        stride, "stride", 1, op)
    padding = pair(padding, "padding", 0, op)
    dilation = pair(dilation, "dilation", 1, op)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise RuntimeValueError(f"{op}: padding should be at most half of kernel_size, got "
                                    f"padding={padding} for kernel_size={kernel}")
    geometry = PoolGeometry.build(input.shape[2:], kernel, stride, padding, dilation,
                                  ceil_mode)
    if min(geometry.output_hw) < 1:
        raise RuntimeValueError(f"{op}: output size is too small: input {geometry.input_hw} with "
                                f"kernel_size={kernel}, stride={stride}, padding={padding}, "
                                f"dilation={dilation} gives output {geometry.output_hw} (the "
                                f"dilated kernel is larger than the padded input)")
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=bool(ceil_mode))


def _batched(op, input):
    """(x as 4-D, whether to drop the batch dim again): (C, H, W) counts as one image."""
    if isinstance(input, Tensor) and input.ndim == 3:
        return reshape(input, (1,) + input.shape), True
    return input, False


# ---------------------------------------------------------------------------------------
# The array functions (NumPy reference). Registered in ``minicnn.registry`` under PyTorch's
# argument order, the signatures the accelerated kernels (kernels/) implement too:
#
#   max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)
#       -> (y, indices)        indices: int64, h W + w of each window's maximum
#   max_pool2d_backward(grad_output, indices, input_shape, kernel_size, stride=None,
#                       padding=0, dilation=1) -> grad_input
#   avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
#              count_include_pad=True) -> y
#   avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
#                       ceil_mode=False, count_include_pad=True) -> grad_input
# ---------------------------------------------------------------------------------------
def max_pool2d_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The window maxima and where they are.

    x (N, C, H, W) -> (y (N, C, P, Q), indices (N, C, P, Q) int64), where ``indices`` is
    the winner's flat position ``h W + w`` in its input plane (PyTorch's ``return_indices``).

    A running max over the R S kernel offsets: one strided P x Q slice per offset, kept
    where it beats the best so far. Strictly greater keeps the *first* maximum on ties,
    and a NaN always wins, as in PyTorch. Padding is -inf, so it never wins against a
    real value. (A window lying entirely in padding, possible only with dilation, gives
    -inf like PyTorch's; its gradient goes to the nearest pixel.)
    """
    geometry = PoolGeometry.build(x.shape[2:], kernel_size, stride, padding, dilation,
                                  ceil_mode)
    xp = get_array_module(x)
    lowest = -np.inf if x.dtype.kind in "fc" else np.iinfo(x.dtype).min  # never wins
    padded = geometry.pad(x, lowest)
    best, which = None, None
    for number, (rows, cols) in geometry.offsets():
        candidate = padded[:, :, rows, cols]
        if best is None:
            best, which = candidate.copy(), xp.zeros(candidate.shape, dtype=np.int64)
            continue
        better = (candidate > best) | xp.isnan(candidate)
        best = xp.where(better, candidate, best)
        which = xp.where(better, number, which)
    (P, Q), (sh, sw), (dh, dw), (ph, pw) = (geometry.output_hw, geometry.stride,
                                            geometry.dilation, geometry.padding)
    S = geometry.kernel[1]
    H, W = geometry.input_hw
    row = xp.arange(P).reshape(P, 1) * sh - ph + (which // S) * dh
    col = xp.arange(Q).reshape(1, Q) * sw - pw + (which % S) * dw
    indices = xp.clip(row, 0, H - 1) * W + xp.clip(col, 0, W - 1)
    return best, indices


def max_pool2d_backward_reference(grad_output, indices, input_shape, kernel_size=None,
                                  stride=None, padding=0, dilation=1):
    """dx[n, c, indices[n, c, p, q]] += g[n, c, p, q] (a scatter-add; the window arguments
    are not needed once the indices are known).

    ``bincount`` does the scatter-add in one pass: number every plane's cells
    consecutively, so cell k of plane (n, c) is ``(n C + c) H W + k``.
    """
    xp = get_array_module(grad_output)
    N, C, H, W = (int(v) for v in input_shape)
    planes = xp.arange(N * C, dtype=np.int64).reshape(N, C, 1) * (H * W)
    windows = math.prod(indices.shape[2:])   # P Q (explicit: N or C may be 0)
    flat = xp.bincount((indices.reshape(N, C, windows) + planes).ravel(),
                       weights=grad_output.reshape(N, C, windows).ravel(),
                       minlength=N * C * H * W)
    return flat.reshape(N, C, H, W).astype(grad_output.dtype, copy=False)


def _divisor(geometry, ceil_mode, count_include_pad, divisor_override, dtype, xp):
    """D (P, Q): how many cells each window averages (see ``avg_pool2d``)."""
    if divisor_override is not None:
        return xp.full(geometry.output_hw, divisor_override, dtype=dtype)
    counts = []
    for size, kernel, stride, padding, output in zip(geometry.input_hw, geometry.kernel,
                                                     geometry.stride, geometry.padding,
                                                     geometry.output_hw):
        start = np.arange(output) * stride - padding
        if count_include_pad:  # padding counts, the part past it (ceil_mode) does not
            counts.append(np.minimum(start + kernel, size + padding) - start)
        else:
            counts.append(np.minimum(start + kernel, size) - np.maximum(start, 0))
    return xp.asarray(np.outer(counts[0], counts[1]), dtype=dtype)


def avg_pool2d_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                         count_include_pad=True, divisor_override=None):
    """y[n, c, p, q] = (sum of window (p, q) of the zero-padded x) / D[p, q]: one strided
    P x Q slice added up per kernel offset."""
    geometry = PoolGeometry.build(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    xp = get_array_module(x)
    padded = geometry.pad(x, 0)
    total = None
    for _, (rows, cols) in geometry.offsets():
        window_cells = padded[:, :, rows, cols]
        total = window_cells.copy() if total is None else total + window_cells
    return total / _divisor(geometry, ceil_mode, count_include_pad, divisor_override,
                            x.dtype, xp)


def avg_pool2d_backward_reference(grad_output, input_shape, kernel_size, stride=None,
                                  padding=0, ceil_mode=False, count_include_pad=True,
                                  divisor_override=None):
    """dx = A^T g: every window spreads g[p, q] / D[p, q] evenly over its cells (one
    strided ``+=`` per kernel offset, like col2im), then the padding is cut off."""
    geometry = PoolGeometry.build(input_shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    xp = get_array_module(grad_output)
    share = grad_output / _divisor(geometry, ceil_mode, count_include_pad, divisor_override,
                                   grad_output.dtype, xp)
    padded = xp.zeros(tuple(input_shape[:2]) + geometry.padded_hw, dtype=grad_output.dtype)
    for _, (rows, cols) in geometry.offsets():
        padded[:, :, rows, cols] += share
    return xp.ascontiguousarray(geometry.crop(padded))


for _op, _function in (("max_pool2d", max_pool2d_reference),
                       ("max_pool2d_backward", max_pool2d_backward_reference),
                       ("avg_pool2d", avg_pool2d_reference),
                       ("avg_pool2d_backward", avg_pool2d_backward_reference)):
    registry.register(_op, "reference", _function, device="cpu")
    registry.register(_op, "reference", _function, device="cuda")


# ---------------------------------------------------------------------------------------
# Max pooling: the op, its scatter, and the scatter's gather
# ---------------------------------------------------------------------------------------
def _backward_window(window: dict) -> dict:
    return {k: window[k] for k in ("kernel_size", "stride", "padding", "dilation")}


class MaxPool2dFunction(Function):
    """y[n, c, p, q] = max over window (p, q) of x[n, c];  dL/dx = scatter(g, argmax)."""

    def forward(self, x, window):
        y, self.indices = registry.run("max_pool2d", x, **window)
        self.window, self.input_shape = window, x.shape
        return y

    def backward(self, g):
        grad = MaxPoolScatter.apply(g, indices=self.indices, input_shape=self.input_shape,
                                    window=self.window)
        return connected(grad, self.inputs[0])  # a function of x too, as PyTorch's


class MaxPoolScatter(Function):
    """dx = zeros (N, C, H, W); dx[n, c, indices[n, c, p, q]] += g[n, c, p, q].

    (Windows that overlap may share a winner: its gradients add up.)
    Linear in g; its backward is the gather ``gg[n, c, indices[n, c, p, q]]``.
    """

    def forward(self, g, indices, input_shape, window):
        self.indices, self.input_shape, self.window = indices, input_shape, window
        return registry.run("max_pool2d_backward", g, indices, input_shape,
                            **_backward_window(window))

    def backward(self, gg):
        return MaxPoolGather.apply(gg, indices=self.indices, input_shape=self.input_shape,
                                   window=self.window)


class MaxPoolGather(Function):
    """y[n, c, p, q] = x[n, c, indices[n, c, p, q]] (read each window's winner).

    Linear in x; its backward is the scatter ``MaxPoolScatter``.
    """

    def forward(self, x, indices, input_shape, window):
        self.indices, self.input_shape, self.window = indices, input_shape, window
        xp = get_array_module(x)
        N, C = x.shape[:2]
        picked = xp.take_along_axis(x.reshape(N, C, -1), indices.reshape(N, C, -1), axis=2)
        return picked.reshape(indices.shape)

    def backward(self, g):
        return MaxPoolScatter.apply(g, indices=self.indices, input_shape=self.input_shape,
                                    window=self.window)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""2-D max pooling (PyTorch's ``F.max_pool2d``).

    .. math:: y[n, c, p, q] = \max_{r, s}\; x_{pad}[n, c,\; p s_h + r d_h,\; q s_w + s d_w]

    with -inf padding. Gradient: each window's output gradient goes to its winner (the
    first maximum on ties); second derivatives are zero.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (default: kernel_size), padding, dilation: int or (h, w).
            padding <= kernel_size // 2.
        ceil_mode: round the output size up (see the module docstring).
        return_indices: also return the winners' flat positions ``h W + w`` (int64).

    Returns:
        (N, C, P, Q) (and the indices), P, Q from ``pool_output_size``.
    """
    x, unbatched = _batched("max_pool2d", input)
    window = _check_window("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if x.dtype.kind == "b":
        raise TypeError("max_pool2d: not implemented for bool input (PyTorch neither); "
                        "convert it first (x.to(mc.uint8) or x.float())")
    y = MaxPool2dFunction.apply(x, window=window)
    indices = None
    if return_indices:
        indices = Tensor._wrap(y.creator.indices if y.creator is not None else
                         registry.run("max_pool2d", x.array, **window)[1])
    if unbatched:
        y = reshape(y, y.shape[1:])
        indices = None if indices is None else Tensor._wrap(indices.array[0])
    return (y, indices) if return_indices else y


# ---------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------
def _run_average(op, array, *args, window, count_include_pad, divisor_override):
    """Dispatch through the registry (kernels that lack ``divisor_override`` say so in their
    ``supports``, and the registry runs the reference for such calls)."""
    return registry.run(op, array, *args, kernel_size=window["kernel_size"],
                        stride=window["stride"], padding=window["padding"],
                        ceil_mode=window["ceil_mode"], count_include_pad=count_include_pad,
                        divisor_override=divisor_override)


class AvgPool2dFunction(Function):
    """y = A x (the window averages). Linear; backward: A^T g (``AvgPool2dTranspose``)."""

    def forward(self, x, window, count_include_pad, divisor_override):
        self.input_shape = x.shape
        self.settings = dict(window=window, count_include_pad=count_include_pad,
                             divisor_override=divisor_override)
        return _run_average("avg_pool2d", x, **self.settings)

    def backward(self, g):
        grad = AvgPool2dTranspose.apply(g, input_shape=self.input_shape, **self.settings)
        return connected(grad, self.inputs[0])  # PyTorch's avg_pool2d_backward takes x


class AvgPool2dTranspose(Function):
    """dx = A^T g: each window spreads g[p, q] / D[p, q] evenly over its cells.
    Linear; its backward is ``AvgPool2dFunction`` again."""

    def forward(self, g, input_shape, window, count_include_pad, divisor_override):
        self.settings = dict(window=window, count_include_pad=count_include_pad,
                             divisor_override=divisor_override)
        return _run_average("avg_pool2d_backward", g, input_shape, **self.settings)

    def backward(self, gg):
        return AvgPool2dFunction.apply(gg, **self.settings)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    r"""2-D average pooling (PyTorch's ``F.avg_pool2d``).

    .. math:: y[n, c, p, q] = \frac{1}{D_{pq}} \sum_{r, s} x_{pad}[n, c,\; p s_h + r,\; q s_w + s]

    with zero padding. The divisor D, as PyTorch's:

    * ``count_include_pad=True``: the window's cells inside the *padded* input (so R S,
      except for windows that ``ceil_mode`` lets run past the padding);
    * ``count_include_pad=False``: only the cells inside the input itself;
    * ``divisor_override``: that number for every window.

    Gradient: g[p, q] / D_pq to every cell of window (p, q).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (default: kernel_size), padding: int or (h, w).
    """
    x, unbatched = _batched("avg_pool2d", input)
    window = _check_window("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    return _average_pool("avg_pool2d", AvgPool2dFunction, x, unbatched, window,
                         count_include_pad, divisor_override)


def _average_pool(op: str, function, x: Tensor, unbatched: bool, window, count_include_pad,
                  divisor_override) -> Tensor:
    """avg_pool2d's and avg_pool3d's common end, once the window is checked: the divisor,
    PyTorch's dtype rule (int64 averaged in int64, truncating toward zero; other integer
    and bool dtypes refused), the pooling ``function``, the batch dim taken off again."""
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeValueError(f"{op}: divisor_override: expected a non-zero number, got 0")
    options = dict(window=window, count_include_pad=bool(count_include_pad),
                   divisor_override=divisor_override)
    if x.dtype.kind in "iub":
        if x.dtype != np.int64:
            raise TypeError(f"{op}: not implemented for {x.dtype} input (PyTorch "
                            f"neither); convert it first (x.float())")
        y = function.apply(Tensor._wrap(x.array.astype(np.float64)), **options)
        y = Tensor._wrap(np.trunc(y.array).astype(x.dtype))
    else:
        y = function.apply(x, **options)
    return reshape(y, y.shape[1:]) if unbatched else y


__all__ = ["max_pool2d", "avg_pool2d", "pool_output_size", "PoolGeometry",
           "max_pool2d_reference", "max_pool2d_backward_reference", "avg_pool2d_reference",
           "avg_pool2d_backward_reference"]
