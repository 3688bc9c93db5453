"""The op-test harness every op file shares: a table of ``Case`` rows becomes two tests.

    test_gradcheck_and_gradgradcheck, test_matches_pytorch = case_tests(CASES)

* gradcheck + gradgradcheck (float64) under hypothesis, for every row;
* the PyTorch oracle (forward, gradient, second derivative) through ``check_against_torch``.

A row's ``draw(data)`` returns the input arrays, or ``(arrays, keyword arguments)`` when the
op has hyperparameters drawn by hypothesis. Float arrays become tensors that require grad
(wrapped without a copy, so non-contiguous views reach the op); other arrays (labels,
indices) stay constants.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.gradcheck import gradcheck, gradgradcheck
from oracle import check_against_torch


@dataclass
class Case:
    name: str
    draw: Callable          # data -> arrays, or (arrays, dict of keyword arguments)
    mc_fn: Callable         # (*tensors, **kwargs) -> Tensor
    torch_fn: Callable      # (*torch tensors, **kwargs) -> torch tensor


def _drawn(case: Case, data):
    drawn = case.draw(data)
    return drawn if isinstance(drawn, tuple) else (drawn, {})


def case_tests(cases, **tolerance):
    """The two parametrized tests for a table of cases (``tolerance``: the oracle's
    atol/rtol where the default is too tight)."""

    @pytest.mark.parametrize("case", cases, ids=lambda c: c.name)
    @given(data=st.data())
    def test_gradcheck_and_gradgradcheck(case, data):
        values, kwargs = _drawn(case, data)
        arrays = [np.asarray(a) for a in values]   # views stay views (no copy)
        inputs = [mc.from_numpy(a).requires_grad_(a.dtype.kind == "f") for a in arrays]

        def fn(*xs):
            return case.mc_fn(*xs, **kwargs)

        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)

    @pytest.mark.oracle
    @pytest.mark.parametrize("case", cases, ids=lambda c: c.name)
    @given(data=st.data())
    def test_matches_pytorch(case, data):
        values, kwargs = _drawn(case, data)
        check_against_torch(lambda *xs: case.mc_fn(*xs, **kwargs),
                            lambda *xs: case.torch_fn(*xs, **kwargs), values, **tolerance)

    return test_gradcheck_and_gradgradcheck, test_matches_pytorch
