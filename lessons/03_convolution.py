"""Lesson 03: convolution, from four nested loops to one matrix product.

What you will learn:
  1. What conv2d computes: every output pixel is a dot product of the kernel with one
     window of the (padded) input, windows ``stride`` apart, taps ``dilation`` apart.
     Written first as loops over output pixels: slow, but it is the definition.
  2. The same sum regrouped by kernel offset (r, s): each offset is one matrix product
     (K x C) @ (C x N P Q) of the weights with a shifted, strided slice of the input.
  3. im2col: a strided *view* (``as_strided``, no copy) shows the input as a stack of
     patches (N, C, P, Q, R, S); reshaped to a matrix with one row per output pixel, the
     whole convolution is ONE matrix product, which BLAS runs near the machine's peak.
  4. The library op (``minicnn.functional.conv2d``), whose registry picks the fastest
     implementation (Numba kernels; the NumPy reference of step 3 is still there).
  5. The gradient of a convolution is a convolution: dL/dx is ``conv_transpose2d`` of
     dL/dy (the same weights, read backwards; the DCGAN generator's upsampling layer),
     dL/dw is ``conv2d_weight``; and they differentiate again (second derivatives).
Each step is checked against the one before and timed.

What to look at: the timing table (each step faster than the last, by orders of
magnitude), and ``lessons/out/03_convolution.png``: a digit filtered by four hand-made
kernels (edges, curvature, blur), a stride-2 conv, a transposed conv back up, and the
timings as bars.

Time: about 15 seconds on a laptop CPU (``--fast``: a few seconds).
Run: ``python lessons/03_convolution.py``
"""
import time

import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import registry
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.lesson import check, parse_args
from minicnn.ops.conv import conv2d_weight


def output_size(size, kernel, stride, padding, dilation):
    """P = floor((H + 2 pad - d (R - 1) - 1) / stride) + 1: how many windows fit."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


# ---------------------------------------------------------------------------------------
# Step 1: the definition, as loops over output pixels
# ---------------------------------------------------------------------------------------
def conv2d_loops(x, w, stride=1, padding=0, dilation=1):
    """y[n, k, p, q] = sum_{c, r, s} w[k, c, r, s] x_pad[n, c, p*stride + r*dilation,
    q*stride + s*dilation]: one window, one dot product, per output number."""
    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P = output_size(H, R, stride, padding, dilation)
    Q = output_size(W, S, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((N, K, P, Q))
    span = dilation * (R - 1) + 1, dilation * (S - 1) + 1  # the window's extent
    for n in range(N):
        for k in range(K):
            for p in range(P):
                for q in range(Q):
                    top, left = p * stride, q * stride
                    window = x_pad[n, :, top:top + span[0]:dilation, left:left + span[1]:dilation]
                    y[n, k, p, q] = np.sum(window * w[k])  # (C, R, S) times (C, R, S)
    return y


# ---------------------------------------------------------------------------------------
# Step 2: one matrix product per kernel offset
# ---------------------------------------------------------------------------------------
def conv2d_per_offset(x, w, stride=1, padding=0, dilation=1):
    """For a fixed tap (r, s), the P x Q windows read a strided P x Q grid of the input
    starting at (r*dilation, s*dilation): y += w[:, :, r, s] (K, C) @ that grid (C, N P Q).
    R S matrix products instead of N K P Q dot products."""
    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P = output_size(H, R, stride, padding, dilation)
    Q = output_size(W, S, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((K, N * P * Q))
    for r in range(R):
        for s in range(S):
            top, left = r * dilation, s * dilation
            grid = x_pad[:, :, top:top + stride * (P - 1) + 1:stride,
                         left:left + stride * (Q - 1) + 1:stride]        # (N, C, P, Q)
            y += w[:, :, r, s] @ grid.transpose(1, 0, 2, 3).reshape(C, N * P * Q)
    return y.reshape(K, N, P, Q).transpose(1, 0, 2, 3)


# ---------------------------------------------------------------------------------------
# Step 3: im2col through a strided view, then one matrix product
# ---------------------------------------------------------------------------------------
def patches_view(x_pad, R, S, P, Q, stride, dilation):
    """patches[n, c, p, q, r, s] = x_pad[n, c, p*stride + r*dilation, q*stride + s*dilation]
    as a view: only the strides (bytes to step along each axis) are new."""
    step_n, step_c, step_h, step_w = x_pad.strides
    return np.lib.stride_tricks.as_strided(
        x_pad, shape=(x_pad.shape[0], x_pad.shape[1], P, Q, R, S),
        strides=(step_n, step_c, step_h * stride, step_w * stride,
                 step_h * dilation, step_w * dilation), writeable=False)


def conv2d_im2col(x, w, stride=1, padding=0, dilation=1):
    """columns (N P Q, C R S) = the patches as a matrix; y = columns @ w_matrix^T."""
    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P = output_size(H, R, stride, padding, dilation)
    Q = output_size(W, S, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    patches = patches_view(x_pad, R, S, P, Q, stride, dilation)
    columns = patches.transpose(0, 2, 3, 1, 4, 5).reshape(N * P * Q, C * R * S)  # copies
    y = columns @ w.reshape(K, C * R * S).T                                      # (N P Q, K)
    return y.reshape(N, P, Q, K).transpose(0, 3, 1, 2)


def timed(function, *args, repeats=1):
    """(result, best time in seconds over ``repeats`` calls)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------
