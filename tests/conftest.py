"""Test configuration: hypothesis profiles and the oracle (PyTorch) requirement.

Profiles (choose with HYPOTHESIS_PROFILE=...; default ``ci``):
  ci        few examples, derandomized: the whole suite stays inside CI's time budget.
  thorough  many examples, for a long local run before a release.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=8, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
settings.register_profile(
    "thorough", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seed_everything():
    import minicnn as mc

    mc.manual_seed(0)
    np.random.seed(0)
    yield
