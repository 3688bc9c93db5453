"""Normalisation: gradcheck + gradgradcheck under hypothesis, the PyTorch oracle (forward,
gradient, second derivative), running statistics against PyTorch's, and errors.

Inputs are tie-free (distinct values 0.1 apart), so no group has a near-zero variance
that would make finite differences meaningless.
"""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from cases import Case, case_tests
from oracle import torch_or_skip
from strategies import arrays, tie_free




def _torch():
    return torch_or_skip()


def _input(data, min_dims=2, max_dims=4, min_count=1):
    """(N, C, *) with tiny sides, at least ``min_count`` values per channel over N and *."""
    ndim = data.draw(st.integers(min_dims, max_dims))
    shape = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    if ndim >= 2 and np.prod(shape) // shape[1] < min_count:
        shape = (min_count,) + shape[1:]
    return shape


def _affine(data, x, shape):
    """[x] or [x, weight, bias] (weight near 1, as initialised in practice)."""
    if not data.draw(st.sampled_from([True, False])):   # affine first: drawn more often
        return [x]
    return [x, data.draw(arrays(shape, 0.5, 1.5)), data.draw(arrays(shape))]


def _stats(data, C):
    return data.draw(arrays((C,))), data.draw(arrays((C,), 0.5, 2.0))


def _weight_bias(tensors):
    return {"weight": tensors[1], "bias": tensors[2]} if len(tensors) == 3 else {}


def draw_batch_norm(training):
    def draw(data):
        shape = _input(data, min_count=2 if training else 1)
        mean, var = _stats(data, shape[1])
        kwargs = dict(running_mean=mean, running_var=var, training=training,
                      momentum=data.draw(st.sampled_from([0.1, 0.5])),
                      eps=data.draw(st.sampled_from([1e-5, 1e-3])))
        return _affine(data, data.draw(tie_free(shape)), (shape[1],)), kwargs
    return draw


def mc_batch_norm(*tensors, running_mean, running_var, **kwargs):
    return F.batch_norm(tensors[0], running_mean.copy(), running_var.copy(),
                        **_weight_bias(tensors), **kwargs)


def torch_batch_norm(*tensors, running_mean, running_var, **kwargs):
    torch = _torch()
    return torch.nn.functional.batch_norm(tensors[0], torch.tensor(running_mean),
                                          torch.tensor(running_var), **_weight_bias(tensors),
                                          **kwargs)


def draw_instance_norm(data):
    use_input_stats = data.draw(st.booleans())
    shape = _input(data, min_dims=3)
    if use_input_stats and np.prod(shape[2:]) < 2:
        shape = shape[:2] + (2,) + shape[3:]
    kwargs = dict(use_input_stats=use_input_stats, eps=data.draw(st.sampled_from([1e-5, 1e-3])))
    if not use_input_stats or data.draw(st.booleans()):
        kwargs["running_mean"], kwargs["running_var"] = _stats(data, shape[1])
    return _affine(data, data.draw(tie_free(shape)), (shape[1],)), kwargs


def mc_instance_norm(*tensors, running_mean=None, running_var=None, **kwargs):
    copy = lambda a: None if a is None else a.copy()  # noqa: E731
    return F.instance_norm(tensors[0], copy(running_mean), copy(running_var),
                           **_weight_bias(tensors), **kwargs)


def torch_instance_norm(*tensors, running_mean=None, running_var=None, **kwargs):
    torch = _torch()
    as_torch = lambda a: None if a is None else torch.tensor(a)  # noqa: E731
    return torch.nn.functional.instance_norm(tensors[0], as_torch(running_mean),
                                             as_torch(running_var), **_weight_bias(tensors),
                                             **kwargs)


def draw_layer_norm(data):
    shape = _input(data, min_dims=1, max_dims=4)
    k = data.draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - k:]
    if np.prod(normalized) < 2:
        shape, normalized = shape[:-1] + (2,), normalized[:-1] + (2,)
    kwargs = dict(normalized_shape=normalized, eps=data.draw(st.sampled_from([1e-5, 1e-3])))
    return _affine(data, data.draw(tie_free(shape)), normalized), kwargs


