"""Views and in-place ops against PyTorch (issue 13: no silent wrong gradient).

A basic index (``c[0]``, ``c[:, 1:]``, ``c[1, 2]``), a reshape or a permute that shares
its input's memory is a *view*, as in PyTorch: an in-place op on it changes the base, in
value and in gradient; an in-place op on the base changes the view's value and history.
Before, ``c[0:1].mul_(3)`` changed c's values but not its gradient, and ``c[1].mul_(3)``
on a 1-D c changed a copy (a NumPy scalar), not c."""
from __future__ import annotations

import pytest

import minicnn as mc
from api_oracle import compare

S = "a = L.tensor([1., 2., 3.], requires_grad=True); w = L.tensor([[1., 2.], [3., 4.]], requires_grad=True)"


@pytest.mark.parametrize("code", [
    "c = a*1; b = c[0:1]; b.mul_(3); c.sum().backward(); out = (a.grad, c)",
    "c = a*1; b = c[1]; b.mul_(3); (c*c).sum().backward(); out = (a.grad, c)",
    "c = a*1; c[1:].add_(a[:2]); (c*c).sum().backward(); out = (a.grad, c)",
    "c = w*1; c[:, 0].zero_(); c.sum().backward(); out = (w.grad, c)",
    "c = w*1; c[0][1].mul_(5); c.sum().backward(); out = (w.grad, c)",
    "c = w*1; v = c[0]; v2 = v[1:]; v2.mul_(5); c.sum().backward(); out = (w.grad, c)",
    "c = w*1; b = c[0]; b.mul_(2); b.sum().backward(); out = (w.grad, b)",
    "c = w*1; b = c[0]; e = b.exp(); b.mul_(2); e.sum().backward(); out = w.grad",
    "c = w*1; b = c[0]; b.mul_(2); (b * c[0]).sum().backward(); out = w.grad",
    "buf = L.zeros(3); buf[:2].copy_(a[1:]); (buf * buf).sum().backward(); out = (a.grad, buf)",
    "buf = L.zeros(2, 3); buf[0].add_(a); buf.sum().backward(); out = a.grad",
    "buf = L.zeros(3); v = buf[1:]; v.fill_(2.); out = buf",
    "a[0:1].mul_(2)", "w[0].add_(1)", "w.view(4).add_(1)",
    "with L.no_grad(): a[0:1].mul_(2)\nout = a",
    "c = w*1; c[[0]].mul_(3); c.sum().backward(); out = (w.grad, c)",
    "c = w * 1; d = c[0]; c.mul_(2); d.sum().backward(); out = w.grad",
    "c = w*1; c.t()[0].mul_(3); c.sum().backward(); out = (w.grad, c)",
    "c = w*1; c.view(4)[1:].mul_(3); c.sum().backward(); out = (w.grad, c)",
    "c = w*1; v = c.view(4); c.mul_(2); v.sum().backward(); out = w.grad",
    "c = w*1; c.t().mul_(3); (c * L.tensor([[1., 2.], [3., 4.]])).sum().backward(); out = (w.grad, c)",
    "c = w*1; c.unsqueeze(0)[0, 1].zero_(); c.sum().backward(); out = (w.grad, c)",
    "x = L.ones(2, 3); y = x.view(6); y[0] = 5; out = x",
    "x = L.ones(2, 3, requires_grad=True); y = x*2; z = y.permute(1, 0); z[0].mul_(0); (y*y).sum().backward(); out = x.grad",
    "x = L.ones(2, 3); x[1, 2] = 7; out = x", "x = L.arange(4.); x[2].add_(5); out = x",
    "x = L.arange(6.).reshape(2, 3); r = x[1]; x.mul_(2); out = r"])
def test_views_and_in_place_ops(code):
    compare(code, S)


def test_a_view_made_under_no_grad_is_still_memory_shared():
    x = mc.zeros(3)
    with mc.no_grad():
        v = x[1:]
    v.add_(1)
    assert x.tolist() == [0.0, 1.0, 1.0]


T = "x = L.tensor([[0.5, -1.5], [2.0, 3.0]]); i = L.tensor([[1, 2], [3, 4]]); a = L.tensor([0.5, 2.0], requires_grad=True)"


