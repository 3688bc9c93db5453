"""The package's op-case table (``minicnn.gradcheck_cases.CASES``, what ``minicnn gradcheck
OP`` runs with a seeded NumPy generator) run under hypothesis: each recipe draws its shapes,
hyperparameters and values through ``HypothesisRandom``, so a failure shrinks to a small
configuration with simple values. One table, two drivers."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from minicnn.gradcheck import gradcheck, gradgradcheck
from minicnn.gradcheck_cases import CASES
from strategies import HypothesisRandom


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_recipe_gradcheck_and_gradgradcheck(name, data):
    fn, inputs, text = CASES[name].make(HypothesisRandom(data.draw))
    note(text)
    assert gradcheck(fn, inputs), text
    assert gradgradcheck(fn, inputs), text


@given(data=st.data())
def test_hypothesis_random_answers_like_a_numpy_generator(data):
    """Each method returns what Generator's does: type, shape, range."""
    rng = HypothesisRandom(data.draw)
    assert isinstance(rng.integers(3), int) and 0 <= rng.integers(3) < 3
    block = rng.integers(1, 5, (2, 3))
    assert block.shape == (2, 3) and block.dtype == np.int64
    assert ((1 <= block) & (block < 5)).all()
    assert 2 <= rng.integers(2, 4, endpoint=True) <= 4
    values = rng.uniform(-1.0, 2.0, (3, 50))           # 150 values: past DRAWN_VALUES
    assert values.shape == (3, 50) and ((-1.0 <= values) & (values < 2.0)).all()
    assert 0.0 <= rng.random() < 1.0
    assert rng.choice([0.01, 0.2]) in (0.01, 0.2)
    picked = rng.choice(5, size=3, replace=False)
    assert sorted(set(picked.tolist())) == sorted(picked.tolist()) and picked.max() < 5
    signs = rng.choice([-1.0, 1.0], (4,))
    assert signs.shape == (4,) and set(signs.tolist()) <= {-1.0, 1.0}
    assert sorted(rng.permutation(6).tolist()) == list(range(6))


def test_hypothesis_random_rejects_an_empty_range():
    rng = HypothesisRandom(lambda strategy: strategy.example())
    with pytest.raises(ValueError, match="low < high"):
        rng.uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="empty range"):
        rng.integers(3, 3)
