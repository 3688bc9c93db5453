"""LBFGS against torch.optim.LBFGS: parameter trajectories over several ``step(closure)``
calls (float64, identical starts, fixed step and strong-Wolfe line search, a history small
enough to wrap), the returned losses and the counters; stopping on ``tolerance_grad``;
state_dict round trips (ours and PyTorch's); and the errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minicnn as mc
from minicnn.nn import Parameter
from minicnn.optim import LBFGS
from oracle import torch_or_skip

RTOL = 1e-8


def _rosenbrock(x):
    """A banana valley with its minimum at (1, 1); written once for both libraries."""
    a, b = x[0], x[1]
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


def _tanh_regression(w, b, x, t):
    return (((x @ w.T + b).tanh() - t) ** 2).sum()


def _problem(name, seed=1):
    """``(start arrays, loss(params, make_tensor))`` for one of the two problems."""
    if name == "rosenbrock":
        return [np.array([-1.5, 2.0])], lambda params, make: _rosenbrock(params[0])
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal((3, 4)), rng.standard_normal(3)]
    x, t = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))

    def loss(params, make):
        return _tanh_regression(params[0], params[1], make(x), make(t))
    return start, loss


def _mc_make(array):
    return mc.tensor(array)


def _run(lib, name, options, steps):
    """Build params and an LBFGS in ``lib`` ("mc" or "torch"), take ``steps`` steps;
    returns (params, optimizer, [(param values, loss, n_iter, func_evals) per step],
    closure calls, closure)."""
    arrays, loss_fn = _problem(name)
    if lib == "mc":
        params = [Parameter(a.copy()) for a in arrays]
        optimizer, make = LBFGS(params, **options), _mc_make
    else:
        torch = torch_or_skip()
        params = [torch.tensor(a, requires_grad=True) for a in arrays]
        optimizer, make = torch.optim.LBFGS(params, **options), torch.tensor
    calls = [0]

    def closure():
        calls[0] += 1
        optimizer.zero_grad()
        loss = loss_fn(params, make)
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        loss = float(optimizer.step(closure).detach())
        state = optimizer.state[params[0]]
        path.append(([np.array(p.detach().numpy()) for p in params], loss,
                     state["n_iter"], state["func_evals"]))
    return params, optimizer, path, calls[0], closure


def _assert_same_path(ours, theirs):
    assert len(ours) == len(theirs)
    for step, ((p_mc, l_mc, n_mc, e_mc), (p_t, l_t, n_t, e_t)) in enumerate(zip(ours, theirs)):
        assert (n_mc, e_mc) == (n_t, e_t), f"step {step}: n_iter/func_evals"
        np.testing.assert_allclose(l_mc, l_t, rtol=RTOL, err_msg=f"step {step}: loss")
        for a, b in zip(p_mc, p_t):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-13, err_msg=f"step {step}")


# (problem, options, steps). L-BFGS amplifies rounding: PyTorch's ``add_(alpha=)`` is one
# fused multiply-add, its dot products sum in another order, and the two autograds differ
# in the last bit; the lengths below keep the paths within 1e-10 of each other here
# (measured: 1e-10 at most, 100 times under RTOL).
CONFIGS = [
    ("rosenbrock", dict(max_iter=5, history_size=3), 4),
    ("rosenbrock", dict(max_iter=10, history_size=3), 3),
    ("rosenbrock", dict(lr=0.5, max_iter=10, history_size=3), 3),
    ("rosenbrock", dict(max_iter=5, history_size=3, line_search_fn="strong_wolfe"), 3),
    ("rosenbrock", dict(max_iter=8, history_size=3, line_search_fn="strong_wolfe"), 2),
    ("rosenbrock", dict(max_iter=12, max_eval=14, line_search_fn="strong_wolfe"), 2),
    ("tanh", dict(lr=0.5, max_iter=5, history_size=3), 4),
    ("tanh", dict(lr=0.5, max_iter=10, history_size=3), 2),
    ("tanh", dict(lr=0.5, max_iter=20, history_size=3), 1),
    ("tanh", dict(max_iter=5, history_size=3, line_search_fn="strong_wolfe"), 4),
    ("tanh", dict(max_iter=10, history_size=3, line_search_fn="strong_wolfe"), 4),
    ("tanh", dict(max_iter=20, history_size=3, line_search_fn="strong_wolfe"), 2),
]


@pytest.mark.parametrize("name,options,steps", CONFIGS,
                         ids=[f"{n}-{o}-{s}" for n, o, s in CONFIGS])
def test_trajectory_matches_torch(name, options, steps):
    torch_or_skip()
    params, optimizer, ours, calls, _ = _run("mc", name, options, steps)
    t_params, t_optimizer, theirs, t_calls, _ = _run("torch", name, options, steps)
    _assert_same_path(ours, theirs)
    assert calls == t_calls == ours[-1][3]
    assert all(np.isfinite(loss) for _, loss, _, _ in ours)
    last = float(_problem(name)[1](params, _mc_make))
    assert last < ours[0][1]                            # it does minimize
    state, t_state = optimizer.state[params[0]], t_optimizer.state[t_params[0]]
    assert set(state) == set(t_state)
    for key in ("old_dirs", "old_stps", "ro"):
        assert len(state[key]) == len(t_state[key])
    if options.get("history_size") == 3 and state["n_iter"] > 6:
        assert len(state["old_dirs"]) == 3              # the history wrapped
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(state[key].numpy(), t_state[key].numpy(), rtol=1e-7,
                                   atol=1e-12)
    for key in ("t", "H_diag", "prev_loss"):
        np.testing.assert_allclose(state[key], float(t_state[key]), rtol=1e-7)
    np.testing.assert_allclose(state["ro"], [float(r) for r in t_state["ro"]], rtol=1e-7)


@pytest.mark.parametrize("options", [
    dict(max_iter=200, max_eval=400, history_size=3, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=300, history_size=10),
], ids=["strong_wolfe", "fixed-step"])
def test_stops_on_tolerance_grad(options):
    torch_or_skip()
    options = dict(options, tolerance_grad=1e-6, tolerance_change=0)
    params, optimizer, ours, _, closure = _run("mc", "rosenbrock", options, 1)
    _, _, theirs, _, _ = _run("torch", "rosenbrock", options, 1)
    _assert_same_path(ours, theirs)
    n_iter, func_evals = ours[0][2], ours[0][3]
    assert n_iter < options["max_iter"]                 # it stopped early ...
    assert func_evals < options.get("max_eval", options["max_iter"] * 5 // 4)
    closure()
    assert np.abs(params[0].grad.numpy()).max() <= 1e-6   # ... as the gradient is small
    np.testing.assert_allclose(params[0].numpy(), [1.0, 1.0], rtol=1e-5)
    # At the optimum a step evaluates once and returns at once.
    loss = optimizer.step(closure)
    state = optimizer.state[params[0]]
    assert (state["n_iter"], state["func_evals"]) == (n_iter, func_evals + 1)
    assert float(loss) < 1e-10


def test_state_dict_round_trip_continues_the_same():
    """A fresh optimizer (on fresh parameters) loaded with ``state_dict()``, ours or
    PyTorch's, continues exactly as the original does."""
    torch_or_skip()
    options = dict(max_iter=6, history_size=3, line_search_fn="strong_wolfe")
    params, optimizer, _, _, closure = _run("mc", "tanh", options, 2)
    t_params, t_optimizer, _, _, t_closure = _run("torch", "tanh", options, 2)
    saved = copy.deepcopy(optimizer.state_dict())
    t_saved = copy.deepcopy(t_optimizer.state_dict())   # torch's shares its lists
    assert set(saved["state"][0]) == set(t_saved["state"][0])
    values = [p.numpy().copy() for p in params]
    for _ in range(2):
        optimizer.step(closure)
        t_optimizer.step(t_closure)
    t_state = t_optimizer.state[t_params[0]]
    expected = [p.detach().numpy() for p in t_params]
    for p, t_p in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), t_p, rtol=RTOL)

    for source in (saved, t_saved):
        _, loss_fn = _problem("tanh")
        fresh = [Parameter(v.copy()) for v in values]
        resumed = LBFGS(fresh, **options)
        resumed.load_state_dict(source)

        def fresh_closure():
            resumed.zero_grad()
            loss = loss_fn(fresh, _mc_make)
            loss.backward()
            return loss
        for _ in range(2):
            resumed.step(fresh_closure)
        for p, t_p in zip(fresh, expected):
            np.testing.assert_allclose(p.numpy(), t_p, rtol=RTOL)
        state = resumed.state[fresh[0]]
        assert (state["n_iter"], state["func_evals"]) == (t_state["n_iter"],
                                                          t_state["func_evals"])


