"""Optimizers and schedulers against torch.optim: every option's parameter trajectory over
20 steps (float64, identical start), state_dict round trips (ours and PyTorch's), float32
staying float32, the penalty helpers, and errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minicnn as mc
from minicnn.nn import Parameter
from minicnn.optim import SGD, Adam, RMSprop, l1_penalty, l2_penalty
from minicnn.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR
from oracle import torch_or_skip

STEPS = 20

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-4)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
]


def _start(seed=1):
    rng = np.random.default_rng(seed)
    return {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(3),
            "x": rng.standard_normal((5, 4)), "t": rng.standard_normal((5, 3))}


def _loss(w, b, x, t):
    """A small non-quadratic problem written once for both libraries: a tanh layer
    regressing targets."""
    return (((x @ w.T + b).tanh() - t) ** 2).sum()


def _run(make_tensor, optimizer, params, data, steps):
    """Take ``steps`` optimizer steps; returns the parameter values after each step."""
    x, t = make_tensor(data["x"]), make_tensor(data["t"])
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        _loss(params[0], params[1], x, t).backward()
        optimizer.step()
        path.append([np.array(p.detach().numpy()) for p in params])
    return path


def _mc_setup(name, options, data):
    params = [Parameter(data["w"].copy()), Parameter(data["b"].copy())]
    return params, getattr(mc.optim, name)(params, **options)


def _torch_setup(torch, name, options, data):
    params = [torch.tensor(data["w"], requires_grad=True),
              torch.tensor(data["b"], requires_grad=True)]
    return params, getattr(torch.optim, name)(params, **options)


@pytest.mark.parametrize("name,options", CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_trajectory_matches_torch(name, options):
    torch = torch_or_skip()
    data = _start()
    mc_params, mc_opt = _mc_setup(name, options, data)
    torch_params, torch_opt = _torch_setup(torch, name, options, data)
    ours = _run(mc.tensor, mc_opt, mc_params, data, STEPS)
    theirs = _run(torch.tensor, torch_opt, torch_params, data, STEPS)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name}{options}: step {step + 1} differs")
    assert not np.allclose(ours[-1][0], data["w"])  # it moved


@pytest.mark.parametrize("name,options", [CONFIGS[3], CONFIGS[10], CONFIGS[16], CONFIGS[18]],
                         ids=lambda v: str(v))
def test_fused_float32_trajectory_matches_torch(name, options):
    """The fused step in float32 against torch.optim (its foreach path where it has one):
    within float32 rounding over 20 steps."""
    torch = torch_or_skip()
    data = {k: v.astype(np.float32) for k, v in _start(6).items()}
    mc_params, mc_opt = _mc_setup(name, dict(options, foreach=True), data)
    torch_params, torch_opt = _torch_setup(torch, name, dict(options, foreach=True), data)
    ours = _run(mc.tensor, mc_opt, mc_params, data, STEPS)
    theirs = _run(torch.tensor, torch_opt, torch_params, data, STEPS)
    assert mc_opt._buckets and ours[-1][0].dtype == np.float32
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}{options}: step {step + 1} differs")


def test_param_groups_with_own_hyperparameters():
    torch = torch_or_skip()
    data = _start(2)
    mc_params = [Parameter(data["w"].copy()), Parameter(data["b"].copy())]
    torch_params = [torch.tensor(data["w"], requires_grad=True),
                    torch.tensor(data["b"], requires_grad=True)]
    mc_opt = mc.optim.SGD([{"params": [mc_params[0]]},
                           {"params": [mc_params[1]], "lr": 0.01, "momentum": 0.5}],
                          lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD([{"params": [torch_params[0]]},
                                 {"params": [torch_params[1]], "lr": 0.01, "momentum": 0.5}],
                                lr=0.1, momentum=0.9)
    ours = _run(mc.tensor, mc_opt, mc_params, data, 10)
    theirs = _run(torch.tensor, torch_opt, torch_params, data, 10)
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-10)
    np.testing.assert_allclose(ours[-1][1], theirs[-1][1], rtol=1e-10)
    assert mc_opt.param_groups[1]["lr"] == 0.01 and mc_opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                          ("Adam", dict(lr=0.05, amsgrad=True))])
def test_state_dict_round_trip_resumes_exactly(name, options, tmp_path):
    data = _start(3)
    params, opt = _mc_setup(name, options, data)
    straight = _run(mc.tensor, opt, params, data, 10)

    params, opt = _mc_setup(name, options, data)
    _run(mc.tensor, opt, params, data, 5)
    mc.serialization.save({"params": [p.detach() for p in params],
                           "optimizer": opt.state_dict()}, tmp_path / "ckpt")
    loaded = mc.serialization.load(tmp_path / "ckpt")
    fresh = [Parameter(p.numpy().copy()) for p in loaded["params"]]
    opt2 = getattr(mc.optim, name)(fresh, lr=123.0)  # hyperparameters come from the file
    opt2.load_state_dict(loaded["optimizer"])
    assert opt2.param_groups[0]["lr"] == options["lr"]
    resumed = _run(mc.tensor, opt2, fresh, data, 5)
    for p, q in zip(resumed[-1], straight[-1]):
        np.testing.assert_array_equal(p, q)


def test_state_dict_format_is_pytorchs():
    torch = torch_or_skip()
    data = _start()
    mc_params, mc_opt = _mc_setup("Adam", dict(lr=0.05, amsgrad=True), data)
    torch_params, torch_opt = _torch_setup(torch, "Adam", dict(lr=0.05, amsgrad=True), data)
    _run(mc.tensor, mc_opt, mc_params, data, 3)
    _run(torch.tensor, torch_opt, torch_params, data, 3)
    ours, theirs = mc_opt.state_dict(), torch_opt.state_dict()
    assert set(ours) == {"state", "param_groups"}
    assert list(ours["state"]) == list(theirs["state"]) == [0, 1]
    assert set(ours["state"][0]) == set(theirs["state"][0])
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert ours["param_groups"][0][key] == theirs["param_groups"][0][key]
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        np.testing.assert_allclose(ours["state"][1][key].numpy(),
                                   theirs["state"][1][key].numpy(), rtol=1e-10)
    assert int(ours["state"][0]["step"]) == int(theirs["state"][0]["step"]) == 3


@pytest.mark.parametrize("name,options", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                          ("Adam", dict(lr=0.05, weight_decay=0.1))])
def test_state_moves_between_minicnn_and_torch(name, options):
    """5 steps in minicnn, 5 in PyTorch from our state_dict, 5 back in minicnn from
    PyTorch's: the same path as 15 steps in PyTorch alone."""
    torch = torch_or_skip()
    data = _start(4)
    torch_params, torch_opt = _torch_setup(torch, name, options, data)
    reference = _run(torch.tensor, torch_opt, torch_params, data, 15)

    mc_params, mc_opt = _mc_setup(name, options, data)
    _run(mc.tensor, mc_opt, mc_params, data, 5)
    as_torch = lambda value: torch.tensor(value.numpy()) if isinstance(value, mc.Tensor) else value
    state = mc_opt.state_dict()
    torch_state = {"state": {i: {k: as_torch(v) for k, v in s.items()}
                             for i, s in state["state"].items()},
                   "param_groups": copy.deepcopy(state["param_groups"])}
    torch_params = [torch.tensor(p.numpy(), requires_grad=True) for p in mc_params]
    torch_opt = getattr(torch.optim, name)(torch_params, **options)
    torch_opt.load_state_dict(torch_state)
    _run(torch.tensor, torch_opt, torch_params, data, 5)

    mc_params = [Parameter(p.detach().numpy().copy()) for p in torch_params]
    mc_opt = getattr(mc.optim, name)(mc_params, **options)
    mc_opt.load_state_dict(torch_opt.state_dict())
    path = _run(mc.tensor, mc_opt, mc_params, data, 5)
    for p, q in zip(path[-1], reference[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_float32_stays_float32(name):
    options = dict(lr=0.01, weight_decay=0.01)
    if name in ("SGD", "RMSprop"):
        options["momentum"] = 0.9
    param = Parameter(np.ones((2, 3), dtype=np.float32))
    opt = getattr(mc.optim, name)([param], **options)
    for _ in range(3):
        opt.zero_grad()
        (param * param).sum().backward()
        opt.step()
    assert param.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[param].values()
               if isinstance(v, mc.Tensor))


@pytest.mark.parametrize("foreach", [False, True])
def test_update_is_in_place_and_skips_parameters_without_grad(foreach):
    used, unused = Parameter(np.ones(3)), Parameter(np.ones(3))
    array = used.array
    opt = SGD([used, unused], lr=0.5, foreach=foreach)
    (used * 2.0).sum().backward()
    opt.step()
    if foreach:     # the fused step hands out a view of its flat buffer once, then keeps it
        assert np.shares_memory(used.array, opt._buckets[0][0].flat)
        array = used.array
        opt.step()
        np.testing.assert_allclose(used.numpy(), -np.ones(3))
    assert used.array is array  # same array: state_dict views stay valid
    np.testing.assert_allclose(used.numpy(), -np.ones(3) if foreach else np.zeros(3))
    np.testing.assert_allclose(unused.numpy(), np.ones(3))
    assert unused not in opt.state


# ---------------------------------------------------------------------------------------
# The fused step (foreach=True) against the per-parameter loop (foreach=False)
# ---------------------------------------------------------------------------------------
def _mixed_run(name, options, dtype, foreach, steps=6, skip=None):
    """Parameters of several shapes (a 0-d one too) in two groups, ``steps`` steps; at step
    ``skip`` the first parameter gets no gradient. Returns parameters and state arrays."""
    rng = np.random.default_rng(7)
    params = [Parameter(rng.standard_normal(shape).astype(dtype))
              for shape in [(3, 4), (5,), (2, 3, 2), ()]]
    opt = getattr(mc.optim, name)([{"params": params[:3]},
                                   {"params": params[3:], "lr": options["lr"] / 2}],
                                  foreach=foreach, **options)
    for step in range(steps):
        opt.zero_grad()
        used = params[1:] if step == skip else params
        sum(((p * p).tanh() * (i + 1.5)).sum() for i, p in enumerate(used)).backward()
        opt.step()
    state = [v.numpy().copy() for s in opt.state.values() for v in s.values()
             if isinstance(v, mc.Tensor)]
    return [p.numpy().copy() for p in params] + state, opt


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,options", CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_fused_step_is_the_per_parameter_loop_bit_for_bit(name, options, dtype):
    for skip in (None, 2):
        fused, opt = _mixed_run(name, options, dtype, True, skip=skip)
        loop, _ = _mixed_run(name, options, dtype, False, skip=skip)
        assert len(fused) == len(loop)
        for a, b in zip(fused, loop):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
    assert opt._buckets, "the fused path did not run"
    assert len(opt._buckets[0]) == (2 if skip and "step" in opt.state[opt.param_groups[0]
                                                               ["params"][1]] else 1)


def test_fused_parameters_and_state_are_views_of_flat_buffers():
    data = _start()
    params, opt = _mc_setup("Adam", dict(lr=0.05), data)
    _run(mc.tensor, opt, params, data, 2)
    (bucket,) = opt._buckets[0]
    arrays = [p.array for p in params]
    for p in params:
        assert np.shares_memory(p.array, bucket.flat)
        for key in ("exp_avg", "exp_avg_sq"):
            assert np.shares_memory(opt.state[p][key].array, bucket.buffers[key])
    _run(mc.tensor, opt, params, data, 2)
    assert all(p.array is a for p, a in zip(params, arrays))  # handed out once, then kept
    assert set(opt.state_dict()["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_fused_step_notices_replaced_arrays_and_state(monkeypatch):
    """Module.to, p.data = ..., Module.load_state_dict and optimizer.load_state_dict between
    steps: the fused path keeps giving the per-parameter loop's numbers (rebuilding its
    buffers when an array was replaced; loading a model's state copies in place)."""
    from minicnn.optim import optimizer as base
    rebuilds = []
    rebuild = base._Bucket.rebuild
    monkeypatch.setattr(base._Bucket, "rebuild",
                        lambda self, *a: rebuilds.append(1) or rebuild(self, *a))

    def run(foreach):
        mc.manual_seed(3)
        model = mc.nn.Sequential(mc.nn.Linear(4, 3), mc.nn.Tanh(), mc.nn.Linear(3, 2))
        opt = Adam(model.parameters(), lr=0.05, foreach=foreach)
        x = mc.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
        path = []
        for step in range(8):
            if step == 2:   # new arrays, same values (float32 -> float64 -> float32 is exact)
                model.to(np.float64).to(np.float32)
            if step == 3:
                first = model[0].weight
                first.data = mc.tensor(first.numpy() * 0.5)
            if step == 4:
                model.load_state_dict({k: v.numpy() + 0.01 for k, v in
                                       model.state_dict().items()})
            if step == 5:
                opt.load_state_dict(copy.deepcopy(opt.state_dict()))
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            path.append([p.numpy().copy() for p in model.parameters()])
        return path
    fused = run(True)
    assert len(rebuilds) == 4       # the first step, after to(), after p.data =, after loading
    for a, b in zip(fused, run(False)):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)


def test_deepcopied_model_and_optimizer_keep_training_apart():
    data = _start(8)
    params, opt = _mc_setup("Adam", dict(lr=0.05), data)
    _run(mc.tensor, opt, params, data, 3)
    params_copy, opt_copy = copy.deepcopy((params, opt))
    straight = _run(mc.tensor, opt, params, data, 3)
    copied = _run(mc.tensor, opt_copy, params_copy, data, 3)
    for p, q in zip(straight[-1], copied[-1]):
        np.testing.assert_array_equal(p, q)
    assert not np.shares_memory(params[0].array, params_copy[0].array)


def test_subclass_with_its_own_update_takes_its_own_loop():
    class Halved(SGD):
        def _update(self, param, grad, group, state):
            param.array -= 0.5 * group["lr"] * grad
    param = Parameter(np.ones(2))
    opt = Halved([param], lr=1.0)
    (param * 2.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(param.numpy(), [0.0, 0.0])
    assert not opt._buckets


def test_foreach_argument():
    param = Parameter(np.ones(2))
    assert SGD([param], lr=0.1).foreach is True
    assert Adam([param], foreach=False).foreach is False
    with pytest.raises(TypeError, match="foreach"):
        RMSprop([param], foreach="yes")


def test_zero_grad_set_to_none_or_zeros():
    param = Parameter(np.ones(3))
    opt = SGD([param], lr=0.1)
    (param * 3.0).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(param.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert param.grad is None


def test_step_closure_returns_loss():
    param = Parameter(np.array([2.0]))
    opt = SGD([param], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 4.0 and float(param.item()) == 1.0


def test_optimizer_errors():
    param = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([param], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        Adam([param], lr=-1.0)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        Adam([param], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        RMSprop([])
    with pytest.raises(TypeError, match="iterable"):
        SGD(param, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [param]}, {"params": [param]}], lr=0.1)
    opt = SGD([param], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="has 2 parameters"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_repr_lists_groups():
    text = repr(SGD([Parameter(np.ones(1))], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0") and "    momentum: 0.9" in text


# ---------------------------------------------------------------------------------------
# Schedulers
# ---------------------------------------------------------------------------------------
SCHEDULERS = [("StepLR", dict(step_size=3, gamma=0.5)),
              ("ExponentialLR", dict(gamma=0.9)),
              ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
              ("CosineAnnealingLR", dict(T_max=5))]


@pytest.mark.parametrize("name,options", SCHEDULERS)
def test_scheduler_matches_torch(name, options):
    torch = torch_or_skip()
    mc_opt = SGD([Parameter(np.zeros(1))], lr=0.1)
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    ours = getattr(mc.optim.lr_scheduler, name)(mc_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **options)
    for epoch in range(25):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15), \
            f"epoch {epoch}"
        mc_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
    assert set(theirs.state_dict()) - set(ours.state_dict()) <= {"_get_lr_called_within_step"}


def test_scheduler_closed_forms_and_state_dict():
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        scheduler.step()
    assert lrs == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])

    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    cosine = CosineAnnealingLR(opt, T_max=10)
    for _ in range(5):
        cosine.step()
    saved = cosine.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 5
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)  # halfway down the cosine
    opt2 = SGD([Parameter(np.zeros(1))], lr=1.0)
    resumed = CosineAnnealingLR(opt2, T_max=10)
    resumed.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    cosine.step()
    resumed.step()
    assert resumed.get_last_lr() == pytest.approx(cosine.get_last_lr(), rel=1e-14)

    opt = SGD([Parameter(np.zeros(1))], lr=2.0)
    exponential = ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        exponential.step()
    assert exponential.get_last_lr() == pytest.approx([0.25])


# ---------------------------------------------------------------------------------------
# Penalties
# ---------------------------------------------------------------------------------------
def test_l1_penalty_value_and_gradient():
    w = Parameter(np.array([[-2.0, 0.5], [0.0, 3.0]]))
    b = Parameter(np.array([-1.0]))
    penalty = l1_penalty([w, b], 0.1)
    assert float(penalty) == pytest.approx(0.1 * 6.5)
    penalty.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * np.sign(w.numpy()))
    np.testing.assert_allclose(b.grad.numpy(), [-0.1])


def test_l2_penalty_equals_weight_decay_for_sgd():
    data = _start(5)
    x, t = mc.tensor(data["x"]), mc.tensor(data["t"])
    decayed = [Parameter(data["w"].copy()), Parameter(data["b"].copy())]
    penalised = [Parameter(data["w"].copy()), Parameter(data["b"].copy())]
    opt_a = SGD(decayed, lr=0.05, momentum=0.9, weight_decay=0.2)
    opt_b = SGD(penalised, lr=0.05, momentum=0.9)
    for _ in range(10):
        opt_a.zero_grad()
        _loss(*decayed, x, t).backward()
        opt_a.step()
        opt_b.zero_grad()
        (_loss(*penalised, x, t) + l2_penalty(penalised, 0.2)).backward()
        opt_b.step()
    for p, q in zip(decayed, penalised):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12)
