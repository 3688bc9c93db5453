"""A second set of references for the kernel tests, independent of the project's.

The kernels take exactly the signatures of the project's NumPy references
(``minicnn/ops/conv.py``, ``pool.py``), and ``tests/cudasim_cases.py`` compares them with
those directly. The functions here are an independent second set, written from the
definitions (PyTorch's conv2d / max_pool2d / avg_pool2d) as a loop
over kernel taps + einsum, nothing clever; ``tests/test_cuda_kernels.py`` checks both sets
against PyTorch and against each other. They also provide im2col/col2im in unfold's layout,
which the project's references do not expose. Shapes: x (N, C, H, W), w (K, C/groups, R, S),
y (N, K, P, Q); padding an int, a pair or (top, bottom, left, right) where noted.
"""
from __future__ import annotations

import math

import numpy as np


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _padding4(padding):
    """(top, bottom, left, right) from an int, a pair or a 4-tuple."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(padding)
    pad_h, pad_w = _pair(padding)
    return (pad_h, pad_h, pad_w, pad_w)


def conv_out(size, kernel, stride, padding, dilation):
    """Output size; ``padding`` is the total (top + bottom)."""
    return (size + padding - dilation * (kernel - 1) - 1) // stride + 1


def _pad(x, padding):
    top, bottom, left, right = padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def _tap_window(r, s, P, Q, stride, dilation):
    """Slices of the padded image that tap (r, s) reads for all outputs (p, q)."""
    (sh, sw), (dh, dw) = stride, dilation
    return (slice(r * dh, r * dh + sh * (P - 1) + 1, sh),
            slice(s * dw, s * dw + sw * (Q - 1) + 1, sw))


def conv2d_reference(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, k, p, q] = b[k] + sum_{c,r,s} w[k, c, r, s] x_pad[n, g*C_g + c, p*sh + r*dh, q*sw+s*dw]

    (g = k // K_g the group of output channel k)."""
    stride, padding, dilation = _pair(stride), _padding4(padding), _pair(dilation)
    N, C, H, W = x.shape
    K, C_g, R, S = w.shape
    K_g = K // groups
    P = conv_out(H, R, stride[0], padding[0] + padding[1], dilation[0])
    Q = conv_out(W, S, stride[1], padding[2] + padding[3], dilation[1])
    x_pad = _pad(x, padding)
    y = np.zeros((N, K, P, Q))
    for g in range(groups):
        channels, outputs = slice(g * C_g, (g + 1) * C_g), slice(g * K_g, (g + 1) * K_g)
        for r in range(R):
            for s in range(S):
                rows, cols = _tap_window(r, s, P, Q, stride, dilation)
                y[:, outputs] += np.einsum("nchw,kc->nkhw", x_pad[:, channels, rows, cols],
                                           w[outputs, :, r, s], optimize=True)
    if b is not None:
        y += b.reshape(1, K, 1, 1)
    return y