def test_float32_stays_float32():
    x = Parameter(np.array([-1.5, 2.0], dtype=np.float32))
    optimizer = LBFGS([x], max_iter=5, history_size=3, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss
    for _ in range(3):
        optimizer.step(closure)
    assert x.array.dtype == np.float32
    state = optimizer.state[x]
    assert state["d"].array.dtype == np.float32 and state["old_dirs"][0].dtype == np.float32


def test_closure_runs_with_grad_and_updates_without():
    x = Parameter(np.array([-1.5, 2.0]))
    optimizer = LBFGS([x], max_iter=3)
    modes = []

    def closure():
        modes.append(mc.is_grad_enabled())
        optimizer.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss
    with mc.no_grad():
        optimizer.step(closure)
    assert modes and all(modes)
    assert x.grad_fn is None and x.is_leaf


def test_errors():
    x, y = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    optimizer = LBFGS([x])
    with pytest.raises(TypeError, match="closure"):
        optimizer.step()
    with pytest.raises(TypeError, match="closure"):
        optimizer.step(None)
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [x]}, {"params": [y], "lr": 0.1}])
    optimizer.add_param_group({"params": [y]})
    with pytest.raises(ValueError, match="parameter groups"):
        optimizer.step(lambda: _rosenbrock(x))
    with pytest.raises(ValueError, match="learning rate"):
        LBFGS([x], lr=-1)

    def closure():
        bad.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss
    bad = LBFGS([x], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        bad.step(closure)


def test_defaults_as_torch():
    x = Parameter(np.zeros(2))
    group = LBFGS([x]).param_groups[0]
    assert {k: v for k, v in group.items() if k != "params"} == dict(
        lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7, tolerance_change=1e-9,
        history_size=100, line_search_fn=None)
    assert LBFGS([x], max_iter=7).param_groups[0]["max_eval"] == 8
