"""Lesson 15: CUDA kernels — threads, blocks, shared memory, and a convolution built on them.

What you will learn:
  1. How a GPU runs a kernel: one function, executed once per *thread*. Threads come in
     *blocks* (here up to 256) that share a small fast *shared memory* and can wait for each
     other at a barrier (``cuda.syncthreads()``); blocks form the *grid*. A thread finds its
     piece of work from its indices: ``i = blockIdx.x * blockDim.x + threadIdx.x``.
  2. Shared memory and barriers, on the smallest useful example: summing a block's numbers.
  3. The naive convolution kernel (``kernels/cuda_conv_naive.py``): one thread per output
     pixel, every operand read from the slow global memory, as often as it is used.
  4. The tiled implicit-GEMM kernel (``kernels/cuda_conv_tiled.py``): the convolution is a
     matrix product OUT = A @ B whose matrices are never built. A block computes one tile of
     OUT, stages slices of A and B in shared memory so every loaded number is used by many
     threads, and every thread keeps a small block of results in registers.
  5. How a kernel is checked: against the NumPy reference, on shapes that do not divide the
     tile sizes (the edge tiles are where index bugs live).

What to look at: ``lessons/out/15_tiling.png``: left, the implicit GEMM of one convolution with
one block's tile, its slices of A and B and the current depth step; right, which of the
block's 16 x 16 threads computes which output of a 64 x 64 tile (one thread's 16 outputs
marked). And the printed table of which thread handled which element in part 1.

Without a GPU (or with ``--fast``) the kernels run in Numba's CUDA simulator: every thread
is a Python thread, so it is slow and the shapes are tiny, but the indexing, the bounds and
the barriers are exactly those of the GPU. With a GPU (CuPy and Numba's CUDA target), the
same kernels run on a DCGAN layer at batch 64, with timings.

Time: about 20 seconds on a laptop CPU (simulator); with a GPU, under a minute.
Run: ``python lessons/15_cuda_kernels.py [--fast]``
"""
import os
import subprocess
import sys
import time


def _has_gpu() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# The simulator must be chosen before numba is imported (minicnn imports numba).
FAST = "--fast" in sys.argv or os.environ.get("MINICNN_FAST") == "1"
SIMULATOR = FAST or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not _has_gpu()
if SIMULATOR:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402
from numba import cuda, float32  # noqa: E402

from minicnn.kernels import cuda_c_host, cuda_conv_naive, cuda_conv_tiled  # noqa: E402
from minicnn.kernels.cuda_runtime import THREADS_PER_BLOCK  # noqa: E402
from minicnn.kernels.cuda_conv_tiled import DEFAULT_TILE, SMALL_TILE  # noqa: E402
from minicnn.lesson import check, parse_args  # noqa: E402
from minicnn.ops.conv import conv2d_reference  # noqa: E402


# ----------------------------------------------------------------------------- 1. threads, blocks
@cuda.jit
def where_am_i(block_of, thread_of, element_of):
    """Each thread writes down who it is, in the slot of the element it owns."""
    i = cuda.grid(1)                  # = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < element_of.size:           # the last block may have more threads than elements
        block_of[i] = cuda.blockIdx.x
        thread_of[i] = cuda.threadIdx.x
        element_of[i] = i


# ----------------------------------------------------------------------------- 2. shared memory
THREADS = 8


