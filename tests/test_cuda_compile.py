"""The CUDA C kernels without a GPU: compiled by nvcc, and *run* on the CPU by a tiny emulator.

1. ``nvcc -ptx`` (and ``-cubin`` for the register report) of every ``kernels/*.cu`` in every
   tile configuration the launcher uses; skipped where nvcc is missing.
2. CPU emulation (skipped where g++ is missing): ``CUDA_ON_CPU`` below defines CUDA's
   keywords for g++ — each block runs on its own, its threads are ``std::thread``s,
   ``__syncthreads()`` is a ``std::barrier`` and ``__shared__`` arrays are ``static`` (one copy,
   shared by the block's threads; blocks run one after another). The kernels then run
   unchanged with the grid, block and int arguments that ``kernels/cuda_c_host.py``'s
   launch plans compute, on tiny shapes that do not divide the tiles, and are compared with
   the float64 references of ``tests/conv_reference.py``. This checks the CUDA C index math,
   bounds, and the launch plans; it cannot check speed, memory coalescing or races that only
   real hardware scheduling would show.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conv_reference as ref  # noqa: E402

from minicnn.geometry import conv_transpose_output_shape  # noqa: E402
from minicnn.kernels import cuda_c_host  # noqa: E402

KERNELS = cuda_c_host.KERNEL_DIR

NVCC = shutil.which("nvcc")


def _ptxas():
    """ptxas next to nvcc (following nvcc's symbolic link) or on the PATH."""
    candidates = [shutil.which("ptxas")]
    if NVCC:
        candidates += [os.path.join(os.path.dirname(os.path.realpath(NVCC)), "ptxas")]
    return next((c for c in candidates if c and os.path.exists(c)), None)


PTXAS = _ptxas()
GXX = shutil.which("g++")
SOURCES = sorted(name for name in os.listdir(KERNELS) if name.endswith(".cu"))
TILED_SOURCE = "conv_implicit_gemm.cu"
ARCH = "sm_90"   # H100 / H200


def _compile_variants():
    for source in SOURCES:
        if source == TILED_SOURCE:
            for tile in cuda_c_host.CUDA_C_TILES:
                yield source, tile
        else:
            yield source, None


def test_every_cu_file_is_checked():
    assert TILED_SOURCE in SOURCES and "im2col.cu" in SOURCES


@pytest.mark.skipif(NVCC is None, reason="nvcc not installed")
@pytest.mark.parametrize("source, tile", list(_compile_variants()))
def test_nvcc_ptx(source, tile, tmp_path):
    options = cuda_c_host.tile_options(tile) if tile else []
    command = [NVCC, "-ptx", f"-arch={ARCH}", "--std=c++17", *options,
               os.path.join(KERNELS, source), "-o", str(tmp_path / "out.ptx")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    for kernel in _kernel_names(source):
        assert f".entry {kernel}(" in ptx, f"kernel {kernel} missing from the PTX of {source}"


@pytest.mark.skipif(NVCC is None, reason="nvcc not installed")
@pytest.mark.parametrize("tile", ["64x64", "128x128"])
def test_tiled_kernels_do_not_spill_registers(tile, tmp_path):
    """Register blocking only pays if the accumulators stay in registers (ptxas report)."""
    command = [NVCC, "-cubin", f"-arch={ARCH}", "--std=c++17", "-Xptxas", "-v",
               *cuda_c_host.tile_options(tile), os.path.join(KERNELS, TILED_SOURCE),
               "-o", str(tmp_path / "out.cubin")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    spills = [line for line in result.stderr.splitlines() if "spill" in line]
    assert spills and all(" 0 bytes spill stores, 0 bytes spill loads" in line
                          for line in spills), result.stderr


def _kernel_names(source):
    text = open(os.path.join(KERNELS, source), encoding="utf-8").read()
    pattern = r'extern "C" __global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\('
    return re.findall(pattern, text)


# ----------------------------------------------------------------------------- CPU emulation

CUDA_ON_CPU = r"""
// Just enough CUDA for g++: blocks one after another, threads as std::thread.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

struct dim3 { unsigned x = 1, y = 1, z = 1; };
static thread_local dim3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;
static std::barrier<>* block_barrier = nullptr;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) int4 { int x, y, z, w; };
inline void __syncthreads() { block_barrier->arrive_and_wait(); }
using std::max;
using std::min;

template <class Kernel>
void launch(dim3 grid, dim3 block, Kernel kernel)
{
    gridDim = grid;
    blockDim = block;
    const unsigned threads = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                std::barrier<> barrier(threads);
                block_barrier = &barrier;
                std::vector<std::thread> pool;
                for (unsigned t = 0; t < threads; ++t)
                    pool.emplace_back([=] {
                        blockIdx = {bx, by, bz};
                        threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        kernel();
                    });
                for (auto& thread : pool) thread.join();
            }
}
"""

# driver: reads "kernel gx gy gz bx by bz n_ints ints... n_arrays (size path)..." from argv,
# loads the arrays (4-byte elements: float32, or the int32 offset tables), launches, writes
# every array back to its file.
DRIVER = r"""
#include "cuda_on_cpu.h"
#include KERNEL_SOURCE

// an array argument: converts to whichever element pointer the kernel takes
struct Array {
    float* data;
    template <class T> operator T*() const { return reinterpret_cast<T*>(data); }
};

int main(int argc, char** argv)
{
    int a = 1;
    std::string name = argv[a++];
    dim3 grid, block;
    grid.x = atoi(argv[a++]); grid.y = atoi(argv[a++]); grid.z = atoi(argv[a++]);
    block.x = atoi(argv[a++]); block.y = atoi(argv[a++]); block.z = atoi(argv[a++]);
    std::vector<int> I(atoi(argv[a++]));
    for (int& value : I) value = atoi(argv[a++]);
    const int arrays = atoi(argv[a++]);
    std::vector<std::vector<float>> data(arrays);
    std::vector<std::string> paths(arrays);
    for (int i = 0; i < arrays; ++i) {
        data[i].resize(atol(argv[a++]));
        paths[i] = argv[a++];
        FILE* file = fopen(paths[i].c_str(), "rb");
        if (fread(data[i].data(), sizeof(float), data[i].size(), file) != data[i].size()) return 3;
        fclose(file);
    }
    Array A[8] = {};
    for (int i = 0; i < arrays; ++i) A[i].data = data[i].data();
    KERNEL_CALLS
    else { fprintf(stderr, "unknown kernel %s\n", name.c_str()); return 2; }
    for (int i = 0; i < arrays; ++i) {
        FILE* file = fopen(paths[i].c_str(), "wb");
        fwrite(data[i].data(), sizeof(float), data[i].size(), file);
        fclose(file);
    }
    return 0;
}
"""

# kernel -> (number of array arguments, number of int arguments)
SIGNATURES = {
    "conv2d_forward": (5, 19), "conv2d_input_grad": (4, 19), "conv2d_weight_grad": (4, 18),
    "im2col": (2, 14), "col2im": (2, 14),
}


def _calls(source):
    lines = []
    for i, kernel in enumerate(_kernel_names(source)):
        arrays, ints = SIGNATURES[kernel]
        arguments = [f"A[{j}]" for j in range(arrays)] + [f"I[{j}]" for j in range(ints)]
        keyword = "if" if i == 0 else "else if"
        lines.append(f'{keyword} (name == "{kernel}") launch(grid, block, [&] {{ '
                     f'{kernel}({", ".join(arguments)}); }});')
    return " ".join(lines)


@functools.lru_cache(maxsize=None)
def _emulator(source, tile, build_dir):
    """Compile kernels/<source> (+ tile macros) into a CPU program; returns its path."""
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, "cuda_on_cpu.h"), "w") as file:
        file.write(CUDA_ON_CPU)
    driver = os.path.join(build_dir, "driver.cpp")
    with open(driver, "w") as file:
        file.write(DRIVER.replace("KERNEL_CALLS", _calls(source)))
    program = os.path.join(build_dir, f"{source}.{tile or 'plain'}.bin")
    options = cuda_c_host.tile_options(tile) if tile else []
    command = [GXX, "-std=c++20", "-O1", "-pthread", "-w", f"-I{build_dir}",
               f'-DKERNEL_SOURCE="{os.path.join(KERNELS, source)}"', *options, driver,
               "-o", program]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return program


def _run(program, plan, arrays, tmp_path):
    paths = []
    if plan.kernel in ("conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad"):
        # the offset table goes before the output, as cuda_c_host._run_plan passes it
        table = cuda_c_host.launch_table(plan.kernel, plan.ints).view(np.float32)
        arrays = list(arrays[:-1]) + [table, arrays[-1]]
    for i, array in enumerate(arrays):
        path = tmp_path / f"array{i}.bin"
        np.ascontiguousarray(array, dtype=np.float32).tofile(path)
        paths.append(path)
    grid = tuple(plan.grid) + (1,) * (3 - len(plan.grid))
    block = tuple(plan.block) + (1,) * (3 - len(plan.block))
    argv = [program, plan.kernel, *map(str, grid), *map(str, block), str(len(plan.ints)),
            *map(str, plan.ints), str(len(arrays))]
    for array, path in zip(arrays, paths):
        argv += [str(array.size), str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [np.fromfile(path, np.float32).reshape(array.shape) for array, path in
            zip(arrays, paths)]


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=5e-5, atol=5e-5, err_msg=what)


needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ not installed")

# (N, C, H, W, K, R, S, stride, padding, dilation, groups), none dividing the tiles
CONFIGS = [
    (2, 3, 7, 6, 10, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (2, 4, 9, 7, 6, 3, 2, (2, 1), (1, 0), (1, 2), 2),
    (1, 6, 9, 8, 9, 4, 4, (2, 2), (1, 1), (1, 1), 3),
    (2, 2, 9, 7, 3, 3, 2, (2, 2), (1, 0), (2, 1), 1),
]
EMULATED_TILES = ["16x16", "64x64"]


def _arrays(config, seed):
    N, C, H, W, K, R, S, stride, padding, dilation, groups = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C // groups, R, S)).astype(np.float32)
    b = rng.standard_normal(K).astype(np.float32)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = ref.conv2d_reference(x.astype(np.float64), w.astype(np.float64), None, **geometry)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    return x, w, b, dy, geometry


@needs_gxx
@pytest.mark.parametrize("tile, index", [(tile, index) for tile in EMULATED_TILES
                                         for index in range(len(CONFIGS))]
                         + [("128x128", 2), ("128x64", 1), ("64x128", 3)])
def test_emulated_implicit_gemm(tile, index, tmp_path):
    program = _emulator(TILED_SOURCE, tile, str(tmp_path.parent / "emulator"))
    x, w, b, dy, geometry = _arrays(CONFIGS[index], seed=index)
    x64, w64, dy64 = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    g = geometry
    args = (g["stride"], g["padding"], g["dilation"], g["groups"])

    for splits in (1, 3):
        plan = cuda_c_host.forward_plan(x.shape, w.shape, *args, has_bias=True, tile=tile,
                                        splits=splits)
        partial = np.full(plan.out_shape, np.nan, np.float32)
        *_, partial = _run(program, plan, [x, w, b, partial], tmp_path)
        _close(partial.astype(np.float64).sum(axis=0),
               ref.conv2d_reference(x64, w64, b.astype(np.float64), **geometry),
               f"forward, {splits} splits")

    plan = cuda_c_host.input_grad_plan(dy.shape, w.shape, x.shape, *args, tile=tile)
    dx = np.full(plan.out_shape, np.nan, np.float32)
    *_, dx = _run(program, plan, [dy, w, dx], tmp_path)
    _close(dx, ref.conv2d_input_grad_reference(dy64, w64, x.shape, **geometry), "input grad")

    for splits in (1, 3):
        plan = cuda_c_host.weight_grad_plan(x.shape, dy.shape, w.shape, *args, tile=tile,
                                            splits=splits, multiprocessors=4)
        partial = np.full(plan.out_shape, np.nan, np.float32)
        *_, partial = _run(program, plan, [x, dy, partial], tmp_path)
        _close(partial.astype(np.float64).sum(axis=0),
               ref.conv2d_weight_grad_reference(x64, dy64, w.shape, **geometry),
               f"weight grad, {splits} splits")


@needs_gxx
def test_emulated_conv_transpose_with_output_padding(tmp_path):
    """conv_transpose2d = the input-gradient kernel on an output_padding-enlarged shape."""
    program = _emulator(TILED_SOURCE, "16x16", str(tmp_path.parent / "emulator"))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 3, 4)).astype(np.float32)            # (N, C_in, H, W)
    w = rng.standard_normal((4, 3, 4, 4)).astype(np.float32)            # (C_in, C_out/g, R, S)
    stride, padding, output_padding, groups, dilation = (2, 2), (1, 1), (1, 0), 2, (1, 1)
    shape = conv_transpose_output_shape(x.shape, w.shape, stride, padding, output_padding,
                                        groups, dilation)
    plan = cuda_c_host.input_grad_plan(x.shape, w.shape, shape, stride, padding, dilation,
                                       groups, tile="16x16")
    *_, y = _run(program, plan, [x, w, np.full(shape, np.nan, np.float32)], tmp_path)
    _close(y, ref.conv2d_input_grad_reference(x.astype(np.float64), w.astype(np.float64),
                                              shape, stride, padding, dilation, groups),
           "conv_transpose2d")