def section_four_ways(fast):
    N, C, H, K = (2, 3, 10, 4) if fast else (4, 8, 28, 16)
    print(f"1-4. conv2d four ways: x ({N}, {C}, {H}, {H}), w ({K}, {C}, 3, 3), stride 1, "
          "padding 1")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H))
    w = rng.standard_normal((K, C, 3, 3))
    x_tensor, w_tensor = mc.tensor(x), mc.tensor(w)

    def library(implementation):
        def run(x, w):
            with registry.use("conv2d", implementation):
                return F.conv2d(x_tensor, w_tensor, padding=1).numpy()
        return run

    steps = [("1. loops over output pixels", lambda x, w: conv2d_loops(x, w, padding=1), 1),
             ("2. one matmul per kernel offset",
              lambda x, w: conv2d_per_offset(x, w, padding=1), 3),
             ("3. strided im2col + one matmul", lambda x, w: conv2d_im2col(x, w, padding=1), 3),
             ("4. library op, 'reference' (NumPy)", library("reference"), 5),
             ("4. library op, 'numba' (fast kernels)", library("numba"), 5)]
    library("numba")(x, w)  # compile (or load from the disk cache) before timing
    timings, previous = {}, None
    for name, function, repeats in steps:
        y, seconds = timed(function, x, w, repeats=repeats)
        timings[name] = seconds
        if previous is not None:
            check(np.allclose(y, previous, rtol=1e-10, atol=1e-10),
                  f"{name:40s} {seconds * 1e3:9.2f} ms, equal to the step before")
        else:
            print(f"  {name:46s} {seconds * 1e3:9.2f} ms")
        previous = y
    print(f"   implementations registered for conv2d: {registry.implementations('conv2d')}; "
          f"the last call ran {registry.last_used('conv2d')!r}")
    loops, best = timings[steps[0][0]], min(timings.values())
    print(f"   from loops to the fastest: {loops / best:,.0f}x")

    print("\n   the strided view copies nothing; the matrix it becomes does:")
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = patches_view(x_pad, 3, 3, H, H, 1, 1)
    print(f"   x_pad {x_pad.shape} strides {x_pad.strides} bytes")
    print(f"   patches {patches.shape} strides {patches.strides}")
    check(np.shares_memory(patches, x_pad), "the patches view shares x_pad's memory")
    print(f"   as a matrix: {patches.size:,} numbers for an input of {x.size:,} "
          f"({patches.size / x.size:.1f}x = R S / stride^2): memory is im2col's price")

    print("\n   stride, padding and dilation change only which grid the windows sit on:")
    small_x, small_w = x[:1, :, :9, :9], w
    for stride, padding, dilation in ((2, 1, 1), (1, 2, 2), (3, 0, 1), (2, 3, 2)):
        loops_y = conv2d_loops(small_x, small_w, stride, padding, dilation)
        im2col_y = conv2d_im2col(small_x, small_w, stride, padding, dilation)
        library_y = F.conv2d(mc.tensor(small_x), mc.tensor(small_w), stride=stride,
                             padding=padding, dilation=dilation).numpy()
        check(np.allclose(loops_y, im2col_y) and np.allclose(loops_y, library_y),
              f"stride {stride} padding {padding} dilation {dilation}: 9x9 -> "
              f"{loops_y.shape[2]}x{loops_y.shape[3]}, loops = im2col = library")
    return timings


