"""minicnn.distributions against torch.distributions (float64): densities, entropies, moments,
cdf/icdf, KL divergences and their gradients; rsample gradients, sample shapes and
statistics, reproducibility under mc.manual_seed, argument validation; gradcheck of
log_prob; a VAE-style loss that back-propagates through rsample and the KL term."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.distributions import (Bernoulli, Categorical, Distribution, Independent, Normal,
                                   Uniform, kl, kl_divergence, register_kl)
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import torch_or_skip

RNG = np.random.default_rng(0)
LOC = RNG.standard_normal((2, 3))
SCALE = RNG.uniform(0.5, 2.0, (2, 3))
VALUE = RNG.standard_normal((4, 2, 3))
PROBS = RNG.uniform(0.05, 0.95, (2, 3))
LOGITS = RNG.standard_normal((2, 4))
LOW = RNG.uniform(-2, -1, (2, 3))
HIGH = RNG.uniform(1, 3, (2, 3))


def _pair(torch, *arrays):
    """Leaf tensors with the same values in both libraries (float64, requiring grad)."""
    ours = [mc.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    return ours, theirs


def _close(a, b, atol=1e-10, rtol=1e-8, msg=""):
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a.numpy(), b, atol=atol, rtol=rtol, err_msg=msg)


def _grads_close(torch, ours_out, theirs_out, ours_in, theirs_in):
    """d/d(parameters) of sum(w * out) for one random weighting w, in both libraries."""
    if not ours_out.requires_grad:   # a constant (the entropy of a fixed-scale Normal)
        assert not theirs_out.requires_grad
        return
    w = np.random.default_rng(1).standard_normal(ours_out.shape)
    g_mc = mc.grad((ours_out * mc.tensor(w)).sum(), ours_in, allow_unused=True,
                   retain_graph=True)   # cached probs/logits are shared by later calls
    g_t = torch.autograd.grad((theirs_out * torch.tensor(w)).sum(), theirs_in,
                              allow_unused=True, retain_graph=True)
    for i, (a, b) in enumerate(zip(g_mc, g_t)):
        a = np.zeros(ours_in[i].shape) if a is None else a.numpy()
        b = np.zeros(ours_in[i].shape) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, atol=1e-9, rtol=1e-7, err_msg=f"gradient {i}")


# ----------------------------------------------------------- values against PyTorch
def _builders(torch):
    """name -> (our distribution, torch's, a valid value array, its parameters)."""
    td = torch.distributions
    cases = {}
    (m, s), (tm, ts) = _pair(torch, LOC, SCALE)
    cases["normal"] = (Normal(m, s), td.Normal(tm, ts), VALUE, [m, s], [tm, ts])
    (m,), (tm,) = _pair(torch, LOC)
    cases["normal-number-scale"] = (Normal(m, 0.7), td.Normal(tm, 0.7), VALUE, [m], [tm])
    (p,), (tp,) = _pair(torch, PROBS)
    bern_value = (RNG.random((4, 2, 3)) < 0.5).astype(float)
    cases["bernoulli-probs"] = (Bernoulli(probs=p), td.Bernoulli(probs=tp), bern_value, [p],
                                [tp])
    (lg,), (tlg,) = _pair(torch, LOC * 3)
    cases["bernoulli-logits"] = (Bernoulli(logits=lg), td.Bernoulli(logits=tlg), bern_value,
                                 [lg], [tlg])
    cat_value = RNG.integers(0, 4, (5, 2)).astype(np.int64)
    (p,), (tp,) = _pair(torch, np.exp(LOGITS))
    cases["categorical-probs"] = (Categorical(probs=p), td.Categorical(probs=tp), cat_value,
                                  [p], [tp])
    (lg,), (tlg,) = _pair(torch, LOGITS)
    cases["categorical-logits"] = (Categorical(logits=lg), td.Categorical(logits=tlg),
                                   cat_value, [lg], [tlg])
    (lo, hi), (tlo, thi) = _pair(torch, LOW, HIGH)
    cases["uniform"] = (Uniform(lo, hi), td.Uniform(tlo, thi), RNG.uniform(-1, 1, (4, 2, 3)),
                        [lo, hi], [tlo, thi])
    (m, s), (tm, ts) = _pair(torch, LOC, SCALE)
    cases["independent"] = (Independent(Normal(m, s), 1), td.Independent(td.Normal(tm, ts), 1),
                            VALUE, [m, s], [tm, ts])
    return cases


CASES = ["normal", "normal-number-scale", "bernoulli-probs", "bernoulli-logits",
         "categorical-probs", "categorical-logits", "uniform", "independent"]


@pytest.mark.parametrize("name", CASES)
def test_log_prob_entropy_and_moments_match_torch(name):
    torch = torch_or_skip()
    ours, theirs, value, params, tparams = _builders(torch)[name]
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    lp, tlp = ours.log_prob(mc.tensor(value)), theirs.log_prob(torch.tensor(value))
    _close(lp, tlp, msg="log_prob")
    _grads_close(torch, lp, tlp, params, tparams)
    ent, tent = ours.entropy(), theirs.entropy()
    _close(ent, tent, msg="entropy")
    _grads_close(torch, ent, tent, params, tparams)
    for moment in ("mean", "variance", "stddev"):
        _close(getattr(ours, moment), getattr(theirs, moment), msg=moment)
    if name.startswith(("bernoulli", "categorical")):
        _close(ours.probs, theirs.probs, msg="probs")
        _close(ours.logits, theirs.logits, msg="logits")
        _close(ours.enumerate_support(), theirs.enumerate_support(), msg="support")


@pytest.mark.parametrize("name", ["normal", "uniform"])
def test_cdf_and_icdf_match_torch(name):
    torch = torch_or_skip()
    ours, theirs, value, params, tparams = _builders(torch)[name]
    cdf, tcdf = ours.cdf(mc.tensor(value)), theirs.cdf(torch.tensor(value))
    _close(cdf, tcdf, msg="cdf")
    _grads_close(torch, cdf, tcdf, params, tparams)
    q = RNG.uniform(0.01, 0.99, (4, 2, 3))
    icdf, ticdf = ours.icdf(mc.tensor(q)), theirs.icdf(torch.tensor(q))
    _close(icdf, ticdf, atol=1e-9, msg="icdf")
    _grads_close(torch, icdf, ticdf, params, tparams)
    np.testing.assert_allclose(ours.cdf(icdf).numpy(), q, atol=1e-9)


# ------------------------------------------------------------------------ KL
def _kl_pairs(torch):
    td = torch.distributions
    rng = np.random.default_rng(5)
    out = {}
    (a, b, c, d), (ta, tb, tc, td_) = _pair(torch, LOC, SCALE, rng.standard_normal((2, 3)),
                                             rng.uniform(0.5, 2, (2, 3)))
    out["normal"] = (Normal(a, b), Normal(c, d), td.Normal(ta, tb), td.Normal(tc, td_),
                     [a, b, c, d], [ta, tb, tc, td_])
    (a, b), (ta, tb) = _pair(torch, PROBS, rng.uniform(0.05, 0.95, (2, 3)))
    out["bernoulli"] = (Bernoulli(probs=a), Bernoulli(probs=b), td.Bernoulli(probs=ta),
                        td.Bernoulli(probs=tb), [a, b], [ta, tb])
    (a, b), (ta, tb) = _pair(torch, LOC, rng.standard_normal((2, 3)))
    out["bernoulli-logits"] = (Bernoulli(logits=a), Bernoulli(logits=b),
                               td.Bernoulli(logits=ta), td.Bernoulli(logits=tb), [a, b],
                               [ta, tb])
    (a, b), (ta, tb) = _pair(torch, LOGITS, rng.standard_normal((2, 4)))
    out["categorical"] = (Categorical(logits=a), Categorical(logits=b),
                          td.Categorical(logits=ta), td.Categorical(logits=tb), [a, b], [ta, tb])
    (a, b), (ta, tb) = _pair(torch, np.exp(LOGITS), rng.uniform(0.1, 1, (2, 4)))
    out["categorical-probs"] = (Categorical(probs=a), Categorical(probs=b),
                                td.Categorical(probs=ta), td.Categorical(probs=tb), [a, b],
                                [ta, tb])
    (a, b, c, d), (ta, tb, tc, td_) = _pair(torch, LOW, HIGH, LOW - 1, HIGH + 0.5)
    out["uniform"] = (Uniform(a, b), Uniform(c, d), td.Uniform(ta, tb), td.Uniform(tc, td_),
                      [a, b, c, d], [ta, tb, tc, td_])
    (a, b, c, d), (ta, tb, tc, td_) = _pair(torch, LOC, SCALE, LOC * 0.5, SCALE + 0.3)
    out["independent"] = (Independent(Normal(a, b), 2), Independent(Normal(c, d), 2),
                          td.Independent(td.Normal(ta, tb), 2),
                          td.Independent(td.Normal(tc, td_), 2), [a, b, c, d],
                          [ta, tb, tc, td_])
    return out


@pytest.mark.parametrize("name", ["normal", "bernoulli", "bernoulli-logits", "categorical",
                                  "categorical-probs", "uniform", "independent"])
def test_kl_divergence_and_its_gradients_match_torch(name):
    torch = torch_or_skip()
    p, q, tp, tq, params, tparams = _kl_pairs(torch)[name]
    ours, theirs = kl_divergence(p, q), torch.distributions.kl_divergence(tp, tq)
    _close(ours, theirs, msg="KL")
    assert np.all(ours.numpy() >= -1e-12)
    _grads_close(torch, ours, theirs, params, tparams)


def test_kl_infinite_where_supports_do_not_nest():
    torch = torch_or_skip()
    td = torch.distributions
    ours = kl_divergence(Uniform(0.0, mc.tensor(np.array([1.0, 3.0]))), Uniform(-1.0, 2.0))
    theirs = td.kl_divergence(td.Uniform(0.0, torch.tensor([1.0, 3.0])), td.Uniform(-1.0, 2.0))
    _close(ours, theirs)
    assert np.isinf(ours.numpy()[1])
    p = mc.tensor(np.array([0.0, 0.5, 1.0]))
    q = mc.tensor(np.array([0.3, 0.0, 1.0]))
    ours = kl_divergence(Bernoulli(probs=p), Bernoulli(probs=q))
    theirs = td.kl_divergence(td.Bernoulli(probs=torch.tensor(p.numpy())),
                              td.Bernoulli(probs=torch.tensor(q.numpy())))
    _close(ours, theirs)
    cp = mc.tensor(np.array([0.5, 0.5, 0.0]))
    cq = mc.tensor(np.array([0.5, 0.0, 0.5]))
    assert np.isinf(kl_divergence(Categorical(probs=cp), Categorical(probs=cq)).item())
    assert kl_divergence(Categorical(probs=cq), Categorical(probs=cq)).item() == 0


def test_register_kl_dispatches_to_the_most_specific_pair():
    class MyNormal(Normal):
        pass

    @register_kl(MyNormal, Normal)
    def _kl(p, q):
        return mc.tensor(42.0)

    try:
        assert kl_divergence(MyNormal(0.0, 1.0), Normal(0.0, 1.0)).item() == 42.0
        assert kl_divergence(Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0
        assert kl.kl_divergence is kl_divergence
    finally:
        del kl._KL_REGISTRY[MyNormal, Normal]
        kl._dispatch_kl.cache_clear()
    with pytest.raises(NotImplementedError, match="Normal.*Bernoulli"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(probs=0.5))
    with pytest.raises(TypeError, match="type_q"):
        register_kl(Normal, int)


# --------------------------------------------------------------------- rsample
def test_normal_rsample_gradients_are_the_reparameterisation():
    """z = loc + scale eps: d sum(w z)/d loc = w and d/d scale = w eps, eps = (z - loc)/scale."""
    loc = mc.tensor(LOC, requires_grad=True)
    scale = mc.tensor(SCALE, requires_grad=True)
    z = Normal(loc, scale).rsample((5,))
    assert z.shape == (5, 2, 3) and z.requires_grad
    w = RNG.standard_normal(z.shape)
    g_loc, g_scale = mc.grad((z * mc.tensor(w)).sum(), [loc, scale])
    eps = (z.detach().numpy() - LOC) / SCALE
    np.testing.assert_allclose(g_loc.numpy(), w.sum(0), atol=1e-12)
    np.testing.assert_allclose(g_scale.numpy(), (w * eps).sum(0), atol=1e-12)
    assert not Normal(loc, scale).sample((5,)).requires_grad


def test_uniform_rsample_gradients_are_the_reparameterisation():
    low = mc.tensor(LOW, requires_grad=True)
    high = mc.tensor(HIGH, requires_grad=True)
    z = Uniform(low, high).rsample((7,))
    u = (z.detach().numpy() - LOW) / (HIGH - LOW)
    assert np.all((u >= 0) & (u < 1))
    w = RNG.standard_normal(z.shape)
    g_low, g_high = mc.grad((z * mc.tensor(w)).sum(), [low, high])
    np.testing.assert_allclose(g_low.numpy(), (w * (1 - u)).sum(0), atol=1e-12)
    np.testing.assert_allclose(g_high.numpy(), (w * u).sum(0), atol=1e-12)


def test_independent_rsample_and_the_discrete_ones_have_none():
    loc = mc.tensor(LOC, requires_grad=True)
    d = Independent(Normal(loc, 1.0), 1)
    assert d.has_rsample and d.rsample().requires_grad
    for dist in (Bernoulli(probs=0.3), Categorical(logits=mc.tensor(LOGITS))):
        assert not dist.has_rsample
        with pytest.raises(NotImplementedError, match="rsample"):
            dist.rsample()


# ---------------------------------------------------------------- sample shapes
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3), 4])
def test_sample_shapes(sample_shape):
    extra = (sample_shape,) if isinstance(sample_shape, int) else sample_shape
    loc = mc.tensor(LOC)
    cases = [
        (Normal(0.0, 1.0), (), ()),
        (Normal(loc, 1.0), (2, 3), ()),
        (Bernoulli(probs=mc.tensor(PROBS)), (2, 3), ()),
        (Categorical(logits=mc.tensor(LOGITS)), (2,), ()),
        (Categorical(probs=mc.tensor(np.array([0.2, 0.8]))), (), ()),
        (Uniform(mc.tensor(LOW), 4.0), (2, 3), ()),
        (Independent(Normal(loc, 1.0), 1), (2,), (3,)),
        (Independent(Normal(loc, 1.0), 2), (), (2, 3)),
        (Independent(Bernoulli(probs=mc.tensor(PROBS)), 1), (2,), (3,)),
    ]
    for dist, batch, event in cases:
        assert dist.batch_shape == batch and dist.event_shape == event, dist
        x = dist.sample(sample_shape)
        assert x.shape == extra + batch + event, dist
        assert dist.log_prob(x).shape == extra + batch, dist
    assert Categorical(logits=mc.tensor(LOGITS)).sample((3,)).dtype == np.int64