@needs_gxx
@pytest.mark.parametrize("index", range(len(CONFIGS)))
def test_emulated_im2col_col2im(index, tmp_path):
    """im2col.cu writes the GEMM layout (C*R*S, N*P*Q); col2im.cu is its adjoint."""
    program = _emulator("im2col.cu", None, str(tmp_path.parent / "emulator"))
    x, w, _, _, geometry = _arrays(CONFIGS[index], seed=10 + index)
    kernel = w.shape[2:]
    g = dict(stride=geometry["stride"], padding=geometry["padding"],
             dilation=geometry["dilation"])
    unfolded = ref.im2col_reference(x.astype(np.float64), kernel, **g)     # (N, CRS, PQ)
    expected = unfolded.transpose(1, 0, 2).reshape(unfolded.shape[1], -1)

    plan = cuda_c_host.im2col_plan(x.shape, kernel, g["stride"], g["padding"], g["dilation"])
    *_, cols = _run(program, plan, [x, np.full(plan.out_shape, np.nan, np.float32)], tmp_path)
    _close(cols, expected, "im2col")

    gemm_cols = np.random.default_rng(index).standard_normal(expected.shape).astype(np.float32)
    plan = cuda_c_host.im2col_plan(x.shape, kernel, g["stride"], g["padding"], g["dilation"],
                                   kernel="col2im")
    *_, back = _run(program, plan, [gemm_cols, np.full(x.shape, np.nan, np.float32)], tmp_path)
    N, CRS, PQ = unfolded.shape
    as_unfolded = gemm_cols.astype(np.float64).reshape(CRS, N, PQ).transpose(1, 0, 2)
    _close(back, ref.col2im_reference(as_unfolded, x.shape, kernel, **g), "col2im")


