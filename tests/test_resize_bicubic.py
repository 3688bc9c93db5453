"""interpolate(mode='bicubic' | 'area'), nn.Upsample with them, and
grid_sample(padding_mode='reflection'): gradcheck + gradgradcheck (float64) and the PyTorch
oracle (forward, gradient, second derivative) under hypothesis, the same over fixed grids of
shapes / scale factors / sizes / align_corners, float32 and uint8 agreement, properties
(constants stay constant, reflection's mirror symmetry, PyTorch's zero gradient on the
edges) and the error messages.

One PyTorch quirk is kept out of the drawn cases: for bicubic with a scale_factor that keeps
both H and W (1.1 on 4 x 5), PyTorch's forward resamples but its backward copies, so its
gradient is not its own forward's; minicnn's is (``M^T``), checked by gradcheck.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F
from cases import Case, case_tests
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.ops.resize import cubic_interpolation_matrix, cubic_weights
from oracle import check_against_torch, torch_or_skip
from strategies import arrays

FACTORS = [0.5, 0.6, 1.5, 1.7, 2.0, 2.5, 3.0, (1.7, 0.6), (2.0, 0.5)]


def _tf():
    return torch_or_skip().nn.functional


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _keeps_both_sizes_but_moves(shape, kwargs):
    """PyTorch's bicubic backward shortcut (see the module docstring)."""
    factor = kwargs.get("scale_factor")
    if factor is None or kwargs.get("align_corners") or kwargs.get("recompute_scale_factor"):
        return False
    out = [math.floor(s * f) for s, f in zip(shape[2:], _pair(factor))]
    return out == list(shape[2:]) and any(f != 1 for f in _pair(factor))


def draw_resize(mode):
    def draw(data):
        shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)),
                 data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
        kwargs = {"mode": mode}
        if data.draw(st.booleans()):
            kwargs["size"] = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
        else:
            kwargs["scale_factor"] = data.draw(st.sampled_from(FACTORS))
            assume(all(s * f >= 1 for s, f in zip(shape[2:], _pair(kwargs["scale_factor"]))))
            if data.draw(st.booleans()):
                kwargs["recompute_scale_factor"] = True
        if mode == "bicubic":
            kwargs["align_corners"] = data.draw(st.sampled_from([None, False, True]))
            assume(not _keeps_both_sizes_but_moves(shape, kwargs))
        return [data.draw(arrays(shape))], kwargs
    return draw


def _away_from_kinks(u, nearest):
    """Pixel coordinates away from the kinks: integers for bilinear (corners, clip and
    reflection points), half-integers for nearest (rounding, and its ties)."""
    u = np.asarray(u, dtype=np.float64)
    frac = u - np.floor(u)
    close = np.abs(frac - 0.5) < 0.08 if nearest else (frac < 0.08) | (frac > 0.92)
    u[close] = np.floor(u[close]) + (0.2 if nearest else 0.25)
    return u


def _normalized(u, size, align):
    return u * 2 / (size - 1) - 1 if align else (2 * u + 1) / size - 1


def draw_reflection(mode):
    def draw(data):
        n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
        h, w = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))
        ho, wo = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        align = data.draw(st.booleans())
        count = n * ho * wo
        # up to two sizes past either edge: several reflections
        gx = _normalized(_away_from_kinks(data.draw(arrays((count,), -2.0 * w, 3.0 * w)),
                                          mode == "nearest"), w, align)
        gy = _normalized(_away_from_kinks(data.draw(arrays((count,), -2.0 * h, 3.0 * h)),
                                          mode == "nearest"), h, align)
        grid = np.stack([gx, gy], -1).reshape(n, ho, wo, 2)
        return [data.draw(arrays((n, c, h, w))), grid], {
            "mode": mode, "padding_mode": "reflection", "align_corners": align}
    return draw