def section_gradients(fast):
    print("\n5. The gradient of a convolution is a convolution")
    rng = np.random.default_rng(1)
    x = mc.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((5, 3, 4, 4)), requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)                # (2, 5, 4, 4): k4 s2 p1 halves
    g = mc.tensor(rng.standard_normal(y.shape))            # some upstream gradient dL/dy
    grad_x, grad_w = mc.grad(y, [x, w], g)
    transposed = F.conv_transpose2d(g, w, stride=2, padding=1)  # (2, 3, 8, 8): doubles
    check(np.allclose(grad_x.numpy(), transposed.numpy()),
          f"dL/dx = conv_transpose2d(dL/dy, w): {tuple(g.shape)} -> {tuple(transposed.shape)}")
    check(np.allclose(grad_w.numpy(), conv2d_weight(x, w.shape, g, stride=2, padding=1).numpy()),
          "dL/dw = conv2d_weight(x, w.shape, dL/dy)")
    print("   conv_transpose2d with k4 s2 p1 turns 4x4 into 8x8: every input pixel paints a")
    print("   w-weighted 4x4 stamp, stamps 2 apart (the DCGAN generator's upsampling)")
    tiny_x = mc.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    tiny_w = mc.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    for name, fn in (("conv2d", lambda a, b: F.conv2d(a, b, stride=2, padding=1)),
                     ("conv_transpose2d", lambda a, b: F.conv_transpose2d(
                         a, b.permute(1, 0, 2, 3), stride=2, padding=1, output_padding=1))):
        check(gradcheck(fn, [tiny_x, tiny_w]) and gradgradcheck(fn, [tiny_x, tiny_w]),
              f"{name}: gradcheck and gradgradcheck (second derivatives) pass")


def draw(digit, timings, filename):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kernels = {
        "vertical edges (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "horizontal edges (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "curvature (Laplacian)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "blur (3x3 box)": [[1 / 9] * 3] * 3,
    }
    x = mc.tensor(digit.reshape(1, 1, 28, 28).astype(np.float32))
    w = mc.tensor(np.array(list(kernels.values()), dtype=np.float32).reshape(4, 1, 3, 3))
    maps = F.conv2d(x, w, padding=1).numpy()[0]                      # (4, 28, 28)
    down = F.conv2d(x, mc.ones((1, 1, 4, 4)) / 16, stride=2, padding=1)  # (1, 1, 14, 14)
    up = F.conv_transpose2d(down, mc.ones((1, 1, 4, 4)) / 4, stride=2, padding=1)

    figure = Figure(figsize=(15, 5.6))
    FigureCanvasAgg(figure)
    panels = [("digit 28x28", x.numpy()[0, 0], "gray")]
    # signed responses in red (+) and blue (-); the blur is an image again
    panels += [(name, image, "RdBu_r" if image.min() < 0 else "gray")
               for name, image in zip(kernels, maps)]
    panels += [("conv k4 s2 p1 (average)\n28x28 -> 14x14", down.numpy()[0, 0], "gray"),
               ("conv_transpose k4 s2 p1\n14x14 -> 28x28", up.numpy()[0, 0], "gray")]
    for i, (title, image, cmap) in enumerate(panels):
        axes = figure.add_subplot(2, 7, i + 1)
        if cmap == "RdBu_r":
            limit = np.abs(image).max()
            axes.imshow(image, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            axes.imshow(image, cmap=cmap)
        axes.set_title(title, fontsize=8)
        axes.axis("off")
    axes = figure.add_subplot(2, 1, 2)
    names = list(timings)
    axes.barh(range(len(names)), [timings[n] * 1e3 for n in names], color="tab:blue")
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("milliseconds (log scale)")
    axes.set_title("the same convolution, four ways", fontsize=9)
    figure.tight_layout()
    figure.savefig(filename, dpi=100)


def main(argv=None):
    args = parse_args(__doc__, argv)
    timings = section_four_ways(args.fast)
    section_gradients(args.fast)

    from minicnn.data import load_mnist5k

    digit = load_mnist5k(dtype=np.float32).test_images[0, 0]
    draw(digit, timings, args.out / "03_convolution.png")
    print(f"\nPicture: {args.out / '03_convolution.png'}")


if __name__ == "__main__":
    main()