# ----------------------------------------------------------------------------- Numba kernels -> PTX
# The simulator runs the Numba kernels as Python: it cannot tell whether Numba's CUDA
# compiler accepts them (it rejected min(a, b) on ints, for one). ``cuda.compile_ptx`` runs
# that compiler (type inference, lowering, NVVM) without a GPU, for an H100 (sm_90), with the
# argument types the launchers pass (C-contiguous arrays, Python ints and bools, the
# arrays' float type for scalars). ptxas then reports registers and spills.


def _numba_signatures():
    from numba import boolean, float32, float64, int64

    def array(dtype, ndim):
        return dtype[(slice(None),) * (ndim - 1) + (slice(None, None, 1),)]

    from minicnn.kernels import cuda_conv_naive, cuda_elementwise, cuda_im2col, cuda_pool
    from minicnn.kernels.cuda_conv_tiled import DEFAULT_TILE, tiled_kernels
    cases = []
    for dtype, name in ((float32, "float32"), (float64, "float64")):
        A1, A4, A5 = array(dtype, 1), array(dtype, 4), array(dtype, 5)
        tiled = tiled_kernels(DEFAULT_TILE, name)
        cases += [(f"tiled_forward_{name}", tiled.forward,
                   (A4, A4, A1, A4, boolean) + (int64,) * 7, name == "float32"),
                  (f"tiled_input_grad_{name}", tiled.input_grad, (A4, A4, A4) + (int64,) * 9,
                   name == "float32"),
                  (f"tiled_weight_grad_{name}", tiled.weight_grad, (A4, A4, A5) + (int64,) * 9,
                   name == "float32")]
    f1, f3, f4, i4 = array(float32, 1), array(float32, 3), array(float32, 4), array(int64, 4)
    cases += [
        ("naive_conv2d", cuda_conv_naive.conv2d_naive_kernel,
         (f4, f4, f1, f4, boolean) + (int64,) * 7, True),
        ("im2col", cuda_im2col.im2col_kernel, (f4, f3) + (int64,) * 10, False),
        ("col2im", cuda_im2col.col2im_kernel, (f3, f4) + (int64,) * 10, False),
        ("max_pool2d_forward", cuda_pool.max_pool2d_forward_kernel, (f4, f4, i4) + (int64,) * 8,
         False),
        ("max_pool2d_backward", cuda_pool.max_pool2d_backward_kernel,
         (f4, i4, f4) + (int64,) * 8, False),
        ("avg_pool2d_forward", cuda_pool.avg_pool2d_forward_kernel,
         (f4, f4) + (int64,) * 6 + (boolean,), False),
        ("avg_pool2d_backward", cuda_pool.avg_pool2d_backward_kernel,
         (f4, f4) + (int64,) * 6 + (boolean,), False),
        ("leaky_relu", cuda_elementwise.leaky_relu_kernel, (f1, f1, float32), True),
        ("leaky_relu_backward", cuda_elementwise.leaky_relu_backward_kernel,
         (f1, f1, f1, float32), True),
    ]
    return cases


