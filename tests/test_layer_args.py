"""Reliability (issue 13), arguments: layer constructors accept what PyTorch's accept and
reject the rest with an error naming the layer and the argument (one helper,
``minicnn/nn/_checks.py``); ``cross_entropy`` with labels stored as floats says what it
expected and what came."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn
from oracle import torch_or_skip


# ---------------------------------------------------------------------------------------
# Layer constructors
# ---------------------------------------------------------------------------------------
REJECTED = [  # (constructor, error, message): torch also rejects each, at build or forward
    (lambda nn: nn.Conv2d(3, 4, 0), ValueError, "Conv2d: kernel_size: expected positive"),
    (lambda nn: nn.Conv2d(3, 4, (3, 0)), ValueError, "Conv2d: kernel_size"),
    (lambda nn: nn.ConvTranspose2d(3, 4, 0), ValueError, "ConvTranspose2d: kernel_size"),
    (lambda nn: nn.Conv2d(3, 4, 3, stride=0), ValueError, "Conv2d: stride"),
    (lambda nn: nn.Conv2d(3, 4, 3, padding=-1), ValueError, "Conv2d: padding"),
    (lambda nn: nn.Conv2d(3, 4, 3, dilation=0), ValueError, "Conv2d: dilation"),
    (lambda nn: nn.Conv2d(3, 4, 3, groups=0), ValueError, "Conv2d: groups: expected an int"),
    (lambda nn: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"in_channels \(3\) must be "),
    (lambda nn: nn.Conv2d(-1, 4, 3), ValueError, "Conv2d: in_channels: expected an int >= 0"),
    (lambda nn: nn.Conv2d(3.0, 4, 3), TypeError, "Conv2d: in_channels"),
    (lambda nn: nn.Conv2d(3, 4, 3, padding="same", stride=2), ValueError, "strided"),
    (lambda nn: nn.ConvTranspose2d(3, 4, 3, output_padding=1), ValueError,
     "output_padding must be smaller than stride or dilation"),
    (lambda nn: nn.ConvTranspose2d(3, 4, 3, output_padding=-1), ValueError, "output_padding"),
    (lambda nn: nn.Linear(-1, 3), ValueError, "Linear: in_features: expected an int >= 0"),
    (lambda nn: nn.Linear(3, -2), ValueError, "Linear: out_features"),
    (lambda nn: nn.Linear(2.0, 3), TypeError, "Linear: in_features"),
    (lambda nn: nn.GroupNorm(0, 3), ValueError, "GroupNorm: num_groups: expected an int >= 1"),
    (lambda nn: nn.GroupNorm(-1, 3), ValueError, "GroupNorm: num_groups"),
    (lambda nn: nn.GroupNorm(2, 3), ValueError, r"num_channels \(3\) must be divisible by "),
    (lambda nn: nn.GroupNorm(1.5, 3), TypeError, "GroupNorm: num_groups"),
    (lambda nn: nn.BatchNorm2d(-1), ValueError, "BatchNorm2d: num_features"),
    (lambda nn: nn.BatchNorm1d(2.5), TypeError, "BatchNorm1d: num_features"),
    (lambda nn: nn.InstanceNorm2d(-1, affine=True), ValueError, "InstanceNorm2d: num_featu"),
    (lambda nn: nn.LayerNorm(-1), ValueError, r"LayerNorm: normalized_shape\[0\]"),
    (lambda nn: nn.LayerNorm((4, -1)), ValueError, r"normalized_shape\[1\]"),
    (lambda nn: nn.LayerNorm(()), ValueError, "at least one dimension"),
    (lambda nn: nn.LayerNorm(2.5), TypeError, "LayerNorm: normalized_shape"),
    (lambda nn: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size"),
    (lambda nn: nn.MaxPool2d(2, stride=0), ValueError, "MaxPool2d: stride"),
    (lambda nn: nn.MaxPool2d(2, padding=2), ValueError, "MaxPool2d: padding should be at "),
    (lambda nn: nn.MaxPool2d(2, dilation=0), ValueError, "MaxPool2d: dilation"),
    (lambda nn: nn.AvgPool2d(-1), ValueError, "AvgPool2d: kernel_size"),
    (lambda nn: nn.AvgPool2d(2, padding=-1), ValueError, "AvgPool2d: padding"),
    (lambda nn: nn.AvgPool2d(2, divisor_override=0), ValueError, "divisor_override"),
    (lambda nn: nn.Dropout(1.5), ValueError, "Dropout: p: dropout probability"),
    (lambda nn: nn.Dropout(float("nan")), ValueError, "Dropout: p"),
    (lambda nn: nn.Dropout2d("half"), TypeError, "Dropout2d: p"),
]
ACCEPTED = [  # torch builds and runs each of these
    (lambda nn: nn.Linear(0, 3), (2, 0)),
    (lambda nn: nn.Linear(3, 0), (2, 3)),
    (lambda nn: nn.Linear(np.int64(3), 2), (2, 3)),
    (lambda nn: nn.LayerNorm(0), (2, 0)),
    (lambda nn: nn.GroupNorm(1, 0), (2, 0, 3, 3)),
    (lambda nn: nn.ConvTranspose2d(3, 4, 3, output_padding=1, dilation=2), (2, 3, 5, 5)),
    (lambda nn: nn.AvgPool2d(2, divisor_override=-1), (2, 3, 4, 4)),
    (lambda nn: nn.MaxPool2d(3, padding=1, stride=()), (2, 3, 6, 6)),
    (lambda nn: nn.Dropout(1), (2, 3)),
    (lambda nn: nn.Conv2d(3, 4, 3, padding="same"), (2, 3, 5, 5)),
]


@pytest.mark.parametrize("make, error, message", REJECTED)
def test_layer_constructors_reject_with_the_argument_named(make, error, message):
    with pytest.raises(error, match=message):
        make(nn)


@pytest.mark.parametrize("make, error, message", REJECTED)
def test_pytorch_rejects_the_same_at_construction_or_at_every_forward(make, error, message):
    torch = torch_or_skip()
    with pytest.raises(Exception):  # noqa: B017 - any of torch's errors
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = make(torch.nn)
        shape = (2, 3, 8, 8) if "Linear" not in message else (2, 3)
        layer(torch.zeros(*shape))


@pytest.mark.parametrize("make, shape", ACCEPTED)
def test_what_pytorch_accepts_builds_and_runs_the_same(make, shape):
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = make(nn), make(torch.nn)
        if hasattr(theirs, "weight") and theirs.weight is not None:
            with torch.no_grad():  # the same weights, so the outputs can be compared
                theirs.weight.copy_(torch.from_numpy(ours.weight.numpy().astype(np.float64)))
                if getattr(theirs, "bias", None) is not None:
                    theirs.bias.copy_(torch.from_numpy(ours.bias.numpy().astype(np.float64)))
        expected = theirs.double().eval()(torch.from_numpy(x)).detach().numpy()
        got = ours.eval()(mc.tensor(x.astype(np.float32))).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_linear_with_no_inputs_gives_its_bias_as_pytorch():
    layer = nn.Linear(0, 3)
    assert layer.weight.shape == (3, 0) and layer.bias.numpy().tolist() == [0.0, 0.0, 0.0]
    x = mc.tensor(np.zeros((2, 0), np.float32), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.shape == (2, 3) and layer.bias.grad.numpy().tolist() == [2.0, 2.0, 2.0]
    assert x.grad.shape == (2, 0) and layer.weight.grad.shape == (3, 0)


# ---------------------------------------------------------------------------------------
# cross_entropy with labels stored as floats
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [mc.tensor([1.0, 0.0, 2.0]), np.array([1.0, 0.0, 2.0]),
                                    [1.0, 0.0, 2.0]])
def test_cross_entropy_float_labels_say_what_was_expected_and_what_came(target):
    with pytest.raises(ValueError, match=r"expected integer class indices \(int64\) of shape "
                                         r"\(3,\).*probabilities.*\(3, 4\).*got float(32|64) "
                                         r"of shape \(3,\).*target\.long\(\)"):
        F.cross_entropy(mc.zeros(3, 4), target)
    assert float(F.cross_entropy(mc.zeros(3, 4), mc.tensor([1.0, 0.0, 2.0]).long())) == \
        pytest.approx(np.log(4))
