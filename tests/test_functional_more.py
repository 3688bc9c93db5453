"""The functions of ops/functional_more.py and ops/loss_more.py (normalize, distances,
small activations, pixel shuffle, unfold/fold, adaptive max pooling, affine_grid and
grid_sample, attention, the extra losses): gradcheck + gradgradcheck and the PyTorch oracle
(forward, gradient, second derivative); gumbel_softmax's distribution and straight-through
gradient; the layers of nn/layers_more.py, the init and utils additions; errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F
from cases import Case, case_tests
from oracle import check_against_torch, torch_or_skip
from minicnn.ops.functional_more import _pairs
from strategies import arrays, shapes, tie_free


def _tf():
    return torch_or_skip().nn.functional


def _kwargs(data, parameters):
    return {name: data.draw(s) for name, s in (parameters or {}).items()}


def one(low=-3.0, high=3.0, away=None, min_dims=1, max_dims=3, parameters=None):
    def draw(data):
        shape = data.draw(shapes(min_dims=min_dims, max_dims=max_dims))
        return [data.draw(arrays(shape, low, high, away_from=away))], _kwargs(data, parameters)
    return draw


def batch_pair(parameters=None, low=-2.0, high=2.0):
    """Two (N, D) (or (D,)) arrays of one shape, away from each other."""
    def draw(data):
        shape = data.draw(shapes(min_dims=1, max_dims=2, min_side=2))
        a = data.draw(arrays(shape, low, high, away_from=0.0))
        b = data.draw(arrays(shape, low, high, away_from=0.0))
        close = np.abs(a - b) < 0.2
        b[close] = a[close] + np.where(a[close] > 0, -0.4, 0.4)
        return [a, b], _kwargs(data, parameters)
    return draw


def signs(data, shape):
    return np.asarray(data.draw(st.lists(st.sampled_from([1, -1]), min_size=int(np.prod(shape)),
                                         max_size=int(np.prod(shape))))).reshape(shape)


def glu_input(data):
    shape = list(data.draw(shapes(min_dims=1, max_dims=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] *= 2
    return [data.draw(arrays(tuple(shape)))], {"dim": dim}


def shuffle_input(data):
    r = data.draw(st.integers(1, 3))
    c, h, w = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(
        st.integers(1, 3))
    lead = data.draw(st.sampled_from([(), (2,)]))
    return [data.draw(arrays((*lead, c * r * r, h, w)))], {"upscale_factor": r}


def unshuffle_input(data):
    r = data.draw(st.integers(1, 3))
    c, h, w = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), data.draw(
        st.integers(1, 2))
    return [data.draw(arrays((2, c, h * r, w * r)))], {"downscale_factor": r}


def _window_kwargs(data):
    return {"kernel_size": data.draw(st.sampled_from([1, 2, (2, 3)])),
            "dilation": data.draw(st.sampled_from([1, 2, (1, 2)])),
            "padding": data.draw(st.sampled_from([0, 1, (1, 0)])),
            "stride": data.draw(st.sampled_from([1, 2, (2, 1)]))}


def unfold_input(data):
    kw = _window_kwargs(data)
    shape = (data.draw(st.integers(1, 2)), 2, data.draw(st.integers(4, 6)),
             data.draw(st.integers(5, 6)))
    if data.draw(st.booleans()):
        shape = shape[1:]
    return [data.draw(arrays(shape))], kw


def fold_input(data):
    kw = _window_kwargs(data)
    size = (data.draw(st.integers(4, 6)), data.draw(st.integers(5, 6)))
    k = _pairs("t", 1, k=kw["kernel_size"], d=kw["dilation"], s=kw["stride"])
    (p,) = _pairs("t", 0, p=kw["padding"])
    blocks = [(size[i] + 2 * p[i] - k[1][i] * (k[0][i] - 1) - 1) // k[2][i] + 1 for i in (0, 1)]
    x = data.draw(arrays((data.draw(st.integers(1, 2)), 2 * k[0][0] * k[0][1],
                          blocks[0] * blocks[1])))
    return [x], {"output_size": size, **kw}


def adaptive_max_input(data):
    shape = (data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 5)),
             data.draw(st.integers(1, 5)))
    size = data.draw(st.sampled_from([1, 2, 3, (2, None), (None, 3), (4, 1)]))
    return [data.draw(tie_free(shape))], {"output_size": size}


def _grid_coordinates(data, size, align, nearest, count):
    """Normalized coordinates whose pixel positions stay away from the kinks (integers for
    bilinear, half-integers for nearest)."""
    u = np.asarray(data.draw(arrays((count,), -1.5, size + 0.5)))
    frac = u - np.floor(u)
    kink = 0.5 if nearest else 0.0
    close = np.abs(frac - kink) < 0.08 if nearest else (frac < 0.08) | (frac > 0.92)
    u[close] = np.floor(u[close]) + (0.25 if not nearest else 0.2)
    return u * 2 / (size - 1) - 1 if align else (2 * u + 1) / size - 1


def grid_input(mode):
    def draw(data):
        n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
        h, w = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))
        ho, wo = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        align = data.draw(st.booleans())
        padding_mode = data.draw(st.sampled_from(["zeros", "border"]))
        gx = _grid_coordinates(data, w, align, mode == "nearest", n * ho * wo)
        gy = _grid_coordinates(data, h, align, mode == "nearest", n * ho * wo)
        grid = np.stack([gx, gy], -1).reshape(n, ho, wo, 2)
        return [data.draw(arrays((n, c, h, w))), grid], {
            "mode": mode, "padding_mode": padding_mode, "align_corners": align}
    return draw


def affine_input(data):
    n = data.draw(st.integers(1, 2))
    size = data.draw(st.sampled_from([(n, 1, 3, 4), (n, 2, 1, 3), (n, 1, 2, 3, 2)]))
    k = len(size) - 2
    return [data.draw(arrays((n, k, k + 1)))], {"size": size,
                                                "align_corners": data.draw(st.booleans())}


def attention_input(data):
    lead = data.draw(st.sampled_from([(), (2,), (1, 2)]))
    length, source = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    e, ev = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    q = data.draw(arrays((*lead, length, e)))
    k = data.draw(arrays((*lead, source, e)))
    v = data.draw(arrays((*lead, source, ev)))
    kw = {"scale": data.draw(st.sampled_from([None, 0.5]))}
    kind = data.draw(st.sampled_from(["none", "causal", "bool", "float"]))
    if kind == "causal" and length == source:
        kw["is_causal"] = True
    elif kind == "bool":
        mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=length * source,
                                             max_size=length * source))).reshape(length, source)
        mask[:, 0] = True
        kw["attn_mask"] = mask
    elif kind == "float":
        kw["attn_mask"] = np.asarray(data.draw(arrays((length, source))))
    return [q, k, v], kw


def _sdpa(F_, tensor):
    def call(q, k, v, attn_mask=None, **kw):
        if attn_mask is not None:
            attn_mask = tensor(attn_mask)
        return F_.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, **kw)
    return call


def _torch_sdpa(*xs, **kw):
    torch = torch_or_skip()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel([SDPBackend.MATH]):     # the composite one: it has a double backward
        return _sdpa(torch.nn.functional, _torch_tensor)(*xs, **kw)


def _torch_tensor(a):
    return torch_or_skip().from_numpy(np.asarray(a))


# -- losses -------------------------------------------------------------------------------
def reduction():
    return {"reduction": st.sampled_from(["mean", "sum", "none"])}


def kl_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    log_target = data.draw(st.booleans())
    x = data.draw(arrays(shape, -3.0, 0.0))
    t = data.draw(arrays(shape, -3.0, 0.0) if log_target else arrays(shape, 0.05, 1.0))
    red = data.draw(st.sampled_from(["batchmean", "sum", "none"]))
    return [x, t], {"reduction": red, "log_target": log_target}


def ranking_input(data):
    shape = data.draw(st.sampled_from([(3,), (4,)]))
    a, b = data.draw(arrays(shape)), data.draw(arrays(shape))
    margin = data.draw(st.sampled_from([0.0, 0.5]))
    close = np.abs(a - b) < 0.6
    b[close] = a[close] + 0.8        # keeps -y (a - b) + margin away from its kink at 0
    return [a, b, signs(data, shape)], {"margin": margin, **_kwargs(data, reduction())}


def hinge_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    margin = data.draw(st.sampled_from([1.0, 0.5]))
    x = data.draw(arrays(shape, -2.0, 2.0, away_from=margin))
    return [x, signs(data, shape)], {"margin": margin, **_kwargs(data, reduction())}


def soft_margin_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    return [data.draw(arrays(shape, -4.0, 4.0)), signs(data, shape)], \
        _kwargs(data, reduction())


def cosine_embedding_input(data):
    batched = data.draw(st.booleans())
    shape = (data.draw(st.integers(1, 3)), 3) if batched else (3,)
    a, b = data.draw(arrays(shape, 0.2, 2.0)), data.draw(arrays(shape, -2.0, 2.0, away_from=0.0))
    target = signs(data, shape[:1]) if batched else np.asarray(data.draw(st.sampled_from([1,
                                                                                          -1])))
    return [a, b, target], {"margin": data.draw(st.sampled_from([-0.99, -0.999])),
                            **_kwargs(data, reduction())}


def triplet_input(data):
    shape = data.draw(st.sampled_from([(2, 3), (3,), (1, 4)]))
    a = data.draw(arrays(shape))      # p - a > 0.3 > n - a: no distance near a kink
    p, n = a + data.draw(arrays(shape, 0.3, 1.0)), a - data.draw(arrays(shape, 0.3, 1.0))
    return [a, p, n], {"margin": data.draw(st.sampled_from([10.0, 20.0])),
                       "p": data.draw(st.sampled_from([1, 2, 3])),
                       "swap": data.draw(st.booleans()), **_kwargs(data, reduction())}


def poisson_input(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    log_input = data.draw(st.booleans())
    x = data.draw(arrays(shape, -1.0, 1.0) if log_input else arrays(shape, 0.2, 2.0))
    t = data.draw(arrays(shape, 0.1, 3.0, away_from=1.0))
    return [x, t], {"log_input": log_input, "full": data.draw(st.booleans()),
                    **_kwargs(data, reduction())}


def gaussian_input(data):
    shape = data.draw(st.sampled_from([(3, 2), (2,), (2, 3, 2)]))
    var_shape = data.draw(st.sampled_from([shape, shape[:-1], (*shape[:-1], 1)]))
    return [data.draw(arrays(shape)), data.draw(arrays(shape)),
            data.draw(arrays(var_shape, 0.2, 2.0))], {"full": data.draw(st.booleans()),
                                                      **_kwargs(data, reduction())}


def multilabel_input(data):
    shape = data.draw(st.sampled_from([(2, 3), (4,), (1, 2)]))
    x = data.draw(arrays(shape, -4.0, 4.0))
    t = data.draw(arrays(shape, 0.0, 1.0))
    values = [x, t]
    if data.draw(st.booleans()):
        values.append(data.draw(arrays(shape[-1:], 0.5, 2.0)))
    return values, _kwargs(data, reduction())


def _multilabel(F_):
    def call(x, t, w=None, **kw):
        return F_.multilabel_soft_margin_loss(x, t, weight=w, **kw)
    return call


CASES = [
    Case("normalize", one(away=0.0, parameters={"p": st.sampled_from([1, 2, 3]),
                                                "dim": st.sampled_from([0, -1])}),
         F.normalize, lambda x, **kw: _tf().normalize(x, **kw)),
    Case("cosine_similarity", batch_pair({"dim": st.sampled_from([0, -1])}),
         F.cosine_similarity, lambda a, b, **kw: _tf().cosine_similarity(a, b, **kw)),
    Case("pairwise_distance", batch_pair({"p": st.sampled_from([1.5, 2.0, 3.0]),
                                          "keepdim": st.booleans()}),
         F.pairwise_distance, lambda a, b, **kw: _tf().pairwise_distance(a, b, **kw)),
    Case("softsign", one(away=0.0), F.softsign, lambda x: _tf().softsign(x)),
    Case("tanhshrink", one(), F.tanhshrink, lambda x: _tf().tanhshrink(x)),
    Case("threshold", one(away=(0.5, -1.0), parameters={
        "threshold": st.sampled_from([0.5, -1.0]), "value": st.sampled_from([0.0, 2.5])}),
         F.threshold, lambda x, **kw: _tf().threshold(x, **kw)),
    Case("glu", glu_input, F.glu, lambda x, **kw: _tf().glu(x, **kw)),
    Case("pixel_shuffle", shuffle_input, F.pixel_shuffle,
         lambda x, **kw: _tf().pixel_shuffle(x, **kw)),
    Case("pixel_unshuffle", unshuffle_input, F.pixel_unshuffle,
         lambda x, **kw: _tf().pixel_unshuffle(x, **kw)),
    Case("unfold", unfold_input, F.unfold, lambda x, **kw: _tf().unfold(x, **kw)),
    Case("fold", fold_input, F.fold, lambda x, **kw: _tf().fold(x, **kw)),
    Case("adaptive_max_pool2d", adaptive_max_input, F.adaptive_max_pool2d,
         lambda x, **kw: _tf().adaptive_max_pool2d(x, **kw)),
    Case("affine_grid", affine_input, F.affine_grid, lambda t, **kw: _tf().affine_grid(t, **kw)),
    Case("grid_sample-bilinear", grid_input("bilinear"), F.grid_sample,
         lambda x, g, **kw: _tf().grid_sample(x, g, **kw)),
    Case("grid_sample-nearest", grid_input("nearest"), F.grid_sample,
         lambda x, g, **kw: _tf().grid_sample(x, g, **kw)),
    Case("scaled_dot_product_attention", attention_input, _sdpa(F, mc.tensor),
         _torch_sdpa),
    Case("kl_div", kl_input, F.kl_div, lambda x, t, **kw: _tf().kl_div(x, t, **kw)),
    Case("margin_ranking_loss", ranking_input, F.margin_ranking_loss,
         lambda a, b, y, **kw: _tf().margin_ranking_loss(a, b, y, **kw)),
    Case("hinge_embedding_loss", hinge_input, F.hinge_embedding_loss,
         lambda x, y, **kw: _tf().hinge_embedding_loss(x, y, **kw)),
    Case("soft_margin_loss", soft_margin_input, F.soft_margin_loss,
         lambda x, y, **kw: _tf().soft_margin_loss(x, y.to(x.dtype), **kw)),
    Case("cosine_embedding_loss", cosine_embedding_input, F.cosine_embedding_loss,
         lambda a, b, y, **kw: _tf().cosine_embedding_loss(a, b, y, **kw)),
    Case("triplet_margin_loss", triplet_input, F.triplet_margin_loss,
         lambda *xs, **kw: _tf().triplet_margin_loss(*xs, **kw)),
    Case("poisson_nll_loss", poisson_input, F.poisson_nll_loss,
         lambda x, t, **kw: _tf().poisson_nll_loss(x, t, **kw)),
    Case("gaussian_nll_loss", gaussian_input, F.gaussian_nll_loss,
         lambda x, t, v, **kw: _tf().gaussian_nll_loss(x, t, v, **kw)),
    Case("multilabel_soft_margin_loss", multilabel_input, _multilabel(F),
         lambda *xs, **kw: _multilabel(_tf())(*xs, **kw)),
]

test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)


# -- gumbel_softmax: random, so its properties -------------------------------------------
def test_gumbel_softmax_samples_follow_the_softmax():
    mc.manual_seed(0)
    logits = np.log(np.array([0.5, 0.3, 0.2]))
    x = mc.tensor(np.tile(logits, (20000, 1)))
    soft = F.gumbel_softmax(x, tau=0.5).numpy()
    np.testing.assert_allclose(soft.sum(-1), 1.0)
    counts = np.bincount(soft.argmax(-1), minlength=3) / len(soft)
    np.testing.assert_allclose(counts, [0.5, 0.3, 0.2], atol=0.015)   # the Gumbel-max trick
    hard = F.gumbel_softmax(x, hard=True).numpy()
    assert set(np.unique(hard)) <= {0.0, 1.0} and (hard.sum(-1) == 1).all()
    np.testing.assert_allclose(hard.mean(0), [0.5, 0.3, 0.2], atol=0.015)


def test_gumbel_softmax_hard_has_the_soft_samples_gradient():
    logits = np.random.default_rng(1).standard_normal((4, 5))
    w = mc.tensor(np.random.default_rng(2).standard_normal((4, 5)))
    grads = []
    for hard in (False, True):
        mc.manual_seed(7)
        x = mc.tensor(logits, requires_grad=True)
        y = F.gumbel_softmax(x, tau=0.7, hard=hard, dim=1)
        (g,) = mc.grad((y * w).sum(), x)
        grads.append(g.numpy())
        if hard:
            assert ((y.numpy() == 0) | (y.numpy() == 1)).all()
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-12)
    with pytest.raises(ValueError, match="tau"):
        F.gumbel_softmax(mc.tensor(logits), tau=0)


# -- a few exact values and PyTorch extras ---------------------------------------------------
@pytest.mark.oracle
def test_adaptive_max_pool2d_indices_and_ties_match_pytorch():
    torch = torch_or_skip()
    x = np.array([[[[1.0, 3.0, 3.0], [0.0, 3.0, 2.0], [5.0, 5.0, 1.0]]]])
    out, idx = F.adaptive_max_pool2d(mc.tensor(x, requires_grad=True), 2, return_indices=True)
    t_out, t_idx = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), 2,
                                                           return_indices=True)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    check_against_torch(lambda t: F.adaptive_max_pool2d(t, (2, 1)),
                        lambda t: torch.nn.functional.adaptive_max_pool2d(t, (2, 1)), [x])


def test_fold_of_unfold_counts_the_overlaps():
    x = mc.tensor(np.ones((1, 2, 4, 5)))
    counts = F.fold(F.unfold(x, 3, padding=1), (4, 5), 3, padding=1).numpy()
    rows, cols = np.array([2, 3, 3, 2]), np.array([2, 3, 3, 3, 2])
    np.testing.assert_array_equal(counts, np.broadcast_to(np.outer(rows, cols), (1, 2, 4, 5)))


@pytest.mark.oracle
def test_zero_vectors_get_pytorchs_gradient():
    """A zero row: PyTorch's gradient (the norm's subgradient 0, no nan). Its second
    derivative there is nan in PyTorch, 0 here, so only the first order is compared."""
    torch = torch_or_skip()
    tf = torch.nn.functional
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    b = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    for p in (1, 2, 3):
        check_against_torch(lambda t: F.normalize(t, p=p), lambda t: tf.normalize(t, p=p), [a],
                            second_order=False)
    check_against_torch(F.cosine_similarity, tf.cosine_similarity, [a, b], second_order=False)
    check_against_torch(lambda x, y: F.pairwise_distance(x, y, eps=0),
                        lambda x, y: tf.pairwise_distance(x, y, eps=0), [a, a * 2],
                        second_order=False)


@pytest.mark.oracle
def test_affine_grid_and_grid_sample_identity_and_float32():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    theta = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]], dtype=np.float32), (2, 1, 1))
    for align in (False, True):
        grid = F.affine_grid(mc.tensor(theta), (2, 3, 4, 5), align_corners=align)
        y = F.grid_sample(mc.tensor(x), grid, align_corners=align).numpy()
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, x, atol=1e-5)
    theta = rng.standard_normal((2, 2, 3)).astype(np.float32)
    for mode in ("bilinear", "nearest"):
        ours = F.grid_sample(mc.tensor(x), F.affine_grid(mc.tensor(theta), (2, 3, 6, 7)),
                             mode=mode).numpy()
        tg = torch.nn.functional.affine_grid(torch.tensor(theta), (2, 3, 6, 7),
                                             align_corners=False)
        theirs = torch.nn.functional.grid_sample(torch.tensor(x), tg, mode=mode,
                                                 align_corners=False).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=mode)


def test_kl_div_mean_warns_and_batchmean_divides_by_the_batch():
    x = mc.tensor(np.log(np.full((2, 4), 0.25)))
    t = mc.tensor(np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.5, 0.0]]))
    total = F.kl_div(x, t, reduction="sum").numpy()
    np.testing.assert_allclose(F.kl_div(x, t, reduction="batchmean").numpy(), total / 2)
    with pytest.warns(UserWarning, match="batchmean"):
        np.testing.assert_allclose(F.kl_div(x, t).numpy(), total / 8)
    assert np.isfinite(F.kl_div(x, t, reduction="none").numpy()).all()


def test_gaussian_nll_loss_clamps_var_but_passes_its_gradient():
    x = mc.tensor(np.array([0.0, 1.0]))
    var = mc.tensor(np.array([0.0, 1.0]), requires_grad=True)
    loss = F.gaussian_nll_loss(x, mc.tensor(np.array([1.0, 1.0])), var, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.5 * (np.log(1e-6) + 1e6), 0.0])
    (g,) = mc.grad(loss.sum(), var)
    np.testing.assert_allclose(g.numpy(), [0.5 * (1e6 - 1e12), 0.5], rtol=1e-9)
    F.gaussian_nll_loss(x, x, 0.5)               # a number as var


# -- layers -------------------------------------------------------------------------------
@pytest.mark.oracle
def test_layers_match_pytorch():
    torch = torch_or_skip()
    tn = torch.nn
    rng = np.random.default_rng(3)
    x4 = rng.standard_normal((2, 4, 4, 6))
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    y = np.array([1, -1, 1])
    pairs = [
        (nn.Softsign(), tn.Softsign(), [x4]), (nn.Tanhshrink(), tn.Tanhshrink(), [x4]),
        (nn.Threshold(0.1, 20.0), tn.Threshold(0.1, 20.0), [x4]),
        (nn.GLU(1), tn.GLU(1), [x4]), (nn.Softmax2d(), tn.Softmax2d(), [x4]),
        (nn.PixelShuffle(2), tn.PixelShuffle(2), [x4]),
        (nn.PixelUnshuffle(2), tn.PixelUnshuffle(2), [x4]),
        (nn.CosineSimilarity(), tn.CosineSimilarity(), [a, b]),
        (nn.PairwiseDistance(keepdim=True), tn.PairwiseDistance(keepdim=True), [a, b]),
        (nn.AdaptiveMaxPool2d((3, None)), tn.AdaptiveMaxPool2d((3, None)), [x4]),
        (nn.Unfold(2, padding=1, stride=2), tn.Unfold(2, padding=1, stride=2), [x4]),
        (nn.Fold((3, 4), 2), tn.Fold((3, 4), 2), [rng.standard_normal((2, 8, 6))]),
        (nn.UpsamplingNearest2d(scale_factor=2), tn.UpsamplingNearest2d(scale_factor=2), [x4]),
        (nn.UpsamplingBilinear2d(size=(5, 7)), tn.UpsamplingBilinear2d(size=(5, 7)), [x4]),
        (nn.KLDivLoss(reduction="batchmean"), tn.KLDivLoss(reduction="batchmean"),
         [np.log(np.full((3, 5), 0.2)), np.abs(a) / np.abs(a).sum(1, keepdims=True)]),
        (nn.MarginRankingLoss(0.3), tn.MarginRankingLoss(0.3), [a[:, 0], b[:, 0], y]),
        (nn.HingeEmbeddingLoss(), tn.HingeEmbeddingLoss(), [a, np.tile(y, (5, 1)).T]),
        (nn.SoftMarginLoss(reduction="sum"), tn.SoftMarginLoss(reduction="sum"),
         [a, np.sign(b)]),
        (nn.CosineEmbeddingLoss(0.1), tn.CosineEmbeddingLoss(0.1), [a, b, y]),
        (nn.TripletMarginLoss(swap=True), tn.TripletMarginLoss(swap=True), [a, b, -a]),
        (nn.PoissonNLLLoss(full=True), tn.PoissonNLLLoss(full=True), [a, np.abs(b) * 3]),
        (nn.GaussianNLLLoss(), tn.GaussianNLLLoss(), [a, b, np.abs(a) + 0.1]),
        (nn.MultiLabelSoftMarginLoss(mc.tensor(np.arange(1.0, 6.0))),
         tn.MultiLabelSoftMarginLoss(torch.arange(1.0, 6.0, dtype=torch.float64)),
         [a, (b > 0).astype(np.float64)]),
    ]
    for ours, theirs, values in pairs:
        out = ours(*[mc.tensor(v) for v in values])
        ref = theirs(*[torch.tensor(v) for v in values])
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=type(ours).__name__)
        assert repr(ours) == repr(theirs) or type(ours).__name__.endswith("Loss"), \
            (repr(ours), repr(theirs))


def test_alpha_dropout_keeps_mean_and_variance():
    mc.manual_seed(0)
    layer = nn.AlphaDropout(0.2)
    x = mc.tensor(np.random.default_rng(0).standard_normal(200000))
    y = layer(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha ** 2 * 0.2 + 1) * 0.8)
    dropped = np.isclose(y, -alpha * a + alpha * a * 0.2)
    assert 0.18 < dropped.mean() < 0.22
    layer.eval()
    assert layer(x) is x
    assert (F.alpha_dropout(x, 1.0, training=True).numpy() == 0).all()
    assert repr(layer) == "AlphaDropout(p=0.2, inplace=False)"


def test_parameter_dict_registers_its_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterDict({"b": mc.tensor(np.ones(2)),
                                            "a": nn.Parameter(mc.tensor(np.zeros(3)))})

    net = Net()
    assert list(net.state_dict()) == ["scales.a", "scales.b"]
    net.scales["c"] = mc.tensor(np.ones((2, 2)))
    assert isinstance(net.scales["c"], nn.Parameter) and "c" in net.scales
    assert len(list(net.parameters())) == 3 and len(net.scales) == 3
    assert net.scales.pop("a").shape == (3,) and list(net.scales) == ["b", "c"]
    with pytest.raises(KeyError, match="zz"):
        net.scales["zz"]
    with pytest.raises(TypeError, match="Tensors"):
        net.scales["d"] = 3.0
    assert "(c): Parameter containing: [minicnn.float64 of size 2x2]" in repr(net.scales)


# -- init and utils ------------------------------------------------------------------------
def test_init_additions():
    init = nn.init
    mc.manual_seed(0)
    w = mc.tensor(np.zeros((200, 300)))
    init.trunc_normal_(w, mean=0.5, std=1.0, a=-0.5, b=1.0)
    v = w.numpy()
    assert v.min() >= -0.5 and v.max() <= 1.0 and v.std() > 0.3
    for shape in ((4, 6), (6, 4), (3, 2, 3)):
        w = init.orthogonal_(mc.tensor(np.zeros(shape)), gain=2.0).numpy().reshape(shape[0], -1)
        small = min(w.shape)
        gram = w @ w.T if w.shape[0] == small else w.T @ w
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-10)
    np.testing.assert_array_equal(init.eye_(mc.tensor(np.zeros((2, 3)))).numpy(), np.eye(2, 3))
    x = mc.tensor(np.random.default_rng(0).standard_normal((1, 4, 5, 5)))
    for groups in (1, 2):
        w = init.dirac_(mc.tensor(np.zeros((4, 4 // groups, 3, 3))), groups)
        np.testing.assert_allclose(F.conv2d(x, w, padding=1, groups=groups).numpy(), x.numpy())
    assert init.dirac_(mc.tensor(np.zeros((2, 3, 3)))).numpy()[1, 1, 1] == 1
    w = init.sparse_(mc.tensor(np.zeros((10, 4))), 0.3).numpy()
    assert ((w == 0).sum(0) >= 3).all()
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(mc.tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(mc.tensor(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="groups"):
        init.dirac_(mc.tensor(np.zeros((3, 3, 3))), 2)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(mc.tensor(np.zeros((2, 2, 2))))


def test_clip_grad_value_():
    p = nn.Parameter(mc.tensor(np.zeros(4)))
    p.grad = mc.tensor(np.array([-3.0, -0.5, 0.5, 3.0]))
    q = nn.Parameter(mc.tensor(np.zeros(1)))
    assert nn.utils.clip_grad_value_([p, q], 1.0) is None
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0, -0.5, 0.5, 1.0])


# -- errors name the argument --------------------------------------------------------------
def test_errors_name_the_argument():
    x = mc.tensor(np.zeros((2, 3, 4, 4)))
    cases = [
        (ValueError, "Halving dimension", lambda: F.glu(x, 1)),
        (IndexError, "dim", lambda: F.normalize(x, dim=4)),
        (ValueError, "upscale_factor", lambda: F.pixel_shuffle(x, 2)),
        (ValueError, "downscale_factor", lambda: F.pixel_unshuffle(x, 3)),
        (ValueError, "kernel_size", lambda: F.unfold(x, 5)),
        (ValueError, "stride", lambda: F.unfold(x, 2, stride=0)),
        (ValueError, "number of blocks", lambda: F.fold(mc.tensor(np.zeros((1, 4, 5))), 3, 2)),
        (ValueError, "divisible", lambda: F.fold(mc.tensor(np.zeros((1, 5, 4))), 3, 2)),
        (ValueError, "output_size", lambda: F.adaptive_max_pool2d(x, (1, 2, 3))),
        (ValueError, "theta", lambda: F.affine_grid(mc.tensor(np.zeros((2, 3, 3))), (2, 3, 4,
                                                                                     4))),
        (ValueError, "padding_mode", lambda: F.grid_sample(x, mc.tensor(np.zeros((2, 1, 1, 2))),
                                                           padding_mode="mirror")),
        (ValueError, "mode", lambda: F.grid_sample(x, mc.tensor(np.zeros((2, 1, 1, 2))),
                                                   mode="bicubic")),
        (ValueError, "grid", lambda: F.grid_sample(x, mc.tensor(np.zeros((2, 1, 2))))),
        (ValueError, "is_causal", lambda: F.scaled_dot_product_attention(
            x, x, x, attn_mask=np.ones((4, 4), bool), is_causal=True)),
        (ValueError, "key", lambda: F.scaled_dot_product_attention(x, x[..., :2], x)),
        (ValueError, "reduction", lambda: F.kl_div(x, x, reduction="avg")),
        (ValueError, "reduction", lambda: F.soft_margin_loss(x, x, reduction="avg")),
        (ValueError, "same dimension", lambda: F.margin_ranking_loss(x, x, np.ones(2))),
        (ValueError, "target", lambda: F.cosine_embedding_loss(x, x, np.ones((2, 2)))),
        (ValueError, "1D inputs", lambda: F.triplet_margin_loss(x, x, x[0, 0, 0])),
        (ValueError, "var", lambda: F.gaussian_nll_loss(x, x, mc.tensor(np.ones((3,))))),
        (ValueError, "negative", lambda: F.gaussian_nll_loss(x, x, mc.tensor(-np.ones(x.shape)))),
        (ValueError, "p", lambda: F.alpha_dropout(x, 1.5, True)),
        (TypeError, "floating-point", lambda: F.softsign(mc.tensor(np.zeros(3, np.int64)))),
        (TypeError, "expected a Tensor", lambda: F.normalize(np.zeros(3))),
        (ValueError, "upscale_factor", lambda: nn.PixelShuffle(0)),
        (ValueError, "kernel_size", lambda: nn.Unfold(0)),
        (ValueError, "padding", lambda: nn.Fold(3, 2, padding=-1)),
        (ValueError, "p", lambda: nn.AlphaDropout(2.0)),
        (ValueError, "reduction", lambda: nn.KLDivLoss(reduction="avg")),
        (ValueError, "margin", lambda: nn.TripletMarginLoss(margin=0)),
        (ValueError, "output_size", lambda: nn.AdaptiveMaxPool2d(-1)),
        (ValueError, "input", lambda: nn.Softmax2d()(mc.tensor(np.zeros((2, 2))))),
    ]
    for error, pattern, call in cases:
        with pytest.raises(error, match=pattern):
            call()


def test_every_name_is_exported():
    for name in ("normalize cosine_similarity pairwise_distance softsign tanhshrink threshold "
                 "glu pixel_shuffle pixel_unshuffle unfold fold adaptive_max_pool2d affine_grid "
                 "grid_sample gumbel_softmax scaled_dot_product_attention alpha_dropout kl_div "
                 "margin_ranking_loss hinge_embedding_loss soft_margin_loss "
                 "cosine_embedding_loss triplet_margin_loss poisson_nll_loss gaussian_nll_loss "
                 "multilabel_soft_margin_loss").split():
        assert callable(getattr(F, name)) and name in F.__all__, name
    import minicnn.nn.layers_more as layers_more
    for name in layers_more.__all__:
        assert getattr(nn, name) is getattr(layers_more, name), name
    for name in ("trunc_normal_", "orthogonal_", "eye_", "dirac_", "sparse_"):
        assert callable(getattr(nn.init, name)), name
    assert callable(nn.utils.clip_grad_value_)
