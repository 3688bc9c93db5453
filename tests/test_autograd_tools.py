"""Tools on top of the autograd engine, as ``torch.autograd`` / ``torch.utils`` have them:
``autograd.functional`` (jacobian, hessian, vjp, jvp, vhp, hvp) against PyTorch, anomaly
detection (the first NaN names its op and the forward line), and gradient checkpointing
(the same numbers as without it, dropout included; parameters, ``grad`` and second
derivatives)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.utils.checkpoint import checkpoint, checkpoint_sequential
from oracle import torch_or_skip

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 2))
X0, Y0 = RNG.normal(size=2), RNG.normal(size=3)
V_IN = (RNG.normal(size=2), RNG.normal(size=3))


def _two_outputs(lib):
    a = lib.tensor(A)
    return lambda x, y: (lib.tanh(a @ x) * y, (x ** 3).sum() * y.sum())


def _scalar(lib):
    f = _two_outputs(lib)
    return lambda x, y: f(x, y)[0].sum() * f(x, y)[1] + (x * x).sum()


def _nested_close(ours, theirs, rtol=1e-10):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _nested_close(a, b, rtol)
    else:
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                                   atol=1e-12)


def _call(lib, name, make, single=False, v=None):
    x, y = lib.tensor(X0), lib.tensor(Y0)
    fn = make(lib)
    inputs = x if single else (x, y)
    if single:
        inner = fn
        fn = lambda x_: inner(x_, lib.tensor(Y0))  # noqa: E731
    tool = getattr(lib.autograd.functional, name)
    if v is None:
        return tool(fn, inputs)
    return tool(fn, inputs, v(lib))


@pytest.mark.oracle
@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("name, make, v", [
    ("jacobian", _two_outputs, None),
    ("hessian", _scalar, None),
    ("vjp", lambda lib: (lambda x, y: _two_outputs(lib)(x, y)[0]),
     lambda lib: lib.tensor(np.arange(3.0))),
    ("jvp", _two_outputs, "inputs"),
    ("vhp", _scalar, "inputs"),
    ("hvp", _scalar, "inputs"),
])
def test_functional_matches_pytorch(name, make, v, single):
    torch = torch_or_skip()
    if v == "inputs":
        def v(lib):
            vs = tuple(lib.tensor(t) for t in V_IN)
            return vs[0] if single else vs
    _nested_close(_call(mc, name, make, single, v), _call(torch, name, make, single, v))


def test_functional_create_graph_and_errors():
    x = mc.tensor([0.5, -1.0], requires_grad=True)
    hessian = mc.autograd.functional.hessian(lambda t: (t ** 4).sum(), x, create_graph=True)
    np.testing.assert_allclose(hessian.numpy(), np.diag(12 * x.detach().numpy() ** 2))
    (third,) = mc.grad(hessian.sum(), x)        # d/dx of trace-ish sum: 24 x
    np.testing.assert_allclose(third.numpy(), 24 * x.detach().numpy())
    jac = mc.autograd.functional.jacobian(lambda a, b: a * 2, (x, mc.ones(3)))
    np.testing.assert_array_equal(jac[1].numpy(), np.zeros((2, 3)))   # unused input: zeros
    with pytest.raises(RuntimeError, match="independent of input 1"):
        mc.autograd.functional.jacobian(lambda a, b: a * 2, (x, mc.ones(3)), strict=True)
    with pytest.raises(RuntimeError, match="single-element"):
        mc.autograd.functional.hessian(lambda t: t * 2, x)
    with pytest.raises(RuntimeError, match="v can be None only"):
        mc.autograd.functional.vjp(lambda t: t * 2, x)
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        mc.autograd.functional.jacobian(lambda t: t, [np.ones(2)])


def test_detect_anomaly_names_the_op_and_the_forward_line():
    x = mc.tensor([0.0, 4.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with mc.autograd.detect_anomaly():
            assert mc.autograd.is_anomaly_enabled()
            y = (mc.sqrt(x) * 0).sum()     # sqrt'(0) = inf, times 0: NaN
            with pytest.raises(RuntimeError) as caught, np.errstate(all="ignore"):
                y.backward()
    message = str(caught.value)
    assert "Function 'Sqrt' returned nan values in its 0th output" in message
    assert "test_autograd_tools.py" in message and "y = (mc.sqrt(x) * 0).sum()" in message
    assert not mc.autograd.is_anomaly_enabled()
    with np.errstate(all="ignore"):
        (mc.sqrt(x) * 0).sum().backward()       # off again: NaN gradients pass silently
    assert np.isnan(x.grad.numpy()[0])
    with mc.autograd.set_detect_anomaly(True, check_nan=False):
        assert mc.autograd.is_anomaly_enabled() and not mc.autograd.is_anomaly_check_nan_enabled()
    assert not mc.autograd.is_anomaly_enabled()
    assert mc.autograd.gradcheck is gradcheck and mc.autograd.gradgradcheck is gradgradcheck


def _net():
    mc.manual_seed(0)
    return mc.nn.Sequential(mc.nn.Linear(4, 8), mc.nn.Tanh(), mc.nn.Dropout(0.5),
                            mc.nn.Linear(8, 3)).double()


def test_checkpoint_gives_the_same_numbers_dropout_included():
    net = _net()
    x = mc.randn(5, 4).double().requires_grad_(True)
    results = []
    for use_checkpoint in (False, True):
        net.zero_grad()
        x.grad = None
        mc.manual_seed(7)
        y = checkpoint(net, x) if use_checkpoint else net(x)
        (y ** 2).sum().backward()
        after = mc.randn(1).item()     # the generator continues where it would have
        results.append((y.detach().numpy(), x.grad.numpy(), net[0].weight.grad.numpy(),
                        net[3].bias.grad.numpy(), after))
    for ours, reference in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, reference)


def test_checkpoint_under_grad_and_second_derivatives():
    net = _net().eval()
    x = mc.randn(3, 4).double().requires_grad_(True)
    assert gradcheck(lambda t: checkpoint(net, t), (x,))
    assert gradgradcheck(lambda t: checkpoint(net, t), (x,))
    out = checkpoint(net, x).sum()
    (g,) = mc.grad(out, x, create_graph=True)      # a gradient penalty through it
    assert net[0].weight.grad is None              # grad() leaves .grad alone
    (g ** 2).sum().backward()
    (g_plain,) = mc.grad(net(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), g_plain.detach().numpy(), rtol=1e-12)
    assert net[0].weight.grad is not None


def test_checkpoint_tuples_arguments_sequential_and_hidden_tensors():
    x = mc.randn(2, 3).double().requires_grad_(True)
    doubled, total = checkpoint(lambda a, k: (a * k, a.sum() * 2), x, 3.0)
    (doubled.sum() + total).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 5.0))
    net = _net().eval()
    x4 = mc.randn(5, 4).double().requires_grad_(True)
    checkpoint_sequential(net, 2, x4).sum().backward()
    reference = x4.grad.numpy().copy()
    x4.grad = None
    net(x4).sum().backward()
    np.testing.assert_allclose(reference, x4.grad.numpy(), rtol=1e-12)
    hidden = mc.randn(3, requires_grad=True).double()
    weight = mc.ones(3, dtype=mc.float64, requires_grad=True)

    def reads_a_global(a):
        return a * GLOBALS["w"]

    GLOBALS["w"] = weight
    with pytest.raises(RuntimeError, match="Pass it to checkpoint as an argument"):
        checkpoint(reads_a_global, x).sum().backward()
    assert hidden.requires_grad
    with mc.no_grad():
        assert checkpoint(net, x4).creator is None   # nothing to record
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, x)


GLOBALS: dict = {}