def test_expand():
    torch = torch_or_skip()
    td = torch.distributions
    value = RNG.uniform(-1, 1, (4, 2, 3))
    for ours, theirs in [(Normal(mc.tensor(LOC[0]), 2.0), td.Normal(torch.tensor(LOC[0]), 2.0)),
                         (Uniform(mc.tensor(LOW[0]), 5.0), td.Uniform(torch.tensor(LOW[0]), 5.0))]:
        e, te = ours.expand((4, 2, 3)), theirs.expand((4, 2, 3))
        assert e.batch_shape == (4, 2, 3)
        _close(e.log_prob(mc.tensor(value)), te.log_prob(torch.tensor(value)))
    c = Categorical(logits=mc.tensor(LOGITS[0])).expand((3,))
    assert c.batch_shape == (3,) and c.sample((2,)).shape == (2, 3)
    b = Bernoulli(probs=0.25).expand((2, 2))
    assert b.sample().shape == (2, 2) and np.allclose(b.mean.numpy(), 0.25)
    i = Independent(Normal(mc.tensor(LOC), 1.0), 1).expand((5, 2))
    assert i.batch_shape == (5, 2) and i.event_shape == (3,)


# ------------------------------------------------------------ sample statistics
def test_sample_statistics():
    n = 20_000
    mc.manual_seed(11)
    loc, scale = np.array([-1.0, 0.5]), np.array([0.5, 2.0])
    x = Normal(mc.tensor(loc), mc.tensor(scale)).sample((n,)).numpy()
    assert np.all(np.abs(x.mean(0) - loc) < 4 * scale / np.sqrt(n))
    assert np.all(np.abs(x.std(0) - scale) < 4 * scale / np.sqrt(2 * n))
    p = np.array([0.1, 0.5, 0.9])
    x = Bernoulli(probs=mc.tensor(p)).sample((n,)).numpy()
    assert np.all(np.abs(x.mean(0) - p) < 4 * np.sqrt(p * (1 - p) / n))
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    x = Categorical(probs=mc.tensor(probs)).sample((n,)).numpy()
    freq = np.bincount(x, minlength=4) / n
    assert np.all(np.abs(freq - probs) < 4 * np.sqrt(probs * (1 - probs) / n))
    x = Uniform(-1.0, 3.0).sample((n,)).numpy()
    assert x.min() >= -1 and x.max() < 3
    assert abs(x.mean() - 1.0) < 4 * (4 / np.sqrt(12)) / np.sqrt(n)


