"""The schedulers of ``lr_scheduler_more`` (and ``step(epoch)``'s closed forms) against
torch.optim.lr_scheduler: every group's lr (and momentum / betas) after every step, odd
settings included; state_dict round trips mid-schedule (ours, and PyTorch's loaded into
ours); PyTorch's state_dict names and values; argument errors."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import minicnn as mc
from minicnn.nn import Parameter
from minicnn.optim import lr_scheduler as ours_module
from minicnn.optim.lr_scheduler import (ChainedScheduler, CosineAnnealingWarmRestarts,
                                        OneCycleLR, ReduceLROnPlateau, SequentialLR)
from oracle import torch_or_skip

LRS = (0.1, 0.03)  # two parameter groups everywhere
PLATEAU = [1.0, 0.9, 0.95, 0.9, 0.9, 0.89995, 0.91, 0.7, 0.7, 0.70001, 0.7, 0.71, 0.69, 0.69,
           0.69, 0.69, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.49, 0.49, 0.49, 0.49, 0.4,
           0.49, 0.49, 0.49, 0.49, 0.49]
EPOCHS = [0.5, 1.0, 1.7, 2.2, 3, 3.5, 6.99, 7.0, 14.5, 1.2, 0, 30.25, 0.1, 9, 21.0, 45.5]
_KEYS = ("lr", "initial_lr", "max_lr", "min_lr", "momentum", "betas", "max_momentum",
         "base_momentum")


class Case:
    def __init__(self, name, make, steps=25, step=None, opt="SGD", **opt_options):
        self.name, self.make, self.steps, self.opt, self.opt_options = (name, make, steps, opt,
                                                                        opt_options)
        self.step = step or (lambda scheduler, i: scheduler.step())


def _plateau(values):
    return lambda scheduler, i: scheduler.step(values[i % len(values)])


CASES = [
    Case("Multiplicative", lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95)),
    Case("Multiplicative-groups", lambda S, o: S.MultiplicativeLR(
        o, [lambda e: 0.9, lambda e: 1 + 0.01 * e])),
    Case("Constant", lambda S, o: S.ConstantLR(o)),
    Case("Constant-0.5-3", lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=3)),
    Case("Constant-1-0", lambda S, o: S.ConstantLR(o, factor=1.0, total_iters=0)),
    Case("Linear", lambda S, o: S.LinearLR(o)),
    Case("Linear-up", lambda S, o: S.LinearLR(o, start_factor=0.1, total_iters=4)),
    Case("Linear-down-to-0", lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                                     total_iters=3)),
    Case("Linear-0-iters", lambda S, o: S.LinearLR(o, start_factor=0.5, end_factor=0.25,
                                                   total_iters=0)),
    Case("Polynomial", lambda S, o: S.PolynomialLR(o)),
    Case("Polynomial-4-2", lambda S, o: S.PolynomialLR(o, total_iters=4, power=2.0)),
    Case("Polynomial-7-0.5", lambda S, o: S.PolynomialLR(o, total_iters=7, power=0.5)),
    Case("WarmRestarts", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3), steps=30),
    Case("WarmRestarts-2-2", lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=2, eta_min=0.01), steps=40),
    Case("WarmRestarts-fractional", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3),
         steps=len(EPOCHS), step=lambda s, i: s.step(EPOCHS[i])),
    Case("WarmRestarts-fractional-3-2", lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001), steps=len(EPOCHS),
        step=lambda s, i: s.step(EPOCHS[i])),
    Case("WarmRestarts-per-batch", lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=3), steps=60, step=lambda s, i: s.step(i // 7 + (i % 7) / 7)),
    Case("OneCycle-SGD", lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=20),
         steps=20, momentum=0.9),
    Case("OneCycle-linear-3phase", lambda S, o: S.OneCycleLR(
        o, max_lr=[0.5, 2.0], epochs=3, steps_per_epoch=7, pct_start=0.4,
        anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0),
        steps=21, momentum=0.5),
    Case("OneCycle-cos-3phase", lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, total_steps=13, three_phase=True, base_momentum=[0.8, 0.7],
        max_momentum=(0.99, 0.9)), steps=13, momentum=0.9),
    Case("OneCycle-Adam", lambda S, o: S.OneCycleLR(o, max_lr=0.01, total_steps=11,
                                                    pct_start=0.25), steps=11, opt="Adam"),
    Case("OneCycle-AdamW-betas", lambda S, o: S.OneCycleLR(
        o, max_lr=[0.01, 0.02], total_steps=9, base_momentum=0.6, max_momentum=0.8),
        steps=9, opt="AdamW", betas=(0.7, 0.95)),
    Case("OneCycle-RMSprop", lambda S, o: S.OneCycleLR(o, max_lr=0.05, total_steps=8),
         steps=8, opt="RMSprop"),
    Case("OneCycle-no-momentum", lambda S, o: S.OneCycleLR(
        o, max_lr=0.05, total_steps=10, cycle_momentum=False, pct_start=0.0), steps=10,
        opt="Adagrad"),
    Case("OneCycle-short", lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=3,
                                                     pct_start=0.9), steps=3),
    Case("Cyclic-triangular-SGD", lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                          step_size_up=4), steps=30,
         momentum=0.9),
    Case("Cyclic-triangular2-groups", lambda S, o: S.CyclicLR(
        o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.02], step_size_up=3, step_size_down=5,
        mode="triangular2", base_momentum=[0.8, 0.7], max_momentum=0.95), steps=40,
        momentum=0.9),
    Case("Cyclic-exp-range-Adam", lambda S, o: S.CyclicLR(
        o, base_lr=0.001, max_lr=0.01, step_size_up=2, mode="exp_range", gamma=0.9),
        steps=25, opt="Adam"),
    Case("Cyclic-custom-iterations", lambda S, o: S.CyclicLR(
        o, base_lr=0.001, max_lr=0.004, step_size_up=3, scale_fn=lambda x: 1 / (1 + x),
        scale_mode="iterations", cycle_momentum=False), steps=20, opt="Adagrad"),
    Case("Cyclic-down-0", lambda S, o: S.CyclicLR(o, base_lr=0.02, max_lr=0.05,
                                                  step_size_up=3, step_size_down=0,
                                                  cycle_momentum=False), steps=12),
    Case("Plateau", lambda S, o: S.ReduceLROnPlateau(o, patience=2), step=_plateau(PLATEAU),
         steps=34),
    Case("Plateau-max-abs", lambda S, o: S.ReduceLROnPlateau(
        o, mode="max", threshold=0.005, threshold_mode="abs", patience=1, factor=0.5),
        step=_plateau([1 - m for m in PLATEAU]), steps=34),
    Case("Plateau-max-rel-cooldown", lambda S, o: S.ReduceLROnPlateau(
        o, mode="max", patience=0, cooldown=2, factor=0.7, min_lr=[0.02, 0.001]),
        step=_plateau([1 - m for m in PLATEAU]), steps=34),
    Case("Plateau-min-abs-eps", lambda S, o: S.ReduceLROnPlateau(
        o, threshold=0.05, threshold_mode="abs", patience=0, factor=0.9, eps=0.004,
        min_lr=0.02), step=_plateau(PLATEAU), steps=34),
    Case("Sequential-warmup", lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.ExponentialLR(o, gamma=0.9)],
        milestones=[3])),
    Case("Sequential-three", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.5, total_iters=4), S.CosineAnnealingLR(o, T_max=5),
            S.StepLR(o, step_size=2, gamma=0.5)], milestones=[2, 9]), steps=30),
    Case("Sequential-closed-forms", lambda S, o: S.SequentialLR(
        o, [S.MultiStepLR(o, [1, 2, 2]), S.PolynomialLR(o, total_iters=4, power=2.0),
            S.LinearLR(o, start_factor=0.2), S.MultiStepLR(o, [3, 5, 6], gamma=0.5)],
        milestones=[3, 7, 10])),
    Case("Sequential-no-closed-form", lambda S, o: S.SequentialLR(
        o, [S.MultiplicativeLR(o, lambda e: 0.9), S.CosineAnnealingWarmRestarts(o, T_0=3),
            S.LambdaLR(o, lambda e: 1 / (e + 1))], milestones=[4, 8])),
    Case("Sequential-one", lambda S, o: S.SequentialLR(o, [S.ExponentialLR(o, 0.8)], [])),
    Case("Chained", lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.1, total_iters=2), S.ExponentialLR(o, gamma=0.9)])),
    Case("Chained-three", lambda S, o: S.ChainedScheduler(
        [S.LinearLR(o, start_factor=0.5, total_iters=4), S.CosineAnnealingLR(o, T_max=6),
         S.MultiStepLR(o, [5, 10])], optimizer=o), steps=20),
]


def _optimizer(lib, case):
    groups = [{"params": [(Parameter(np.zeros(2)) if lib is mc else
                           lib.zeros(2, requires_grad=True))], "lr": lr} for lr in LRS]
    return getattr(lib.optim, case.opt)(groups, **case.opt_options)


def _values(optimizer):
    """Every group's lr, momentum and betas, as one flat list."""
    out = []
    for group in optimizer.param_groups:
        out.append(float(group["lr"]))
        if "momentum" in group:
            out.append(float(group["momentum"]))
        out.extend(float(beta) for beta in group.get("betas", ()))
    return out