@cuda.jit
def block_sums(x, sums):
    """sums[b] = x[b*THREADS : (b+1)*THREADS].sum(), by halving in shared memory.

    Step 1: every thread copies its number into the block's shared array.
    Step 2: in log2(THREADS) rounds, thread t adds the number `half` places to its right;
    each round halves the live part. Between rounds, everybody must wait
    (``syncthreads``): without the barrier a thread could read a neighbour's slot before
    the neighbour has written it.
    """
    shared = cuda.shared.array(THREADS, float32)   # one copy per block, visible to its threads
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    shared[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    half = THREADS // 2
    while half > 0:
        if t < half:
            shared[t] += shared[t + half]
        cuda.syncthreads()
        half //= 2
    if t == 0:
        sums[cuda.blockIdx.x] = shared[0]


def to_device(array):
    """NumPy in the simulator, CuPy on a GPU."""
    if SIMULATOR:
        return array
    import cupy
    return cupy.asarray(array)


def to_host(array):
    if SIMULATOR:
        return np.asarray(array)
    import cupy
    return cupy.asnumpy(array)


def part_threads():
    print("1. Threads and blocks: 10 elements, blocks of 4 threads -> a grid of 3 blocks")
    n, per_block = 10, 4
    blocks = (n + per_block - 1) // per_block
    block_of, thread_of, element_of = (to_device(np.full(n, -1, np.int64)) for _ in range(3))
    where_am_i[blocks, per_block](block_of, thread_of, element_of)
    block_of, thread_of, element_of = map(to_host, (block_of, thread_of, element_of))
    print("   element i :", " ".join(f"{i:2d}" for i in range(n)))
    print("   blockIdx  :", " ".join(f"{b:2d}" for b in block_of))
    print("   threadIdx :", " ".join(f"{t:2d}" for t in thread_of))
    print("   (the last block's threads 2 and 3 found no element and did nothing)")
    check(np.array_equal(element_of, np.arange(n)), "every element owned by exactly one thread, "
          "i = blockIdx * blockDim + threadIdx")

    print("\n2. Shared memory and the barrier: a sum per block of 8 threads")
    x = np.random.default_rng(0).standard_normal(29).astype(np.float32)
    sums = to_device(np.zeros(4, np.float32))
    block_sums[4, THREADS](to_device(x), sums)
    expected = [x[b * THREADS:(b + 1) * THREADS].sum() for b in range(4)]
    print("   kernel:", np.round(to_host(sums), 4), " NumPy:", np.round(expected, 4))
    check(np.allclose(to_host(sums), expected, atol=1e-5), "block sums match NumPy")


# ----------------------------------------------------------------------------- 3. the picture
def draw_tiling(filename, tile=DEFAULT_TILE):
    """Left: OUT = A @ B of a conv with one block's tile; right: thread ownership in a tile."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    figure = Figure(figsize=(13, 6))
    FigureCanvasAgg(figure)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)

    # Schematic (not to scale): A rows x depth at the left, B depth x columns on top.
    rows, depth, columns = 6.0, 4.0, 9.0
    bm, bn, bk = 1.5, 1.5, 0.5           # the block tile and one depth step
    row0, col0, d0 = 3.0, 4.5, 1.5
    a_x, b_y = 0.0, rows + 0.6          # A spans x in [0, depth]; B spans y above OUT
    out_x = depth + 0.6
    shapes = [  # (x, y, width, height, face, label)
        (a_x, 0, depth, rows, "#eeeeee", None), (out_x, b_y, columns, depth, "#eeeeee", None),
        (out_x, 0, columns, rows, "#eeeeee", None),
        (a_x, rows - row0 - bm, depth, bm, "#c6dbef", None),                 # A's row panel
        (out_x + col0, b_y, bn, depth, "#c6dbef", None),                      # B's column panel
        (a_x + d0, rows - row0 - bm, bk, bm, "#3182bd", None),                # A slice in smem
        (out_x + col0, b_y + depth - d0 - bk, bn, bk, "#3182bd", None),       # B slice in smem
        (out_x + col0, rows - row0 - bm, bn, bm, "#fd8d3c", None),            # OUT tile
    ]
    for x, y, w, h, face, _ in shapes:
        left.add_patch(Rectangle((x, y), w, h, facecolor=face, edgecolor="black", lw=1))
    left.text(depth / 2, -0.15, "A = weights\n(K/groups rows,\ndepth C/groups x R x S)",
              ha="center", va="top", fontsize=8)
    left.text(out_x + columns / 2, b_y + depth + 0.25,
              "B = input patches, gathered on the fly  (depth x columns = N x P x Q)",
              ha="center", fontsize=8)
    left.text(out_x + columns / 2, -0.15, "OUT = y  (rows x columns)", ha="center", va="top",
              fontsize=8)
    left.annotate(f"one block: a {tile.block_m} x {tile.block_n} tile of OUT",
                  (out_x + col0 + bn, rows - row0 - bm / 2), (out_x + col0 + bn + 0.4, 1.0),
                  fontsize=8, arrowprops=dict(arrowstyle="->"))
    left.annotate(f"this step's slices ({tile.block_k} deep), copied to shared memory",
                  (a_x + d0 + bk / 2, rows - row0), (0.2, rows + 1.6), fontsize=8,
                  arrowprops=dict(arrowstyle="->"))
    left.set_xlim(-0.5, out_x + columns + 0.5)
    left.set_ylim(-1.6, b_y + depth + 0.8)
    left.set_aspect("equal")
    left.axis("off")
    left.set_title("Implicit GEMM: the block walks the depth, one slice at a time", fontsize=10)

    # Right: owner of every output of one tile: thread (ty, tx) owns rows ty + i*THREADS_M and
    # columns tx + j*THREADS_N, so neighbouring threads touch neighbouring addresses.
    from matplotlib.colors import ListedColormap
    m = np.arange(tile.block_m).reshape(-1, 1) % tile.threads_m
    n = np.arange(tile.block_n).reshape(1, -1) % tile.threads_n
    ty, tx = 1, 2
    picture = np.where((m == ty) & (n == tx), 1, np.where((m == ty) & (n == tx + 1), 2, 0))
    right.imshow(picture, cmap=ListedColormap(["white", "black", "tab:red"]),
                 interpolation="nearest")
    for k in range(0, tile.block_m + 1, tile.threads_m):   # each square: every thread once
        right.axhline(k - 0.5, color="gray", lw=0.8)
    for k in range(0, tile.block_n + 1, tile.threads_n):
        right.axvline(k - 0.5, color="gray", lw=0.8)
    right.set_title(f"One {tile.block_m} x {tile.block_n} tile, {tile.threads_m} x "
                    f"{tile.threads_n} threads, {tile.thread_m} x {tile.thread_n} outputs each "
                    f"(in registers).\nBlack: thread (ty={ty}, tx={tx}); red: its neighbour "
                    f"tx={tx + 1}. Every gray square holds\none output of every thread, so "
                    f"neighbouring threads read and write neighbouring addresses.", fontsize=8)
    right.set_xlabel("tile column (n, p, q)")
    right.set_ylabel("tile row (output channel k)")
    figure.tight_layout()
    figure.savefig(filename, dpi=100)
    return filename


# ----------------------------------------------------------------------------- 4. the conv kernels
def reference(x, w, stride, padding):
    """The NumPy reference of minicnn/ops/conv.py (lesson 03), in float64."""
    return conv2d_reference(x.astype(np.float64), w.astype(np.float64), (stride, stride),
                            (padding,) * 4, (1, 1), 1)


def relative_error(actual, expected):
    return float(np.abs(to_host(actual) - expected).max() / np.abs(expected).max())


def time_ms(function, repeats=10):
    """Median GPU milliseconds of function() (CUDA events), after a warm-up call."""
    import cupy
    function()
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        function()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def part_convolution():
    if SIMULATOR:   # tiny, and not multiples of the tiles, so the edge tiles are exercised
        N, C, H, K, stride, padding, tile = 2, 3, 9, 10, 2, 1, SMALL_TILE
    else:           # the DCGAN discriminator's second layer at batch 64
        N, C, H, K, stride, padding, tile = 64, 64, 32, 128, 2, 1, DEFAULT_TILE
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((K, C, 4, 4)) / np.sqrt(C * 16)).astype(np.float32)
    expected = reference(x, w, stride, padding)
    P = expected.shape[2]
    xd, wd = to_device(x), to_device(w)
    print(f"\n4. conv2d of x {x.shape} with w {w.shape}, stride {stride}, padding {padding} "
          f"-> y {expected.shape}")

    print("   naive kernel: one thread per output, "
          f"{N * K * P * P} threads in blocks of {THREADS_PER_BLOCK}")
    y = cuda_conv_naive.conv2d_naive_numba(xd, wd, stride, padding)
    error = relative_error(y, expected)
    check(error < 1e-4, f"naive kernel matches NumPy (relative error {error:.1e})")

    rows, cols, depth = K, N * P * P, C * 16
    grid = ((cols + tile.block_n - 1) // tile.block_n, (rows + tile.block_m - 1) // tile.block_m)
    print(f"\n5. tiled implicit GEMM: OUT ({rows} x {cols}) = A ({rows} x {depth}) @ "
          f"B ({depth} x {cols});")
    print(f"   tiles of {tile.block_m} x {tile.block_n} -> a grid of {grid[0]} x {grid[1]} "
          f"blocks of {tile.threads_m * tile.threads_n} threads, {tile.block_k} deep per step")
    y = cuda_conv_tiled.conv2d_numba(xd, wd, stride, padding, tile=tile)
    error = relative_error(y, expected)
    check(error < 1e-4, f"tiled kernel matches NumPy (relative error {error:.1e})")

    dy = rng.standard_normal(expected.shape).astype(np.float32)
    dx = cuda_conv_tiled.conv2d_input_grad_numba(to_device(dy), wd, x.shape, stride, padding,
                                                 tile=tile)
    from minicnn.ops.conv import conv2d_input_grad_reference
    dx_expected = conv2d_input_grad_reference(dy.astype(np.float64), w.astype(np.float64),
                                              (H, H), (stride,) * 2, (padding,) * 4, (1, 1), 1)
    error = relative_error(dx, dx_expected)
    check(error < 1e-4, f"its input gradient (= conv_transpose2d) matches too ({error:.1e})")

    if SIMULATOR:
        print("   (simulator: no timings; run with a GPU for them)")
        return
    flops = 2.0 * rows * cols * depth
    print("\n   timings on the GPU (median of 10, CUDA events):")
    for name, function in [
            ("naive (Numba)", lambda: cuda_conv_naive.conv2d_naive_numba(xd, wd, stride,
                                                                         padding)),
            ("tiled (Numba)", lambda: cuda_conv_tiled.conv2d_numba(xd, wd, stride, padding)),
            ("tiled (CUDA C)", lambda: cuda_c_host.conv2d_cuda_c(xd, wd, stride, padding)),
            ("im2col + cuBLAS", lambda: cuda_c_host.conv2d_im2col_cublas(xd, wd, stride,
                                                                         padding))]:
        try:
            ms = time_ms(function)
            print(f"   {name:16s} {ms:8.3f} ms   {flops / ms / 1e9:7.2f} TFLOP/s")
        except Exception as error:  # e.g. a CUDA C compile problem: show it, keep going
            print(f"   {name:16s} failed: {type(error).__name__}: {error}")


def main(argv=None):
    args = parse_args(__doc__, argv)
    if not SIMULATOR and not cuda.is_available():
        print("CuPy sees a GPU but Numba cannot launch on it; rerunning in the simulator.")
        env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        raise SystemExit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    print("Running on", "Numba's CUDA simulator (threads are Python threads)" if SIMULATOR
          else f"the GPU ({cuda.get_current_device().name})")
    start = time.perf_counter()
    part_threads()
    filename = draw_tiling(args.out / "15_tiling.png")
    print(f"\n3. The picture of the tiling: {filename}")
    part_convolution()
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")


if __name__ == "__main__":
    main()
