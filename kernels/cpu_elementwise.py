r"""Fused Numba CPU loops for elementwise ops: leaky ReLU and batch-norm helpers.

Arrays in, arrays out (no Tensor). Why fuse: NumPy evaluates ``np.where(x > 0, x, a * x)``
as four passes over memory with three temporaries (the comparison, ``a * x``, the
result); one loop reads x once and writes the result once. On 4.2M float32 numbers
(a DCGAN activation at batch 64) that was 40-60 ms of NumPy against a few ms fused.

Leaky ReLU, y = x for x > 0 and y = a x otherwise, with the derivative
dy/dx = 1 or a (the *mask*, a constant in the backward pass: it does not depend on x
except through the sign, so leaky ReLU's second derivative is 0 almost everywhere):

* ``leaky_relu(x, a)`` -> y
* ``leaky_relu_backward(grad_output, x, a)`` -> grad_output * mask, recomputing the
  mask from the sign of x instead of storing it (so registered for slopes >= 0 only,
  ``registrations.py``: callers may pass the output for x, which has the sign of the
  input only then)

Batch norm over (N, H, W) for each channel c of x (N, C, H, W):

* ``channel_mean_var(x)`` -> (mean, biased var) per channel, float64 accumulators, two
  passes (mean first, then the squared deviations: stable, unlike E[x^2] - E[x]^2)
* ``scale_shift(x, scale, shift)`` -> y[n, c, h, w] = x[n, c, h, w] scale[c] + shift[c],
  the normalise-and-affine step in one pass, with scale = gamma / sqrt(var + eps) and
  shift = beta - mean * scale.

Every function keeps the dtype of its input. The leaky-ReLU functions also keep its
memory layout (NCHW, channels-last, any dense layout: they walk memory in order); the
batch-norm helpers work in NCHW and return NCHW (other layouts are copied first). Each
loop runs over a range [start, stop) of its outer index (numbers, channels or (n, c)
planes), so that ``cpu_runtime.parallel_for`` can hand blocks of a big array to the
engine's threads; small arrays run as one block. Only C-contiguous arrays reach the
compiled loops, so each loop compiles once per dtype.
"""
from __future__ import annotations

import numpy as np

from .cpu_runtime import kernel, parallel_for, reduction_kernel


# ---------------------------------------------------------------------------------------
# Memory-order flat views: elementwise loops do not care about shape, only about order.
# ---------------------------------------------------------------------------------------
def _flat(array: np.ndarray) -> np.ndarray | None:
    """A 1-D view of ``array`` in memory order, or None when its memory has gaps."""
    order = np.argsort([-abs(s) for s in array.strides], kind="stable")
    dense = array.transpose(order)
    if not dense.flags.c_contiguous:
        return None
    return dense.reshape(-1)


def _flat_pair(*arrays):
    """Flat views of arrays that share one memory layout; C-contiguous copies otherwise.

    Returns the flat inputs and a fresh output whose flat view matches them element by
    element (the output has the layout of the first array).
    """
    first = arrays[0]
    if all(a.strides == first.strides for a in arrays) and _flat(first) is not None:
        out = np.empty_like(first)  # same strides as first (order='K')
        if out.strides == first.strides:
            return [_flat(a) for a in arrays], out, _flat(out)
    contiguous = [np.ascontiguousarray(a) for a in arrays]
    out = np.empty(first.shape, dtype=first.dtype)
    return [a.reshape(-1) for a in contiguous], out, out.reshape(-1)


# ---------------------------------------------------------------------------------------
# Leaky ReLU
# ---------------------------------------------------------------------------------------
# The flat loops index a slice from 0: with ``for i in range(start, stop)`` Numba must
# allow for a negative i (counted from the end, as in Python) on every access, and that
# check keeps LLVM from using vector instructions (measured 5x slower on 800k numbers).
@kernel
def _leaky_relu(x, negative_slope, y, start, stop):
    x, y = x[start:stop], y[start:stop]
    for i in range(x.size):
        value = x[i]
        y[i] = value if value > 0 else value * negative_slope


@kernel
def _leaky_relu_backward(grad_output, x, negative_slope, grad_input, start, stop):
    grad_output, x, grad_input = grad_output[start:stop], x[start:stop], grad_input[start:stop]
    for i in range(x.size):
        g = grad_output[i]
        grad_input[i] = g if x[i] > 0 else g * negative_slope


def _slope(x: np.ndarray, negative_slope: float):
    return x.dtype.type(negative_slope)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """y = x where x > 0, negative_slope * x elsewhere (x's dtype and layout)."""
    (flat_x,), y, flat_y = _flat_pair(x)
    parallel_for(_leaky_relu, x.size, 2 * x.size, flat_x, _slope(x, negative_slope), flat_y)
    return y


def leaky_relu_backward(grad_output: np.ndarray, x: np.ndarray,
                        negative_slope: float = 0.01) -> np.ndarray:
    """dL/dx = dL/dy where x > 0, negative_slope * dL/dy elsewhere."""
    (flat_grad, flat_x), grad_input, flat_out = _flat_pair(grad_output, x)
    parallel_for(_leaky_relu_backward, x.size, 3 * x.size, flat_grad, flat_x,
                 _slope(grad_output, negative_slope), flat_out)
    return grad_input