def test_sampling_is_reproducible_under_manual_seed():
    dists = [Normal(mc.tensor(LOC), 1.0), Bernoulli(probs=mc.tensor(PROBS)),
             Categorical(logits=mc.tensor(LOGITS)), Uniform(0.0, 1.0)]
    draws = []
    for _ in range(2):
        mc.manual_seed(123)
        draws.append([d.sample((3,)).numpy() for d in dists] + [dists[0].rsample().numpy()])
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)
    mc.manual_seed(124)
    assert not np.array_equal(dists[0].sample((3,)).numpy(), draws[0][0])


# ------------------------------------------------------------------ validation
def test_invalid_parameters_raise_errors_naming_them():
    with pytest.raises(ValueError, match="parameter scale"):
        Normal(0.0, 0.0)
    with pytest.raises(ValueError, match="parameter scale"):
        Normal(mc.tensor(LOC), mc.tensor(-SCALE))
    with pytest.raises(ValueError, match="parameter probs"):
        Bernoulli(probs=1.5)
    with pytest.raises(ValueError, match="parameter probs"):
        Bernoulli(probs=mc.tensor(np.array([0.5, -0.1])))
    with pytest.raises(ValueError, match="probs.*logits.*not both"):
        Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match="probs.*logits"):
        Bernoulli()
    with pytest.raises(ValueError, match="probs.*logits.*not both"):
        Categorical(probs=mc.tensor(PROBS), logits=mc.tensor(PROBS))
    with pytest.raises(ValueError, match="parameter probs"):
        Categorical(probs=mc.tensor(np.array([0.5, -0.2, 0.7])))
    with pytest.raises(ValueError, match="one-dimensional"):
        Categorical(logits=mc.tensor(1.0))
    with pytest.raises(ValueError, match="low.*high"):
        Uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        Independent(Normal(mc.tensor(LOC), 1.0), 3)
    with pytest.raises(TypeError, match="Tensor or a number"):
        Normal("0", 1.0)
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0


