"""ops/activation_shrink.py, ops/functional_extra.py, ops/loss_margin.py, nn/layers_extra.py
and torch_functions.py: gradcheck + gradgradcheck and the PyTorch oracle (forward,
gradient, second derivative) for every differentiable function; modules against their
PyTorch twins; dropout masks; LazyLinear; the top-level torch.* signatures; errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.functional as F
import minicnn.nn as nn
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from strategies import arrays, shapes, tie_free


def _tf():
    return torch_or_skip().nn.functional


def values(low=-3.0, high=3.0, away_from=None, parameters=None, min_dims=1, max_dims=3):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims))
        kwargs = {name: data.draw(s) for name, s in (parameters or {}).items()}
        return [data.draw(arrays(shape, low, high, away_from=away_from))], kwargs
    return draw


def shrink(data):
    lambd = data.draw(st.sampled_from([0.5, 1.0, 0.0]))
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    return [data.draw(arrays(shape, -3, 3, away_from=(lambd, -lambd)))], {"lambd": lambd}


def softmin_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    return [data.draw(arrays(shape))], {"dim": data.draw(st.integers(-len(shape),
                                                                    len(shape) - 1))}


def prelu_input(data):
    shape = data.draw(shapes(min_dims=2, max_dims=4))
    count = data.draw(st.sampled_from([1, shape[1]]))
    return [data.draw(arrays(shape, away_from=0.0)), data.draw(arrays((count,), 0.1, 0.5))]


def lrn_input(data):
    shape = data.draw(shapes(min_dims=3, max_dims=4))
    size = data.draw(st.integers(1, 4))
    return [data.draw(arrays(shape))], {"size": size, "alpha": data.draw(
        st.sampled_from([1e-4, 0.5])), "beta": 0.75, "k": data.draw(st.sampled_from([1.0, 2.0]))}


def bilinear_input(data):
    lead = data.draw(shapes(min_dims=1, max_dims=2))
    in1, in2, out = (data.draw(st.integers(1, 3)) for _ in range(3))
    xs = [data.draw(arrays(tuple(lead) + (in1,))), data.draw(arrays(tuple(lead) + (in2,))),
          data.draw(arrays((out, in1, in2)))]
    if data.draw(st.booleans()):
        xs.append(data.draw(arrays((out,))))
    return xs


def pdist_input(data):
    n, m = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    # rows far apart: no pair at distance 0 (where the norm has a kink)
    x = data.draw(tie_free((n, m)))
    return [x], {"p": data.draw(st.sampled_from([1.0, 2.0, 3.0]))}


def shuffle_input(data):
    groups = data.draw(st.integers(1, 3))
    shape = (data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2)),
             data.draw(st.integers(1, 3)))
    return [data.draw(arrays(shape))], {"groups": groups}


def unpool_input(data):
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    h, w = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))
    x = data.draw(tie_free((n, c, h, w)))
    _, indices = F.max_pool2d(mc.tensor(x), 2, return_indices=True)
    pooled = data.draw(arrays(tuple(indices.shape)))
    return [pooled, indices.numpy()], {"kernel_size": 2, "output_size": (h, w)}


def amp1d_input(data):
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)),
             data.draw(st.integers(1, 6)))
    return [data.draw(tie_free(shape))], {"output_size": data.draw(st.integers(1, shape[-1]))}


def lp_input(dims):
    def draw(data):
        spatial = tuple(data.draw(st.integers(2, 4)) for _ in range(dims))
        shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))) + spatial
        kernel = data.draw(st.integers(1, 2))
        return [data.draw(arrays(shape, 0.2, 2.0))], {
            "norm_type": data.draw(st.sampled_from([1.0, 2.0, 3.0])), "kernel_size": kernel,
            "stride": data.draw(st.sampled_from([None, 1]))}
    return draw


def multi_margin_input(data):
    n, c = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = data.draw(tie_free((n, c)))           # no hinge exactly at its kink
    target = rng.integers(0, c, size=n)
    kwargs = {"p": data.draw(st.sampled_from([1, 2])),
              "margin": data.draw(st.sampled_from([1.0, 0.55])),
              "reduction": data.draw(st.sampled_from(["mean", "sum", "none"]))}
    xs = [x, target]
    if data.draw(st.booleans()):
        xs.append(data.draw(arrays((c,), 0.5, 2.0)))
    return xs, kwargs


def multilabel_input(data):
    n, c = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    target = np.full((n, c), -1, dtype=np.int64)
    for row in range(n):
        count = rng.integers(0, c + 1)
        target[row, :count] = rng.permutation(c)[:count]
    x = data.draw(tie_free((n, c))) * 0.37     # differences never exactly 1
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    return [x, target], {"reduction": reduction}


def triplet_input(data):
    n, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    xs = list(data.draw(tie_free((3, n, d))))        # no two points coincide
    return xs, {"swap": data.draw(st.booleans()), "margin": data.draw(
        st.sampled_from([1.0, 0.3])), "reduction": data.draw(st.sampled_from(
            ["mean", "sum", "none"]))}


def _pairs_norm(x, p):
    torch = torch_or_skip()
    i, j = np.triu_indices(x.shape[0], 1)
    return (x[torch.tensor(i)] - x[torch.tensor(j)]).norm(p, dim=1)


def _weighted(fn):
    return lambda x, t, *w, **kw: fn(x, t, weight=w[0] if w else None, **kw)


CASES = [
    Case("hardshrink", shrink, F.hardshrink, lambda x, **kw: _tf().hardshrink(x, **kw)),
    Case("softshrink", shrink, F.softshrink, lambda x, **kw: _tf().softshrink(x, **kw)),
    Case("softmin", softmin_input, F.softmin, lambda x, **kw: _tf().softmin(x, **kw)),
    Case("prelu", prelu_input, F.prelu, lambda x, w: _tf().prelu(x, w)),
    Case("rrelu-eval", values(away_from=0.0), F.rrelu, lambda x: _tf().rrelu(x)),
    Case("local_response_norm", lrn_input, F.local_response_norm,
         lambda x, **kw: _tf().local_response_norm(x, **kw)),
    Case("bilinear", bilinear_input, F.bilinear, lambda *xs: _tf().bilinear(*xs)),
    # torch's pdist has no double backward: its oracle is the same distances written with
    # norm (torch.pdist itself is checked below for values and gradients)
    Case("pdist", pdist_input, F.pdist, lambda x, p: _pairs_norm(x, p)),
    Case("channel_shuffle", shuffle_input, F.channel_shuffle,
         lambda x, **kw: _tf().channel_shuffle(x, **kw)),
    Case("max_unpool2d", unpool_input, F.max_unpool2d,
         lambda x, i, **kw: _tf().max_unpool2d(x, i, **kw)),
    Case("adaptive_max_pool1d", amp1d_input, F.adaptive_max_pool1d,
         lambda x, **kw: _tf().adaptive_max_pool1d(x, **kw)),
    Case("lp_pool2d", lp_input(2), F.lp_pool2d, lambda x, **kw: _tf().lp_pool2d(x, **kw)),
    Case("lp_pool1d", lp_input(1), F.lp_pool1d, lambda x, **kw: _tf().lp_pool1d(x, **kw)),
    Case("triplet_margin_with_distance_loss", triplet_input,
         lambda a, p, n, **kw: F.triplet_margin_with_distance_loss(a, p, n, **kw),
         lambda a, p, n, **kw: _tf().triplet_margin_with_distance_loss(a, p, n, **kw)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)

# torch's multi_margin_loss and multilabel_margin_loss have no double backward: their
# oracle compares values and gradients; the second derivatives are checked by
# gradgradcheck (and are those of relu and squares, composed)
MARGIN_CASES = [
    Case("multi_margin_loss", multi_margin_input, _weighted(F.multi_margin_loss),
         lambda x, t, *w, **kw: _tf().multi_margin_loss(x, t, weight=w[0] if w else None,
                                                        **kw)),
    Case("multilabel_margin_loss", multilabel_input, F.multilabel_margin_loss,
         lambda x, t, **kw: _tf().multilabel_margin_loss(x, t, **kw)),
]

test_margin_gradcheck_and_gradgradcheck, _ = case_tests(MARGIN_CASES)


@pytest.mark.oracle
@pytest.mark.parametrize("case", MARGIN_CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_margin_losses_match_pytorch(case, data):
    drawn = case.draw(data)
    xs, kwargs = drawn if isinstance(drawn, tuple) else (drawn, {})
    check_against_torch(lambda *a: case.mc_fn(*a, **kwargs),
                        lambda *a: case.torch_fn(*a, **kwargs), xs, second_order=False,
                        grad_inputs=[0])  # torch's class weights take no gradient


@pytest.mark.oracle
def test_one_dimensional_and_special_forms_match_pytorch():
    tf = _tf()
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5)
    check_against_torch(lambda a: F.multi_margin_loss(a, mc.tensor(2)),
                        lambda a: tf.multi_margin_loss(a, torch.tensor(2)), [x],
                        second_order=False)
    check_against_torch(lambda a: F.multilabel_margin_loss(a, mc.tensor([3, 0, -1, 1, 2])),
                        lambda a: tf.multilabel_margin_loss(a, torch.tensor([3, 0, -1, 1, 2])),
                        [x], second_order=False)
    check_against_torch(lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: ((u - v) ** 2).sum(-1)),
        lambda a, p, n: tf.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: ((u - v) ** 2).sum(-1)),
        [rng.standard_normal((3, 2)) for _ in range(3)])
    check_against_torch(lambda a: F.prelu(a, mc.tensor([0.2])),
                        lambda a: tf.prelu(a, torch.tensor([0.2])), [x])
    with pytest.raises(ValueError, match="prelu: weight"):
        F.prelu(mc.tensor(x), mc.ones(5))                 # a 1-D input has one channel
    y = rng.standard_normal((2, 3, 4))
    ours, idx = F.max_pool1d(mc.tensor(y), 2, return_indices=True)
    theirs = tf.max_unpool1d(torch.tensor(ours.numpy()), torch.tensor(idx.numpy()), 2,
                             output_size=[5])
    np.testing.assert_array_equal(F.max_unpool1d(ours, idx, 2, output_size=[5]).numpy(),
                                  theirs.numpy())
    v, i = F.adaptive_max_pool1d(mc.tensor(y), 3, return_indices=True)
    tv, ti = tf.adaptive_max_pool1d(torch.tensor(y), 3, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    rows = rng.standard_normal((4, 3))
    for p in (1.0, 2.0, 3.5):
        check_against_torch(lambda a: F.pdist(a, p), lambda a: tf.pdist(a, p), [rows],
                            second_order=False)
    five = rng.standard_normal((1, 4, 2, 2, 2))
    check_against_torch(lambda a: F.local_response_norm(a, 3),
                        lambda a: tf.local_response_norm(a, 3), [five])


def test_rrelu_training_draws_slopes_in_range_from_the_seeded_generator():
    x = mc.tensor(-np.ones((200,)), requires_grad=True)
    mc.manual_seed(3)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    mc.manual_seed(3)
    again = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    np.testing.assert_array_equal(y.numpy(), again.numpy())
    (g,) = mc.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), slopes)           # the gradient is the slope
    positive = F.rrelu(mc.tensor([2.0, 0.0]), training=True)
    assert positive.tolist() == [2.0, 0.0]
    m = nn.RReLU(0.1, 0.3)
    m.eval()
    np.testing.assert_allclose(m(mc.tensor([-1.0])).numpy(), [-0.2])


def test_relu_in_place_and_channel_dropouts():
    x = mc.tensor([-1.0, 2.0])
    assert F.relu_(x) is x and x.tolist() == [0.0, 2.0]
    ones = mc.ones(40, 8, 6)
    y = F.dropout1d(ones, 0.5).numpy()
    per_channel = y.reshape(40, 8, 6)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel == per_channel[..., :1]).all()           # one draw per channel
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    assert F.dropout1d(mc.ones(3, 4), 0.5).shape == (3, 4)      # unbatched (C, L)
    z = F.dropout3d(mc.ones(4, 5, 2, 2, 2), 0.5).numpy()
    assert (z == z[..., :1, :1, :1]).all()
    assert F.dropout3d(mc.ones(4, 5, 2, 2, 2), 0.5, training=False).numpy().min() == 1
    a = F.feature_alpha_dropout(mc.ones(400, 6, 3), 0.5, training=True).numpy()
    assert (a == a[..., :1]).all() and len(np.unique(a)) == 2
    selu = F.selu(mc.tensor(np.random.default_rng(0).standard_normal((2000, 50))))
    kept = F.feature_alpha_dropout(selu, 0.2, training=True).numpy()
    assert abs(kept.mean()) < 0.1 and abs(kept.std() - 1) < 0.1  # SELU's statistics kept
    assert F.feature_alpha_dropout(mc.ones(2, 2), 1.0, True).numpy().max() == 0
    drop = nn.Dropout1d(0.5)
    drop.eval()
    assert drop(ones) is ones


def test_lazy_linear_infers_in_features_and_keeps_its_parameters():
    torch = pytest.importorskip("torch")
    mc.manual_seed(0)
    layer = nn.LazyLinear(3)
    weight = layer.weight
    optimizer = mc.optim.SGD(layer.parameters(), lr=0.1)
    y = layer(mc.randn(2, 5))
    assert type(layer) is nn.Linear and layer.in_features == 5 and y.shape == (2, 3)
    assert layer.weight is weight and weight.shape == (3, 5)
    bound = 1 / np.sqrt(5)
    assert np.abs(weight.numpy()).max() <= bound and weight.numpy().std() > 0
    y.sum().backward()
    before = weight.numpy().copy()
    optimizer.step()
    assert not np.allclose(before, weight.numpy())
    twin = torch.nn.Linear(5, 3)
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})


@pytest.mark.oracle
def test_modules_match_their_pytorch_twins():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 6))
    pairs = [(nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)),
             (nn.Softshrink(), torch.nn.Softshrink()), (nn.Softmin(1), torch.nn.Softmin(1)),
             (nn.LocalResponseNorm(3, 0.1), torch.nn.LocalResponseNorm(3, 0.1)),
             (nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2)),
             (nn.LPPool2d(2, 3, 2), torch.nn.LPPool2d(2, 3, 2))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(mc.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-10)
        assert repr(ours) == repr(theirs)
    bil = nn.Bilinear(2, 3, 4, dtype=np.float64)
    tbil = torch.nn.Bilinear(2, 3, 4)
    tbil.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bil.state_dict().items()})
    a, b = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(bil(mc.tensor(a), mc.tensor(b)).numpy(),
                               tbil(torch.tensor(a), torch.tensor(b)).detach().numpy())
    assert repr(bil) == repr(tbil)
    assert np.abs(bil.weight.numpy()).max() <= 1 / np.sqrt(2)
    pool, tpool = nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    v, i = F.max_pool2d(mc.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(pool(v, i).numpy(), tpool(torch.tensor(v.numpy()),
                                                             torch.tensor(i.numpy())).numpy())
    scores, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    w = np.array([1.0, 2.0, 0.5])
    ours = nn.MultiMarginLoss(p=2, weight=mc.tensor(w), reduction="sum")
    theirs = torch.nn.MultiMarginLoss(p=2, weight=torch.tensor(w), reduction="sum")
    np.testing.assert_allclose(ours(mc.tensor(scores), mc.tensor(labels)).numpy(),
                               theirs(torch.tensor(scores), torch.tensor(labels)).numpy())
    targets = np.array([[0, -1, 2], [1, 2, -1], [-1, 0, 0], [2, 1, 0]])
    np.testing.assert_allclose(
        nn.MultiLabelMarginLoss()(mc.tensor(scores), mc.tensor(targets)).numpy(),
        torch.nn.MultiLabelMarginLoss()(torch.tensor(scores), torch.tensor(targets)).numpy())
    t3 = [rng.standard_normal((3, 2)) for _ in range(3)]
    np.testing.assert_allclose(
        nn.TripletMarginWithDistanceLoss(swap=True)(*map(mc.tensor, t3)).numpy(),
        torch.nn.TripletMarginWithDistanceLoss(swap=True)(*map(torch.tensor, t3)).numpy())


@pytest.mark.oracle
@given(data=st.data())
def test_top_level_torch_functions_take_the_top_level_signatures(data):
    torch = torch_or_skip()
    x = data.draw(arrays((2, 3, 4, 4)))
    w = data.draw(arrays((3,), 0.5, 1.5))
    b = data.draw(arrays((3,)))
    mean, var = np.zeros(3), np.ones(3)
    mx, tx = mc.tensor(x), torch.tensor(x)
    checks = [
        (mc.batch_norm(mx, mc.tensor(w), mc.tensor(b), mc.tensor(mean), mc.tensor(var), False,
                       0.1, 1e-5, False),
         torch.batch_norm(tx, torch.tensor(w), torch.tensor(b), torch.tensor(mean),
                          torch.tensor(var), False, 0.1, 1e-5, False)),
        (mc.instance_norm(mx, mc.tensor(w), mc.tensor(b), None, None, True, 0.1, 1e-5, False),
         torch.instance_norm(tx, torch.tensor(w), torch.tensor(b), None, None, True, 0.1, 1e-5,
                             False)),
        (mc.layer_norm(mx, (4, 4)), torch.layer_norm(tx, (4, 4))),
        (mc.group_norm(mx, 3), torch.group_norm(tx, 3)),
        (mc.max_pool2d(mx, 2), torch.max_pool2d(tx, 2)),
        (mc.max_pool1d(mx[0], 2), torch.max_pool1d(tx[0], 2)),
        (mc.adaptive_max_pool1d(mx[0], 2)[1], torch.adaptive_max_pool1d(tx[0], 2)[1]),
        (mc.dropout(mx, 0.5, False), torch.dropout(tx, 0.5, False)),
        (mc.feature_alpha_dropout(mx, 0.5, False), torch.feature_alpha_dropout(tx, 0.5, False)),
        (mc.channel_shuffle(mx, 3), torch.channel_shuffle(tx, 3)),
        (mc.pixel_unshuffle(mx, 2), torch.pixel_unshuffle(tx, 2)),
        (mc.pdist(mx[0, 0]), torch.pdist(tx[0, 0])),
        (mc.cosine_similarity(mx, mx * 2 + 1), torch.cosine_similarity(tx, tx * 2 + 1)),
        (mc.hardshrink(mx), torch.hardshrink(tx)),
        (mc.embedding(mx[0, 0], mc.tensor([1, 3])), torch.embedding(tx[0, 0],
                                                                   torch.tensor([1, 3]))),
        (mc.conv2d(mx, mc.tensor(x[:2, :3, :3, :3]), None, 1, 1),
         torch.conv2d(tx, torch.tensor(x[:2, :3, :3, :3]), None, 1, 1)),
    ]
    for ours, theirs in checks:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7, atol=1e-9)
    kept = mc.feature_dropout(mc.ones(4, 6, 3), 0.5, True).numpy()
    assert (kept == kept[..., :1]).all()


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="softshrink: lambd"):
        F.softshrink(mc.ones(2), -1.0)
    with pytest.raises(ValueError, match="prelu: weight"):
        F.prelu(mc.ones(2, 3), mc.ones(2))
    with pytest.raises(ValueError, match="rrelu: lower"):
        F.rrelu(mc.ones(2), 0.5, 0.1)
    with pytest.raises(ValueError, match="local_response_norm: input"):
        F.local_response_norm(mc.ones(2, 3), 2)
    with pytest.raises(ValueError, match="bilinear: input2"):
        F.bilinear(mc.ones(2, 2), mc.ones(2, 4), mc.ones(1, 2, 3))
    with pytest.raises(ValueError, match="pdist: input"):
        F.pdist(mc.ones(3))
    with pytest.raises(ValueError, match="channel_shuffle: groups"):
        F.channel_shuffle(mc.ones(1, 5, 2), 2)
    with pytest.raises(ValueError, match="dropout1d: input"):
        F.dropout1d(mc.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="dropout3d: p"):
        F.dropout3d(mc.ones(2, 3, 4, 5), 1.5)
    with pytest.raises(ValueError, match="max_unpool2d: indices"):
        F.max_unpool2d(mc.ones(1, 1, 2, 2), mc.tensor([[[[0, 1], [2, 99]]]]), 2)
    with pytest.raises(ValueError, match="max_unpool2d: output_size"):
        v, i = F.max_pool2d(mc.ones(1, 1, 4, 4), 2, return_indices=True)
        F.max_unpool2d(v, i, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="multi_margin_loss: p"):
        F.multi_margin_loss(mc.ones(2, 3), mc.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match="multi_margin_loss: target"):
        F.multi_margin_loss(mc.ones(2, 3), mc.tensor([0, 3]))
    with pytest.raises(ValueError, match="multi_margin_loss: weight"):
        F.multi_margin_loss(mc.ones(2, 3), mc.tensor([0, 1]), weight=mc.ones(2))
    with pytest.raises(ValueError, match="multilabel_margin_loss: target"):
        F.multilabel_margin_loss(mc.ones(2, 3), mc.tensor([0, 1]))
    with pytest.raises(ValueError, match="triplet_margin_with_distance_loss: margin"):
        F.triplet_margin_with_distance_loss(mc.ones(2), mc.ones(2), mc.ones(2), margin=0)
    with pytest.raises(TypeError, match="distance_function"):
        F.triplet_margin_with_distance_loss(mc.ones(2), mc.ones(2), mc.ones(2),
                                            distance_function=3)
    with pytest.raises(ValueError, match="LazyLinear: input"):
        nn.LazyLinear(2)(mc.tensor(1.0))
