"""minicnn.nn against torch.nn: state_dict keys and order, weights moving both ways with
the same outputs, printing, load_state_dict errors, BatchNorm's running statistics,
spectral norm, default and explicit initialisation, and the Module API itself."""
from __future__ import annotations

import re

import numpy as np
import pytest

import minicnn as mc
import minicnn.nn as nn
from minicnn.nn import init
from minicnn.nn.utils import (clip_grad_norm_, parameters_to_vector, remove_spectral_norm,
                              spectral_norm, vector_to_parameters)
from oracle import torch_or_skip


def build_net(lib):
    """The same module tree in minicnn (``lib`` = minicnn.nn) or PyTorch (torch.nn): every
    layer kind, nested containers, a custom parameter and buffers."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.Conv2d(3, 4, 3, padding=1, bias=False)
            self.norm = lib.BatchNorm2d(4)
            self.act = lib.LeakyReLU(0.2)
            self.scale = lib.Parameter(mc.tensor([0.5] * 4) if lib is nn else None)
            self.register_buffer("offset", mc.tensor([0.0, 1.0, 2.0, 3.0])
                                 if lib is nn else None)
            self.register_buffer("cache", mc.zeros(2) if lib is nn else None, persistent=False)

        def forward(self, x):
            y = self.act(self.norm(self.conv(x)))
            return y * self.scale.reshape(1, 4, 1, 1) + self.offset.reshape(1, 4, 1, 1)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.features = lib.Sequential(
                lib.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), lib.GroupNorm(2, 6),
                lib.ReLU(), lib.ConvTranspose2d(6, 4, 4, stride=2, padding=1, bias=True),
                lib.InstanceNorm2d(4, affine=True, track_running_stats=True), lib.Tanh(),
                lib.MaxPool2d(2), lib.Upsample(scale_factor=2), lib.AvgPool2d(2),
                lib.Dropout2d(0.0), lib.Identity())
            self.head = lib.ModuleList([lib.Flatten(), lib.Linear(4 * 4 * 4, 8),
                                        lib.LayerNorm(8), lib.Softplus(),
                                        lib.BatchNorm1d(8, momentum=None), lib.Sigmoid(),
                                        lib.Dropout(0.0), lib.Linear(8, 12),
                                        lib.Unflatten(1, (3, 4))])

        def forward(self, x):
            x = self.features(self.block(x))
            for layer in self.head:
                x = layer(x)
            return x

    return Net()


def _torch_twin(torch):
    """PyTorch's Net with the torch Parameter/buffer values filled in."""
    net = build_net(torch.nn)
    net.block.scale = torch.nn.Parameter(torch.ones(4) * 0.5)
    net.block.offset = torch.arange(4.0)
    net.block.cache = torch.zeros(2)
    return net


def _to_torch_state(torch, state):
    return {key: torch.tensor(value.numpy()) for key, value in state.items()}


def _assert_same_state(ours, theirs):
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key].numpy(), theirs[key].detach().numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=key)


def test_state_dict_keys_and_order_equal_pytorchs():
    torch = torch_or_skip()
    ours, theirs = build_net(nn).state_dict(), _torch_twin(torch).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].shape == tuple(theirs[key].shape), key
    assert ours["block.norm.num_batches_tracked"].dtype == np.int64
    assert "block.cache" not in ours  # non-persistent buffer


def test_weights_round_trip_minicnn_torch_minicnn():
    torch = torch_or_skip()
    mc.manual_seed(1)
    ours = build_net(nn).double()
    theirs = _torch_twin(torch)
    theirs.load_state_dict(_to_torch_state(torch, ours.state_dict()))
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8))

    for training in (True, False):  # train: batch statistics and running-stat updates
        ours.train(training)
        theirs.train(training)
        out = ours(mc.tensor(x)).numpy()
        expected = theirs(torch.tensor(x)).detach().numpy()
        assert out.shape == (4, 3, 4)
        np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-10)
        _assert_same_state(ours.state_dict(), theirs.state_dict())

    with torch.no_grad():  # change every weight in PyTorch and bring them back
        for tensor in theirs.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.01 * torch.randn_like(tensor).abs())
    again = build_net(nn).double()
    again.load_state_dict(theirs.state_dict())
    again.eval()
    theirs.eval()
    np.testing.assert_allclose(again(mc.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9, atol=1e-10)
    _assert_same_state(again.state_dict(), theirs.state_dict())


def test_gradients_match_torch_through_the_whole_net():
    torch = torch_or_skip()
    ours = build_net(nn).double()
    theirs = _torch_twin(torch)
    theirs.load_state_dict(_to_torch_state(torch, ours.state_dict()))
    x = np.random.default_rng(1).standard_normal((3, 3, 8, 8))
    (ours(mc.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-7, atol=1e-9, err_msg=name)


def test_repr_equals_pytorchs():
    torch = torch_or_skip()
    assert repr(build_net(nn)) == repr(_torch_twin(torch))
    layers = lambda lib: lib.Sequential(
        lib.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=1, dilation=2, bias=False),
        lib.ConvTranspose2d(8, 4, 4, 2, 1, output_padding=1, groups=2),
        lib.Conv2d(4, 4, 3, padding="same"), lib.LeakyReLU(0.2, True), lib.ReLU(inplace=True),
        lib.BatchNorm1d(5, affine=False, track_running_stats=False),
        lib.LayerNorm((3, 4), elementwise_affine=False), lib.GroupNorm(1, 4, affine=False),
        lib.Upsample(size=(4, 4), mode="bilinear"), lib.Dropout(0.3), lib.Softplus(beta=2))
    assert repr(layers(nn)) == repr(layers(torch.nn))


def _torch_error_text(torch_module, state):
    with pytest.raises(RuntimeError) as error:
        torch_module.load_state_dict(state)
    # PyTorch prints shapes as torch.Size([3, 4]); we print the tuple (3, 4)
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)",
                  lambda m: repr(tuple(int(s) for s in m.group(1).split(", ") if s)),
                  str(error.value))