@pytest.mark.parametrize("code", [
    "x.sigmoid_()", "x.tanh_()", "x.floor_()", "x.ceil_()", "x.round_()", "x.trunc_()",
    "x.sign_()", "x.sin_()", "x.cos_()", "x.square_()", "x.remainder_(2.0)", "x.lt_(1.0)",
    "x.ge_(x.t().clone())", "x.cumsum_(1)", "x.erf_()", "x.multiply_(2)", "x.subtract_(x)",
    "x.divide_(2)", "x.floor_divide_(2)", "x.masked_fill_(x > 1, 0.)", "x.index_fill_(1, L.tensor([0]), 7.)",
    "x.scatter_(1, L.tensor([[1], [0]]), 9.)", "x.tril_()", "x.neg_()", "x.rsqrt_()",
    "i.sigmoid_()", "i.floor_divide_(2)", "i.lt_(2)", "i.tanh_()",
    "a.sigmoid_()", "b = a * 1; b.sigmoid_(); b.sum().backward(); out = a.grad",
    "b = a * 1; b.tanh_(); b.sum().backward(); out = a.grad",
    "b = a * 1; b[0].sigmoid_(); b.sum().backward(); out = (a.grad, b)",
    "b = a * 2; b.detach_(); out = (b.requires_grad, b.grad_fn is None, b)"])
def test_in_place_methods_as_pytorch(code):
    compare(code, T)


LAYERS = "x = L.tensor([[-1.0, 2.0], [0.5, -3.0]]); a = L.tensor([-1.0, 2.0], requires_grad=True)"


@pytest.mark.parametrize("layer", [
    "nn.ReLU(inplace=True)", "nn.LeakyReLU(0.1, inplace=True)", "nn.ELU(inplace=True)",
    "nn.CELU(inplace=True)", "nn.SELU(inplace=True)", "nn.Hardtanh(inplace=True)",
    "nn.ReLU6(inplace=True)", "nn.SiLU(inplace=True)", "nn.Mish(inplace=True)",
    "nn.Hardswish(inplace=True)", "nn.Hardsigmoid(inplace=True)",
    "nn.Threshold(0.1, 20., inplace=True)", "nn.Dropout(0.0, inplace=True)", "nn.ReLU()"])
def test_inplace_layers_write_into_their_input(layer):
    compare(f"m = {layer}; y = m(x); out = (y is x, x)", LAYERS)
    compare(f"m = {layer}; m(a)", LAYERS)
    compare(f"m = {layer}; b = a * 1; y = m(b); (y * L.tensor([1., 2.])).sum().backward(); "
            f"out = (a.grad, b)", LAYERS)
    compare(f"m = {layer}.eval(); b = a * 1; y = m(b); out = (y is b, b)", LAYERS)


@pytest.mark.parametrize("call", [
    "F.hardtanh(x, inplace=True)", "F.relu6(x, inplace=True)", "F.silu(x, inplace=True)",
    "F.selu(x, inplace=True)", "F.celu(x, inplace=True)", "F.mish(x, inplace=True)",
    "F.hardswish(x, inplace=True)", "F.hardsigmoid(x, inplace=True)",
    "F.threshold(x, 0., 5., inplace=True)", "F.dropout(x, 0.0, inplace=True)",
    "F.dropout(x, 1.0, inplace=True)", "F.dropout2d(x[None], 1.0, inplace=True)",
    "F.hardtanh(x, inplace=False)", "F.threshold(x, 0., 5.)"])
def test_functional_inplace_writes_into_the_input(call):
    compare(f"y = {call}; out = (y is x or y is x[None], x)", LAYERS)
    compare(call.replace("(x", "(a"), LAYERS)


@pytest.mark.parametrize("code", [
    "nn.Embedding.from_pretrained(L.ones(3))", "x.new_full((2,), 'a')", "x.new_full((2,), 1.5)",
    "L.mode(L.ones(0))", "L.mode(L.ones(2, 0), 0)", "L.mode(L.tensor([1., 2., 2.]))",
    "x.flip('a')", "x.unsqueeze(1.5)", "x.transpose(0, 1.0)", "x.narrow(1.0, 0, 1)"])
def test_more_argument_checks(code):
    compare(code, LAYERS)


@pytest.mark.parametrize("dtype", ["L.int8", "L.uint8", "L.int64", "L.int32"])
@pytest.mark.parametrize("value", ["300", "-1", "2.7", "float('nan')", "float('inf')", "2**70",
                                   "1e30", "-129", "True"])
def test_numbers_that_do_not_fit_an_integer_tensor(dtype, value):
    compare(f"t = L.zeros(2, dtype={dtype}); t[0] = {value}; out = t")
    compare(f"t = L.zeros(2, dtype={dtype}); t.fill_({value}); out = t")
