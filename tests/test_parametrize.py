"""Parametrizations (``nn.utils.parametrize``), their spectral and weight norms
(``nn.utils.parametrizations``) and the hook form ``nn.utils.weight_norm``: against PyTorch
(state_dict keys, values, outputs, gradients, power iteration over steps, removal) and on
their own (gradcheck, gradgradcheck, assignment, caching, errors)."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.nn.utils import parametrize
from oracle import torch_or_skip

LAYERS = {
    "linear": (lambda L: L.nn.Linear(4, 3), (2, 4)),
    "conv": (lambda L: L.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    "conv-transpose": (lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2), (2, 2, 4, 4)),
    "conv1d": (lambda L: L.nn.Conv1d(2, 3, 2), (2, 2, 6)),
}


def _twins(torch, name):
    """The same layer in float64 in both libraries, PyTorch's weights copied into ours."""
    make, shape = LAYERS[name]
    ours, theirs = make(mc).double(), make(torch).double()
    ours.load_state_dict({k: mc.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=shape)
    return ours, theirs, x


def _same(ours, theirs, rtol=1e-10):
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        np.testing.assert_allclose(ours_state[key].numpy(), value.detach().numpy(), rtol=rtol,
                                   atol=1e-13, err_msg=key)


def _train_steps(ours, theirs, x, torch, steps=3):
    for _ in range(steps):
        out, expected = ours(mc.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)
        (out ** 2).sum().backward()
        (expected ** 2).sum().backward()
    for (name, p), (name_t, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


@pytest.mark.oracle
@pytest.mark.parametrize("layer", list(LAYERS))
def test_spectral_norm_parametrization_matches_pytorch(layer):
    torch = torch_or_skip()
    ours, theirs, x = _twins(torch, layer)
    mc.nn.utils.parametrizations.spectral_norm(ours)
    torch.nn.utils.parametrizations.spectral_norm(theirs)
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: mc.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    _train_steps(ours, theirs, x, torch)      # one power-iteration step per training read
    _same(ours, theirs, rtol=1e-9)
    ours.eval(), theirs.eval()                # no power iteration in eval mode
    np.testing.assert_allclose(ours(mc.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours).__name__ == type(theirs).__name__
    _same(ours, theirs, rtol=1e-9)


@pytest.mark.oracle
@pytest.mark.parametrize("dim", [0, 1, None])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_weight_norm_both_forms_match_pytorch(layer, dim):
    torch = torch_or_skip()
    ours, theirs, x = _twins(torch, layer)
    mc.nn.utils.parametrizations.weight_norm(ours, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
    _same(ours, theirs)
    _train_steps(ours, theirs, x, torch)
    ours, theirs, x = _twins(torch, layer)
    mc.nn.utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # PyTorch deprecates the hook form
        torch.nn.utils.weight_norm(theirs, dim=dim)
    _same(ours, theirs)
    _train_steps(ours, theirs, x, torch)
    mc.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    _same(ours, theirs)


def test_gradients_through_parametrized_weights_check_numerically():
    mc.manual_seed(0)
    layer = mc.nn.Linear(3, 2).double()
    mc.nn.utils.parametrizations.weight_norm(layer)
    chain = layer.parametrizations.weight
    g, v = chain.original0, chain.original1
    x = mc.randn(4, 3).double().requires_grad_(True)

    def through_weight_norm(g_, v_, x_):
        return x_ @ (v_ * (g_ / (v_ * v_).sum(dim=1, keepdim=True).sqrt())).T

    inputs = (g.detach().requires_grad_(True), v.detach().requires_grad_(True), x)
    assert gradcheck(through_weight_norm, inputs)
    assert gradgradcheck(through_weight_norm, inputs)
    critic = mc.nn.Sequential(mc.nn.utils.parametrizations.spectral_norm(mc.nn.Linear(3, 5)),
                              mc.nn.Tanh(), mc.nn.Linear(5, 1)).double().eval()
    assert gradgradcheck(lambda inp: critic(inp), (x,))   # the gradient penalty's need


class Symmetric(mc.nn.Module):
    """X -> triu(X) + triu(X, 1)^T, with right_inverse triu (PyTorch's tutorial example)."""

    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


def test_custom_parametrization_assignment_chain_cache_and_copy():
    layer = mc.nn.Linear(3, 3)
    optimizer = mc.optim.SGD(layer.parameters(), lr=0.1)
    original_weight = layer.weight
    parametrize.register_parametrization(layer, "weight", Symmetric())
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert parametrize.type_before_parametrizations(layer) is mc.nn.Linear
    assert layer.parametrizations.weight.original is original_weight   # optimizer still has it
    w = layer.weight.numpy()
    np.testing.assert_array_equal(w, w.T)
    layer(mc.randn(2, 3)).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(layer.weight.numpy(), layer.weight.numpy().T)
    target = mc.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]])
    layer.weight = target                       # stored through right_inverse
    np.testing.assert_array_equal(layer.weight.numpy(), target.numpy())
    parametrize.register_parametrization(layer, "weight", Scale(2.0))   # a chain of two
    np.testing.assert_array_equal(layer.weight.numpy(), 2 * target.numpy())
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    twin = copy.deepcopy(layer)
    np.testing.assert_array_equal(twin.weight.numpy(), layer.weight.numpy())
    assert sorted(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    assert type(layer) is mc.nn.Linear and "parametrizations" not in layer._modules
    np.testing.assert_array_equal(layer.weight.numpy(), np.triu(target.numpy()))
    assert layer.weight is original_weight


class Scale(mc.nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, X):
        return X * self.factor

    def right_inverse(self, A):
        return A / self.factor


def test_parametrization_errors_name_what_is_wrong():
    layer = mc.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="no parameter or buffer named 'kernel'"):
        parametrize.register_parametrization(layer, "kernel", Scale(2.0))
    with pytest.raises(TypeError, match="expected a Module"):
        parametrize.register_parametrization(layer, "weight", lambda w: w)

    class Flatten(mc.nn.Module):
        def forward(self, X):
            return X.reshape(-1)

    with pytest.raises(ValueError, match="same shape and dtype"):
        parametrize.register_parametrization(layer, "weight", Flatten())
    with pytest.raises(ValueError, match="no parametrization on 'weight'"):
        parametrize.remove_parametrizations(layer, "weight")
    with pytest.raises(IndexError, match="dim"):
        mc.nn.utils.parametrizations.spectral_norm(layer, dim=3)
    mc.nn.utils.weight_norm(layer)
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        mc.nn.utils.weight_norm(layer)


def test_buffers_can_be_parametrized_too():
    norm = mc.nn.BatchNorm1d(3)
    parametrize.register_parametrization(norm, "running_var", Scale(3.0))
    assert "parametrizations.running_var.original" in norm.state_dict()
    np.testing.assert_allclose(norm.running_var.numpy(), [1.0, 1.0, 1.0])