def test_values_outside_the_support_raise():
    with pytest.raises(ValueError, match="support"):
        Bernoulli(probs=0.3).log_prob(mc.tensor(0.5))
    with pytest.raises(ValueError, match="support"):
        Categorical(logits=mc.tensor(LOGITS)).log_prob(mc.tensor(np.array([0, 4])))
    with pytest.raises(ValueError, match="support"):
        Uniform(0.0, 1.0).log_prob(mc.tensor(1.5))
    with pytest.raises(ValueError, match="broadcastable"):
        Normal(mc.tensor(LOC), 1.0).log_prob(mc.tensor(np.zeros(4)))
    with pytest.raises(ValueError, match="event_shape"):
        Independent(Normal(mc.tensor(LOC), 1.0), 1).log_prob(mc.tensor(np.zeros(4)))
    lp = Uniform(0.0, 1.0, validate_args=False).log_prob(mc.tensor(np.array([0.5, 1.5])))
    assert lp.numpy()[0] == 0 and lp.numpy()[1] == -np.inf
    Distribution.set_default_validate_args(False)
    try:
        assert Normal(0.0, -1.0).scale.item() == -1.0
    finally:
        Distribution.set_default_validate_args(True)


# ----------------------------------------------------------- gradcheck of log_prob
def test_gradcheck_normal_log_prob():
    loc = mc.tensor(LOC, requires_grad=True)
    scale = mc.tensor(SCALE, requires_grad=True)
    value = mc.tensor(VALUE[0], requires_grad=True)

    def fn(m, s, x):
        return Normal(m, s, validate_args=False).log_prob(x)

    assert gradcheck(fn, (loc, scale, value))
    assert gradgradcheck(fn, (loc, scale, value))