def conv2d_input_grad_reference(dy, w, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """The adjoint of conv2d in x: every tap adds w^T dy back where it read (= conv_transpose2d)."""
    stride, dilation = _pair(stride), _pair(dilation)
    top, bottom, left, right = _padding4(padding)
    N, C, H, W = input_shape
    K, C_g, R, S = w.shape
    K_g = K // groups
    P, Q = dy.shape[2:]
    dx_pad = np.zeros((N, C, H + top + bottom, W + left + right))
    for g in range(groups):
        channels, outputs = slice(g * C_g, (g + 1) * C_g), slice(g * K_g, (g + 1) * K_g)
        for r in range(R):
            for s in range(S):
                rows, cols = _tap_window(r, s, P, Q, stride, dilation)
                dx_pad[:, channels, rows, cols] += np.einsum("nkhw,kc->nchw", dy[:, outputs],
                                                             w[outputs, :, r, s], optimize=True)
    return dx_pad[:, :, top:top + H, left:left + W]


def conv2d_weight_grad_reference(x, dy, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """dw[k, c, r, s] = sum_{n,p,q} dy[n, k, p, q] x_pad[n, g*C_g + c, p*sh + r*dh, q*sw + s*dw]."""
    stride, padding, dilation = _pair(stride), _padding4(padding), _pair(dilation)
    K, C_g, R, S = weight_shape
    K_g = K // groups
    P, Q = dy.shape[2:]
    x_pad = _pad(x, padding)
    dw = np.zeros(weight_shape)
    for g in range(groups):
        channels, outputs = slice(g * C_g, (g + 1) * C_g), slice(g * K_g, (g + 1) * K_g)
        for r in range(R):
            for s in range(S):
                rows, cols = _tap_window(r, s, P, Q, stride, dilation)
                dw[outputs, :, r, s] = np.einsum("nkhw,nchw->kc", dy[:, outputs],
                                                 x_pad[:, channels, rows, cols], optimize=True)
    return dw


def im2col_reference(x, kernel_size, stride=1, padding=0, dilation=1):
    """cols[n, (c*R + r)*S + s, p*Q + q] = x_pad[n, c, p*sh + r*dh, q*sw + s*dw]."""
    stride, padding, dilation = _pair(stride), _padding4(padding), _pair(dilation)
    R, S = _pair(kernel_size)
    N, C, H, W = x.shape
    P = conv_out(H, R, stride[0], padding[0] + padding[1], dilation[0])
    Q = conv_out(W, S, stride[1], padding[2] + padding[3], dilation[1])
    x_pad = _pad(x, padding)
    cols = np.zeros((N, C, R, S, P, Q))
    for r in range(R):
        for s in range(S):
            rows, columns = _tap_window(r, s, P, Q, stride, dilation)
            cols[:, :, r, s] = x_pad[:, :, rows, columns]
    return cols.reshape(N, C * R * S, P * Q)


def col2im_reference(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: every column entry added back to the pixel it came from."""
    stride, dilation = _pair(stride), _pair(dilation)
    top, bottom, left, right = _padding4(padding)
    R, S = _pair(kernel_size)
    N, C, H, W = input_shape
    P = conv_out(H, R, stride[0], top + bottom, dilation[0])
    Q = conv_out(W, S, stride[1], left + right, dilation[1])
    cols = cols.reshape(N, C, R, S, P, Q)
    x_pad = np.zeros((N, C, H + top + bottom, W + left + right))
    for r in range(R):
        for s in range(S):
            rows, columns = _tap_window(r, s, P, Q, stride, dilation)
            x_pad[:, :, rows, columns] += cols[:, :, r, s]
    return x_pad[:, :, top:top + H, left:left + W]


def pool_out(size, kernel, stride, padding, dilation, ceil_mode):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_args(kernel_size, stride, padding, dilation):
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    return kernel, stride, _pair(padding), _pair(dilation)


def max_pool2d_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(y, indices): max over the window's taps inside the image; h*W + w of the first max."""
    (R, S), (sh, sw), (ph, pw), (dh, dw) = _pool_args(kernel_size, stride, padding, dilation)
    N, C, H, W = x.shape
    P, Q = pool_out(H, R, sh, ph, dh, ceil_mode), pool_out(W, S, sw, pw, dw, ceil_mode)
    y = np.full((N, C, P, Q), -np.inf)
    indices = np.full((N, C, P, Q), -1, dtype=np.int64)
    for p in range(P):
        for q in range(Q):
            for r in range(R):
                for s in range(S):
                    h, v = p * sh - ph + r * dh, q * sw - pw + s * dw
                    if 0 <= h < H and 0 <= v < W:
                        better = (x[:, :, h, v] > y[:, :, p, q]) | (indices[:, :, p, q] < 0)
                        y[:, :, p, q] = np.where(better, x[:, :, h, v], y[:, :, p, q])
                        indices[:, :, p, q] = np.where(better, h * W + v, indices[:, :, p, q])
    return y, indices


def max_pool2d_backward_reference(dy, indices, input_shape):
    """Scatter-add every dy to the argmax of its window."""
    N, C, H, W = input_shape
    dx = np.zeros((N, C, H * W))
    flat_dy, flat_index = dy.reshape(N, C, -1), indices.reshape(N, C, -1)
    for n in range(N):
        for c in range(C):
            np.add.at(dx[n, c], flat_index[n, c], flat_dy[n, c])
    return dx.reshape(input_shape)


def _avg_divisor(p, q, H, W, R, S, sh, sw, ph, pw, count_include_pad):
    h0, v0 = p * sh - ph, q * sw - pw
    h1, v1 = min(h0 + R, H + ph), min(v0 + S, W + pw)
    if count_include_pad:
        return (h1 - h0) * (v1 - v0)
    return (min(h1, H) - max(h0, 0)) * (min(v1, W) - max(v0, 0))


def avg_pool2d_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                         count_include_pad=True):
    (R, S), (sh, sw), (ph, pw), _ = _pool_args(kernel_size, stride, padding, 1)
    N, C, H, W = x.shape
    P, Q = pool_out(H, R, sh, ph, 1, ceil_mode), pool_out(W, S, sw, pw, 1, ceil_mode)
    y = np.zeros((N, C, P, Q))
    for p in range(P):
        for q in range(Q):
            h0, v0 = p * sh - ph, q * sw - pw
            window = x[:, :, max(h0, 0):min(h0 + R, H), max(v0, 0):min(v0 + S, W)]
            divisor = _avg_divisor(p, q, H, W, R, S, sh, sw, ph, pw, count_include_pad)
            y[:, :, p, q] = window.sum(axis=(2, 3)) / divisor
    return y


def avg_pool2d_backward_reference(dy, input_shape, kernel_size, stride=None, padding=0,
                                  ceil_mode=False, count_include_pad=True):
    (R, S), (sh, sw), (ph, pw), _ = _pool_args(kernel_size, stride, padding, 1)
    N, C, H, W = input_shape
    dx = np.zeros(input_shape)
    P, Q = dy.shape[2:]
    for p in range(P):
        for q in range(Q):
            h0, v0 = p * sh - ph, q * sw - pw
            divisor = _avg_divisor(p, q, H, W, R, S, sh, sw, ph, pw, count_include_pad)
            dx[:, :, max(h0, 0):min(h0 + R, H), max(v0, 0):min(v0 + S, W)] += (
                dy[:, :, p, q][:, :, None, None] / divisor)
    return dx
