"""The volumetric family: conv3d, conv_transpose3d, conv3d_weight, max/avg/adaptive 3-D
pooling, 3-D padding and normalisation. gradcheck + gradgradcheck under hypothesis and the
PyTorch oracle (forward, gradient, second derivative) for every op; the layers against
torch.nn (state_dict keys and shapes, reprs, float32 forwards from the same weights);
unbatched inputs; argument errors. Volumes are tiny: 3-D finite differences are costly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
import minicnn.nn as nn
from minicnn import registry
from minicnn.ops.conv3d import conv3d_weight
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, tie_free


def _tf():
    return torch_or_skip().nn.functional


def _triple(data, low, high):
    return tuple(data.draw(st.integers(low, high)) for _ in range(3))


def _maybe_int(data, values):
    """A triple, or its single value as an int when all three agree (half the time)."""
    if len(set(values)) == 1 and data.draw(st.booleans()):
        return values[0]
    return values


# ---------------------------------------------------------------------------------------
# Draws (hyperparameters by hypothesis; sides at most 4)
# ---------------------------------------------------------------------------------------
def conv3d_inputs(data, strings=True):
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kernel, dilation = _triple(data, 1, 2), _triple(data, 1, 2)
    stride, padding = _triple(data, 1, 2), _triple(data, 0, 1)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(data.draw(st.integers(max(1, s - 2 * p), s + 1)) for s, p in zip(spans, padding))
    kwargs = {"stride": _maybe_int(data, stride), "padding": _maybe_int(data, padding),
              "dilation": _maybe_int(data, dilation), "groups": groups}
    if strings and data.draw(st.booleans()):
        kwargs["stride"] = 1
        kwargs["padding"] = data.draw(st.sampled_from(["same", "valid", padding]))
        if kwargs["padding"] == "valid":
            size = tuple(max(a, s) for a, s in zip(size, spans))
    x = data.draw(arrays((data.draw(st.integers(1, 2)), c_in) + size))
    inputs = [x, data.draw(arrays((c_out, c_in // groups) + kernel))]
    if data.draw(st.booleans()):
        inputs.append(data.draw(arrays((c_out,))))
    return inputs, kwargs


def conv_transpose3d_inputs(data):
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kernel, stride, dilation = _triple(data, 1, 2), _triple(data, 1, 2), _triple(data, 1, 2)
    size = _triple(data, 1, 3)
    padding = tuple(data.draw(st.integers(0, 1)) if (n - 1) * s + d * (k - 1) >= 2 else 0
                    for n, s, d, k in zip(size, stride, dilation, kernel))
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    kwargs = {"stride": _maybe_int(data, stride), "padding": _maybe_int(data, padding),
              "output_padding": output_padding, "groups": groups,
              "dilation": _maybe_int(data, dilation)}
    x = data.draw(arrays((1, c_in) + size))
    inputs = [x, data.draw(arrays((c_in, c_out // groups) + kernel))]
    if data.draw(st.booleans()):
        inputs.append(data.draw(arrays((c_out,))))
    return inputs, kwargs


def conv3d_weight_inputs(data):
    (x, w, *_), kwargs = conv3d_inputs(data, strings=False)  # torch.nn.grad: numbers only
    with mc.no_grad():
        out = F.conv3d(mc.tensor(x), mc.tensor(w), **kwargs)
    grad_output = data.draw(arrays(out.shape))
    return [x, grad_output], dict(kwargs, weight_size=w.shape)


def _pool_window(data, ceil=True, dilation=True, fit_unpadded=False):
    kernel = _triple(data, 1, 3)
    kwargs = {"kernel_size": _maybe_int(data, kernel),
              "stride": data.draw(st.sampled_from([None, _triple(data, 1, 2)])),
              "padding": tuple(data.draw(st.integers(0, k // 2)) for k in kernel)}
    if dilation:
        kwargs["dilation"] = _triple(data, 1, 2)
    if ceil:
        kwargs["ceil_mode"] = data.draw(st.booleans())
    spans = [kwargs.get("dilation", (1, 1, 1))[i] * (k - 1) + 1 for i, k in enumerate(kernel)]
    size = tuple(data.draw(st.integers(s if fit_unpadded else max(1, s - 2 * p), s + 2))
                 for s, p in zip(spans, kwargs["padding"]))
    batch = (data.draw(st.integers(1, 2)),) if data.draw(st.booleans()) else ()
    return batch + (data.draw(st.integers(1, 2)),) + size, kwargs


def _sees_the_input(x, kwargs) -> bool:
    """False when a dilated window lies entirely in the padding (its max is -inf, as in
    PyTorch, and finite differences of -inf mean nothing)."""
    with mc.no_grad():
        return bool(np.isfinite(F.max_pool3d(mc.tensor(x), **kwargs).numpy()).all())


def max_pool3d_inputs(data):
    shape, kwargs = _pool_window(data)
    x = data.draw(tie_free(shape))
    assume(_sees_the_input(x, kwargs))
    return [x], kwargs


def avg_pool3d_inputs(data):
    # PyTorch's avg_pool3d (not its avg_pool2d) rejects inputs smaller than the kernel
    shape, kwargs = _pool_window(data, dilation=False, fit_unpadded=True)
    kwargs["count_include_pad"] = data.draw(st.booleans())
    kwargs["divisor_override"] = data.draw(st.sampled_from([None, 2, 5]))
    return [data.draw(arrays(shape))], kwargs


def adaptive_avg_pool3d_inputs(data):
    shape = (data.draw(st.integers(1, 2)), 2) + _triple(data, 1, 5)
    output = tuple(data.draw(st.sampled_from([None, 1, 2, 3])) for _ in range(3))
    if data.draw(st.booleans()):
        output = data.draw(st.integers(1, 3))
    return [data.draw(arrays(shape[data.draw(st.integers(0, 1)):]))], {"output_size": output}


def constant_pad3d_inputs(data):
    shape = (data.draw(st.integers(1, 2)), 1) + _triple(data, 1, 3)
    pad = tuple(data.draw(st.integers(0, 2)) for _ in range(6))
    return [data.draw(arrays(shape))], {"pad": pad, "value": data.draw(st.sampled_from([0.0,
                                                                                         1.5]))}


def norm3d_inputs(data):
    spatial = (data.draw(st.integers(2, 3)),) + _triple(data, 1, 3)[1:]  # more than 1 cell
    shape = (data.draw(st.integers(2, 3)), 2) + spatial
    return [data.draw(arrays(shape)), data.draw(arrays((2,))), data.draw(arrays((2,)))], {}


def _batch_norm(x, weight, bias):
    return F.batch_norm(x, None, None, weight, bias, training=True)


def _instance_norm(x, weight, bias):
    return F.instance_norm(x, weight=weight, bias=bias)


def _torch_conv3d_weight(x, g, weight_size, **kwargs):
    return torch_or_skip().nn.grad.conv3d_weight(x, weight_size, g, **kwargs)


CASES = [
    Case("conv3d", conv3d_inputs, F.conv3d, lambda *t, **kw: _tf().conv3d(*t, **kw)),
    Case("conv_transpose3d", conv_transpose3d_inputs, F.conv_transpose3d,
         lambda *t, **kw: _tf().conv_transpose3d(*t, **kw)),
    Case("conv3d_weight", conv3d_weight_inputs,
         lambda x, g, weight_size, **kw: conv3d_weight(x, weight_size, g, **kw),
         _torch_conv3d_weight),
    Case("max_pool3d", max_pool3d_inputs, F.max_pool3d,
         lambda x, **kw: _tf().max_pool3d(x, **kw)),
    Case("avg_pool3d", avg_pool3d_inputs, F.avg_pool3d,
         lambda x, **kw: _tf().avg_pool3d(x, **kw)),
    Case("adaptive_avg_pool3d", adaptive_avg_pool3d_inputs, F.adaptive_avg_pool3d,
         lambda x, **kw: _tf().adaptive_avg_pool3d(x, **kw)),
    Case("pad-constant-3d", constant_pad3d_inputs, F.pad, lambda x, **kw: _tf().pad(x, **kw)),
    Case("batch_norm-5d", norm3d_inputs, _batch_norm,
         lambda x, w, b: _tf().batch_norm(x, None, None, w, b, training=True)),
    Case("instance_norm-5d", norm3d_inputs, _instance_norm,
         lambda x, w, b: _tf().instance_norm(x, weight=w, bias=b)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# ---------------------------------------------------------------------------------------
# Values, indices, unbatched inputs
# ---------------------------------------------------------------------------------------
@settings(max_examples=6)
@given(data=st.data())
def test_max_pool3d_indices_match_pytorch(data):
    torch = torch_or_skip()
    shape, kwargs = _pool_window(data)
    x = data.draw(tie_free(shape))
    assume(_sees_the_input(x, kwargs))
    values, indices = F.max_pool3d(mc.tensor(x), return_indices=True, **kwargs)
    expected_values, expected_indices = _tf().max_pool3d(torch.tensor(x), return_indices=True,
                                                         **kwargs)
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == np.int64


def test_max_pool3d_gradient_goes_to_the_winner_and_its_second_derivative_is_zero():
    x = mc.tensor(np.arange(8.0).reshape(1, 1, 2, 2, 2), requires_grad=True)
    (g,) = mc.grad(F.max_pool3d(x, 2).sum(), [x], create_graph=True)
    expected = np.zeros(8)
    expected[7] = 1.0
    np.testing.assert_array_equal(g.numpy().ravel(), expected)
    v = mc.tensor(np.arange(8.0).reshape(x.shape))
    (gg,) = mc.grad((g * v).sum(), [x], allow_unused=True)
    assert gg is None or not gg.numpy().any()


def test_unbatched_inputs_equal_a_batch_of_one():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5))
    w, wt = rng.standard_normal((4, 2, 2, 3, 1)), rng.standard_normal((2, 3, 2, 2, 2))
    one = mc.tensor(x)
    batch = mc.tensor(x[None])
    pairs = [
        (F.conv3d(one, mc.tensor(w), padding=1), F.conv3d(batch, mc.tensor(w), padding=1)),
        (F.conv_transpose3d(one, mc.tensor(wt), stride=2),
         F.conv_transpose3d(batch, mc.tensor(wt), stride=2)),
        (F.max_pool3d(one, 2), F.max_pool3d(batch, 2)),
        (F.avg_pool3d(one, 2, 1, 1), F.avg_pool3d(batch, 2, 1, 1)),
        (F.adaptive_avg_pool3d(one, 2), F.adaptive_avg_pool3d(batch, 2)),
        (nn.InstanceNorm3d(2)(one), nn.InstanceNorm3d(2)(batch)),
    ]
    for unbatched, batched in pairs:
        assert unbatched.shape == batched.shape[1:]
        np.testing.assert_allclose(unbatched.numpy(), batched.numpy()[0])
    _, indices = F.max_pool3d(one, 2, return_indices=True)
    assert indices.shape == (2, 1, 2, 2)
    signal = mc.tensor(rng.standard_normal((3, 6)))
    np.testing.assert_allclose(nn.InstanceNorm1d(3)(signal).numpy(),
                               nn.InstanceNorm1d(3)(signal.unsqueeze(0)).numpy()[0])


def test_conv3d_runs_through_the_registry():
    F.conv3d(mc.zeros(1, 1, 2, 2, 2), mc.zeros(1, 1, 1, 1, 1))
    assert registry.last_used("conv3d") == "reference"
    assert "reference" in registry.implementations("max_pool3d_backward")


# ---------------------------------------------------------------------------------------
# Layers against torch.nn
# ---------------------------------------------------------------------------------------
LAYERS = [
    ("Conv3d", (4, 6, (3, 2, 1)), dict(stride=(2, 1, 1), padding=(1, 0, 0),
                                       dilation=(1, 2, 1), groups=2), (2, 4, 5, 6, 4)),
    ("Conv3d", (3, 2, 3), dict(padding="same", bias=False), (1, 3, 4, 4, 4)),
    ("Conv3d", (3, 2, 2), dict(padding="valid"), (3, 4, 4, 4)),
    ("ConvTranspose3d", (4, 6, (2, 3, 2)), dict(stride=2, padding=(0, 1, 0),
                                                output_padding=(1, 0, 1), groups=2),
     (2, 4, 3, 3, 2)),
    ("ConvTranspose3d", (2, 3, 3), dict(dilation=2, bias=False), (2, 2, 2, 3)),
    ("MaxPool3d", (2,), dict(), (2, 3, 4, 5, 4)),
    ("MaxPool3d", ((3, 2, 2),), dict(stride=(2, 1, 2), padding=1, dilation=(1, 2, 1),
                                     ceil_mode=True), (2, 3, 5, 6, 5)),
    ("AvgPool3d", (2,), dict(), (2, 3, 4, 5, 4)),
    ("AvgPool3d", (3, 2, 1, True, False, 5), dict(), (3, 5, 6, 5)),
    ("AdaptiveAvgPool3d", ((2, None, 3),), dict(), (2, 3, 5, 6, 7)),
    ("BatchNorm3d", (3,), dict(), (2, 3, 3, 4, 2)),
    ("BatchNorm3d", (3,), dict(momentum=None, affine=False), (2, 3, 3, 4, 2)),
    ("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 7)),
    ("InstanceNorm3d", (3,), dict(), (2, 3, 3, 4, 2)),
    ("InstanceNorm3d", (3,), dict(affine=True), (3, 3, 4, 2)),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), 2.5), dict(), (2, 2, 3, 3, 3)),
    ("ZeroPad3d", (1,), dict(), (2, 3, 3, 3)),
    ("ReflectionPad3d", ((1, 2, 0, 1, 1, 0),), dict(), (2, 2, 3, 3, 3)),
    ("ReplicationPad3d", (2,), dict(), (2, 3, 3, 3)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(LAYERS)])
def test_layer_matches_torch(name, args, kwargs, shape):
    """Same repr, state_dict keys and shapes; loading torch's state gives the same float32
    forward (and, in training mode, the same running statistics)."""
    torch = torch_or_skip()
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert tuple(ours_state[key].shape) == tuple(value.shape), key
        if value.is_floating_point():  # load non-default values (variances positive)
            value.copy_(torch.rand(value.shape) + 0.5 if "var" in key else
                        torch.randn(value.shape))
    ours.load_state_dict(theirs_state)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours_out, theirs_out = ours(mc.tensor(x)), theirs.float()(torch.tensor(x))
    assert ours_out.dtype == np.float32
    np.testing.assert_allclose(ours_out.numpy(), theirs_out.detach().numpy(), atol=1e-5,
                               rtol=1e-5)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[key].numpy(), np.float64),
                                   value.double().numpy(), atol=1e-5, rtol=1e-5, err_msg=key)
    if hasattr(theirs, "eval"):
        ours.eval(), theirs.eval()
        np.testing.assert_allclose(ours(mc.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-5,
                                   rtol=1e-5)


def test_max_pool3d_layer_returns_indices():
    values, indices = nn.MaxPool3d(2, return_indices=True)(mc.randn(1, 2, 4, 4, 4))
    assert values.shape == indices.shape == (1, 2, 2, 2, 2)


@pytest.mark.parametrize("name, args", [("Conv3d", (4, 6, (3, 2, 1))),
                                        ("ConvTranspose3d", (6, 4, 3, 1, 0, 0, 2))])
def test_conv3d_init_is_pytorchs_kaiming_uniform(name, args):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = shape[1] T R S."""
    layer = getattr(nn, name)(*args)
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    bound = 1 / np.sqrt(np.prod(weight.shape[1:]))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    assert np.abs(bias).max() <= bound
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.2 * bound  # the std of U(-b, b)


