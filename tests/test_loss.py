"""Losses and dropout: gradcheck + gradgradcheck under hypothesis (reductions, deltas,
class weights, ignore_index, label smoothing drawn), the PyTorch oracle (forward, gradient,
second derivative), numerical stability, dropout's statistics, and errors."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
from minicnn.gradcheck import gradcheck, gradgradcheck
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes




def _tf():
    return torch_or_skip().nn.functional


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def regression(kink_name=None, kinks=(1.0,)):
    """input x and target t = x - d, |d| kept 0.05 away from 0 and from the kink (delta or
    beta), so finite differences never straddle a change of formula."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        kwargs = {"reduction": data.draw(REDUCTIONS)}
        kink = None
        if kink_name is not None:
            kink = data.draw(st.sampled_from(kinks))
            kwargs[kink_name] = kink
        x = data.draw(arrays(shape, -2.0, 2.0))
        magnitude = data.draw(arrays(shape, 0.05, 3.0, away_from=kink or None))
        signs = np.where(data.draw(arrays(shape)) > 0, 1.0, -1.0)
        return [x, x - np.abs(magnitude) * signs], kwargs
    return draw


def _labels(data, shape, C, ignore_index):
    labels = np.asarray(data.draw(arrays(shape, 0, C))).astype(np.int64).clip(0, C - 1)
    if ignore_index is not None:
        labels.reshape(-1)[0] = 0 if ignore_index else 1   # never are all samples ignored
        if labels.size > 1 and data.draw(st.booleans()):
            labels.reshape(-1)[-1] = ignore_index
    return labels


def classification(probabilities=False):
    """logits (N, C), (N, C, d) or (C,); integer labels (or class probabilities); class
    weights, ignore_index, label smoothing and the reduction drawn."""
    def draw(data):
        C = data.draw(st.integers(2, 4))
        layout = data.draw(st.sampled_from(["NC", "NCd", "C"]))
        N, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
        shape = {"NC": (N, C), "NCd": (N, C, d), "C": (C,)}[layout]
        label_shape = {"NC": (N,), "NCd": (N, d), "C": ()}[layout]
        kwargs = {"reduction": data.draw(REDUCTIONS),
                  "label_smoothing": data.draw(st.sampled_from([0.0, 0.0, 0.2]))}
        if data.draw(st.booleans()):
            kwargs["weight"] = data.draw(arrays((C,), 0.5, 2.0))
        logits = data.draw(arrays(shape, -3.0, 3.0))
        if probabilities:
            raw = np.exp(data.draw(arrays(shape)))
            target = raw / raw.sum(axis=0 if layout == "C" else 1, keepdims=True)
            return [logits, target], kwargs
        ignore = data.draw(st.sampled_from([None, -100, 1])) if layout != "C" else None
        if ignore is not None:
            kwargs["ignore_index"] = ignore
        return [logits, _labels(data, label_shape, C, ignore)], kwargs
    return draw


def draw_nll(data):
    values, kwargs = classification()(data)
    del kwargs["label_smoothing"]
    return values, kwargs


def draw_binary(logits):
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=3))
        kwargs = {"reduction": data.draw(REDUCTIONS)}
        if data.draw(st.booleans()):
            kwargs["weight"] = data.draw(arrays(shape[-1:], 0.5, 2.0))
        if logits and data.draw(st.booleans()):
            kwargs["pos_weight"] = data.draw(arrays(shape[-1:], 0.5, 3.0))
        x = data.draw(arrays(shape, -4.0, 4.0) if logits else arrays(shape, 0.05, 0.95))
        # probabilities' targets stay inside [0, 1] under gradcheck's perturbation: PyTorch
        # (and minicnn) refuse a target outside it
        t = arrays(shape, 0.0, 1.0) if logits else arrays(shape, 0.01, 0.99)
        return [x, data.draw(t)], kwargs
    return draw


def with_constants(fn, make_tensor):
    """Call ``fn`` with array keyword arguments (class weights ...) turned into tensors."""
    def call(*tensors, **kwargs):
        kwargs = {k: make_tensor(v) if isinstance(v, np.ndarray) else v
                  for k, v in kwargs.items()}
        return fn(*tensors, **kwargs)
    return call


def mc_case(name):
    return with_constants(getattr(F, name), mc.tensor)