CASES = [
    Case("interpolate-bicubic", draw_resize("bicubic"), F.interpolate,
         lambda x, **kw: _tf().interpolate(x, **kw)),
    Case("interpolate-area", draw_resize("area"), F.interpolate,
         lambda x, **kw: _tf().interpolate(x, **kw)),
    Case("grid_sample-reflection-bilinear", draw_reflection("bilinear"), F.grid_sample,
         lambda x, g, **kw: _tf().grid_sample(x, g, **kw)),
    Case("grid_sample-reflection-nearest", draw_reflection("nearest"), F.grid_sample,
         lambda x, g, **kw: _tf().grid_sample(x, g, **kw)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# -- interpolate: fixed grids against PyTorch ------------------------------------------------
SHAPES = [(1, 1, 4, 5), (2, 3, 3, 3), (1, 2, 1, 4), (1, 1, 6, 2)]
SETTINGS = ([{"scale_factor": f} for f in FACTORS]
            + [{"scale_factor": f, "recompute_scale_factor": True} for f in (1.7, 0.6)]
            + [{"size": s} for s in ((7, 9), (2, 3), (1, 1), (5, 1), (3, 8))])


def _applicable(shape, kwargs):
    if "scale_factor" in kwargs:
        return all(s * f >= 1 for s, f in zip(shape[2:], _pair(kwargs["scale_factor"])))
    return True


GRID = [(shape, kwargs) for shape in SHAPES for kwargs in SETTINGS if _applicable(shape, kwargs)]


@pytest.mark.oracle
@pytest.mark.parametrize("shape,kwargs", GRID, ids=str)
@pytest.mark.parametrize("align", [None, False, True])
def test_bicubic_matches_pytorch_over_shapes_and_scales(shape, kwargs, align):
    keywords = dict(kwargs, mode="bicubic", align_corners=align)
    x = np.random.default_rng(len(shape) + shape[-1]).standard_normal(shape)
    check_against_torch(lambda t: F.interpolate(t, **keywords),
                        lambda t: _tf().interpolate(t, **keywords), [x])


@pytest.mark.oracle
@pytest.mark.parametrize("shape,kwargs", GRID, ids=str)
def test_area_matches_pytorch_over_shapes_and_scales(shape, kwargs):
    keywords = dict(kwargs, mode="area")
    x = np.random.default_rng(shape[-1]).standard_normal(shape)
    check_against_torch(lambda t: F.interpolate(t, **keywords),
                        lambda t: _tf().interpolate(t, **keywords), [x])


@pytest.mark.parametrize("mode,align", [("bicubic", False), ("bicubic", True),
                                        ("area", None)])
@pytest.mark.parametrize("kwargs", [{"scale_factor": 1.7}, {"scale_factor": 0.6},
                                    {"scale_factor": 2}, {"size": (3, 7)}], ids=str)
def test_gradcheck_and_gradgradcheck_fixed(mode, align, kwargs):
    x = mc.tensor(np.random.default_rng(3).standard_normal((2, 2, 4, 5)), requires_grad=True)

    def fn(t):
        return F.interpolate(t, mode=mode, align_corners=align, **kwargs)

    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_bicubic_gradient_is_the_transposed_resize_even_where_pytorchs_copies():
    """4 x 5 by 1.1 keeps the size but moves the sample points (PyTorch's forward does too)."""
    x = mc.tensor(np.random.default_rng(4).standard_normal((1, 1, 4, 5)), requires_grad=True)
    y = F.interpolate(x, scale_factor=1.1, mode="bicubic")
    rows = cubic_interpolation_matrix(4, 4, False, 1.1)
    cols = cubic_interpolation_matrix(5, 5, False, 1.1)
    np.testing.assert_allclose(y.numpy()[0, 0], rows @ x.numpy()[0, 0] @ cols.T, atol=1e-12)
    assert not np.allclose(y.numpy(), x.numpy())
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.1, mode="bicubic"), [x])
    torch = torch_or_skip()
    expected = _tf().interpolate(torch.tensor(x.numpy()), scale_factor=1.1, mode="bicubic")
    np.testing.assert_allclose(y.numpy(), expected.numpy(), atol=1e-12)