# ---------------------------------------------------------------------------------------
# Errors: they name the argument, what was expected and what came
# ---------------------------------------------------------------------------------------
def test_functional_errors():
    x, w = mc.zeros(1, 2, 3, 3, 3), mc.zeros(4, 2, 2, 2, 2)
    with pytest.raises(ValueError, match=r"conv3d: weight: expected a 5-D tensor .* got 4-D"):
        F.conv3d(x, mc.zeros(4, 2, 2, 2))
    with pytest.raises(ValueError, match=r"conv3d: input: expected a 5-D tensor .* got 3-D"):
        F.conv3d(mc.zeros(2, 3, 3), w)
    with pytest.raises(ValueError, match="conv3d: input has 2 channels but weight expects 3"):
        F.conv3d(x, mc.zeros(4, 3, 2, 2, 2))
    with pytest.raises(ValueError, match="conv3d: groups=3 must divide"):
        F.conv3d(x, w, groups=3)
    with pytest.raises(ValueError, match="conv3d: stride: expected positive values, got 0"):
        F.conv3d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"conv3d: dilation: expected an int or a triple"):
        F.conv3d(x, w, dilation=(1, 2))
    with pytest.raises(ValueError, match="conv3d: padding='same' needs stride 1"):
        F.conv3d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv3d: kernel size 5x3x3 \(kernel 2x2x2, "
                                         r"dilation 4x2x2\) is larger than the padded input"):
        F.conv3d(x, w, dilation=(4, 2, 2))
    with pytest.raises(ValueError, match=r"conv3d: bias: expected a tensor of shape \(4,\)"):
        F.conv3d(x, w, mc.zeros(3))
    with pytest.raises(TypeError, match="conv3d: input has dtype float32 but weight has dtype"):
        F.conv3d(x, w.double())
    with pytest.raises(ValueError, match="conv_transpose3d: output_padding: must be smaller "
                                         "than stride or dilation along the height"):
        F.conv_transpose3d(x, mc.zeros(2, 1, 2, 2, 2), stride=(2, 1, 1), output_padding=(1, 1, 0))
    with pytest.raises(ValueError, match="conv_transpose3d: padding: expected an int or a "
                                         "triple, got 'same'"):
        F.conv_transpose3d(x, mc.zeros(2, 1, 2, 2, 2), padding="same")
    with pytest.raises(ValueError, match="conv_transpose3d: the output size .* not positive"):
        F.conv_transpose3d(mc.zeros(1, 1, 1, 1, 1), mc.zeros(1, 1, 1, 1, 1), padding=1)
    with pytest.raises(ValueError, match="conv3d_weight: grad_output: expected shape"):
        conv3d_weight(x, (4, 2, 2, 2, 2), mc.zeros(1, 4, 3, 3, 3))
    with pytest.raises(ValueError, match="max_pool3d: input: expected a 5-D .* or 4-D"):
        F.max_pool3d(mc.zeros(3, 3, 3), 2)
    with pytest.raises(ValueError, match="max_pool3d: padding should be at most half"):
        F.max_pool3d(x, 2, padding=(0, 2, 0))
    with pytest.raises(ValueError, match="avg_pool3d: output size is too small"):
        F.avg_pool3d(x, 4)
    with pytest.raises(ValueError, match="avg_pool3d: divisor_override: expected a non-zero"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: output_size: expected an int "
                                         "or a triple"):
        F.adaptive_avg_pool3d(x, (1, 2))
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: output_size: expected positive"):
        F.adaptive_avg_pool3d(x, 0)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="Conv3d: kernel_size: expected positive values, got 0"):
        nn.Conv3d(2, 2, 0)
    with pytest.raises(ValueError, match=r"Conv3d: out_channels \(3\) must be divisible by "
                                         r"groups \(2\)"):
        nn.Conv3d(2, 3, 1, groups=2)
    with pytest.raises(ValueError, match="Conv3d: padding='same' is not supported for strided"):
        nn.Conv3d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Conv3d: padding: expected an int, a triple, 'same'"):
        nn.Conv3d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="Conv3d: padding_mode: only 'zeros'"):
        nn.Conv3d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="ConvTranspose3d: output_padding must be smaller"):
        nn.ConvTranspose3d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose3d: padding: expected an int or a triple"):
        nn.ConvTranspose3d(2, 2, 3, padding="same")
    with pytest.raises(TypeError, match="Conv3d: in_channels: expected an int"):
        nn.Conv3d(2.0, 2, 3)
    with pytest.raises(ValueError, match="MaxPool3d: padding should be at most half"):
        nn.MaxPool3d(2, padding=2)
    with pytest.raises(ValueError, match="AvgPool3d: stride: expected positive values"):
        nn.AvgPool3d(2, stride=(1, 0, 1))
    with pytest.raises(ValueError, match="AvgPool3d: divisor_override: expected None or a "
                                         "non-zero int, got 0"):
        nn.AvgPool3d(2, divisor_override=0)
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected 5D input \(got 4D input\)"):
        nn.BatchNorm3d(2)(mc.zeros(2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected 2D or 3D input \(got 4D"):
        nn.InstanceNorm1d(2)(mc.zeros(2, 2, 2, 2))
    with pytest.raises(ValueError, match="InstanceNorm3d: expected input's size at dim=1 to "
                                         r"match num_features \(3\), but got: 4"):
        nn.InstanceNorm3d(3, affine=True)(mc.zeros(2, 4, 2, 2, 2))
    with pytest.raises(ValueError, match="ZeroPad3d: padding: expected an int or 6 ints"):
        nn.ZeroPad3d((1, 1, 1, 1))


class _Volumes(nn.Module):
    """Every volumetric converter once (adaptive pooling exports as matmuls)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=(1, 0, 2),
                              dilation=(1, 1, 2), groups=2)
        self.up = nn.ConvTranspose3d(4, 2, 2, stride=2, padding=(0, 1, 0),
                                     output_padding=(1, 0, 1))

    def forward(self, x):
        y = self.up(F.max_pool3d(self.conv(x), 2, 1, 1, ceil_mode=True))
        y = y + F.avg_pool3d(y, 3, 1, 1, count_include_pad=False)
        return F.adaptive_avg_pool3d(y, (2, 3, None))


def test_volumetric_layers_export_to_onnx():
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    import io

    import minicnn.onnx

    model, buffer = _Volumes(), io.BytesIO()
    minicnn.onnx.export(model, mc.randn(1, 2, 4, 6, 5), buffer, input_names=["x"],
                        dynamic_axes={"x": [0], "output": [0]})
    x = mc.randn(3, 2, 4, 6, 5)
    with mc.no_grad():
        expected = model(x).numpy()
    session = onnxruntime.InferenceSession(buffer.getvalue(),
                                           providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