def _run(case, scheduler, optimizer, start, stop):
    """Step from step ``start`` to ``stop``: the hyperparameters and get_last_lr after each."""
    path = []
    for i in range(start, stop):
        optimizer.step()
        case.step(scheduler, i)
        path.append(_values(optimizer) + [float(lr) for lr in scheduler.get_last_lr()])
    return path


def _pair(torch, case):
    ours_opt, theirs_opt = _optimizer(mc, case), _optimizer(torch, case)
    ours = case.make(ours_module, ours_opt)
    theirs = case.make(torch.optim.lr_scheduler, theirs_opt)
    return ours, ours_opt, theirs, theirs_opt


def _same_state(ours, theirs, where="state_dict"):
    """Same keys and numbers (PyTorch's bookkeeping flag aside, and LambdaLR's functions,
    which ours leaves out; functions skipped)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        skip = {"_get_lr_called_within_step"} | ({"lr_lambdas"} - set(ours))
        assert set(ours) - skip == set(theirs) - skip, where
        for key in set(theirs) - skip:
            _same_state(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same_state(a, b, f"{where}[{i}]")
    elif isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=where)
    elif theirs is None or isinstance(theirs, (str, bool)):
        assert ours == theirs, where


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_schedule_matches_torch(case):
    torch = torch_or_skip()
    ours, ours_opt, theirs, theirs_opt = _pair(torch, case)
    np.testing.assert_allclose(_values(ours_opt), _values(theirs_opt), rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's optimizer.step() order check
        np.testing.assert_allclose(_run(case, ours, ours_opt, 0, case.steps),
                                   _run(case, theirs, theirs_opt, 0, case.steps),
                                   rtol=1e-12, atol=0)
    _same_state(ours.state_dict(), theirs.state_dict())


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_state_dict_round_trip_resumes_exactly(case):
    torch = torch_or_skip()
    ours, ours_opt, theirs, theirs_opt = _pair(torch, case)
    middle = case.steps // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _run(case, ours, ours_opt, 0, middle)
        _run(case, theirs, theirs_opt, 0, middle)
        saved, saved_opt = copy.deepcopy(ours.state_dict()), copy.deepcopy(ours_opt.state_dict())
        resumed_opt = _optimizer(mc, case)
        resumed = case.make(ours_module, resumed_opt)  # a new run: scheduler first
        resumed_opt.load_state_dict(saved_opt)
        resumed.load_state_dict(saved)
        # and from PyTorch's state_dict (its hyperparameters copied into our groups)
        from_torch_opt = _optimizer(mc, case)
        from_torch = case.make(ours_module, from_torch_opt)
        for group, theirs_group in zip(from_torch_opt.param_groups, theirs_opt.param_groups):
            group.update({key: theirs_group[key] for key in _KEYS if key in theirs_group})
        from_torch.load_state_dict(copy.deepcopy(theirs.state_dict()))
        rest = _run(case, ours, ours_opt, middle, case.steps)
        assert _run(case, resumed, resumed_opt, middle, case.steps) == rest
        np.testing.assert_allclose(_run(case, from_torch, from_torch_opt, middle, case.steps),
                                   _run(case, theirs, theirs_opt, middle, case.steps),
                                   rtol=1e-12, atol=0)
    assert "optimizer" not in saved


@pytest.mark.oracle
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_raises_after_total_steps(three_phase):
    torch = torch_or_skip()
    case = Case("OneCycle", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=5,
                                                      three_phase=three_phase), momentum=0.9)
    ours, ours_opt, theirs, theirs_opt = _pair(torch, case)
    for _ in range(5):
        ours.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs.step()
    with pytest.raises(ValueError) as theirs_error:
        theirs.step()
    with pytest.raises(ValueError) as ours_error:
        ours.step()
    assert str(ours_error.value) == str(theirs_error.value)
    assert "Tried to step 6 times" in str(ours_error.value)


CLOSED_FORMS = [("StepLR", dict(step_size=3, gamma=0.5)), ("ExponentialLR", dict(gamma=0.9)),
                ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
                ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5)),
                ("ConstantLR", dict(factor=0.25, total_iters=4)),
                ("LinearLR", dict(start_factor=0.2, total_iters=6)),
                ("PolynomialLR", dict(total_iters=6, power=1.5)),
                ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
                ("LambdaLR", dict(lr_lambda=lambda e: 0.5 ** e))]


@pytest.mark.oracle
@pytest.mark.parametrize("name,options", CLOSED_FORMS, ids=[n for n, _ in CLOSED_FORMS])
def test_step_with_epoch_uses_the_closed_form_and_warns(name, options):
    torch = torch_or_skip()
    case = Case(name, lambda S, o: getattr(S, name)(o, **options),
                step=lambda s, i: s.step([4, 5, 0, 9, 12, 3, 3, 7][i]), steps=8)
    ours, ours_opt, theirs, theirs_opt = _pair(torch, case)
    with pytest.warns(UserWarning, match="epoch parameter"):
        ours.step(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs.step(2)
        np.testing.assert_allclose(_run(case, ours, ours_opt, 0, 8),
                                   _run(case, theirs, theirs_opt, 0, 8), rtol=1e-12, atol=0)


def test_plateau_takes_a_tensor_metric_and_counts():
    optimizer = mc.optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = ReduceLROnPlateau(optimizer, patience=1, factor=0.5, min_lr=0.3)
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        scheduler.step(mc.tensor(metric))
    assert scheduler.get_last_lr() == [0.3]  # 1 -> 0.5 -> floor 0.3, then no change
    assert scheduler.best == 1.0 and scheduler.last_epoch == 7
    assert not scheduler.in_cooldown
    with pytest.warns(UserWarning, match="epoch parameter"):
        scheduler.step(0.5, epoch=20)
    assert scheduler.last_epoch == 20 and scheduler.best == 0.5


def test_warm_restarts_fractional_epoch_state():
    optimizer = mc.optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
    scheduler.step(4.5)  # cycles [0, 2), [2, 6): 2.5 epochs into the second
    assert (scheduler.T_i, scheduler.T_cur, scheduler.last_epoch) == (4, 2.5, 4)
    assert scheduler._step_count == 0  # its own step(), as PyTorch's, does not count
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        scheduler.step(-1)


def test_new_names_are_reexported():
    from minicnn.optim import lr_scheduler_more

    for name in ("ReduceLROnPlateau", "OneCycleLR", "LinearLR", "ConstantLR",
                 "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
                 "SequentialLR", "ChainedScheduler"):
        assert getattr(mc.optim.lr_scheduler, name) is getattr(lr_scheduler_more, name)
        assert name in mc.optim.lr_scheduler.__all__
        assert issubclass(getattr(lr_scheduler_more, name), mc.optim.lr_scheduler.LRScheduler)


def test_every_torch_scheduler_exists():
    torch = torch_or_skip()
    assert set(torch.optim.lr_scheduler.__all__) <= set(ours_module.__all__)


# ---------------------------------------------------------------------------------------
# Argument errors: PyTorch's type and message (ours may add "Got <argument>=<value>.")
# ---------------------------------------------------------------------------------------
def _other_optimizer(S, o):
    lib = mc if S is ours_module else __import__("torch")
    other = _optimizer(lib, Case("other", None))
    return S.ExponentialLR(other, 0.9)


ERRORS = [
    ("factor", lambda S, o: S.ReduceLROnPlateau(o, factor=1.0)),
    ("factor", lambda S, o: S.ReduceLROnPlateau(o, factor=2)),
    ("mode", lambda S, o: S.ReduceLROnPlateau(o, mode="avg")),
    ("threshold mode", lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="relative")),
    ("min_lrs", lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1, 0.2, 0.3])),
    ("Optimizer", lambda S, o: S.ReduceLROnPlateau([1.0])),
    ("total_steps OR", lambda S, o: S.OneCycleLR(o, max_lr=0.1)),
    ("total_steps OR", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=3)),
    ("total_steps", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0)),
    ("total_steps", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=2.5)),
    ("epochs", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3)),
    ("steps_per_epoch", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1)),
    ("pct_start", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=9, pct_start=1)),
    ("pct_start", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=9, pct_start=1.5)),
    ("anneal_strategy", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=9,
                                                  anneal_strategy="exp")),
    ("max_lr", lambda S, o: S.OneCycleLR(o, max_lr=[0.1], total_steps=9)),
    ("base_momentum", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=9,
                                                base_momentum=[0.8, 0.8, 0.8])),
    ("Optimizer", lambda S, o: S.OneCycleLR(None, max_lr=0.1, total_steps=9)),
    ("start_factor", lambda S, o: S.LinearLR(o, start_factor=0)),
    ("start_factor", lambda S, o: S.LinearLR(o, start_factor=1.5)),
    ("end_factor", lambda S, o: S.LinearLR(o, end_factor=-0.1)),
    ("end_factor", lambda S, o: S.LinearLR(o, end_factor=2)),
    ("factor", lambda S, o: S.ConstantLR(o, factor=1.5)),
    ("factor", lambda S, o: S.ConstantLR(o, factor=-1)),
    ("lr_lambda", lambda S, o: S.MultiplicativeLR(o, 0.9)),
    ("lr_lambdas", lambda S, o: S.MultiplicativeLR(o, [lambda e: 0.9])),
    ("T_0", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0)),
    ("T_0", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2.0)),
    ("T_mult", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0)),
    ("T_mult", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5)),
    ("eta_min", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0")),
    ("at least one", lambda S, o: S.SequentialLR(o, [], [])),
    ("milestones", lambda S, o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9)], [3])),
    ("optimizer", lambda S, o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), o], [3])),
    ("ReduceLROnPlateau", lambda S, o: S.SequentialLR(
        o, [S.ExponentialLR(o, 0.9), S.ReduceLROnPlateau(o)], [3])),
    ("same optimizer", lambda S, o: S.SequentialLR(
        o, [S.ExponentialLR(o, 0.9), _other_optimizer(S, o)], [3])),
    ("to be chained", lambda S, o: S.ChainedScheduler([])),
    ("ReduceLROnPlateau", lambda S, o: S.ChainedScheduler([S.ReduceLROnPlateau(o)])),
    ("same optimizer", lambda S, o: S.ChainedScheduler(
        [S.ExponentialLR(o, 0.9), _other_optimizer(S, o)])),
]


@pytest.mark.oracle
@pytest.mark.parametrize("words,make", ERRORS, ids=[f"{i}-{w}" for i, (w, _) in
                                                    enumerate(ERRORS)])
def test_argument_errors_are_pytorchs(words, make):
    torch = torch_or_skip()
    case = Case("errors", None)
    with pytest.raises(Exception) as theirs_error:
        make(torch.optim.lr_scheduler, _optimizer(torch, case))
    with pytest.raises(type(theirs_error.value)) as ours_error:
        make(ours_module, _optimizer(mc, case))
    ours_text, theirs_text = str(ours_error.value), str(theirs_error.value)
    assert words in ours_text
    if " has " in theirs_text and "same optimizer" in theirs_text:  # names an optimizer
        theirs_text = theirs_text.split(" has ")[0]
    assert ours_text.startswith(theirs_text)


def test_argument_errors_without_torch():
    optimizer = mc.optim.Adagrad([Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        OneCycleLR(optimizer, max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="Got factor=1.0"):
        ReduceLROnPlateau(optimizer, factor=1.0)
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        SequentialLR(optimizer, [], [])
    with pytest.raises(TypeError, match="should have `optimizer`"):
        ChainedScheduler([object()])
