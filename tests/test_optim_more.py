"""Adamax, NAdam, RAdam, Rprop, ASGD and ``swa_utils`` (AveragedModel with SWA and EMA,
SWALR, update_bn) against torch.optim: parameter trajectories over 20 float64 steps,
state_dict round trips both ways, and errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minicnn as mc
from minicnn.nn import Parameter
from oracle import torch_or_skip
from test_optim import STEPS, _mc_setup, _run, _start, _torch_setup

CONFIGS = [
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),          # rho_t > 5 from step 6 on: both branches are taken
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
]


@pytest.mark.oracle
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
    assert not np.allclose(ours[-1][0], data["w"])
    ours_state = mc_opt.state_dict()["state"][0]
    assert set(ours_state) == set(torch_opt.state_dict()["state"][0])
    if name == "ASGD":     # the running average of the iterates, too
        np.testing.assert_allclose(ours_state["ax"].numpy(),
                                   torch_opt.state_dict()["state"][0]["ax"].numpy(), rtol=1e-10)


@pytest.mark.oracle
@pytest.mark.parametrize("name,options", [CONFIGS[3], CONFIGS[5], CONFIGS[9], CONFIGS[11]],
                         ids=lambda v: str(v))
def test_state_moves_from_torch_and_back(name, options):
    """5 steps in PyTorch, then 5 in minicnn from its state_dict: PyTorch's 10-step path."""
    torch = torch_or_skip()
    data = _start(4)
    torch_params, torch_opt = _torch_setup(torch, name, options, data)
    reference = _run(torch.tensor, torch_opt, torch_params, data, 10)
    torch_params, torch_opt = _torch_setup(torch, name, options, data)
    _run(torch.tensor, torch_opt, torch_params, data, 5)
    mc_params = [Parameter(p.detach().numpy().copy()) for p in torch_params]
    mc_opt = getattr(mc.optim, name)(mc_params, **options)
    mc_opt.load_state_dict(torch_opt.state_dict())
    path = _run(mc.tensor, mc_opt, mc_params, data, 5)
    for p, q in zip(path[-1], reference[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-10)
    params, opt = _mc_setup(name, options, data)   # and ours resumes exactly from ours
    _run(mc.tensor, opt, params, data, 3)
    fresh = [Parameter(p.detach().numpy().copy()) for p in params]
    opt2 = getattr(mc.optim, name)(fresh, **options)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    a, b = _run(mc.tensor, opt, params, data, 3), _run(mc.tensor, opt2, fresh, data, 3)
    for p, q in zip(a[-1], b[-1]):
        np.testing.assert_array_equal(p, q)


def _pair(torch):
    mc.manual_seed(0)
    ours = mc.nn.Sequential(mc.nn.Linear(3, 4), mc.nn.BatchNorm1d(4), mc.nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.Linear(4, 2)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.oracle
@pytest.mark.parametrize("kind", ["swa", "ema", "ema-buffers", "avg_fn"])
def test_averaged_model_matches_pytorch(kind):
    torch = torch_or_skip()
    swa = torch.optim.swa_utils
    ours, theirs = _pair(torch)
    options = {
        "swa": ({}, {}),
        "ema": ({"multi_avg_fn": mc.optim.swa_utils.get_ema_multi_avg_fn(0.9)},
                {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.9)}),
        "ema-buffers": ({"multi_avg_fn": mc.optim.swa_utils.get_ema_multi_avg_fn(0.8),
                         "use_buffers": True},
                        {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.8), "use_buffers": True}),
        "avg_fn": ({"avg_fn": mc.optim.swa_utils.get_ema_avg_fn(0.7)},
                   {"avg_fn": swa.get_ema_avg_fn(0.7)}),
    }[kind]
    averaged_ours = mc.optim.swa_utils.AveragedModel(ours, **options[0])
    averaged_theirs = swa.AveragedModel(theirs, **options[1])
    opt_ours = mc.optim.SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.normal(size=(6, 3))
        for model, opt, lib in ((ours, opt_ours, mc), (theirs, opt_theirs, torch)):
            opt.zero_grad()
            (model(lib.tensor(x)) ** 2).sum().backward()
            opt.step()
        averaged_ours.update_parameters(ours)
        averaged_theirs.update_parameters(theirs)
    ours_state, theirs_state = averaged_ours.state_dict(), averaged_theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        np.testing.assert_allclose(ours_state[key].numpy(), value.numpy(), rtol=1e-12,
                                   err_msg=key)
    loader = [mc.tensor(rng.normal(size=(5, 3))) for _ in range(3)]
    mc.optim.swa_utils.update_bn(loader, averaged_ours)
    torch.optim.swa_utils.update_bn([torch.tensor(b.numpy()) for b in loader], averaged_theirs)
    for key in ("module.1.running_mean", "module.1.running_var"):
        np.testing.assert_allclose(averaged_ours.state_dict()[key].numpy(),
                                   averaged_theirs.state_dict()[key].numpy(), rtol=1e-12)
    assert averaged_ours.module[1].momentum == 0.1


@pytest.mark.oracle
@pytest.mark.parametrize("options", [dict(swa_lr=0.05, anneal_epochs=3),
                                     dict(swa_lr=[0.05, 0.2], anneal_epochs=4,
                                          anneal_strategy="linear"),
                                     dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_matches_pytorch(options):
    torch = torch_or_skip()
    paths = []
    for lib, parameter in ((mc, Parameter(np.zeros(2))), (torch, torch.zeros(2, requires_grad=True))):
        other = Parameter(np.zeros(1)) if lib is mc else torch.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([{"params": [parameter]}, {"params": [other], "lr": 0.3}], lr=0.5)
        scheduler = lib.optim.swa_utils.SWALR(opt, **options)
        path = []
        for _ in range(7):
            opt.step()
            scheduler.step()
            path.append([group["lr"] for group in opt.param_groups])
        paths.append(path)
    np.testing.assert_allclose(paths[0], paths[1], rtol=1e-12)


def test_errors_name_the_argument():
    params = [Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        mc.optim.NAdam(params, lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        mc.optim.RAdam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eta values"):
        mc.optim.Rprop(params, etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="anneal_strategy"):
        mc.optim.swa_utils.SWALR(mc.optim.SGD(params, lr=0.1), 0.05, anneal_strategy="step")
    with pytest.raises(TypeError, match="model: expected a Module"):
        mc.optim.swa_utils.AveragedModel(params)


def test_averaged_model_refuses_another_architecture():
    averaged = mc.optim.swa_utils.AveragedModel(mc.nn.Linear(3, 2))
    averaged.update_parameters(mc.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="tensor 0 of the model has shape"):
        averaged.update_parameters(mc.nn.Linear(2, 3))