def torch_case(name):
    def call(*tensors, **kwargs):
        torch = torch_or_skip()
        return with_constants(getattr(torch.nn.functional, name), torch.tensor)(*tensors,
                                                                               **kwargs)
    return call


def case(name, draw):
    return Case(name, draw, mc_case(name), torch_case(name))


CASES = [
    case("mse_loss", regression()),
    case("l1_loss", regression()),
    case("huber_loss", regression("delta", (1.0, 0.5, 2.0))),
    case("smooth_l1_loss", regression("beta", (1.0, 0.5, 0.0))),
    case("cross_entropy", classification()),
    Case("cross_entropy-probabilities", classification(probabilities=True),
         mc_case("cross_entropy"), torch_case("cross_entropy")),
    case("nll_loss", draw_nll),
    case("binary_cross_entropy", draw_binary(logits=False)),
    case("binary_cross_entropy_with_logits", draw_binary(logits=True)),
]


test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


@pytest.mark.oracle
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout", ["NC", "NCd"])
def test_cross_entropy_label_smoothing_with_weights_and_ignore_index(reduction, weighted,
                                                                     layout):
    """PyTorch's rule: with reduction='mean' the smoothing term is divided by the summed
    weights of the kept targets; ignored samples contribute to neither term."""
    rng = np.random.default_rng(len(reduction) + 2 * weighted + 4 * len(layout))
    shape, label_shape = ((5, 4), (5,)) if layout == "NC" else ((3, 4, 2), (3, 2))
    labels = rng.integers(0, 4, size=label_shape)
    labels.reshape(-1)[1] = -100
    kwargs = dict(reduction=reduction, label_smoothing=0.3, ignore_index=-100)
    weight = rng.uniform(0.5, 2.0, 4) if weighted else None
    check_against_torch(
        lambda x, t: F.cross_entropy(x, t, None if weight is None else mc.tensor(weight),
                                     **kwargs),
        lambda x, t: _tf().cross_entropy(x, t, None if weight is None else
                                         torch_or_skip().tensor(weight), **kwargs),
        [rng.standard_normal(shape), labels])


# -- stability -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_at_plus_minus_100(dtype):
    x = mc.tensor(np.array([-100.0, 100.0, -100.0, 100.0, 0.0], dtype=dtype), requires_grad=True)
    t = mc.tensor(np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=dtype))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 100.0, 100.0, np.log(2.0)],
                               rtol=1e-6, atol=1e-30)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, -1.0, 1.0, -0.5], atol=1e-30)
    assert loss.dtype == dtype and x.grad.dtype == dtype


def test_bce_clamps_log_at_minus_100_and_keeps_gradients_finite():
    p = mc.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    t = mc.tensor(np.array([1.0, 0.0, 0.0, 1.0]))
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, 0.0, 0.0])


def test_cross_entropy_handles_huge_logits():
    logits = mc.tensor(np.array([[1000.0, 0.0, -1000.0]]), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1]))
    np.testing.assert_allclose(loss.item(), 1000.0)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-300)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    rng = np.random.default_rng(0)
    logits = mc.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    labels = np.array([0, 4, 2, 2])
    F.cross_entropy(logits, labels, reduction="sum").backward()
    expected = F.softmax(logits.detach(), dim=1).numpy() - F.one_hot(labels, 5).numpy()
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-12)


def test_float32_stays_float32_with_float64_targets_and_weights():
    x = mc.tensor(np.full((2, 3), 0.5, dtype=np.float32), requires_grad=True)
    target, weight = np.full((2, 3), 0.25), np.ones(3)        # float64 arrays
    labels = np.array([0, 2])
    for loss in (F.mse_loss(x, target), F.l1_loss(x, target), F.huber_loss(x, target),
                 F.smooth_l1_loss(x, target), F.binary_cross_entropy(x, target, weight),
                 F.binary_cross_entropy_with_logits(x, target, weight, pos_weight=weight),
                 F.cross_entropy(x, labels, weight, label_smoothing=0.1),
                 F.cross_entropy(x, target), F.nll_loss(x, labels, weight)):
        (gradient,) = mc.grad(loss, x)
        assert loss.dtype == np.float32 and gradient.dtype == np.float32


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_unbatched_input_gives_unbatched_losses(name):
    logits, label = mc.tensor(np.array([0.5, -1.0, 2.0])), np.array(2)
    fn = getattr(F, name)
    assert fn(logits, label, reduction="none").shape == ()
    assert fn(logits, label, reduction="none", **(
        {"label_smoothing": 0.1} if name == "cross_entropy" else {})).shape == ()
    batched = fn(mc.tensor(logits.numpy()[None]), label[None], reduction="none")
    assert batched.shape == (1,)
    np.testing.assert_allclose(fn(logits, label).item(), batched.item())


