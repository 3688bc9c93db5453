"""Mixed-precision names (``mc.amp.GradScaler``, ``autocast``), PyTorch's runtime switches
(memory formats, ``compile``, ``backends``, ``finfo``, seeding) and ``load``'s
``map_location``: what a modern PyTorch training script touches on its way in."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip


def _steps(lib, scaler, model, optimizer, batches, poison):
    """Train with loss scaling; at the steps in ``poison`` one gradient is made inf."""
    scales, losses = [], []
    for step, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        scaler.scale(loss).backward()
        if step in poison:
            with lib.no_grad():
                model.weight.grad[0, 0] = float("inf")
        scaler.unscale_(optimizer)
        lib.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
        losses.append(loss.item())
    return scales, losses


def test_grad_scaler_matches_pytorch_with_overflow_steps():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    data = [(rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32))
            for _ in range(7)]
    results = []
    for lib in (mc, torch):
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(w))
            model.bias.copy_(lib.tensor(b))
        model = model.float()
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scaler = lib.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
        batches = [(lib.tensor(x), lib.tensor(y)) for x, y in data]
        scales, losses = _steps(lib, scaler, model, optimizer, batches, poison={1, 4})
        results.append((scales, losses, model.weight.detach().numpy(), scaler.state_dict()))
    (mc_scales, mc_losses, mc_w, mc_state), (pt_scales, pt_losses, pt_w, pt_state) = results
    assert mc_scales == pt_scales
    np.testing.assert_allclose(mc_losses, pt_losses, rtol=1e-5)
    np.testing.assert_allclose(mc_w, pt_w, rtol=1e-5, atol=1e-6)
    assert mc_state["scale"] == float(pt_state["scale"])
    assert mc_state["_growth_tracker"] == int(pt_state["_growth_tracker"])


def test_scaled_float32_step_is_bit_identical_to_the_unscaled_one():
    rng = np.random.default_rng(1)
    x, y = mc.tensor(rng.normal(size=(8, 5))).float(), mc.tensor(rng.normal(size=(8, 1))).float()
    weights = []
    for scaler in (mc.amp.GradScaler("cpu"), mc.amp.GradScaler("cpu", enabled=False)):
        mc.manual_seed(3)
        model = mc.nn.Linear(5, 1)
        optimizer = mc.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(3):
            optimizer.zero_grad()
            scaler.scale(((model(x) - y) ** 2).mean()).backward()
            scaler.step(optimizer)
            scaler.update()
        weights.append(model.weight.detach().numpy().copy())
    assert np.array_equal(weights[0], weights[1])


def test_grad_scaler_rules_and_disabled_pass_through():
    model = mc.nn.Linear(2, 1)
    optimizer = mc.optim.SGD(model.parameters(), lr=0.1)
    scaler = mc.amp.GradScaler("cpu", init_scale=4.0)
    loss = model(mc.ones(1, 2)).sum()
    assert float(scaler.scale(loss)) == pytest.approx(4 * float(loss))
    assert [float(v) for v in scaler.scale([loss, loss])] == [4 * float(loss)] * 2
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="already called"):
        scaler.unscale_(optimizer)
    np.testing.assert_allclose(model.weight.grad.numpy(), [[1.0, 1.0]])
    scaler.step(optimizer)
    scaler.update()
    with pytest.raises(ValueError, match="init_scale"):
        mc.amp.GradScaler("cpu", init_scale=0)
    with pytest.raises(TypeError, match="init_scale"):
        mc.amp.GradScaler(1024.0)
    off = mc.amp.GradScaler("cpu", enabled=False)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}


def test_cuda_grad_scaler_without_a_gpu_disables_itself_with_a_warning():
    if mc.cuda.is_available():
        pytest.skip("a GPU is usable here")
    with pytest.warns(UserWarning, match="no CUDA GPU"):
        scaler = mc.cuda.amp.GradScaler()
    assert not scaler.is_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.cuda.amp.GradScaler(enabled=False)


def test_autocast_is_a_context_and_decorator_that_keeps_dtypes():
    x = mc.randn(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # disabled: silent, as PyTorch
        with mc.autocast(device_type="cuda", dtype=mc.float16, enabled=False):
            assert (x @ x.T).dtype == np.float32
    with pytest.warns(UserWarning, match="no lower-precision"):
        with mc.amp.autocast("cpu-test", dtype=mc.bfloat16):
            assert (x @ x.T).dtype == np.float32

    @mc.cuda.amp.autocast(enabled=False)
    def double(t):
        return t * 2

    assert double(x).dtype == np.float32
    with pytest.raises(TypeError, match="NumPy.*has no bfloat16"):
        mc.zeros(2, dtype=mc.bfloat16)


def test_runtime_switches_pytorch_scripts_set():
    x = mc.randn(2, 3, 4, 4)
    for fmt in (mc.channels_last, mc.contiguous_format, mc.preserve_format):
        assert np.array_equal(x.to(memory_format=fmt).numpy(), x.numpy())
        assert np.array_equal(x.contiguous(memory_format=fmt).numpy(), x.numpy())
    model = mc.nn.Linear(2, 2)
    assert mc.compile(model) is model and mc.compile(mode="max-autotune")(len) is len
    with pytest.raises(TypeError, match="model"):
        mc.compile(3)
    mc.use_deterministic_algorithms(True)
    assert mc.are_deterministic_algorithms_enabled()
    mc.use_deterministic_algorithms(False)
    mc.set_float32_matmul_precision("high")
    assert mc.get_float32_matmul_precision() == "high"
    mc.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="'highest', 'high' or 'medium'"):
        mc.set_float32_matmul_precision("fast")
    assert mc.finfo(mc.float32).eps == np.finfo(np.float32).eps and mc.iinfo(mc.int32).max == 2**31 - 1
    assert not mc.backends.mps.is_available()
    mc.backends.cuda.matmul.allow_tf32 = False
    device = mc.device("cuda" if mc.cuda.is_available() else
                       "mps" if mc.backends.mps.is_available() else "cpu")
    assert device.type in ("cpu", "cuda")
    mc.cuda.empty_cache()
    assert mc.cuda.memory_allocated() >= 0


def test_seed_and_initial_seed():
    seed = mc.seed()
    assert mc.initial_seed() == seed
    first = mc.randn(3).numpy()
    mc.manual_seed(seed)
    assert np.array_equal(mc.randn(3).numpy(), first)
    mc.manual_seed(0)
    assert mc.initial_seed() == 0


def test_type_of_the_tensor_class_is_the_default_float():
    x = mc.arange(3).double()
    assert x.type(mc.Tensor).dtype == np.float32
    assert x.type(mc.FloatTensor).dtype == np.float32 and x.type() == "torch.DoubleTensor"


def test_load_takes_torch_loads_map_location_and_weights_only(tmp_path):
    path = tmp_path / "c.pt"
    mc.save({"w": mc.ones(2, requires_grad=True), "step": 3}, path)
    for location in ("cpu", mc.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        loaded = mc.load(path, map_location=location, weights_only=True)
        assert loaded["step"] == 3 and loaded["w"].requires_grad
        np.testing.assert_array_equal(loaded["w"].numpy(), [1.0, 1.0])
    with pytest.raises(TypeError, match="map_location"):
        mc.load(path, map_location=3)
    with pytest.raises(TypeError, match="not both"):
        mc.load(path, "cpu", map_location="cpu")
    with pytest.raises(TypeError, match="weights_only"):
        mc.load(path, weights_only="yes")


def test_set_printoptions_changes_how_tensors_print():
    from minicnn.autograd import PRINT_OPTIONS

    saved = dict(PRINT_OPTIONS)
    try:
        mc.set_printoptions(precision=2)
        assert repr(mc.tensor([1 / 3, 2 / 3])) == "tensor([0.33, 0.67])"
        mc.set_printoptions(threshold=5, edgeitems=1)
        assert "..." in repr(mc.arange(10.0))
        mc.set_printoptions(profile="full")
        assert "..." not in repr(mc.arange(2000.0))
        mc.set_printoptions(sci_mode=False)
        assert "e-" not in repr(mc.tensor([1e-8, 1.0]))
        with pytest.raises(ValueError, match="profile"):
            mc.set_printoptions(profile="long")
        with pytest.raises(ValueError, match="precision"):
            mc.set_printoptions(precision=-1)
    finally:
        PRINT_OPTIONS.clear()
        PRINT_OPTIONS.update(saved)


def test_grad_scaler_state_dict_round_trip_and_a_foreign_dict():
    scaler = mc.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    scaler.update()
    other = mc.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.state_dict() == scaler.state_dict() and other.get_scale() == 8.0
    with pytest.raises(KeyError, match="not a GradScaler"):
        other.load_state_dict({"lr": 0.1})