# -- interpolate: properties, dtypes, the layer ---------------------------------------------
def test_cubic_weights_sum_to_one_and_interpolate():
    t = np.linspace(0, 1, 11, endpoint=False)
    np.testing.assert_allclose(cubic_weights(t).sum(-1), 1.0, atol=1e-15)
    np.testing.assert_array_equal(cubic_weights(np.zeros(1)), [[0.0, 1.0, 0.0, 0.0]])
    # the kernel at distance 1/2: (A + 2)/8 - (A + 3)/4 + 1, and 1.5: A (27/8 - 45/4 + 12 - 4)
    np.testing.assert_allclose(cubic_weights(np.array([0.5]))[0],
                               [-0.09375, 0.59375, 0.59375, -0.09375])


@given(data=st.data())
def test_bicubic_keeps_constants_and_the_same_size_copies(data):
    shape = (1, 2, data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)))
    size = (data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)))
    align = data.draw(st.booleans())
    value = data.draw(st.floats(-5, 5))
    y = F.interpolate(mc.tensor(np.full(shape, value)), size=size, mode="bicubic",
                      align_corners=align)
    np.testing.assert_allclose(y.numpy(), value, atol=1e-12)
    x = data.draw(arrays(shape))
    same = F.interpolate(mc.tensor(x), size=shape[2:], mode="bicubic", align_corners=align)
    np.testing.assert_allclose(same.numpy(), x, atol=1e-14)


@pytest.mark.oracle
@pytest.mark.parametrize("mode,align", [("bicubic", False), ("bicubic", True),
                                        ("area", None)])
@pytest.mark.parametrize("kwargs", [{"scale_factor": 1.7}, {"scale_factor": 0.6},
                                    {"scale_factor": 3}, {"size": (9, 4)}], ids=str)
def test_float32_forward_agrees_with_pytorch(mode, align, kwargs):
    torch = torch_or_skip()
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 6)).astype(np.float32)
    y = F.interpolate(mc.tensor(x), mode=mode, align_corners=align, **kwargs)
    expected = _tf().interpolate(torch.tensor(x), mode=mode, align_corners=align, **kwargs)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("shape,kwargs", [
    ((1, 1, 4, 5), {"size": (7, 3)}), ((2, 4, 6, 7), {"size": (10, 4)}),
    ((1, 3, 8, 8), {"scale_factor": 2}), ((1, 1, 9, 7), {"size": (5, 3)}),
    ((1, 3, 4, 5), {"scale_factor": 1.2}), ((1, 1, 5, 6), {"scale_factor": 1.1}),
], ids=str)
@pytest.mark.parametrize("align", [False, True])
def test_uint8_bicubic_equals_pytorch(shape, kwargs, align):
    """Integer weights, rounded and saturated per pass, as PyTorch (exactly equal)."""
    torch = torch_or_skip()
    x = np.random.default_rng(6).integers(0, 256, shape).astype(np.uint8)
    y = F.interpolate(mc.tensor(x), mode="bicubic", align_corners=align, **kwargs)
    expected = _tf().interpolate(torch.tensor(x), mode="bicubic", align_corners=align, **kwargs)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


@pytest.mark.oracle
@pytest.mark.parametrize("mode,dtype", [("bicubic", np.int64), ("bicubic", np.int32),
                                        ("area", np.int64), ("area", np.uint8)])
def test_integer_inputs_raise_where_pytorch_raises(mode, dtype):
    torch = torch_or_skip()
    x = np.arange(16).reshape(1, 1, 4, 4).astype(dtype)
    with pytest.raises((RuntimeError, NotImplementedError)):
        _tf().interpolate(torch.tensor(x), size=(6, 6), mode=mode)
    allowed = "floating-point or uint8" if mode == "bicubic" else "floating-point"
    with pytest.raises(TypeError, match=f"interpolate: mode '{mode}' needs a {allowed} input, "
                                        f"got dtype {np.dtype(dtype)}"):
        F.interpolate(mc.tensor(x), size=(6, 6), mode=mode)


