"""Hypothesis strategies shared by the tests: shapes, broadcastable shapes, float arrays
(sometimes non-contiguous views), tie-free values for max-like ops, and ``HypothesisRandom``,
which answers the op-case recipes' ``rng`` calls with hypothesis draws.

Hypothesis draws the *values*, not just a seed: a failing case shrinks in shape and in
value (towards 0, towards the low end of a range, towards the identity permutation). An
array's first ``DRAWN_VALUES`` values are drawn one by one; a bigger array's remaining values
come from a NumPy generator seeded by a drawn integer (hypothesis cannot shrink thousands of
values well and warns about such inputs). The guards that keep finite differences meaningful
are the package's own (``minicnn.gradcheck_draws``): values away from a kink, distinct
values for max-like ops.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minicnn.gradcheck_draws import kept_away, ladder

DRAWN_VALUES = 128


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@st.composite
def broadcastable_pair(draw, min_dims=0, max_dims=3, max_side=4):
    """Two shapes that broadcast together, e.g. (3, 1, 4) and (2, 1)."""
    result = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=min_dims,
                                                    max_dims=max_dims, max_side=max_side))
    return result.input_shapes


class HypothesisRandom:
    """The methods of ``numpy.random.Generator`` that the op-case recipes call
    (``integers``, ``uniform``, ``random``, ``choice``, ``permutation``), each answered by
    hypothesis draws, so one recipe written against a NumPy generator runs with a seed in
    ``minicnn gradcheck`` and under hypothesis in the tests."""

    def __init__(self, draw):
        self._draw = draw        # ``data.draw`` or a composite strategy's ``draw``

    def _values(self, element, count, fill_from_seed):
        head = min(count, DRAWN_VALUES)
        values = list(self._draw(st.lists(element, min_size=head, max_size=head)))
        if count > head:
            rest = np.random.default_rng(self._draw(st.integers(0, 2**32 - 1)))
            values.extend(fill_from_seed(rest, count - head))
        return values

    @staticmethod
    def _shaped(values, size, dtype=None):
        if size is None:
            return values[0]
        shape = (size,) if np.isscalar(size) else tuple(size)
        return np.asarray(values, dtype=dtype).reshape(shape)

    @staticmethod
    def _count(size):
        return 1 if size is None else int(np.prod(size))

    def uniform(self, low=0.0, high=1.0, size=None):
        low, high = float(low), float(high)
        if not low < high:
            raise ValueError(f"uniform: expected low < high, got low={low}, high={high}")
        element = st.floats(low, high, exclude_max=True, allow_nan=False,
                            allow_infinity=False, allow_subnormal=False)
        values = self._values(element, self._count(size),
                              lambda rng, n: rng.uniform(low, high, n).tolist())
        return self._shaped(values, size, np.float64)

    def random(self, size=None):
        return self.uniform(0.0, 1.0, size)

    def integers(self, low, high=None, size=None, endpoint=False):
        low, high = (0, int(low)) if high is None else (int(low), int(high))
        top = high if endpoint else high - 1
        if top < low:
            raise ValueError(f"integers: empty range low={low}, high={high}")
        values = self._values(st.integers(low, top), self._count(size),
                              lambda rng, n: rng.integers(low, top + 1, n).tolist())
        return self._shaped(values, size, np.int64)

    def choice(self, a, size=None, replace=True, p=None):
        """Like Generator.choice; ``p`` narrows the choices to the ones with p > 0 (hypothesis
        picks among them without weights)."""
        pool = list(range(a)) if isinstance(a, (int, np.integer)) else list(a)
        if p is not None:
            pool = [item for item, weight in zip(pool, p) if weight > 0]
        if not replace:
            count = self._count(size)
            return self._shaped(self._draw(st.permutations(pool))[:count], size)
        indices = self.integers(0, len(pool), size)
        if size is None:
            return pool[int(indices)]
        return np.asarray(pool)[indices]

    def permutation(self, x):
        if isinstance(x, (int, np.integer)):
            return np.asarray(self._draw(st.permutations(range(int(x)))), dtype=np.int64)
        return np.asarray(self._draw(st.permutations(list(np.asarray(x)))))


@st.composite
def arrays(draw, shape, low=-2.0, high=2.0, dtype=np.float64, away_from=None):
    """A float array of ``shape`` with values drawn in [low, high); sometimes a
    non-contiguous view.

    ``away_from``: a point or a tuple of points (kinks of relu, abs, clamp; the pole of
    log); every value is kept at least 0.05 away from each, so finite differences do not
    straddle one.
    """
    values = np.asarray(HypothesisRandom(draw).uniform(low, high, tuple(shape)), np.float64)
    points = () if away_from is None else (
        away_from if isinstance(away_from, tuple) else (away_from,))
    for point in points:
        kept_away(values, point, 0.05)
    values = values.astype(dtype)
    if draw(st.booleans()) and len(shape) >= 1:
        # same values, non-contiguous memory: a strided view into a bigger buffer
        padded = np.zeros(tuple(shape[:-1]) + (shape[-1] * 2,), dtype=dtype)
        padded[..., ::2] = values
        values = padded[..., ::2]
    return values


@st.composite
def tie_free(draw, shape, dtype=np.float64):
    """Distinct values at least 0.1 apart (so max/amax/maxpool have a unique winner and a
    finite-difference step cannot change it): a drawn permutation of a 0.1-spaced ladder
    plus a drawn offset below 0.01."""
    rng = HypothesisRandom(draw)
    count = int(np.prod(shape)) if len(shape) else 1
    values = ladder(rng.permutation(count), 0.1, offset=rng.uniform(0, 0.01))
    return values.reshape(shape).astype(dtype)
