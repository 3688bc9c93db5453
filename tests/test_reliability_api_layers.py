"""Reliability of layer constructors and functional ops against PyTorch (issue 13): every
bad argument is one clear error at the API boundary (never a ZeroDivisionError, a
MemoryError or a NumPy ufunc error from inside), a float size is never truncated, and what
PyTorch computes is computed alike."""
from __future__ import annotations

import pytest

import minicnn as mc
from api_oracle import compare

SIGNAL = "s = L.ones(1, 2, 8)"


@pytest.mark.parametrize("code", [
    # Conv1d / ConvTranspose1d: checked when built, as Conv2d is
    "nn.Conv1d(2, 4, 0)(s)", "nn.Conv1d(2, 4, 1.5)", "nn.Conv1d(2, 4, 3, stride=0)(s)",
    "nn.Conv1d(2, 4, 3, groups=0)", "nn.Conv1d(2, 3, 3, groups=2)", "nn.Conv1d(-1, 3, 3)",
    "nn.Conv1d(2, 4, 3, padding='same', stride=2)", "nn.Conv1d(2, 4, (3, 3))(s)",
    "nn.Conv1d(2, 4, 3, padding=-1)(s)", "nn.Conv1d(2, 0, 3)(s)",
    "nn.ConvTranspose1d(2, 4, 0)(s)", "nn.ConvTranspose1d(2, 0, 3)(s)",
    "nn.ConvTranspose1d(2, 4, 3, stride=2, output_padding=2)(s)",
    "nn.ConvTranspose1d(2, 4, 3, stride=2, output_padding=1)(s).shape",
    "F.conv_transpose1d(s, L.ones(2, 4, 0))", "F.conv1d(s, L.ones(0, 2, 3))",
    # 1-D pooling: a float window is a TypeError, never int()-truncated
    "nn.MaxPool1d(1.5)(s)", "nn.AvgPool1d(1.5)(s)", "F.max_pool1d(s, 1.5)",
    "F.avg_pool1d(s, 2.5)", "nn.AdaptiveAvgPool1d(1.5)(s)", "nn.MaxPool1d(0)(s)",
    "nn.MaxPool1d(2, padding=2)(s)", "nn.AvgPool1d(2, padding=2)(s)",
    "nn.MaxPool1d(3, stride=2, padding=1)(s).shape", "nn.AdaptiveAvgPool1d(0)(s).shape",
    "F.adaptive_avg_pool2d(L.ones(1, 2, 4, 4), 0).shape",
    "F.adaptive_avg_pool2d(L.ones(1, 2, 4, 4), (1, 0)).shape",
    # numbers that must be numbers
    "nn.LPPool1d(0, 2)(s)", "nn.LPPool2d(0, 2)(L.ones(1, 1, 4, 4))",
    "nn.LPPool1d(2, 2)(s)", "F.lp_pool1d(s, 0, 2)", "nn.Hardshrink('a')(s)",
    "F.hardshrink(s, 'a')", "nn.Softshrink(float('nan'))(s)", "nn.Softshrink(-1)(s)",
    "F.softshrink(s, float('nan'))", "nn.RReLU(float('nan'), 0.3)(s)",
    "nn.RReLU(0.1, float('nan'))(s)", "F.rrelu(s, float('nan'))", "nn.PReLU(1.5)",
    "nn.PReLU(3).weight.shape",
    # sizes too big for memory: one RuntimeError, not MemoryError
    "nn.Linear(2**40, 4)", "nn.Embedding(2**40, 3)", "nn.PReLU(2**40)",
    "nn.BatchNorm1d(2**40)", "nn.Conv2d(2, 2**40, 3)"])
def test_layer_arguments(code):
    compare(code, SIGNAL)


def test_lp_pool_zero_power_names_the_argument():
    with pytest.raises(ValueError, match="norm_type: expected a non-zero number"):
        mc.nn.LPPool2d(0, 2)


IMAGE = ("R = np.random.RandomState(0); x = L.tensor(R.randint(-9, 9, (1, 2, 4, 4))); "
         "q = L.tensor(R.randn(2, 3, 4).astype('float32')); v = L.ones(2, 3)")


@pytest.mark.parametrize("code", [
    # pooling integers as PyTorch: int64 averages truncate in int64, other ints refused
    "F.avg_pool2d(x, 2)", "F.avg_pool2d(x, 3, stride=1, padding=1)",
    "F.avg_pool2d(x, 2, divisor_override=3)", "F.avg_pool2d(x.int(), 2)",
    "F.avg_pool2d(x.to(L.uint8), 2)", "F.avg_pool2d(x.bool(), 2)", "F.max_pool2d(x, 2)",
    "F.max_pool2d(x.bool(), 2)", "F.max_pool2d(x.to(L.uint8), 2)",
    # attention: a query that may attend to nothing gives 0, not NaN
    "F.scaled_dot_product_attention(q, q, q, attn_mask=L.zeros(3, 3).bool())",
    "F.scaled_dot_product_attention(q, q, q, attn_mask=L.eye(3).bool() & (L.arange(3) > 0))",
    "F.scaled_dot_product_attention(q, q, q, attn_mask=L.full((3, 3), float('-inf')))",
    "F.scaled_dot_product_attention(q, q, q, is_causal=True)",
    # constant padding: widths are ints, the value a number, a crop never below size 0
    "F.pad(v, (1.5, 1))", "F.pad(v, (1, 1), value='a')", "F.pad(v, (-2, -2))",
    "F.pad(v, (-1, -2))", "F.pad(v, (-1, -1))", "F.pad(v, (1, 2, 0, 1), value=3.0)"])