@pytest.mark.oracle
@pytest.mark.parametrize("keywords", [
    {"scale_factor": 2, "mode": "bicubic"},
    {"scale_factor": 1.7, "mode": "bicubic", "align_corners": True},
    {"size": (3, 5), "mode": "bicubic", "align_corners": False},
    {"scale_factor": 0.6, "mode": "area"}, {"size": (2, 3), "mode": "area"},
], ids=str)
def test_upsample_layer_with_the_new_modes_matches_pytorch(keywords):
    torch = torch_or_skip()
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 6))
    layer, theirs = nn.Upsample(**keywords), torch.nn.Upsample(**keywords)
    check_against_torch(layer, theirs, [x])
    assert f"mode={keywords['mode']!r}" in repr(layer)


# -- grid_sample reflection ------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("hw", [(3, 4), (1, 1), (1, 5), (4, 2), (6, 7)], ids=str)
def test_reflection_matches_pytorch_over_sizes(mode, align, hw):
    """Random grids far outside [-1, 1] (several reflections), and single-pixel axes."""
    rng = np.random.default_rng(hw[0] * 10 + hw[1])
    x = rng.standard_normal((2, 3, *hw))
    u = _away_from_kinks(rng.uniform(-3 * hw[1], 4 * hw[1], 2 * 5 * 4), mode == "nearest")
    v = _away_from_kinks(rng.uniform(-3 * hw[0], 4 * hw[0], 2 * 5 * 4), mode == "nearest")
    if min(hw) > 1 or not align:
        grid = np.stack([_normalized(u, hw[1], align), _normalized(v, hw[0], align)], -1)
    else:   # align_corners with one pixel: any normalized coordinate
        grid = rng.uniform(-4, 4, (2 * 5 * 4, 2))
    keywords = {"mode": mode, "padding_mode": "reflection", "align_corners": align}
    check_against_torch(lambda a, g: F.grid_sample(a, g, **keywords),
                        lambda a, g: _tf().grid_sample(a, g, **keywords),
                        [x, grid.reshape(2, 5, 4, 2)])


@pytest.mark.oracle
@pytest.mark.parametrize("padding_mode", ["reflection", "border"])
@pytest.mark.parametrize("align", [False, True])
def test_gradient_on_the_edges_and_fold_points_is_pytorchs(padding_mode, align):
    """Grid values on the clip edges and the reflection points (exactly -1, 1, 3, ...):
    PyTorch counts the edges as out of bounds (gradient 0 there); so does minicnn."""
    x = np.random.default_rng(8).standard_normal((1, 2, 3, 4))
    values = np.array([-1.0, 1.0, -3.0, 3.0, 0.0, 5.0, -7.0, 0.3, -0.45, 1.8, 2.2])
    gx, gy = np.meshgrid(values, values)
    keywords = {"padding_mode": padding_mode, "align_corners": align}
    check_against_torch(lambda a, g: F.grid_sample(a, g, **keywords),
                        lambda a, g: _tf().grid_sample(a, g, **keywords),
                        [x, np.stack([gx, gy], -1)[None]])


@pytest.mark.oracle
def test_affine_identity_with_reflection_and_the_border_gradient():
    torch = torch_or_skip()
    x = np.random.default_rng(9).standard_normal((2, 3, 4, 5))
    theta = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    for align in (False, True):
        for padding_mode in ("reflection", "border"):
            grid = F.affine_grid(mc.tensor(theta), (2, 3, 4, 5), align_corners=align)
            y = F.grid_sample(mc.tensor(x), grid, padding_mode=padding_mode, align_corners=align)
            np.testing.assert_allclose(y.numpy(), x, atol=1e-12)
            tgrid = torch.nn.functional.affine_grid(torch.tensor(theta), (2, 3, 4, 5),
                                                    align_corners=align)
            keywords = {"padding_mode": padding_mode, "align_corners": align}
            check_against_torch(lambda a, g: F.grid_sample(a, g, **keywords),
                                lambda a, g: _tf().grid_sample(a, g, **keywords),
                                [x, tgrid.numpy()])