def test_gradcheck_categorical_logits_log_prob_and_entropy():
    logits = mc.tensor(LOGITS, requires_grad=True)
    labels = mc.tensor(np.array([[1, 3], [0, 2], [3, 3]]))

    assert gradcheck(lambda lg: Categorical(logits=lg).log_prob(labels), (logits,))
    assert gradgradcheck(lambda lg: Categorical(logits=lg).log_prob(labels), (logits,))
    assert gradcheck(lambda lg: Categorical(logits=lg).entropy(), (logits,))
    assert gradgradcheck(lambda lg: Categorical(logits=lg).entropy(), (logits,))


def test_second_derivatives_of_kl_match_torch():
    torch = torch_or_skip()
    from oracle import check_against_torch

    def ours(m, s):
        return kl_divergence(Normal(m, s), Normal(0.3, 1.5))

    def theirs(m, s):
        return torch.distributions.kl_divergence(torch.distributions.Normal(m, s),
                                                 torch.distributions.Normal(0.3, 1.5))

    check_against_torch(ours, theirs, [LOC, SCALE])
    check_against_torch(lambda lg: Categorical(logits=lg).entropy(),
                        lambda lg: torch.distributions.Categorical(logits=lg).entropy(),
                        [LOGITS])


# ---------------------------------------------------------------- VAE-style use
def test_vae_loss_backpropagates_to_mu_and_std():
    mc.manual_seed(0)
    mu = mc.tensor(LOC, requires_grad=True)
    log_std = mc.tensor(0.1 * LOC, requires_grad=True)
    std = log_std.exp()
    q = Normal(mu, std)
    z = q.rsample()
    reconstruction = ((z - 1.0) ** 2).sum()
    kl_term = kl_divergence(Normal(mu, std), Normal(0, 1)).sum()
    (reconstruction + kl_term).backward()
    assert mu.grad is not None and log_std.grad is not None
    eps = (z.detach().numpy() - LOC) / std.detach().numpy()
    s = std.detach().numpy()
    # d/dmu: 2 (z - 1) + mu;  d/dstd: 2 (z - 1) eps + std - 1/std;  dstd/dlog_std = std
    zn = z.detach().numpy()
    np.testing.assert_allclose(mu.grad.numpy(), 2 * (zn - 1) + LOC, atol=1e-10)
    np.testing.assert_allclose(log_std.grad.numpy(), (2 * (zn - 1) * eps + s - 1 / s) * s,
                               atol=1e-10)


def test_package_is_reachable_from_minicnn():
    assert mc.distributions.Normal is Normal
    assert "Normal(loc: 0.0" in repr(Normal(0.0, 1.0))