def test_load_state_dict_errors_read_as_pytorchs():
    torch = torch_or_skip()
    ours = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    good = ours.state_dict()

    cases = {
        "missing": {k: v for k, v in good.items() if k != "0.bias"},
        "unexpected": dict(good, **{"2.weight": mc.zeros(3)}),
        "size": dict(good, **{"0.weight": mc.zeros(3, 5), "1.running_mean": mc.zeros(4)}),
        "all": {**{k: v for k, v in good.items() if k not in ("1.weight", "1.bias")},
                "0.weight": mc.zeros(5), "extra": mc.zeros(1)},
    }
    for name, state in cases.items():
        with pytest.raises(RuntimeError) as error:
            ours.load_state_dict(state)
        expected = _torch_error_text(theirs, _to_torch_state(torch, state))
        assert str(error.value) == expected, name
    assert str(error.value).startswith("Error(s) in loading state_dict for Sequential:\n\t"
                                       "Missing key(s) in state_dict: \"1.weight\", \"1.bias\". ")

    result = ours.load_state_dict(cases["unexpected"], strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == ["2.weight"]
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        ours.load_state_dict(cases["size"], strict=False)  # shapes are checked even then


def test_load_state_dict_copies_in_place_with_dtype_cast():
    layer = nn.Linear(3, 2)
    weight = layer.weight
    array = weight.array
    new = np.arange(6.0).reshape(2, 3)  # float64 into a float32 model
    layer.load_state_dict({"weight": new, "bias": [1.0, 2.0]})
    assert layer.weight is weight and weight.array is array and weight.dtype == np.float32
    np.testing.assert_array_equal(weight.numpy(), new)


# ---------------------------------------------------------------------------------------
# BatchNorm's running statistics
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_match_torch(momentum):
    torch = torch_or_skip()
    ours = nn.BatchNorm2d(3, momentum=momentum).double()
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)) * 3 + 1
        np.testing.assert_allclose(ours(mc.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    _assert_same_state(ours.state_dict(), theirs.state_dict())
    assert int(ours.num_batches_tracked.item()) == 3
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(mc.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    assert int(ours.num_batches_tracked.item()) == 3  # eval leaves the statistics alone


def test_norm_layers_check_their_input():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(mc.zeros(2, 3))
    with pytest.raises(ValueError, match=r"num_features \(3\), but got: 4"):
        nn.BatchNorm1d(3)(mc.zeros(2, 4))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


# ---------------------------------------------------------------------------------------
# Spectral norm
# ---------------------------------------------------------------------------------------
def test_spectral_norm_converges_to_top_singular_value():
    mc.manual_seed(3)
    layer = spectral_norm(nn.Linear(10, 7).double())
    matrix = layer.weight_orig.numpy()
    top = np.linalg.svd(matrix, compute_uv=False)[0]
    x = mc.randn(2, 10, dtype=np.float64)
    for _ in range(60):  # one power iteration per training forward
        layer(x)
    u, v = layer.weight_u.numpy(), layer.weight_v.numpy()
    assert u @ matrix @ v == pytest.approx(top, rel=1e-6)
    assert np.linalg.svd(layer.weight.numpy(), compute_uv=False)[0] == pytest.approx(1, rel=1e-6)

    layer.eval()  # no power iteration in eval mode
    before = layer.weight_u.numpy().copy()
    layer(x)
    np.testing.assert_array_equal(layer.weight_u.numpy(), before)


@pytest.mark.parametrize("kind", ["linear", "conv", "conv_transpose"])
def test_spectral_norm_matches_torch(kind):
    torch = torch_or_skip()
    make = {"linear": lambda lib: lib.Linear(6, 5),
            "conv": lambda lib: lib.Conv2d(3, 4, 3, padding=1),
            "conv_transpose": lambda lib: lib.ConvTranspose2d(3, 4, 4, 2, 1)}[kind]
    shape = (2, 6) if kind == "linear" else (2, 3, 5, 5)
    ours = spectral_norm(make(nn).double())
    theirs = torch.nn.utils.spectral_norm(make(torch.nn))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    theirs.load_state_dict(_to_torch_state(torch, ours.state_dict()))
    x = np.random.default_rng(4).standard_normal(shape)
    for _ in range(3):
        out = ours(mc.tensor(x))
        expected = theirs(torch.tensor(x))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    (out ** 2).sum().backward()  # the gradient flows through W only (u, v constants)
    (expected ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(),
                               rtol=1e-8, atol=1e-12)
    _assert_same_state(ours.state_dict(), theirs.state_dict())

    remove_spectral_norm(ours)
    assert list(ours.state_dict()) == ["bias", "weight"]


def test_spectral_norm_twice_is_an_error():
    layer = spectral_norm(nn.Linear(3, 3))
    with pytest.raises(RuntimeError, match="two spectral_norm"):
        spectral_norm(layer)


# ---------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------
def _tensor(*shape):
    return nn.Parameter(mc.zeros(*shape, dtype=np.float64))


def test_init_distributions():
    mc.manual_seed(5)
    t = init.normal_(_tensor(200, 300), mean=1.5, std=0.5).numpy()
    assert t.mean() == pytest.approx(1.5, abs=0.01) and t.std() == pytest.approx(0.5, rel=0.02)
    t = init.uniform_(_tensor(200, 300), -2.0, 3.0).numpy()
    assert t.min() >= -2 and t.max() < 3 and t.mean() == pytest.approx(0.5, abs=0.03)

    w = _tensor(256, 128, 3, 3)  # fan_in 1152, fan_out 2304
    fan_in, fan_out = 128 * 9, 256 * 9
    t = init.kaiming_uniform_(w, nonlinearity="relu").numpy()
    bound = np.sqrt(2) * np.sqrt(3 / fan_in)
    assert np.abs(t).max() <= bound and np.abs(t).max() > 0.99 * bound
    assert t.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.01)
    t = init.kaiming_normal_(w, a=0.2, mode="fan_out", nonlinearity="leaky_relu").numpy()
    assert t.std() == pytest.approx(np.sqrt(2 / (1 + 0.04)) / np.sqrt(fan_out), rel=0.01)
    assert t.mean() == pytest.approx(0, abs=1e-3)
    t = init.xavier_uniform_(w, gain=2.0).numpy()
    assert t.std() == pytest.approx(2 * np.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    t = init.xavier_normal_(w).numpy()
    assert t.std() == pytest.approx(np.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    assert (init.constant_(w, 0.3).numpy() == 0.3).all()
    assert (init.ones_(w).numpy() == 1).all() and (init.zeros_(w).numpy() == 0).all()
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_tensor(5))


def test_init_helpers_match_torch():
    torch = torch_or_skip()
    for args in [("linear",), ("relu",), ("tanh",), ("sigmoid",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("selu",), ("conv_transpose2d",)]:
        assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))
    for shape in [(4, 5), (8, 3, 5, 3), (3, 8, 4, 4)]:
        assert init._calculate_fan_in_and_fan_out(_tensor(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(400, 300), 400),
    (lambda: nn.Conv2d(32, 64, 5, groups=2), 16 * 25),
    (lambda: nn.ConvTranspose2d(64, 32, 4), 32 * 16)])  # PyTorch's fan_in for (C_in, C_out, R, S)
def test_default_init_is_pytorchs(make, fan_in):
    mc.manual_seed(6)
    layer = make()
    bound = 1 / np.sqrt(fan_in)
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    assert weight.dtype == np.float32
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.99 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert np.abs(bias).max() <= bound


def test_init_draws_from_minicnn_generator():
    mc.manual_seed(7)
    a = nn.Linear(5, 5).weight.numpy()
    mc.manual_seed(7)
    b = nn.Linear(5, 5).weight.numpy()
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# The Module API
# ---------------------------------------------------------------------------------------
def test_registration_and_walks():
    net = build_net(nn)
    names = [name for name, _ in net.named_parameters()]
    assert names[:4] == ["block.scale", "block.conv.weight", "block.norm.weight",
                         "block.norm.bias"]  # a module's own parameters before its children's
    assert len(list(net.parameters())) == len(names)
    assert [n for n, _ in net.named_children()] == ["block", "features", "head"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "block", "block.conv", "block.norm"]
    assert "block.cache" in dict(net.named_buffers())  # non-persistent: a buffer all the same
    assert net.get_submodule("features.3") is net.features[3]
    assert isinstance(net.block.scale, nn.Parameter) and "scale" in net.block._parameters

    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(twice.parameters())) == 2  # a shared layer counts once
    assert list(twice.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]

    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        shared.weight = mc.zeros(2, 2)
    shared.weight = None
    assert shared.weight is None and list(shared.state_dict()) == ["bias"]
    del shared.bias
    with pytest.raises(AttributeError, match="has no attribute 'bias'"):
        shared.bias