@given(data=st.data())
def test_reflection_is_a_mirror_at_both_edges(data):
    """Sampling at u equals sampling at its mirror image inside the image, for the mirror
    at ``low`` and at ``low + span`` and a whole period away."""
    h, w = data.draw(st.integers(2, 5)), data.draw(st.integers(2, 5))
    align = data.draw(st.booleans())
    x = data.draw(arrays((1, 2, h, w)))
    u = _away_from_kinks(data.draw(arrays((6,), -0.5, w - 0.5)), False)
    v = _away_from_kinks(data.draw(arrays((6,), -0.5, h - 0.5)), False)
    low, span_x, span_y = (0.0, w - 1, h - 1) if align else (-0.5, w, h)

    def sample(uu, vv):
        grid = np.stack([_normalized(uu, w, align), _normalized(vv, h, align)], -1)
        return F.grid_sample(mc.tensor(x), mc.tensor(grid[None, None]),
                             padding_mode="reflection", align_corners=align).numpy()

    inside = sample(u, v)
    for mirrored in ((2 * low - u, v), (u, 2 * (low + span_y) - v),
                     (u + 2 * span_x, v - 2 * span_y)):
        np.testing.assert_allclose(sample(*mirrored), inside, atol=1e-10)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("align", [False, True])
def test_reflection_float32_forward_agrees_with_pytorch(mode, align):
    torch = torch_or_skip()
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    grid = rng.uniform(-3.5, 3.5, (2, 4, 7, 2)).astype(np.float32)
    keywords = {"mode": mode, "padding_mode": "reflection", "align_corners": align}
    y = F.grid_sample(mc.tensor(x), mc.tensor(grid), **keywords)
    expected = _tf().grid_sample(torch.tensor(x), torch.tensor(grid), **keywords)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("align", [False, True])
def test_reflection_gradcheck_and_gradgradcheck_fixed(mode, align):
    rng = np.random.default_rng(11)
    x = mc.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    u = _away_from_kinks(rng.uniform(-9, 13, 12), mode == "nearest")
    v = _away_from_kinks(rng.uniform(-7, 10, 12), mode == "nearest")
    grid = np.stack([_normalized(u, 4, align), _normalized(v, 3, align)], -1)
    g = mc.tensor(grid.reshape(1, 3, 4, 2), requires_grad=True)

    def fn(a, b):
        return F.grid_sample(a, b, mode=mode, padding_mode="reflection", align_corners=align)

    assert gradcheck(fn, [x, g])
    assert gradgradcheck(fn, [x, g])


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,error,message", [
    (lambda x: F.interpolate(x, size=2, mode="area", align_corners=True), ValueError,
     "align_corners can only be set with mode='bilinear' or 'bicubic', got mode='area'"),
    (lambda x: F.interpolate(x, size=2, mode="trilinear"), ValueError,
     "mode: expected one of .*'bicubic', 'area'.*got 'trilinear'"),
    (lambda x: F.interpolate(x, scale_factor=0.1, mode="bicubic"), ValueError, "empty output"),
    (lambda x: F.interpolate(x, scale_factor=-2, mode="area"), ValueError,
     "scale_factor: expected a positive number"),
    (lambda x: F.interpolate(x, size=(2, 0), mode="bicubic"), ValueError,
     "size: expected a positive int"),
    (lambda x: F.interpolate(x[0], size=2, mode="bicubic"), NotImplementedError, "4-D"),
    (lambda x: F.grid_sample(x, mc.tensor(np.zeros((1, 1, 1, 2))), padding_mode="mirror"),
     ValueError, r"padding_mode: expected one of \('zeros', 'border', 'reflection'\), got "
                 r"'mirror'"),
    (lambda x: F.grid_sample(x, mc.tensor(np.zeros((1, 1, 1, 2))), mode="bicubic",
                             padding_mode="reflection"), ValueError, "mode: expected"),
])
def test_errors_name_the_argument(call, error, message):
    x = mc.tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises(error, match=message):
        call(x)
