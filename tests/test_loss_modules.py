"""Loss modules (minicnn.nn.MSELoss ... BCEWithLogitsLoss) against torch.nn's: every option
and every reduction, the loss and the input gradient (float64, same inputs); weights are
buffers (state_dict, to()); the legacy size_average/reduce flags map as PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from oracle import torch_or_skip

REDUCTIONS = ("mean", "sum", "none")
rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3))          # regression input / logits (N=4, C=3)
T = rng.standard_normal((4, 3))          # regression target
P = 1 / (1 + np.exp(-X))                 # probabilities for BCELoss
B = (rng.random((4, 3)) < 0.5) * 1.0     # binary targets
LABELS = np.array([0, 2, 1, 2])
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))
W3 = np.array([0.5, 2.0, 1.5])           # class weights / pos_weight (one per class)
SOFT = np.exp(T) / np.exp(T).sum(1, keepdims=True)

# (module name, constructor kwargs (arrays become tensors), input, target)
CASES = [
    ("MSELoss", {}, X, T),
    ("L1Loss", {}, X, T),
    ("HuberLoss", {}, 2 * X, T),
    ("HuberLoss", {"delta": 0.5}, 2 * X, T),
    ("SmoothL1Loss", {}, 2 * X, T),
    ("SmoothL1Loss", {"beta": 0.3}, 2 * X, T),
    ("SmoothL1Loss", {"beta": 0.0}, 2 * X, T),
    ("NLLLoss", {}, LOGP, LABELS),
    ("NLLLoss", {"weight": W3}, LOGP, LABELS),
    ("NLLLoss", {"weight": W3, "ignore_index": 1}, LOGP, LABELS),
    ("CrossEntropyLoss", {}, X, LABELS),
    ("CrossEntropyLoss", {"weight": W3}, X, LABELS),
    ("CrossEntropyLoss", {"ignore_index": 2}, X, LABELS),
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, X, LABELS),
    ("CrossEntropyLoss", {"weight": W3, "label_smoothing": 0.1, "ignore_index": 0}, X, LABELS),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, X, SOFT),
    ("BCELoss", {}, P, B),
    ("BCELoss", {"weight": W3}, P, B),
    ("BCEWithLogitsLoss", {}, 3 * X, B),
    ("BCEWithLogitsLoss", {"pos_weight": W3}, 3 * X, B),
    ("BCEWithLogitsLoss", {"weight": W3, "pos_weight": W3[::-1].copy()}, 3 * X, B),
]


def _kwargs(options, make):
    return {k: make(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,options,x,t", CASES,
                         ids=[f"{c[0]}-{sorted(c[1])}-{i}" for i, c in enumerate(CASES)])
def test_loss_module_matches_torch(name, options, x, t, reduction):
    torch = torch_or_skip()
    ours = getattr(nn, name)(reduction=reduction, **_kwargs(options, mc.tensor))
    theirs = getattr(torch.nn, name)(reduction=reduction, **_kwargs(options, torch.tensor))
    x_mc = mc.tensor(x, requires_grad=True)
    x_torch = torch.tensor(x, requires_grad=True)
    loss_mc = ours(x_mc, mc.tensor(t))
    loss_torch = theirs(x_torch, torch.tensor(t))
    np.testing.assert_allclose(loss_mc.numpy(), loss_torch.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    v = rng.standard_normal(loss_mc.shape)
    (g_mc,) = mc.grad(loss_mc, x_mc, mc.tensor(v))
    (g_torch,) = torch.autograd.grad(loss_torch, x_torch, torch.tensor(v))
    np.testing.assert_allclose(g_mc.numpy(), g_torch.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_module_keeps_float32():
    criterion = nn.BCEWithLogitsLoss(pos_weight=mc.tensor([2.0, 1.0, 0.5]))
    loss = criterion(mc.tensor(X.astype(np.float32)), mc.tensor(B.astype(np.float32)))
    assert loss.dtype == np.float32


def test_weights_are_buffers_in_the_state_dict():
    criterion = nn.CrossEntropyLoss(weight=mc.tensor(W3))
    assert list(criterion.state_dict()) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=mc.tensor(W3))
    assert list(bce.state_dict()) == ["pos_weight"]
    assert list(nn.MSELoss().state_dict()) == []
    assert criterion.to(mc.float32).weight.dtype == np.float32  # to() casts the buffer


def test_repr_and_defaults_follow_pytorch():
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    criterion = nn.CrossEntropyLoss()
    assert (criterion.ignore_index, criterion.label_smoothing, criterion.weight) == (-100, 0.0,
                                                                                    None)
    assert nn.HuberLoss().delta == 1.0 and nn.SmoothL1Loss().beta == 1.0


@pytest.mark.parametrize("size_average,reduce,expected", [
    (None, False, "none"), (False, None, "sum"), (True, None, "mean"), (False, True, "sum"),
    (True, False, "none")])
def test_legacy_size_average_and_reduce_map_as_pytorch(size_average, reduce, expected):
    with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
        criterion = nn.MSELoss(size_average=size_average, reduce=reduce)
    assert criterion.reduction == expected
    torch = torch_or_skip()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.nn.MSELoss(size_average=size_average, reduce=reduce).reduction == expected


def test_bad_reduction_names_the_module_and_the_choices():
    with pytest.raises(ValueError, match="NLLLoss: reduction: expected 'mean', 'sum' or 'none', "
                                         "got 'avg'"):
        nn.NLLLoss(reduction="avg")


def test_bad_weight_type_names_the_argument():
    with pytest.raises(TypeError, match="pos_weight: expected a Tensor"):
        nn.BCEWithLogitsLoss(pos_weight="heavy")


def test_a_list_weight_is_accepted_as_a_float32_tensor():
    criterion = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])
    assert isinstance(criterion.weight, mc.Tensor) and criterion.weight.dtype == np.float32


def test_loss_module_trains_a_classifier():
    """The modules are what training code calls: a linear softmax classifier on two
    separable blobs gets every sample right after a few SGD steps."""
    mc.manual_seed(0)
    x = np.concatenate([rng.standard_normal((20, 2)) + 3,
                        rng.standard_normal((20, 2)) - 3]).astype(np.float32)
    y = np.array([0] * 20 + [1] * 20)
    model = nn.Linear(2, 2)
    optimizer = mc.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    for _ in range(30):
        optimizer.zero_grad()
        loss = criterion(model(mc.tensor(x)), mc.tensor(y))
        loss.backward()
        optimizer.step()
    assert (model(mc.tensor(x)).numpy().argmax(1) == y).all()
    assert loss.item() < 0.1