def test_train_eval_zero_grad_apply():
    net = build_net(nn)
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = mc.randn(2, 3, 8, 8)
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())

    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited[-1] == "Net" and visited[0] == "Conv2d"  # children first

    def init_weights(module):
        if isinstance(module, nn.Linear):
            init.zeros_(module.weight)
    net.apply(init_weights)
    assert not net.head[1].weight.numpy().any()


def test_to_double_float_keeps_parameter_objects():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    weight = net[0].weight
    net.double()
    assert net[0].weight is weight and weight.dtype == np.float64
    assert net[1].running_var.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # integers are left alone
    net.to(mc.float32)
    assert weight.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating-point"):
        net.to(np.int32)
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_deepcopy_gives_an_independent_model():
    """copy.deepcopy(model) is how a GAN keeps an averaged copy of its generator."""
    import copy

    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    twin = copy.deepcopy(net)
    assert isinstance(twin[0].weight, nn.Parameter) and twin[0].weight is not net[0].weight
    np.testing.assert_array_equal(twin[0].weight.numpy(), net[0].weight.numpy())
    twin[0].weight.array += 1
    assert not np.array_equal(twin[0].weight.numpy(), net[0].weight.numpy())
    assert list(twin.state_dict()) == list(net.state_dict())


def test_parameter_shares_data_and_prints():
    base = mc.ones(3)
    param = nn.Parameter(base)
    assert param.array is base.array and param.requires_grad and param.is_leaf
    assert repr(param).startswith("Parameter containing:\ntensor(")
    assert nn.Parameter([1, 2]).dtype == np.float32


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    seq.append(nn.Sigmoid())
    assert isinstance(seq[3], nn.Sigmoid)
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"]
    assert seq(mc.randn(5, 2)).shape == (5, 1)
    with pytest.raises(IndexError, match="out of range"):
        seq[7]

    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(0, nn.Identity())
    layers += [nn.Sigmoid()]
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
    assert list(layers.state_dict()) == ["1.weight", "1.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2


def test_dropout_train_and_eval():
    layer = nn.Dropout(0.5)
    x = mc.ones(1000)
    y = layer(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    calls = []
    handle = layer.register_forward_pre_hook(lambda m, inputs: calls.append("pre"))
    layer.register_forward_hook(lambda m, inputs, out: out * 0.0)
    assert not layer(mc.ones(1, 2)).numpy().any() and calls == ["pre"]
    handle.remove()
    layer(mc.ones(1, 2))
    assert calls == ["pre"]


# ---------------------------------------------------------------------------------------
# utils: gradient clipping, parameter vectors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 0.5), (1.0, 100.0), (float("inf"), 0.1)])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = torch_or_skip()
    rng = np.random.default_rng(8)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad = mc.tensor(g)
        q.grad = torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total) == pytest.approx(float(expected), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_parameters_vector_round_trip():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vector = parameters_to_vector(net.parameters())
    assert vector.shape == (11,)
    vector_to_parameters(vector * 2.0, net.parameters())
    np.testing.assert_allclose(parameters_to_vector(net.parameters()).numpy(),
                               vector.numpy() * 2)


def test_module_api_rest_as_pytorch():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert m.get_parameter("0.weight") is m[0].weight
    assert m.get_buffer("1.running_mean") is m[1].running_mean
    with pytest.raises(AttributeError, match="no parameter 'nope'"):
        m.get_parameter("0.nope")
    assert m.half()[0].weight.dtype == np.float16
    assert m.type(mc.float64)[0].weight.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64 and m.share_memory() is m
    m.insert(1, nn.ReLU()).extend([nn.Tanh()])
    assert [type(x).__name__ for x in m] == ["Linear", "ReLU", "BatchNorm1d", "Tanh"]
    assert list(m.state_dict())[:2] == ["0.weight", "0.bias"]