def draw_group_norm(data):
    shape = list(_input(data, min_dims=2, max_dims=4))
    groups = data.draw(st.integers(1, 3))
    shape[1] = groups * data.draw(st.integers(1, 2))
    if np.prod(shape[2:]) * shape[1] // groups < 2:
        shape[1] *= 2
    kwargs = dict(num_groups=groups, eps=data.draw(st.sampled_from([1e-5, 1e-3])))
    return _affine(data, data.draw(tie_free(tuple(shape))), (shape[1],)), kwargs


CASES = [
    Case("batch_norm-train", draw_batch_norm(True), mc_batch_norm, torch_batch_norm),
    Case("batch_norm-eval", draw_batch_norm(False), mc_batch_norm, torch_batch_norm),
    Case("instance_norm", draw_instance_norm, mc_instance_norm, torch_instance_norm),
    Case("layer_norm", draw_layer_norm,
         lambda *t, **kw: F.layer_norm(t[0], **_weight_bias(t), **kw),
         lambda *t, **kw: _torch().nn.functional.layer_norm(t[0], **_weight_bias(t), **kw)),
    Case("group_norm", draw_group_norm,
         lambda *t, **kw: F.group_norm(t[0], **_weight_bias(t), **kw),
         lambda *t, **kw: _torch().nn.functional.group_norm(t[0], **_weight_bias(t), **kw)),
]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES, atol=1e-6, rtol=1e-5)


# -- running statistics --------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("use_tensors", [False, True])
@given(data=st.data())
def test_running_statistics_follow_pytorch(use_tensors, data):
    torch = torch_or_skip()
    shape = _input(data, min_dims=3, min_count=2)
    if np.prod(shape[2:]) < 2:
        shape = shape[:2] + (2,) + shape[3:]
    x = data.draw(arrays(shape))
    momentum = data.draw(st.sampled_from([0.1, 0.3]))
    for name in ("batch_norm", "instance_norm"):
        mean, var = _stats(data, shape[1])
        ours = [mc.tensor(mean), mc.tensor(var)] if use_tensors else [mean.copy(), var.copy()]
        theirs = [torch.tensor(mean), torch.tensor(var)]
        if name == "batch_norm":
            F.batch_norm(mc.tensor(x), *ours, training=True, momentum=momentum)
            torch.nn.functional.batch_norm(torch.tensor(x), *theirs, training=True,
                                           momentum=momentum)
        else:
            F.instance_norm(mc.tensor(x), *ours, momentum=momentum)
            torch.nn.functional.instance_norm(torch.tensor(x), *theirs, momentum=momentum)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-10,
                                       err_msg=f"{name} running statistics")


def test_running_var_is_unbiased_and_untouched_in_eval():
    x = mc.tensor(np.array([[1.0], [3.0]]))            # N = 2, C = 1: batch var 1, unbiased 2
    mean, var = np.zeros(1), np.ones(1)
    F.batch_norm(x, mean, var, training=True, momentum=1.0)
    np.testing.assert_allclose([mean[0], var[0]], [2.0, 2.0])
    F.batch_norm(x, mean, var, training=False, momentum=1.0)
    np.testing.assert_allclose([mean[0], var[0]], [2.0, 2.0])


def test_float32_stays_float32():
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32))
    w, b = mc.ones(4), mc.zeros(4)
    stats = (np.zeros(4, dtype=np.float32), np.ones(4, dtype=np.float32))
    for y in (F.batch_norm(x, *stats, w, b, training=True), F.batch_norm(x, *stats, w, b),
              F.layer_norm(x, (4, 3, 3)), F.group_norm(x, 2, w, b), F.instance_norm(x)):
        assert y.dtype == np.float32


