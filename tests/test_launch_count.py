"""minicnn.profiling.count_launches counts what it should (ufunc calls, NumPy functions,
registered kernel runs as one launch, Function applications, syncs), changes no numbers,
costs nothing outside its block; the fused optimizer step makes a constant number of
launches whatever the number of parameters; the DCGAN-64 step's count dropped."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import minicnn as mc
from minicnn import registry
from minicnn.autograd import Function
from minicnn.nn import Parameter
from minicnn.profiling import CountingArray, count_launches

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))


def test_counts_ufuncs_functions_and_applications():
    a, b = Parameter(np.ones(3)), mc.tensor(np.full(3, 2.0))
    with count_launches(a, b) as counts:
        y = (a * b + a).exp()
        z = mc.tensor(np.concatenate([y.array, a.array]))
    # mc.tensor copies its data (as torch.tensor): one copy
    assert dict(counts.launches) == {"multiply": 1, "add": 1, "exp": 1, "concatenate": 1,
                                     "copy": 1}
    assert dict(counts.functions) == {"Mul": 1, "Add": 1, "Exp": 1}
    assert counts.total == 5 and counts.applications == 3
    np.testing.assert_allclose(z.numpy(), np.r_[np.exp(np.full(3, 3.0)), np.ones(3)])
    # afterwards: plain arrays again, nothing patched, nothing counted
    assert type(a.array) is np.ndarray and type(b.array) is np.ndarray
    assert Function.apply.__func__.__name__ == "apply" and registry.run.__name__ == "run"
    assert np.zeros.__module__ != __name__ and np.zeros.__name__ == "zeros"
    (a * b).exp()
    assert counts.total == 5


def test_reductions_views_copies_and_syncs():
    x = mc.tensor(np.arange(6.0).reshape(2, 3))
    with count_launches(x) as counts:
        s = x.array.sum()                 # add.reduce
        t = x.array.T.reshape(-1)          # a view, then a copy (reshape of a transpose)
        x.array[0] = 1.0                   # setitem
        g = x.array[np.array([1, 0])]      # a gather
        value = float(s)                   # a host sync
        same = np.asarray(x.array)         # no copy: not a launch, still counted after
        assert same is x.array
        cast = np.asarray(x.array, dtype=np.float32)   # a cast: one launch
        (cast + 1.0, same * 2.0)
    assert isinstance(cast, CountingArray)
    assert counts.launches["reshape (copy)"] == 1 and counts.total == 7
    assert counts.launches["asarray (copy)"] == 1
    assert counts.launches["add"] == 1 and counts.launches["multiply"] == 1
    here = os.path.relpath(__file__, os.path.dirname(os.path.dirname(mc.__file__)))
    assert sum(n for where, n in counts.sources.items() if where.startswith(here)) \
        == counts.total
    assert counts.launches["add.reduce"] == 1
    assert counts.launches["setitem"] == 1 and counts.launches["getitem (gather)"] == 1
    assert counts.syncs["float"] == 1 and value == 15.0
    assert t.shape == (6,) and g.shape == (2, 3)


def test_a_kernel_run_is_one_launch_and_the_reference_is_counted_op_by_op():
    x = mc.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    kernel = registry.choose("leaky_relu", "cpu", x.array, 0.2).name
    with count_launches(x) as counts:
        y = mc.nn.functional.leaky_relu(x, 0.2)
    if kernel != "reference":
        assert dict(counts.launches) == {f"kernel leaky_relu ({kernel})": 1}
        assert counts.kernels() == 1
    with registry.use("leaky_relu", "reference"), count_launches(x) as reference:
        y_reference = mc.nn.functional.leaky_relu(x, 0.2)
    assert reference.kernels() == 0 and reference.total >= 2
    np.testing.assert_array_equal(y.numpy(), y_reference.numpy())


def test_counting_changes_no_numbers_and_does_not_nest():
    def run(counted):
        mc.manual_seed(0)
        model = mc.nn.Sequential(mc.nn.Linear(4, 5), mc.nn.Tanh(), mc.nn.Linear(5, 1))
        opt = mc.optim.Adam(model.parameters(), lr=0.1)
        x = mc.tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))
        for step in range(3):
            opt.zero_grad()
            if counted and step == 1:
                with count_launches(model, opt) as counts:
                    model(x).pow(2).mean().backward()
                    opt.step()
                assert counts.total > 10 and counts.applications > 5
            else:
                model(x).pow(2).mean().backward()
                opt.step()
        for p in model.parameters():
            assert type(p.array) is np.ndarray and not isinstance(p.array, CountingArray)
        return [p.numpy().copy() for p in model.parameters()]
    for p, q in zip(run(False), run(True)):
        np.testing.assert_array_equal(p, q)
    with count_launches():
        with pytest.raises(RuntimeError, match="do not nest"):
            with count_launches():
                pass


def _optimizer_launches(name, count, foreach, **options):
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal((i % 3 + 1, 4))) for i in range(count)]
    opt = getattr(mc.optim, name)(params, lr=0.01, foreach=foreach, **options)
    totals = []
    for _ in range(3):
        opt.zero_grad()
        sum((p * p).sum() for p in params).backward()
        with count_launches(opt) as counts:
            opt.step()
        totals.append(counts.total)
    return totals[-1]          # after the first step (which builds the flat buffers)


@pytest.mark.parametrize("name,options,fused", [
    ("Adam", {}, 14), ("AdamW", dict(amsgrad=True), 16), ("SGD", dict(momentum=0.9), 6),
    ("RMSprop", {}, 10), ("RMSprop", dict(centered=True, momentum=0.5), 17)])
def test_fused_step_launches_do_not_grow_with_parameters(name, options, fused):
    assert _optimizer_launches(name, 3, True, **options) == fused
    assert _optimizer_launches(name, 17, True, **options) == fused
    assert _optimizer_launches(name, 17, False, **options) >= 4 * 17


def test_dcgan64_step_launch_count_dropped():
    """The per-parameter Adam loop against the fused step, on a small DCGAN-64 (the count
    does not depend on batch or width): per-parameter 1074, fused 789-790 when measured
    (benchmarks/RESULTS.md): the two Adam steps' 312 launches became 28."""
    from launch_count import count_training_steps, dcgan64_training
    runs = {foreach: dcgan64_training(2, 4, foreach=foreach) for foreach in (False, True)}
    loop, fused = (count_training_steps(runs[foreach]) for foreach in (False, True))
    assert fused.applications == loop.applications
    assert loop.total - fused.total >= 280
    assert fused.total <= 0.75 * loop.total
    # and the same numbers: two steps (one counted) of the fused and the per-parameter Adam
    for name in ("generator", "discriminator"):
        a = runs[False].parts.models[name].state_dict()
        b = runs[True].parts.models[name].state_dict()
        for key in a:
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)