def test_functional_ops(code):
    compare(code, IMAGE)


def test_fully_masked_attention_has_zero_gradient_there():
    q = mc.tensor([[[1.0, 2.0], [3.0, -1.0]]], requires_grad=True)
    mask = mc.tensor([[True, True], [False, False]])
    out = mc.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    assert out.numpy()[0, 1].tolist() == [0.0, 0.0]
    out.sum().backward()
    assert bool(mc.isfinite(q.grad).all())


GEN = "g = L.Generator().manual_seed(0); e = L.empty(0, 3); w = L.empty(4, 3); v = L.empty(3)"


@pytest.mark.parametrize("code", [
    # a Generator object is taken wherever PyTorch takes one (was an AttributeError)
    "L.randn(2, generator=g).shape", "L.rand(2, 3, generator=g).shape",
    "nn.init.normal_(w, generator=g).shape", "nn.init.uniform_(w, generator=g).shape",
    "nn.init.xavier_uniform_(w, generator=g).shape", "nn.init.kaiming_normal_(w, generator=g).shape",
    "nn.init.trunc_normal_(w, generator=g).shape", "nn.init.orthogonal_(w, generator=g).shape",
    # zero-element tensors are left as they are (was a ZeroDivisionError on the fan)
    "nn.init.xavier_uniform_(e).shape", "nn.init.kaiming_uniform_(e).shape",
    "nn.init.kaiming_normal_(e).shape", "nn.init.xavier_normal_(e).shape",
    "nn.init.xavier_uniform_(v)", "nn.init.kaiming_uniform_(v)", "nn.init.constant_(w, 'a')"])
def test_generators_and_init(code):
    compare(code, GEN)


def test_a_generator_gives_the_same_draws_twice():
    first = mc.randn(3, generator=mc.Generator().manual_seed(5))
    again = mc.randn(3, generator=mc.Generator().manual_seed(5))
    assert first.tolist() == again.tolist()
    w = mc.nn.init.normal_(mc.empty(3), generator=mc.Generator().manual_seed(5))
    assert w.tolist() == mc.nn.init.normal_(mc.empty(3), generator=mc.Generator().manual_seed(5)).tolist()


@pytest.mark.parametrize("code", [
    "F.dropout(None)", "F.dropout('a')", "F.dropout2d(None)", "F.dropout(L.ones(3).long())",
    "F.dropout(L.ones(3).long(), 0.0)", "F.dropout(L.ones(3).long(), 0.5, training=False)",
    "F.dropout(L.ones(3).bool())", "F.dropout(L.ones(2, 2), 'a')", "F.dropout(L.ones(2, 2), 1.5)",
    "F.dropout(L.ones(2, 2), 1.0)", "F.dropout2d(L.ones(1, 2, 2, 2).long())"])
def test_dropout_arguments(code):
    compare(code)


@pytest.mark.parametrize("code", [
    "nn.AlphaDropout(0.5)(L.ones(4, 4)).dtype == L.float32",
    "nn.AlphaDropout(0.5)(L.ones(4, 4).half()).dtype == L.float16",
    "nn.FeatureAlphaDropout(0.5)(L.ones(2, 3, 4, 4)).dtype == L.float32",
    "nn.Conv3d(2, 4, 3)(L.ones(0, 2, 5, 5, 5)).shape",
    "F.avg_pool3d(L.tensor(np.arange(-8, 8).reshape(1, 2, 2, 2, 2)), 2)",
    "F.avg_pool3d(L.ones(1, 2, 2, 2, 2).int(), 2)",
    "nn.Unflatten(1, (2, 2))(L.tensor(1.))", "nn.Unflatten(1, (2, 2))(L.ones(3))",
    "nn.Unflatten(1, (2, 2))(L.ones(3, 4)).shape", "nn.ZeroPad2d(2)(None)",
    "nn.ConstantPad1d(2, 0.5)('a')", "F.pad(None, (1, 1))"])
def test_layer_forwards(code):
    compare(code)


KL = "x = L.tensor([0.5, -0.5, 0.2], requires_grad=True); t = L.tensor([-1., 0., 2.])"


@pytest.mark.parametrize("reduction", ["'none'", "'sum'", "'mean'", "'batchmean'"])
def test_kl_div_of_a_negative_target_is_nan_as_pytorch(reduction):
    compare(f"out = F.kl_div(x, t, reduction={reduction})", KL)
    compare("F.kl_div(x, t.abs(), reduction='sum').backward(); out = x.grad", KL)
