"""PyTorch behaviours a peer project's op suite leans on: NumPy keyword names
(``axis``/``keepdims``), exception types, and edge cases; each against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from oracle import check_against_torch, torch_or_skip


def _x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


# --- axis= / keepdims= --------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [
    ("sum", {"axis": 1}), ("sum", {"axis": (0, 2), "keepdims": True}), ("mean", {"axis": (1, 2)}),
    ("var", {"axis": (0, 2), "correction": 0}), ("std", {"axis": 1, "keepdims": True}),
    ("prod", {"axis": 2}), ("amax", {"axis": 0}), ("logsumexp", {"axis": 1}),
    ("cumsum", {"axis": 2}), ("softmax", {"axis": 1}),
])
def test_numpy_keyword_names_method_and_function(name, kwargs):
    x = _x(3, 4, 5)
    check_against_torch(lambda t: getattr(t, name)(**kwargs),
                        lambda t: getattr(t, name)(**kwargs), [x], second_order=False)
    check_against_torch(lambda t: getattr(mc, name)(t, **kwargs),
                        lambda t: getattr(torch_or_skip(), name)(t, **kwargs), [x],
                        second_order=False)


def test_numpy_keyword_names_max_min_any_all_std_mean():
    torch = torch_or_skip()
    x = _x(3, 4, 5)
    a, b = mc.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(a.max(axis=1)[0].numpy(), b.max(axis=1)[0].numpy())
    np.testing.assert_array_equal(a.min(axis=2, keepdims=True)[1].numpy(),
                                  b.min(axis=2, keepdims=True)[1].numpy())
    np.testing.assert_array_equal((a > 0).any(axis=(1, 2)).numpy(), (b > 0).any(axis=(1, 2)).numpy())
    np.testing.assert_array_equal((a > 0).all(axis=0).numpy(), (b > 0).all(axis=0).numpy())
    for m, t in zip(mc.std_mean(a, axis=(1, 2)), torch.std_mean(b, axis=(1, 2))):
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-12)


def test_numpy_keyword_names_conflict_is_a_type_error():
    torch = torch_or_skip()
    with pytest.raises(TypeError):
        torch.ones(2, 3).sum(dim=0, axis=1)
    with pytest.raises(TypeError, match="axis"):
        mc.ones(2, 3).sum(dim=0, axis=1)


# --- F.pad: negative widths crop in every mode; unknown modes ------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", [(-1, 2, 2, -1), (3, -3, 0, -3), (2, -1, -2, 1), (0, 0, 0, -4)])
def test_pad_negative_widths_crop_as_pytorch(mode, widths):
    if mode == "circular" and widths[0] > 5 - 3:
        pytest.skip("PyTorch wraps around what is left after the crop: 3 > 5 - 3 is an error")
    x = _x(1, 2, 5, 5)
    check_against_torch(lambda t: mc.nn.functional.pad(t, widths, mode=mode),
                        lambda t: torch_or_skip().nn.functional.pad(t, widths, mode=mode), [x])


def test_pad_errors_are_pytorch_types():
    torch = torch_or_skip()
    for lib in (torch, mc):
        x = lib.zeros(1, 1, 5)
        with pytest.raises(NotImplementedError):
            lib.nn.functional.pad(x, (1, 0), mode="typo")
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(x, (3, 6), mode="circular")  # wraps around more than once
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(x, (5, 0), mode="reflect")  # not smaller than the dim
    with pytest.raises(ValueError, match="mode: expected 'constant'"):  # and still a ValueError
        mc.nn.functional.pad(mc.zeros(1, 1, 5), (1, 0), mode="typo")
