"""Kernel cases run inside Numba's CUDA simulator (a separate Python process).

``NUMBA_ENABLE_CUDASIM=1`` only takes effect if it is set before numba is imported,
and the pytest process has usually imported numba already. So
``tests/test_cuda_kernels.py`` runs this file as a script, one kernel family per
process, and reads one JSON line per case::

    python tests/cudasim_cases.py conv_forward      # one family
    python tests/cudasim_cases.py --list            # the families

Every case runs a Numba CUDA kernel (through its launcher, beside it in ``kernels/cuda_*.py``)
on tiny float32 shapes that do not divide the tile sizes, with stride, padding, dilation
and groups, and compares it with the project's NumPy reference (``minicnn/ops``) in
float64: the launchers take exactly the references' signatures, so both are called with
the same arguments. The simulator runs each CUDA thread as a Python thread: it checks
indexing, bounds and barriers, not speed.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

os.environ["NUMBA_ENABLE_CUDASIM"] = "1"          # before anything imports numba

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import conv_reference  # noqa: E402  (this script's folder, tests/, is on sys.path)
from minicnn.geometry import conv_transpose_output_shape, padding4, pair  # noqa: E402
from minicnn.ops.conv import (conv2d_input_grad_reference, conv2d_reference,  # noqa: E402
                              conv2d_weight_grad_reference)
from minicnn.ops.pool import (avg_pool2d_backward_reference, avg_pool2d_reference,  # noqa: E402
                              max_pool2d_backward_reference, max_pool2d_reference)

# im2col/col2im in unfold's layout: the project has no reference by that name
im2col_reference = conv_reference.im2col_reference
col2im_reference = conv_reference.col2im_reference

# (N, C, H, W, K, R, S, stride, padding, dilation, groups): none divides the tiles
# (SMALL_TILE is 8 rows x 16 columns x 4 deep; DEFAULT_TILE 64 x 64 x 8).
CONV_CONFIGS = [
    (2, 10, 5, 4, 10, 2, 3, (1, 1), (1, 1), (1, 1), 1),  # 2 row tiles (K_g = C_g = 10 > 8)
    (2, 4, 9, 7, 6, 3, 2, (2, 1), (1, 0), (1, 2), 2),    # groups, mixed stride/dilation
    (1, 6, 7, 6, 9, 4, 4, (2, 2), (1, 1), (1, 1), 3),    # DCGAN-like k4 s2 p1, 3 groups
    (3, 2, 5, 9, 3, 2, 3, (3, 2), (0, 1, 2, 0), (2, 1), 1),  # stride 3, uneven padding
                                                          # (top, bottom, left, right)
    (2, 2, 9, 7, 3, 3, 2, (2, 2), (1, 0), (2, 1), 1),    # stride 2 = dilation 2: some pixels
                                                          # get no tap (zero gradient)
    (1, 4, 6, 5, 4, 1, 1, (1, 1), (0, 0), (1, 1), 4),    # depthwise 1x1
]

# for the production tile (256 threads a block, slow in the simulator): few blocks, stride 2
DEFAULT_TILE_CONFIG = (1, 4, 7, 6, 5, 4, 4, (2, 2), (1, 1), (1, 1), 1)


def random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check(actual, expected, what, rtol=2e-5, atol=2e-5):
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        raise AssertionError(f"{what}: non-finite values (an element was never written?)")
    error = np.abs(actual.astype(np.float64) - expected)
    limit = atol + rtol * np.abs(expected)
    if np.any(error > limit):
        worst = np.unravel_index(np.argmax(error - limit), error.shape)
        raise AssertionError(f"{what}: max error {error.max():.3g} at {worst}: got "
                             f"{actual[worst]!r}, expected {expected[worst]!r}")


def conv_arrays(config, seed=0):
    """x, w and the geometry in the references' (and kernels') convention."""
    N, C, H, W, K, R, S, stride, padding, dilation, groups = config
    x = random((N, C, H, W), seed)
    w = random((K, C // groups, R, S), seed + 1)
    return x, w, dict(stride=pair(stride, "stride"), padding=padding4(padding),
                      dilation=pair(dilation, "dilation"), groups=groups)


def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def launchers(module):
    import importlib
    return importlib.import_module(f"minicnn.kernels.{module}")


def tiles():
    from minicnn.kernels.cuda_conv_tiled import DEFAULT_TILE, SMALL_TILE
    return SMALL_TILE, DEFAULT_TILE


# ----------------------------------------------------------------------------- families


def family_im2col():
    L = launchers("cuda_im2col")
    for i, config in enumerate(CONV_CONFIGS):
        x, w, p = conv_arrays(config, seed=10 * i)
        kernel = w.shape[2:]
        geometry = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"])
        expected = im2col_reference(x.astype(np.float64), kernel, **geometry)

        def im2col_case(x=x, kernel=kernel, geometry=geometry, expected=expected):
            check(L.im2col_numba(x, kernel, **geometry), expected, "im2col")

        def col2im_case(x=x, kernel=kernel, geometry=geometry, expected=expected, i=i):
            cols = random(expected.shape, 100 + i)
            back = L.col2im_numba(cols, x.shape, kernel, **geometry)
            check(back, col2im_reference(cols.astype(np.float64), x.shape, kernel, **geometry),
                  "col2im")

        yield f"im2col[{i}]", im2col_case
        yield f"col2im[{i}]", col2im_case


def family_conv_naive():
    L = launchers("cuda_conv_naive")
    for i, config in enumerate(CONV_CONFIGS[:4]):
        x, w, p = conv_arrays(config, seed=20 * i)
        expected = conv2d_reference(*f64(x, w), **p)
        yield f"conv2d_naive[{i}]", (lambda x=x, w=w, p=p, e=expected:
                                     check(L.conv2d_naive_numba(x, w, **p), e, "naive conv2d"))


def family_conv_forward():
    L = launchers("cuda_conv_tiled")
    small, default = tiles()
    for i, config in enumerate(CONV_CONFIGS):
        x, w, p = conv_arrays(config, seed=30 * i)
        expected = conv2d_reference(*f64(x, w), **p)
        yield f"conv2d_tiled_small[{i}]", (lambda x=x, w=w, p=p, e=expected: check(
            L.conv2d_numba(x, w, tile=small, **p), e, "tiled conv2d (small tile)"))
    x, w, p = conv_arrays(DEFAULT_TILE_CONFIG, seed=7)
    expected = conv2d_reference(*f64(x, w), **p)
    yield "conv2d_tiled_default", lambda: check(L.conv2d_numba(x, w, tile=default, **p),
                                                expected, "tiled conv2d (default tile)")
    x64, w64 = f64(x, w)
    yield "conv2d_tiled_float64", lambda: check(L.conv2d_numba(x64, w64, tile=small, **p),
                                                expected, "float64", rtol=1e-12, atol=1e-12)
    # fewer outputs than fit (the adjoint of conv_transpose2d with output_padding needs it)
    x, w, p = conv_arrays(CONV_CONFIGS[1], seed=12)
    full = conv2d_reference(*f64(x, w), **p)
    P, Q = full.shape[2] - 1, full.shape[3] - 2
    cropped = conv2d_reference(*f64(x, w), output_hw=(P, Q), **p)
    yield "conv2d_tiled_output_hw", lambda: check(
        L.conv2d_numba(x, w, output_hw=(P, Q), tile=small, **p), cropped,
        "tiled conv2d with output_hw")


def family_conv_input_grad():
    L = launchers("cuda_conv_tiled")
    small, default = tiles()
    for i, config in enumerate(CONV_CONFIGS):
        x, w, p = conv_arrays(config, seed=40 * i)
        dy = random(conv2d_reference(x, w, **p).shape, 41 * i + 1)
        expected = conv2d_input_grad_reference(*f64(dy, w), x.shape[2:], **p)
        yield f"input_grad_small[{i}]", (lambda dy=dy, w=w, s=x.shape[2:], p=p, e=expected: check(
            L.conv2d_input_grad_numba(dy, w, s, tile=small, **p), e, "input grad (small tile)"))
    x, w, p = conv_arrays(DEFAULT_TILE_CONFIG, seed=8)
    dy = random(conv2d_reference(x, w, **p).shape, 9)
    expected = conv2d_input_grad_reference(*f64(dy, w), x.shape[2:], **p)
    yield "input_grad_default", lambda: check(
        L.conv2d_input_grad_numba(dy, w, x.shape[2:], tile=default, **p), expected,
        "input grad (default tile)")

    # conv_transpose2d = the input gradient, on an output_padding-enlarged shape: input
    # (N, C_in, H, W), weight (C_in, C_out/groups, R, S)
    def transpose_case(seed, N, C_in, H, W, C_out, R, S, stride, padding, output_padding,
                       groups, dilation):
        x = random((N, C_in, H, W), seed)
        w = random((C_in, C_out // groups, R, S), seed + 1)
        shape = conv_transpose_output_shape(x.shape, w.shape, stride, padding,
                                            output_padding, groups, dilation)
        p = dict(stride=stride, padding=padding4(padding), dilation=dilation, groups=groups)
        expected = conv2d_input_grad_reference(*f64(x, w), shape[2:], **p)
        check(L.conv2d_input_grad_numba(x, w, shape[2:], tile=small, **p), expected,
              "conv_transpose2d")

    # a grad_output with fewer rows/columns than fit (conv_transpose2d with output_padding)
    x, w, p = conv_arrays(CONV_CONFIGS[2], seed=13)
    P, Q = conv2d_reference(x, w, **p).shape[2:]
    dy = random((x.shape[0], w.shape[0], P - 1, Q), 14)
    expected_cropped = conv2d_input_grad_reference(*f64(dy, w), x.shape[2:], **p)
    yield "input_grad_fewer_outputs", lambda: check(
        L.conv2d_input_grad_numba(dy, w, x.shape[2:], tile=small, **p), expected_cropped,
        "input grad from a cropped grad_output")

    yield "conv_transpose2d[0]", lambda: transpose_case(50, 2, 4, 3, 4, 6, 4, 4, (2, 2),
                                                        (1, 1), (1, 0), 2, (1, 1))
    yield "conv_transpose2d[1]", lambda: transpose_case(51, 1, 3, 4, 3, 5, 3, 2, (3, 2),
                                                        (1, 0), (2, 1), 1, (1, 2))


def family_conv_weight_grad():
    L = launchers("cuda_conv_tiled")
    small, default = tiles()
    for i, config in enumerate(CONV_CONFIGS):
        x, w, p = conv_arrays(config, seed=60 * i)
        dy = random(conv2d_reference(x, w, **p).shape, 61 * i + 1)
        expected = conv2d_weight_grad_reference(*f64(x, dy), w.shape[2:], **p)
        splits = (1, 3, None)[i % 3]      # one slice, three slices, the launcher's choice
        yield f"weight_grad_small[{i}]_splits={splits}", (
            lambda x=x, dy=dy, s=w.shape[2:], p=p, e=expected, splits=splits: check(
                L.conv2d_weight_grad_numba(x, dy, s, tile=small, splits=splits, **p), e,
                "weight grad (small tile)", rtol=5e-5, atol=5e-5))
    x, w, p = conv_arrays(CONV_CONFIGS[1], seed=15)
    P, Q = conv2d_reference(x, w, **p).shape[2:]
    dy_cropped = random((x.shape[0], w.shape[0], P, Q - 1), 16)
    expected_cropped = conv2d_weight_grad_reference(*f64(x, dy_cropped), w.shape[2:], **p)
    yield "weight_grad_fewer_outputs", lambda: check(
        L.conv2d_weight_grad_numba(x, dy_cropped, w.shape[2:], tile=small, splits=2, **p),
        expected_cropped, "weight grad from a cropped grad_output", rtol=5e-5, atol=5e-5)
    x, w, p = conv_arrays(DEFAULT_TILE_CONFIG, seed=10)
    dy = random(conv2d_reference(x, w, **p).shape, 11)
    expected = conv2d_weight_grad_reference(*f64(x, dy), w.shape[2:], **p)
    yield "weight_grad_default", lambda: check(
        L.conv2d_weight_grad_numba(x, dy, w.shape[2:], tile=default, splits=2, **p), expected,
        "weight grad (default tile)", rtol=5e-5, atol=5e-5)


def family_im2col_cublas():
    """The im2col + matmul path on NumPy arrays: Numba im2col/col2im into the GEMM layout."""
    L = launchers("cuda_c_host")
    for i in (1, 2, 4):
        x, w, p = conv_arrays(CONV_CONFIGS[i], seed=70 * i)
        x64, w64 = f64(x, w)
        y = conv2d_reference(x64, w64, **p)
        dy = random(y.shape, 71 * i)
        dx = conv2d_input_grad_reference(dy.astype(np.float64), w64, x.shape[2:], **p)
        dw = conv2d_weight_grad_reference(x64, dy.astype(np.float64), w.shape[2:], **p)
        yield f"im2col_cublas_forward[{i}]", (lambda x=x, w=w, p=p, e=y: check(
            L.conv2d_im2col_cublas(x, w, **p), e, "im2col+GEMM conv2d"))
        yield f"im2col_cublas_input_grad[{i}]", (lambda dy=dy, w=w, s=x.shape[2:], p=p, e=dx:
                                                 check(L.conv2d_input_grad_im2col_cublas(
                                                     dy, w, s, **p), e,
                                                     "im2col+GEMM input grad"))
        yield f"im2col_cublas_weight_grad[{i}]", (lambda x=x, dy=dy, s=w.shape[2:], p=p, e=dw:
                                                  check(L.conv2d_weight_grad_im2col_cublas(
                                                      x, dy, s, **p), e,
                                                      "im2col+GEMM weight grad"))


# (N, C, H, W, kernel, stride, padding, dilation, ceil_mode)
POOL_CONFIGS = [
    (2, 3, 7, 6, (2, 2), (2, 2), (0, 0), (1, 1), False),
    (1, 2, 9, 8, (3, 2), (2, 1), (1, 1), (1, 1), True),      # overlapping windows, ceil mode
    (2, 2, 8, 9, (3, 3), (2, 3), (1, 0), (2, 1), True),      # dilation (max only)
]


def family_pool():
    L = launchers("cuda_pool")
    for i, (N, C, H, W, kernel, stride, padding, dilation, ceil_mode) in enumerate(POOL_CONFIGS):
        # tie-free values: a permutation, so every window has one maximum
        x = (np.random.default_rng(80 + i).permutation(N * C * H * W)
             .reshape(N, C, H, W).astype(np.float32) / 7.0)
        y_ref, idx_ref = max_pool2d_reference(x.astype(np.float64), kernel, stride, padding,
                                              dilation, ceil_mode)
        dy = random(y_ref.shape, 81 + i)
        dx_ref = max_pool2d_backward_reference(dy.astype(np.float64), idx_ref, x.shape)

        def max_case(x=x, a=(kernel, stride, padding, dilation, ceil_mode), y_ref=y_ref,
                     idx_ref=idx_ref):
            y, indices = L.max_pool2d_numba(x, *a)
            check(y, y_ref, "max_pool2d")
            if not np.array_equal(np.asarray(indices), idx_ref):
                raise AssertionError("max_pool2d: indices differ from the reference")

        def max_back_case(dy=dy, idx=idx_ref, s=x.shape, a=(kernel, stride, padding, dilation),
                          e=dx_ref):
            check(L.max_pool2d_backward_numba(dy, idx.astype(np.int64), s, *a), e,
                  "max_pool2d backward")

        yield f"max_pool2d[{i}]", max_case
        yield f"max_pool2d_backward[{i}]", max_back_case
        if dilation != (1, 1):
            continue                     # average pooling has no dilation
        for include in (True, False):
            y_avg = avg_pool2d_reference(x.astype(np.float64), kernel, stride, padding,
                                         ceil_mode, include)
            dy_avg = random(y_avg.shape, 82 + i)
            dx_avg = avg_pool2d_backward_reference(dy_avg.astype(np.float64), x.shape, kernel,
                                                   stride, padding, ceil_mode, include)
            a = (kernel, stride, padding, ceil_mode, include)
            yield f"avg_pool2d[{i}]_include_pad={include}", (
                lambda x=x, a=a, e=y_avg: check(L.avg_pool2d_numba(x, *a), e, "avg_pool2d"))
            yield f"avg_pool2d_backward[{i}]_include_pad={include}", (
                lambda dy=dy_avg, s=x.shape, a=a, e=dx_avg: check(
                    L.avg_pool2d_backward_numba(dy, s, *a), e, "avg_pool2d backward"))


def family_elementwise():
    L = launchers("cuda_elementwise")
    x = random((2, 3, 5, 7), 90)
    slope = 0.2
    x64 = x.astype(np.float64)
    y_ref = np.where(x64 > 0, x64, slope * x64)
    dy = random(x.shape, 92)
    dx_ref = np.where(x64 > 0, dy, slope * dy)
    yield "leaky_relu", lambda: check(L.leaky_relu_numba(x, slope), y_ref, "leaky relu")
    yield "leaky_relu_backward", lambda: check(L.leaky_relu_backward_numba(dy, x, slope), dx_ref,
                                               "leaky relu backward (mask from the input)")
    yield "leaky_relu_backward_from_output", lambda: check(
        L.leaky_relu_backward_numba(dy, y_ref.astype(np.float32), slope), dx_ref,
        "leaky relu backward (mask from the output)")


FAMILIES = {name[len("family_"):]: function for name, function in globals().items()
            if name.startswith("family_")}


def run_family(name: str) -> list[dict]:
    results = []
    for case_name, case in FAMILIES[name]():
        start = time.perf_counter()
        try:
            case()
            results.append(dict(case=case_name, ok=True, error=None))
        except Exception:
            results.append(dict(case=case_name, ok=False, error=traceback.format_exc()))
        results[-1]["seconds"] = round(time.perf_counter() - start, 3)
    return results


def main(argv: list[str]) -> int:
    from numba.core import config
    if not config.ENABLE_CUDASIM:
        print("numba was imported before NUMBA_ENABLE_CUDASIM=1 was set", file=sys.stderr)
        return 2
    if argv[:1] == ["--list"]:
        print("\n".join(FAMILIES))
        return 0
    failed = 0
    for name in argv or list(FAMILIES):
        for result in run_family(name):
            print(json.dumps(dict(family=name, **result)), flush=True)
            failed += not result["ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
