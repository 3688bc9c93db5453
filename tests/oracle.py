"""One helper compares any minicnn op with PyTorch: forward value, gradient, second derivative.

PyTorch is a test oracle only. Without torch these tests skip, unless
``MINICNN_REQUIRE_TORCH=1`` (set by CI), where a missing torch is a failure.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import minicnn as mc


def torch_or_skip():
    """Import torch, or skip the test (fail instead under MINICNN_REQUIRE_TORCH=1)."""
    if os.environ.get("MINICNN_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401 - a missing torch must fail loudly here

        torch.set_default_dtype(torch.float64)
        return torch
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    return torch


def _np(t):
    return None if t is None else (t.detach().numpy(force=True) if hasattr(t, "detach") else t.numpy())


def check_against_torch(mc_fn, torch_fn, arrays, *, grad_inputs=None, atol=1e-7, rtol=1e-6,
                        second_order=True, seed=0):
    """Run ``mc_fn`` and ``torch_fn`` on the same float64 arrays and compare.

    Args:
        mc_fn, torch_fn: called with one tensor per array (same order).
        arrays: NumPy arrays; float arrays become tensors requiring grad (unless
            ``grad_inputs`` lists the positions that should), other dtypes stay constants.
        second_order: also compare d/dx of sum(grad * w) for a random ``w``.
    """
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    mc_in = [mc.from_numpy(np.asarray(a)).requires_grad_(i in grad_inputs)
             for i, a in enumerate(arrays)]
    torch_in = [torch.tensor(np.asarray(a), requires_grad=i in grad_inputs)
                for i, a in enumerate(arrays)]
    mc_out, torch_out = mc_fn(*mc_in), torch_fn(*torch_in)
    np.testing.assert_allclose(mc_out.numpy(), _np(torch_out), atol=atol, rtol=rtol,
                               err_msg="forward values differ from PyTorch")
    if not grad_inputs or not torch_out.requires_grad:
        return
    v = rng.standard_normal(mc_out.shape)
    mc_wrt = [mc_in[i] for i in grad_inputs]
    torch_wrt = [torch_in[i] for i in grad_inputs]
    mc_grads = mc.grad(mc_out, mc_wrt, mc.tensor(v), create_graph=True, allow_unused=True)
    torch_grads = torch.autograd.grad(torch_out, torch_wrt, torch.tensor(v), create_graph=True,
                                      allow_unused=True)
    for i, (a, b) in enumerate(zip(mc_grads, torch_grads)):
        a = np.zeros(mc_wrt[i].shape) if a is None else a.numpy()
        b = np.zeros(mc_wrt[i].shape) if b is None else _np(b)
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {grad_inputs[i]} differs")
    if not second_order:
        return
    weights = [rng.standard_normal(x.shape) for x in mc_wrt]
    mc_s = None
    torch_s = None
    for g_mc, g_t, w in zip(mc_grads, torch_grads, weights):
        if g_mc is not None and g_mc.requires_grad:
            term = (g_mc * mc.tensor(w)).sum()
            mc_s = term if mc_s is None else mc_s + term
        if g_t is not None and g_t.requires_grad:
            term = (g_t * torch.tensor(w)).sum()
            torch_s = term if torch_s is None else torch_s + term
    mc_second = ([None] * len(mc_wrt) if mc_s is None else
                 mc.grad(mc_s, mc_wrt, allow_unused=True))
    torch_second = ([None] * len(torch_wrt) if torch_s is None else
                    torch.autograd.grad(torch_s, torch_wrt, allow_unused=True))
    for i, (a, b) in enumerate(zip(mc_second, torch_second)):
        a = np.zeros(mc_wrt[i].shape) if a is None else a.numpy()
        b = np.zeros(mc_wrt[i].shape) if b is None else _np(b)
        np.testing.assert_allclose(a, b, atol=atol * 10, rtol=rtol * 10,
                                   err_msg=f"second derivative wrt input {grad_inputs[i]} differs")
