"""More PyTorch names scripts use daily, beyond issue 12's list: Tensor.add/sub(alpha)/mul/
div(rounding_mode)/square/mm/bmm/index_select/narrow/unbind/softmax/log_softmax, mc.softmax,
mc.pow, full_like, empty, randperm, bernoulli, Size, inference_mode; nn.Softmax, LogSoftmax,
ReLU6, Hardtanh, Mish, SELU, CELU, LogSigmoid, Hardsigmoid, Hardswish, PReLU, the padding
layers, MaxPool1d/AvgPool1d/AdaptiveAvgPool1d, ConvTranspose1d, ParameterList; MultiStepLR
and LambdaLR. Each against PyTorch (values, gradients and, for the differentiable
compositions, second derivatives)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from hypothesis import strategies as st

from minicnn import nn
from minicnn.optim.lr_scheduler import LambdaLR, MultiStepLR
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, tie_free

rng = np.random.default_rng(0)
A = rng.uniform(0.5, 2.0, (3, 4)) * np.where(rng.random((3, 4)) < 0.5, -1, 1)
B = rng.uniform(0.5, 2.0, (3, 4))
M = rng.standard_normal((4, 2))
BATCH = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)))

METHODS = [
    ("add_alpha", (A, B), lambda a, b: a.add(b, alpha=2.5)),
    ("sub_alpha", (A, B), lambda a, b: a.sub(b, alpha=0.5)),
    ("mul", (A, B), lambda a, b: a.mul(b)),
    ("div", (A, B), lambda a, b: a.div(b)),
    ("square", (A,), lambda a: a.square()),
    ("mm", (A, M), lambda a, m: a.mm(m)),
    ("bmm", BATCH, lambda a, b: a.bmm(b)),
    ("softmax", (A,), lambda a: a.softmax(dim=1)),
    ("log_softmax", (A,), lambda a: a.log_softmax(0)),
    ("narrow", (A,), lambda a: a.narrow(1, 1, 2) * a.narrow(1, 0, 2)),
    ("narrow_negative_start", (A,), lambda a: a.narrow(0, -2, 2)),
    ("unbind", (A,), lambda a: a.unbind(1)[0] * a.unbind(1)[3]),
]


@pytest.mark.parametrize("name,arrays,fn", METHODS, ids=[m[0] for m in METHODS])
def test_method_matches_torch_to_second_order(name, arrays, fn):
    check_against_torch(fn, fn, list(arrays))


def test_index_select_matches_torch():
    torch = torch_or_skip()
    index = np.array([2, 0, 2])
    check_against_torch(lambda a: a.index_select(0, mc.from_numpy(index)),
                        lambda a: a.index_select(0, torch.from_numpy(index)), [A])
    check_against_torch(lambda a: mc.index_select(a, -1, mc.from_numpy(index)),
                        lambda a: torch.index_select(a, -1, torch.from_numpy(index)), [A])


def test_module_level_spellings_match_torch():
    torch = torch_or_skip()
    for name, args in (("softmax", (1,)), ("log_softmax", (1,)), ("square", ()),
                       ("pow", (2.0,))):
        ours = getattr(mc, name)(mc.tensor(A), *args).numpy()
        theirs = getattr(torch, name)(torch.tensor(A), *args).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(mc.mm(mc.tensor(A), mc.tensor(M)).numpy(), A @ M, rtol=1e-12)
    np.testing.assert_allclose(mc.add(mc.tensor(A), mc.tensor(B), alpha=3).numpy(), A + 3 * B)


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_modes_as_pytorch(mode):
    torch = torch_or_skip()
    for a, b in ((np.array([7.0, -7.0, 5.5]), np.array([2.0, 2.0, -2.0])),
                 (np.array([7, -7, 5]), np.array([2, 2, -2]))):
        ours = mc.from_numpy(a).div(mc.from_numpy(b), rounding_mode=mode)
        theirs = torch.from_numpy(a).div(torch.from_numpy(b), rounding_mode=mode)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == theirs.numpy().dtype
    with pytest.raises(ValueError, match="rounding_mode"):
        mc.ones(2).div(2, rounding_mode="round")


def test_shape_errors_name_the_op():
    with pytest.raises(ValueError, match=r"mm: expected two 2-D tensors.*matmul"):
        mc.ones(2).mm(mc.ones(2, 2))
    with pytest.raises(ValueError, match="bmm: expected"):
        mc.ones(2, 2).bmm(mc.ones(2, 2))
    with pytest.raises(IndexError, match="narrow: start"):
        mc.ones(3).narrow(0, 2, 2)
    with pytest.raises(ValueError, match="index_select: index: expected a 1-D integer"):
        mc.ones(3).index_select(0, mc.ones(1))


def test_creation_functions_as_pytorch():
    torch = torch_or_skip()
    x = mc.ones(2, 3, dtype=mc.float64)
    assert mc.full_like(x, 7).dtype == np.float64 and (mc.full_like(x, 7).numpy() == 7).all()
    assert mc.full_like(x, 7, dtype=mc.long).dtype == np.int64
    assert mc.empty(2, 3).shape == (2, 3) and mc.empty((4,)).dtype == np.float32
    assert mc.empty_like(x).shape == x.shape and mc.empty_like(x).dtype == np.float64
    assert mc.empty(2, requires_grad=True).requires_grad
    mc.manual_seed(0)
    permutation = mc.randperm(10)
    assert permutation.dtype == np.int64 and sorted(permutation.tolist()) == list(range(10))
    assert mc.get_default_dtype() == np.float32 == mc.float32
    size = mc.Size([2, 3, 4])
    assert size == (2, 3, 4) and size.numel() == 24 == torch.Size([2, 3, 4]).numel()


def test_bernoulli_draws_zeros_and_ones_at_the_given_rate():
    mc.manual_seed(1)
    draws = mc.bernoulli(mc.full((20000,), 0.3))
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0} and abs(draws.numpy().mean() - 0.3) < 0.02
    assert mc.bernoulli(mc.zeros(5), p=1.0).numpy().tolist() == [1.0] * 5
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mc.bernoulli(mc.full((2,), 1.5))


def test_inference_mode_builds_no_graph_and_decorates():
    x = mc.ones(2, requires_grad=True)
    with mc.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @mc.inference_mode()
    def evaluate():
        return x * 3

    assert not evaluate().requires_grad


# ---------------------------------------------------------------------------------------
# The new functionals: gradcheck + gradgradcheck and the PyTorch oracle (tests/cases.py)
# ---------------------------------------------------------------------------------------
def _tf():
    return torch_or_skip().nn.functional


def _embedding_draw(data):
    rows, dim = data.draw(st.integers(2, 5)), data.draw(st.integers(1, 3))
    index_shape = data.draw(st.sampled_from([(3,), (2, 3)]))
    seed = data.draw(st.integers(0, 2**16))
    indices = np.random.default_rng(seed).integers(0, rows, index_shape)
    # padding_idx is left out here: its "gradient" (zero for that row, by PyTorch's rule)
    # is not the derivative, so no gradcheck can pass; test_torch_names.py checks it
    # against PyTorch.
    return [data.draw(arrays((rows, dim))), indices]


def _signal_draw(values, options):
    def draw(data):
        shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)),
                 data.draw(st.integers(5, 9)))
        return [data.draw(values(shape))], {k: data.draw(v) for k, v in options.items()}
    return draw


POOL_OPTIONS = {"kernel_size": st.integers(1, 3), "stride": st.integers(1, 2),
                "padding": st.just(0)}
FUNCTIONAL_CASES = [
    Case("embedding", _embedding_draw,
         lambda w, i: mc.functional.embedding(i, w), lambda w, i: _tf().embedding(i, w)),
    Case("max_pool1d", _signal_draw(tie_free, dict(POOL_OPTIONS, kernel_size=st.integers(2, 3),
                                                    padding=st.integers(0, 1))),  # pad <= k/2
         lambda x, **k: mc.functional.max_pool1d(x, **k),
         lambda x, **k: _tf().max_pool1d(x, **k)),
    Case("avg_pool1d", _signal_draw(arrays, dict(POOL_OPTIONS, ceil_mode=st.booleans())),
         lambda x, **k: mc.functional.avg_pool1d(x, **k),
         lambda x, **k: _tf().avg_pool1d(x, **k)),
    Case("adaptive_avg_pool1d", _signal_draw(arrays, {"output_size": st.integers(1, 4)}),
         lambda x, **k: mc.functional.adaptive_avg_pool1d(x, **k),
         lambda x, **k: _tf().adaptive_avg_pool1d(x, **k)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(FUNCTIONAL_CASES)


# ---------------------------------------------------------------------------------------
# Layers against torch.nn (same weights, float64)
# ---------------------------------------------------------------------------------------
LAYERS = [
    ("Softmax", (), {"dim": 1}, (3, 4)), ("LogSoftmax", (), {"dim": -1}, (2, 3, 4)),
    ("ReLU6", (), {}, (3, 4), 4.0), ("Hardtanh", (), {"min_val": -0.5, "max_val": 1.5}, (3, 4)),
    ("Mish", (), {}, (3, 4)), ("SELU", (), {}, (3, 4)), ("CELU", (), {"alpha": 0.5}, (3, 4)),
    ("LogSigmoid", (), {}, (3, 4)), ("Hardsigmoid", (), {}, (3, 4), 4.0),
    ("Hardswish", (), {}, (3, 4), 4.0),
    ("PReLU", (), {}, (2, 3, 4)), ("PReLU", (), {"num_parameters": 3, "init": 0.1}, (2, 3, 4)),
    ("ZeroPad2d", (1,), {}, (1, 2, 3, 4)), ("ZeroPad1d", ((2, 0),), {}, (1, 2, 5)),
    ("ConstantPad2d", ((1, 0, 2, 1), 3.5), {}, (1, 2, 3, 4)),
    ("ConstantPad1d", (2, -1.0), {}, (2, 5)),
    ("ReflectionPad2d", ((1, 2, 2, 1),), {}, (1, 2, 4, 5)), ("ReflectionPad1d", (2,), {}, (1, 2, 5)),
    ("ReplicationPad2d", (2,), {}, (1, 2, 3, 4)), ("ReplicationPad1d", ((1, 3),), {}, (1, 2, 5)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("MaxPool1d", (2,), {"dilation": 2, "ceil_mode": True}, (2, 3, 8)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 9)),
    ("AvgPool1d", (2,), {}, (3, 7)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("ConvTranspose1d", (2, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1},
     (2, 2, 5)),
    ("ConvTranspose1d", (4, 2, 3), {"groups": 2, "dilation": 2, "bias": False}, (1, 4, 6)),
]


# PyTorch's CPU hardsigmoid backward multiplies by the float32 constant 1.0f / 6.0f even
# in float64, so its gradient is exact to float32 precision only (minicnn's to float64).
GRADIENT_RTOL = {"Hardsigmoid": 1e-7}


@pytest.mark.parametrize("case", LAYERS, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in LAYERS])
def test_layer_matches_torch(case):
    name, args, kwargs, shape = case[:4]
    scale = case[4] if len(case) > 4 else 1.0
    rtol = GRADIENT_RTOL.get(name, 1e-10)
    torch = torch_or_skip()
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    params = dict(ours.named_parameters())
    assert list(params) == [n for n, _ in theirs.named_parameters()]
    for n, p in theirs.named_parameters():
        assert params[n].shape == tuple(p.shape)
        params[n].array[...] = p.detach().numpy()
    x = np.random.default_rng(0).uniform(-scale, scale, shape)
    x_mc, x_torch = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_mc, y_torch = ours(x_mc), theirs(x_torch)
    np.testing.assert_allclose(y_mc.numpy(), y_torch.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(y_mc.shape)
    y_mc.backward(mc.tensor(v))
    y_torch.backward(torch.tensor(v))
    np.testing.assert_allclose(x_mc.grad.numpy(), x_torch.grad.numpy(), rtol=rtol, atol=1e-12)
    for n, p in theirs.named_parameters():
        np.testing.assert_allclose(params[n].grad.numpy(), p.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=n)
    assert repr(ours) == repr(theirs)


def test_max_pool1d_returns_indices_as_pytorch():
    torch = torch_or_skip()
    x = np.random.default_rng(3).permutation(18).reshape(1, 2, 9).astype(np.float64)
    values, indices = nn.MaxPool1d(3, return_indices=True)(mc.tensor(x))
    t_values, t_indices = torch.nn.MaxPool1d(3, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(values.numpy(), t_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="ZeroPad2d: padding: expected an int or 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="PReLU: input: expected 3 channels"):
        nn.PReLU(3)(mc.ones(2, 4))
    with pytest.raises(ValueError, match=r"max_pool1d: input: expected \(N, C, L\)"):
        nn.MaxPool1d(2)(mc.ones(1, 1, 2, 2))


def test_parameter_list_registers_as_pytorch():
    torch = torch_or_skip()
    ours = nn.ParameterList([nn.Parameter(mc.ones(2)), mc.zeros(3)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
    ours.append(nn.Parameter(mc.ones(1)))
    theirs.append(torch.nn.Parameter(torch.ones(1)))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "2"]
    assert isinstance(ours[1], nn.Parameter) and ours[1].requires_grad and len(ours) == 3

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(mc.ones(2)) for _ in range(2)])

    assert [n for n, _ in Net().named_parameters()] == ["scales.0", "scales.1"]
    with pytest.raises(TypeError, match="Parameters or Tensors"):
        ours.append([1.0])


# ---------------------------------------------------------------------------------------
# Schedulers
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [
    ("MultiStepLR", {"milestones": [2, 5, 5], "gamma": 0.5}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95 ** epoch + 0.1 * epoch}),
])
def test_scheduler_matches_torch(name, kwargs):
    torch = torch_or_skip()
    ours_opt = mc.optim.SGD([nn.Parameter(mc.ones(1))], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    ours = getattr(mc.optim.lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    for _ in range(8):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_lambda_lr_per_group_and_state_dict():
    params = [{"params": [nn.Parameter(mc.ones(1))]}, {"params": [nn.Parameter(mc.ones(1))]}]
    optimizer = mc.optim.SGD(params, lr=1.0)
    scheduler = LambdaLR(optimizer, [lambda e: 1.0, lambda e: 0.5 ** e])
    scheduler.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [1.0, 0.25]
    assert "lr_lambdas" not in scheduler.state_dict()
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        LambdaLR(optimizer, [lambda e: 1.0])
    assert MultiStepLR(mc.optim.SGD([nn.Parameter(mc.ones(1))], lr=1.0), [1]).milestones == {1: 1}