# -- dropout -----------------------------------------------------------------------------------
def test_dropout_keeps_the_mean_and_drops_about_p():
    mc.manual_seed(1)
    x = mc.ones(200, 100, dtype=np.float64)
    y = F.dropout(x, p=0.3).numpy()
    assert abs((y == 0).mean() - 0.3) < 0.02
    assert abs(y.mean() - 1.0) < 0.03
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7])


def test_dropout_gradient_is_the_mask_and_draws_are_reproducible():
    x = mc.tensor(np.random.default_rng(0).standard_normal((6, 7)), requires_grad=True)
    mc.manual_seed(5)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy() / x.numpy())
    mc.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), y.numpy())

    def same_mask_every_call(t):
        mc.manual_seed(5)
        return F.dropout(t, 0.5)
    assert gradcheck(same_mask_every_call, [x]) and gradgradcheck(same_mask_every_call, [x])


def test_dropout_edge_cases():
    x = mc.tensor(np.ones((2, 3)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((2, 3)))
    assert F.dropout(mc.tensor(np.ones(4, dtype=np.float32)), 0.5).dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 6, 3, 3), (4, 6, 5)])
def test_dropout2d_zeroes_whole_channels(shape):
    mc.manual_seed(2)
    y = F.dropout2d(mc.tensor(np.ones(shape)), p=0.5).numpy()
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).sum() < shape[0] * shape[1]


# -- functional helpers the losses use -------------------------------------------------------
def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    assert F.one_hot(mc.tensor(np.array([[1], [3]]))).shape == (2, 1, 4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="integer labels"):
        F.one_hot(np.array([1.0]))


# -- errors ----------------------------------------------------------------------------------
def _logits():
    return mc.tensor(np.zeros((3, 4)))


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.cross_entropy(_logits(), np.array([0, 4, 1])), ValueError,
     r"labels must be in \[0, 3\] \(4 classes\) or equal ignore_index=-100; got 4 at "
     r"position \(1,\)"),
    (lambda: F.cross_entropy(_logits(), np.array([0, -1, 1])), ValueError, "got -1 at position"),
    (lambda: F.nll_loss(_logits(), np.array([0, 9, 1])), ValueError, "got 9"),
    (lambda: F.cross_entropy(_logits(), np.array([0, 1])), ValueError,
     r"target: expected shape \(3,\)"),
    (lambda: F.cross_entropy(_logits(), np.zeros((3, 2))), ValueError,
     "class probabilities must have the input's shape"),
    (lambda: F.nll_loss(_logits(), np.array([0.0, 1.0, 1.0])), TypeError, "integer class labels"),
    (lambda: F.cross_entropy(_logits(), np.array([0, 1, 1]), weight=np.ones(3)), ValueError,
     r"weight: expected one weight per class, shape \(4,\)"),
    (lambda: F.cross_entropy(_logits(), np.array([0, 1, 1]), label_smoothing=1.5), ValueError,
     "label_smoothing"),
    (lambda: F.mse_loss(_logits(), _logits(), reduction="avg"), ValueError,
     "reduction: expected 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.mse_loss(_logits(), _logits(), True), ValueError, "size_average and reduce"),
    (lambda: F.mse_loss(_logits(), mc.zeros(2)), ValueError, "cannot be broadcast"),
    (lambda: F.huber_loss(_logits(), _logits(), delta=0.0), ValueError, "delta"),
    (lambda: F.smooth_l1_loss(_logits(), _logits(), beta=-1.0), ValueError, "beta"),
    (lambda: F.binary_cross_entropy(_logits() + 2, _logits()), ValueError, "probabilities in"),
    (lambda: F.binary_cross_entropy_with_logits(_logits(), mc.zeros(4)), ValueError,
     "must have the input's shape"),
    (lambda: F.dropout(_logits(), 1.5), ValueError, "between 0 and 1"),
    (lambda: F.dropout2d(mc.zeros(3, 3), 0.5), ValueError, r"\(N, C, H, W\)"),
])
def test_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_broadcasting_target_warns_like_pytorch():
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(mc.zeros(3, 1), mc.zeros(3))