def test_group_norm_one_group_supports_the_gradient_penalty():
    """WGAN-GP differentiates ||d critic / d x|| again: GroupNorm(1, C) must allow it."""
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 2, 2)), rng.uniform(0.5, 1.5, 3)
    results = []
    for lib, f in ((mc, F), (torch, torch.nn.functional)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = (f.group_norm(xt, 1, wt) ** 3).sum()
        grad_x = (mc.grad(out, xt, create_graph=True) if lib is mc else
                  torch.autograd.grad(out, xt, create_graph=True))[0]
        penalty = ((grad_x * grad_x).sum() - 1.0) ** 2
        second = mc.grad(penalty, [xt, wt]) if lib is mc else torch.autograd.grad(penalty,
                                                                                  [xt, wt])
        results.append([np.asarray(g.detach().numpy()) for g in second])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("call,message", [
    (lambda x: F.batch_norm(x, None, None), "needed when training=False"),
    (lambda x: F.batch_norm(x[:1, :, :1, :1], None, None, training=True), "more than 1 value"),
    (lambda x: F.batch_norm(x, np.zeros(3), np.ones(4)), r"running_mean: expected shape \(4,\)"),
    (lambda x: F.batch_norm(x, None, None, mc.ones(3), training=True), "weight: expected shape"),
    (lambda x: F.group_norm(x, 3), "positive divisor"),
    (lambda x: F.layer_norm(x, (4, 4)), "normalized_shape"),
    (lambda x: F.layer_norm(x, 3, weight=mc.ones(2)), r"weight: expected shape \(3,\)"),
    (lambda x: F.instance_norm(x[:, :, :1, :1]), "more than 1 spatial"),
    (lambda x: F.instance_norm(x, use_input_stats=False), "use_input_stats=False"),
    (lambda x: F.instance_norm(x[0, 0]), "at least 3 dims"),
])
def test_errors_name_the_argument(call, message):
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=message):
        call(x)


@pytest.mark.parametrize("shape", [(16, 3, 5, 4), (12, 5), (6, 2, 7)])
def test_batch_norm_fused_kernels_match_reference_and_keep_float32(shape):
    """Training-mode batch norm runs as one op on fused Numba loops (forward, and the
    first-order backward); the NumPy reference of the same op must agree."""
    from minicnn import registry

    rng = np.random.default_rng(0)
    x_values = rng.standard_normal(shape).astype(np.float32) * 3 + 1
    g_values = rng.standard_normal(shape).astype(np.float32)
    w_values = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
    results = {}
    for name in ("numba", "reference"):
        ops = ("batch_norm_stats", "channel_affine", "batch_norm_grad_sums", "batch_norm_combine")
        with registry.use(ops[0], name), registry.use(ops[1], name), \
                registry.use(ops[2], name), registry.use(ops[3], name):
            x = mc.tensor(x_values, requires_grad=True)
            w = mc.tensor(w_values, requires_grad=True)
            b = mc.tensor(np.zeros(shape[1], np.float32), requires_grad=True)
            running_mean, running_var = np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32)
            y = F.batch_norm(x, running_mean, running_var, w, b, training=True)
            y.backward(mc.tensor(g_values))
            assert y.dtype == np.float32 and x.grad.dtype == np.float32
            results[name] = [y.numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(),
                             running_mean, running_var]
    for fast, reference in zip(results["numba"], results["reference"]):
        np.testing.assert_allclose(fast, reference, rtol=1e-4, atol=1e-5)


def test_instance_norm2d_takes_one_unbatched_image_as_pytorch():
    torch = torch_or_skip()
    x = np.random.default_rng(3).normal(size=(3, 4, 5))
    ours = mc.nn.InstanceNorm2d(3, affine=True).double()
    theirs = torch.nn.InstanceNorm2d(3, affine=True).double()
    out = ours(mc.tensor(x))
    assert out.shape == (3, 4, 5)
    np.testing.assert_allclose(out.detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    with pytest.raises(ValueError, match="expected 4D input"):
        ours(mc.zeros(2, 3, dtype=mc.float64))
