"""Infinities and NaN go through the elementwise ops as in PyTorch: ``relu(-inf)`` is 0,
``clamp(inf, -1, 1)`` is 1, ``maximum(-inf, 1)`` is 1, ``triu`` zeroes ``-inf`` below the
diagonal (an attention mask), and NaN stays NaN (a masked multiply once made NaN of the
first three and 0 of none)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip

VALUES = np.array([-np.inf, np.inf, np.nan, -2.5, -1.0, -0.0, 0.0, 0.5, 3.0], dtype=np.float32)

UNARY = {
    "relu": lambda L, x: L.relu(x),
    "relu6": lambda L, x: L.nn.functional.relu6(x),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "sigmoid": lambda L, x: L.sigmoid(x),
    "tanh": lambda L, x: L.tanh(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "abs": lambda L, x: L.abs(x),
    "sign": lambda L, x: L.sign(x),
    "clamp": lambda L, x: L.clamp(x, -1, 1),
    "clamp-min": lambda L, x: L.clamp(x, min=0),
    "clamp-max": lambda L, x: L.clamp(x, max=0.25),
    "maximum": lambda L, x: L.maximum(x, L.tensor(1.0)),
    "minimum": lambda L, x: L.minimum(x, L.tensor(1.0)),
    "where": lambda L, x: L.where(x > 0, x, L.zeros_like(x)),
    "exp": lambda L, x: L.exp(x),
    "floor": lambda L, x: L.floor(x),
    "round": lambda L, x: L.round(x),
    "nan_to_num": lambda L, x: L.nan_to_num(x),
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_on_infinities_and_nan_match_pytorch(name):
    torch = torch_or_skip()
    fn = UNARY[name]
    with np.errstate(all="ignore"):
        ours = fn(mc, mc.tensor(VALUES)).numpy()
    theirs = fn(torch, torch.tensor(VALUES)).numpy()
    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[~finite], theirs[~finite], err_msg=name)  # inf, NaN
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-6, err_msg=name)


@pytest.mark.oracle
@pytest.mark.parametrize("op", ["triu", "tril"])
def test_triangles_of_an_infinite_mask_match_pytorch(op):
    torch = torch_or_skip()
    mask = np.full((4, 4), -np.inf, dtype=np.float32)
    mask[0, 3] = np.nan
    for diagonal in (-1, 0, 1):
        ours = getattr(mc, op)(mc.tensor(mask), diagonal).numpy()
        theirs = getattr(torch, op)(torch.tensor(mask), diagonal).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_gradients_stay_finite_where_pytorchs_do():
    x = mc.tensor(VALUES[3:], requires_grad=True)
    (mc.relu(x) + mc.clamp(x, -1, 1) + mc.maximum(x, mc.tensor(1.0))).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