# ---------------------------------------------------------------------------------------
# Batch norm
# ---------------------------------------------------------------------------------------
@reduction_kernel
def _channel_mean_var(x, mean, var, start, stop):
    """x (N, C, H W): channels [start, stop), two passes over each one's N H W numbers."""
    N, C, L = x.shape
    count = N * L
    for c in range(start, stop):
        total = 0.0
        for n in range(N):
            for i in range(L):
                total += x[n, c, i]
        m = total / count
        squares = 0.0
        for n in range(N):
            for i in range(L):
                d = x[n, c, i] - m
                squares += d * d
        mean[c] = m
        var[c] = squares / count


def channel_mean_var(x: np.ndarray):
    """Per-channel mean and biased variance of x (N, C, H, W) over (N, H, W).

    mean_c = (1/M) sum x,  var_c = (1/M) sum (x - mean_c)^2,  M = N H W.
    Accumulates in float64; returns arrays of shape (C,) in x's dtype.
    """
    if x.ndim != 4:
        raise ValueError(f"channel_mean_var: expected x of shape (N, C, H, W), got {x.shape}")
    mean = np.empty(x.shape[1], dtype=np.float64)
    var = np.empty(x.shape[1], dtype=np.float64)
    N, C, H, W = x.shape
    parallel_for(_channel_mean_var, C, 2 * x.size,
                 np.ascontiguousarray(x).reshape(N, C, H * W), mean, var)
    return mean.astype(x.dtype), var.astype(x.dtype)


@kernel
def _scale_shift(x, scale, shift, y, start, stop):
    """x, y (N, C, H W): the (n, c) planes number start..stop - 1 (plane n C + c)."""
    N, C, L = x.shape
    for task in range(start, stop):
        n = task // C
        c = task % C
        a = scale[c]
        b = shift[c]
        for i in range(L):
            y[n, c, i] = x[n, c, i] * a + b


def scale_shift(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """y[n, c, h, w] = x[n, c, h, w] * scale[c] + shift[c] (x's dtype, NCHW memory)."""
    if x.ndim != 4 or scale.shape != (x.shape[1],) or shift.shape != (x.shape[1],):
        raise ValueError(f"scale_shift: expected x (N, C, H, W) and scale, shift of shape (C,), "
                         f"got {x.shape}, {scale.shape}, {shift.shape}")
    N, C, H, W = x.shape
    y = np.empty(x.shape, dtype=x.dtype)
    parallel_for(_scale_shift, N * C, 2 * x.size,
                 np.ascontiguousarray(x).reshape(N, C, H * W), scale.astype(x.dtype),
                 shift.astype(x.dtype), y.reshape(N, C, H * W))
    return y


@reduction_kernel
def _channel_grad_sums(g, x, mean, sum_g, sum_gx, start, stop):
    """g, x (N, C, H W): channels [start, stop), one pass over both."""
    N, C, L = x.shape
    for c in range(start, stop):
        total_g = 0.0
        total_gx = 0.0
        m = mean[c]
        for n in range(N):
            for i in range(L):
                gi = g[n, c, i]
                total_g += gi
                total_gx += gi * (x[n, c, i] - m)
        sum_g[c] = total_g
        sum_gx[c] = total_gx


def channel_grad_sums(g: np.ndarray, x: np.ndarray, mean: np.ndarray):
    """Batch norm's backward sums per channel over (N, H, W), in float64:
    sum_g_c = sum g,  sum_gx_c = sum g (x - mean_c).  g, x (N, C, H, W); mean (C,)."""
    N, C, H, W = x.shape
    sum_g = np.empty(C, dtype=np.float64)
    sum_gx = np.empty(C, dtype=np.float64)
    parallel_for(_channel_grad_sums, C, 2 * x.size,
                 np.ascontiguousarray(g).reshape(N, C, H * W),
                 np.ascontiguousarray(x).reshape(N, C, H * W),
                 mean.astype(np.float64), sum_g, sum_gx)
    return sum_g, sum_gx


@kernel
def _channel_combine(g, x, a, b, d, out, start, stop):
    """g, x, out (N, C, H W): the (n, c) planes number start..stop - 1."""
    N, C, L = x.shape
    for task in range(start, stop):
        n = task // C
        c = task % C
        ac = a[c]
        bc = b[c]
        dc = d[c]
        for i in range(L):
            out[n, c, i] = ac * g[n, c, i] + bc * x[n, c, i] + dc


def channel_combine(g: np.ndarray, x: np.ndarray, a, b, d) -> np.ndarray:
    """out[n, c, h, w] = a_c g[n, c, h, w] + b_c x[n, c, h, w] + d_c: batch norm's input
    gradient in one pass (x's dtype, NCHW)."""
    N, C, H, W = x.shape
    out = np.empty(x.shape, dtype=x.dtype)
    parallel_for(_channel_combine, N * C, 3 * x.size,
                 np.ascontiguousarray(g).reshape(N, C, H * W),
                 np.ascontiguousarray(x).reshape(N, C, H * W),
                 a.astype(x.dtype), b.astype(x.dtype), d.astype(x.dtype),
                 out.reshape(N, C, H * W))
    return out
