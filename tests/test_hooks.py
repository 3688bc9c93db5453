"""``Tensor.register_hook`` and ``retain_grad``: what a learner uses to look at (or change)
the gradient flowing through one tensor, as PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip


def _run(lib):
    """The same small program on minicnn or torch: hooks on a leaf and on computed tensors,
    one replacing the gradient, one watching it, retain_grad on an intermediate."""
    x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, 0.25, 2.0], dtype=lib.float64, requires_grad=True)
    hidden = x * w
    hidden.retain_grad()
    seen = []
    handle = hidden.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    x.register_hook(lambda g: g * 10)                    # replaces x's gradient
    activated = hidden.tanh()
    activated.register_hook(lambda g: g.clamp(-0.5, 0.5))
    loss = (activated * lib.tensor([3.0, -1.0, 0.2], dtype=lib.float64)).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy(), w.grad.numpy().copy(), hidden.grad.numpy().copy()]
    handle.remove()
    loss.backward()                                      # accumulates; the watcher is gone
    return first, [x.grad.numpy(), w.grad.numpy(), hidden.grad.numpy()], seen


@pytest.mark.oracle
def test_hooks_and_retain_grad_match_pytorch():
    torch = torch_or_skip()
    ours, theirs = _run(mc), _run(torch)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert len(ours[2]) == len(theirs[2]) == 1
    np.testing.assert_allclose(ours[2][0], theirs[2][0], rtol=1e-6)


def test_hooks_run_in_grad_too_and_retain_grad_is_for_backward_only():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 0)
    (gx,) = mc.grad((y * y).sum(), x)
    assert gx.tolist() == [0.0, 0.0] and y.grad is None
    assert y.retains_grad and not x.retains_grad
    x.retain_grad()                                      # a leaf keeps .grad anyway: no-op
    assert not x.retains_grad


def test_bad_hooks_are_named():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mc.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        mc.ones(2).retain_grad()
    x = mc.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="hook: expected a callable"):
        x.register_hook(3)
    y = x * 2
    y.register_hook(lambda g: mc.ones(3))
    with pytest.raises(RuntimeError, match=r"gradient's shape \(2,\)"):
        y.sum().backward()


def _module_run(lib):
    torch_like = lib
    m = torch_like.nn.Sequential(torch_like.nn.Linear(3, 2), torch_like.nn.Tanh(),
                                 torch_like.nn.Linear(2, 1)).double()
    values = np.random.default_rng(0)
    with torch_like.no_grad():
        for p in m.parameters():
            p.copy_(torch_like.tensor(values.normal(size=tuple(p.shape)), dtype=lib.float64))
    seen = []

    def watch(module, grad_input, grad_output):
        seen.append((type(module).__name__,
                     [None if g is None else g.detach().numpy().copy() for g in grad_input],
                     [g.detach().numpy().copy() for g in grad_output]))

    m[1].register_full_backward_hook(watch)
    m[0].register_full_backward_hook(watch)      # its input needs no gradient: (None,)
    m[2].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))   # doubles it
    x = torch_like.tensor(values.normal(size=(2, 3)), dtype=lib.float64)
    m(x).sum().backward()
    return seen, m[0].weight.grad.numpy()


@pytest.mark.oracle
def test_module_backward_hooks_match_pytorch():
    torch = torch_or_skip()
    import warnings

    ours = _module_run(mc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # torch warns about the (None,) case
        theirs = _module_run(torch)
    assert [name for name, *_ in ours[0]] == [name for name, *_ in theirs[0]] == ["Tanh",
                                                                                "Linear"]
    for (_, gi, go), (_, tgi, tgo) in zip(ours[0], theirs[0]):
        for a, b in zip(gi + go, tgi + tgo):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
