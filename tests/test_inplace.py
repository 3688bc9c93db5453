"""In-place methods: same object and storage, PyTorch's leaf rule, rebased history, and the
version counter's error at backward; gradients compared with PyTorch."""
import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip


def test_no_grad_update_keeps_object_and_storage():
    model = mc.nn.Linear(3, 2)
    weight, storage = model.weight, model.weight.array
    model(mc.randn(4, 3)).sum().backward()
    expected = weight.numpy() - 0.1 * weight.grad.numpy()
    with mc.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert model.weight is weight and model.weight.array is storage
    np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-6)
    assert weight._version == 1


def test_leaf_requiring_grad_refuses_in_place_outside_no_grad():
    w = mc.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with mc.no_grad():
        w.mul_(2).add_(1, alpha=3).clamp_(max=4.0)
    np.testing.assert_allclose(w.numpy(), [4, 4, 4])


def test_methods_match_numpy():
    x = mc.tensor([1.0, -2.0, 3.0])
    assert x.fill_(2.0) is x and x.tolist() == [2, 2, 2]
    x.zero_().add_(mc.tensor([1.0, 2.0, 3.0]), alpha=2).sub_(1).div_(2).pow_(2)
    np.testing.assert_allclose(x.numpy(), ((np.array([1, 2, 3]) * 2 - 1) / 2) ** 2)
    x.neg_().exp_()
    np.testing.assert_allclose(x.numpy(), np.exp(-((np.array([1, 2, 3]) * 2 - 1) / 2) ** 2),
                               rtol=1e-6)
    x.copy_(mc.tensor(5.0))
    assert x.tolist() == [5, 5, 5]
    mc.manual_seed(0)
    big = mc.zeros(20000).normal_(1.0, 0.5)
    assert abs(big.numpy().mean() - 1.0) < 0.02 and abs(big.numpy().std() - 0.5) < 0.02
    big.uniform_(-1, 3)
    assert big.numpy().min() >= -1 and big.numpy().max() < 3


def test_int_tensor_refuses_float_result():
    x = mc.tensor(np.array([1, 2]))
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.mul_(0.5)


def _chain(lib, a, c):
    h = a * 2
    b = h * 3          # uses h before the in-place op
    h.mul_(c)          # recorded: h's history is rebased
    h.add_(b, alpha=0.5)
    out = mc.zeros(3, dtype="float64") if lib is mc else lib.zeros(3, dtype=a.dtype)
    out.copy_(h.exp())
    return (out * b).sum()


def test_rebased_history_matches_pytorch():
    torch = torch_or_skip()
    values = np.array([0.1, -0.3, 0.2])
    weights = np.array([1.5, -0.5, 2.0])
    a, c = mc.tensor(values, requires_grad=True), mc.tensor(weights, requires_grad=True)
    ta = torch.tensor(values, requires_grad=True)
    tc = torch.tensor(weights, requires_grad=True)
    mine = mc.grad(_chain(mc, a, c), [a, c], create_graph=True)
    theirs = torch.autograd.grad(_chain(torch, ta, tc), [ta, tc], create_graph=True)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=1e-10)
    second = mc.grad(mine[0].sum(), a)[0]
    second_t = torch.autograd.grad(theirs[0].sum(), ta)[0]
    np.testing.assert_allclose(second.numpy(), second_t.numpy(), rtol=1e-10)


def test_modified_saved_tensor_raises_at_backward_naming_the_function():
    a = mc.randn(3, requires_grad=True)
    y = a.exp()
    z = y * a
    with mc.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match=r"saved by Mul is at version 1; expected version 0"):
        z.sum().backward()
    y = a.exp()
    with mc.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match=r"output .* saved by Exp is at version 1"):
        y.sum().backward()


def test_modifying_a_tensor_no_backward_reads_is_fine():
    a = mc.randn(3, requires_grad=True)
    b = mc.randn(3)
    y = a + b
    b.mul_(2)          # Add's backward does not read b, so PyTorch is fine with this too
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones(3))


def test_detach_shares_the_version_counter():
    a = mc.randn(3)
    d = a.detach()
    d.add_(1)
    assert a._version == 1 == d._version


@pytest.mark.oracle
def test_shape_changing_in_place_ops_match_pytorch():
    torch = torch_or_skip()

    def run(lib):
        x = lib.tensor([[1.0, -2.0, 3.0]], dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.unsqueeze_(0)
        y.squeeze_()
        t = (x * 1).t_()
        s = (x * x).swapaxes_(0, 1) if lib is mc else (x * x).transpose_(0, 1)
        w = lib.ones(2, 3)
        w.transpose_(0, 1).unsqueeze_(-1)
        (y.sum() * 3 + (t ** 2).sum() + (s * t).sum()).backward()
        return [tuple(v.shape) for v in (y, t, s, w)], x.grad.numpy()

    (shapes, grad), (torch_shapes, torch_grad) = run(mc), run(torch)
    assert shapes == torch_shapes
    np.testing.assert_allclose(grad, torch_grad)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mc.zeros(2, requires_grad=True).unsqueeze_(0)
