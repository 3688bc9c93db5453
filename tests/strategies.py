"""Hypothesis strategies shared by the tests: shapes, broadcastable shapes, arrays that are
sometimes non-contiguous, and tie-free values for max-like ops."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@st.composite
def broadcastable_pair(draw, min_dims=0, max_dims=3, max_side=4):
    """Two shapes that broadcast together, e.g. (3, 1, 4) and (2, 1)."""
    result = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=min_dims,
                                                    max_dims=max_dims, max_side=max_side))
    return result.input_shapes


@st.composite
def arrays(draw, shape, low=-2.0, high=2.0, dtype=np.float64, away_from=None):
    """A float array of ``shape``, drawn from a seed; sometimes a non-contiguous view.

    ``away_from``: keep every value at least 0.05 away from this point (kinks of relu,
    abs, clamp; the pole of log), so finite differences do not straddle it.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.uniform(low, high, size=shape)
    if away_from is not None:
        too_close = np.abs(values - away_from) < 0.05
        values[too_close] = away_from + 0.05 * np.sign(values[too_close] - away_from + 1e-12)
        values[values == away_from] = away_from + 0.1
    values = values.astype(dtype)
    if draw(st.booleans()) and len(shape) >= 1:
        # same values, non-contiguous memory: a strided view into a bigger buffer
        padded = np.zeros(shape[:-1] + (shape[-1] * 2,), dtype=dtype)
        padded[..., ::2] = values
        values = padded[..., ::2]
    return values


@st.composite
def tie_free(draw, shape, dtype=np.float64):
    """Distinct values at least 0.1 apart (so max/amax/maxpool have a unique winner and a
    finite-difference step cannot change it)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape)) if shape else 1
    values = (rng.permutation(count) - count / 2) * 0.1 + rng.uniform(0, 0.01)
    return values.reshape(shape).astype(dtype)