NUMBA_KERNELS = ["tiled_forward_float32", "tiled_input_grad_float32", "tiled_weight_grad_float32",
                 "tiled_forward_float64", "tiled_input_grad_float64", "tiled_weight_grad_float64",
                 "naive_conv2d", "im2col", "col2im", "max_pool2d_forward", "max_pool2d_backward",
                 "avg_pool2d_forward", "avg_pool2d_backward", "leaky_relu", "leaky_relu_backward"]


@pytest.fixture(scope="module")
def numba_compiler():
    """Numba's CUDA compiler for sm_90 without a GPU, or a skip saying why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("numba.cuda is the simulator in this process")
    from numba import cuda, float32
    from numba.core import config
    if config.ENABLE_CUDASIM:
        pytest.skip("numba.cuda is the simulator in this process")
    import numba.cuda.dispatcher as dispatcher

    # Device functions ask the current device for its compute capability; there is none.
    class H100:
        compute_capability = (9, 0)

    patched = hasattr(dispatcher, "get_current_device")
    original = getattr(dispatcher, "get_current_device", None)
    if patched:
        dispatcher.get_current_device = lambda: H100()

    def probe(a):
        a[0] = 1.0
    try:
        cuda.compile_ptx(probe, (float32[::1],), cc=(9, 0))
    except Exception as error:
        if patched:
            dispatcher.get_current_device = original
        pytest.skip(f"Numba cannot compile CUDA here (NVVM/libdevice missing?): {error!r}")
    yield {name: (kernel, signature, float32_only)
           for name, kernel, signature, float32_only in _numba_signatures()}
    if patched:
        dispatcher.get_current_device = original


@pytest.mark.parametrize("name", NUMBA_KERNELS)
def test_numba_kernel_compiles_for_sm90(numba_compiler, name, tmp_path):
    from numba import cuda
    kernel, signature, float32_math = numba_compiler[name]
    ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
    assert ".entry" in ptx
    if float32_math:    # float32 data must not be computed in float64 by accident
        found = re.findall(r"\b(?:fma|mul|add|sub|div)(?:\.rn)?\.f64\b", ptx)
        assert not found, f"float64 arithmetic in a float32 kernel: {found[:5]}"
    if name.startswith("tiled") and PTXAS:
        (tmp_path / "kernel.ptx").write_text(ptx)
        result = subprocess.run([PTXAS, f"-arch={ARCH}", "-v", str(tmp_path / "kernel.ptx"),
                                 "-o", os.devnull], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert " 0 bytes spill stores" in result.stderr, result.stderr
