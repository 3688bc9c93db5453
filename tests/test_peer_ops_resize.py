"""F.interpolate of 1-D signals (N, C, L) and 3-D volumes (N, C, D, H, W) against PyTorch:
every mode that takes that many dims, size and scale_factor, align_corners, gradients,
gradcheck/gradgradcheck, integer inputs, and PyTorch's errors for a mode of the wrong rank."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


@pytest.mark.parametrize("kwargs", [
    dict(size=7, mode="linear"), dict(size=13, mode="linear", align_corners=True),
    dict(size=4, mode="linear", align_corners=False), dict(scale_factor=1.7, mode="linear"),
    dict(size=7, mode="nearest"), dict(size=13, mode="nearest"),
    dict(size=13, mode="nearest-exact"),
    dict(scale_factor=2, mode="nearest"), dict(size=4, mode="area"), dict(size=3, mode="area"),
])
def test_interpolate_1d_matches_pytorch(kwargs):
    torch = torch_or_skip()
    check_against_torch(lambda t: mc.nn.functional.interpolate(t, **kwargs),
                        lambda t: torch.nn.functional.interpolate(t, **kwargs),
                        [_x(2, 3, 9)], atol=1e-10)


@pytest.mark.parametrize("kwargs", [
    dict(size=(3, 6, 4), mode="trilinear"),
    dict(size=(3, 6, 4), mode="trilinear", align_corners=True),
    dict(scale_factor=(1.5, 0.5, 2.0), mode="trilinear"), dict(size=(3, 6, 4), mode="nearest"),
    dict(size=(7, 3, 9), mode="nearest-exact"), dict(size=(2, 2, 3), mode="area"),
])
def test_interpolate_3d_matches_pytorch(kwargs):
    torch = torch_or_skip()
    check_against_torch(lambda t: mc.nn.functional.interpolate(t, **kwargs),
                        lambda t: torch.nn.functional.interpolate(t, **kwargs),
                        [_x(2, 2, 5, 2, 8)], atol=1e-10)


def test_interpolate_nd_gradcheck_and_gradgradcheck():
    for shape, kwargs in [((1, 2, 6), dict(size=9, mode="linear")),
                          ((1, 1, 3, 2, 4), dict(size=(2, 3, 5), mode="trilinear",
                                                 align_corners=True))]:
        x = mc.tensor(_x(*shape), requires_grad=True)
        fn = lambda t: mc.nn.functional.interpolate(t, **kwargs)  # noqa: E731
        assert gradcheck(fn, [x]) and gradgradcheck(fn, [x])


def test_interpolate_nd_integer_nearest_keeps_dtype():
    torch = torch_or_skip()
    x = np.arange(2 * 3 * 7, dtype=np.uint8).reshape(2, 3, 7)
    for mode in ("nearest", "nearest-exact"):
        ours = mc.nn.functional.interpolate(mc.tensor(x), size=11, mode=mode)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=11, mode=mode)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == np.uint8


@pytest.mark.parametrize("shape,mode", [((1, 2, 5), "bilinear"), ((1, 2, 5), "trilinear"),
                                        ((1, 1, 2, 3, 4), "linear"), ((1, 1, 2, 3, 4), "bicubic")])
def test_interpolate_mode_of_the_wrong_rank_is_not_implemented(shape, mode):
    torch = torch_or_skip()
    size = (4,) * (len(shape) - 2)
    with pytest.raises(NotImplementedError):
        torch.nn.functional.interpolate(torch.zeros(shape), size=size, mode=mode)
    with pytest.raises(NotImplementedError, match="input"):
        mc.nn.functional.interpolate(mc.zeros(*shape), size=size, mode=mode)
