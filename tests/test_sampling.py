"""Random draws of minicnn.ops.sampling: their distributions (moments and frequencies over
many draws), seeding, shapes and dtypes, and the argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc


def test_normal_broadcasts_mean_and_std_and_has_their_moments():
    mc.manual_seed(0)
    mean = mc.tensor([[-2.0], [3.0]])
    draws = mc.normal(mean.expand(2, 20000), 0.5)
    assert draws.shape == (2, 20000) and draws.dtype == np.float32
    np.testing.assert_allclose(draws.numpy().mean(axis=1), [-2.0, 3.0], atol=0.02)
    np.testing.assert_allclose(draws.numpy().std(axis=1), [0.5, 0.5], atol=0.02)
    assert mc.normal(1.0, 2.0, size=(3, 4)).shape == (3, 4)
    with pytest.raises(ValueError, match="std: expected values >= 0"):
        mc.normal(0.0, -1.0, size=(2,))


def test_multinomial_frequencies_and_without_replacement():
    mc.manual_seed(1)
    weights = mc.tensor([1.0, 0.0, 3.0, 6.0])
    drawn = mc.multinomial(weights, 40000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / 40000, [0.1, 0, 0.3, 0.6],
                               atol=0.01)
    rows = mc.multinomial(mc.ones(500, 6), 6)                   # a permutation per row
    assert rows.dtype == np.int64 and (np.sort(rows.numpy(), axis=1) == np.arange(6)).all()
    first = mc.multinomial(mc.tensor([[1.0, 1.0, 8.0]] * 20000), 1).numpy().ravel()
    np.testing.assert_allclose(np.bincount(first) / 20000, [0.1, 0.1, 0.8], atol=0.01)
    with pytest.raises(ValueError, match="without replacement"):
        mc.multinomial(weights, 4)                               # only 3 non-zero weights
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        mc.multinomial(mc.tensor([0.5, -0.1]), 1)


def test_draws_follow_the_seed_and_a_generator():
    mc.manual_seed(7)
    a = mc.multinomial(mc.ones(10), 3).tolist(), mc.normal(0.0, 1.0, size=(3,)).tolist()
    mc.manual_seed(7)
    b = mc.multinomial(mc.ones(10), 3).tolist(), mc.normal(0.0, 1.0, size=(3,)).tolist()
    assert a == b
    g1, g2 = mc.Generator().manual_seed(3), mc.Generator().manual_seed(3)
    assert mc.randperm(8, generator=g1).tolist() == mc.randperm(8, generator=g2).tolist()


def test_in_place_fills_have_their_distributions():
    mc.manual_seed(2)
    x = mc.zeros(50000, dtype=mc.float64)
    assert x.exponential_(lambd=2.0) is x
    assert abs(x.numpy().mean() - 0.5) < 0.01
    x.geometric_(0.25)
    assert abs(x.numpy().mean() - 4.0) < 0.1 and x.numpy().min() >= 1
    x.bernoulli_(0.3)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0} and abs(x.numpy().mean() - 0.3) < 0.01
    x.random_(3, 7)
    assert set(np.unique(x.numpy())) == {3.0, 4.0, 5.0, 6.0}
    x.log_normal_(0.0, 0.5)
    assert abs(np.log(x.numpy()).std() - 0.5) < 0.01
    ints = mc.zeros(1000, dtype=mc.long).random_(5)
    assert ints.dtype == np.int64 and set(np.unique(ints.numpy())) == set(range(5))
    with pytest.raises(ValueError, match="geometric_: p"):
        x.geometric_(1.5)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mc.zeros(2, requires_grad=True).exponential_()
