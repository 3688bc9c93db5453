"""Test configuration: hypothesis profiles and the oracle (PyTorch) requirement.

Profiles (choose with HYPOTHESIS_PROFILE=...; default ``ci``):
  ci        few examples, derandomized: the whole suite stays inside CI's time budget.
  thorough  many examples, for a long local run before a release.
"""
import os

# pytest -n 2 runs two test processes on our 2-core machines: one thread each for BLAS,
# OpenMP and Numba, or their spinning thread pools fight over the cores (a 40 ms kernel
# was seen taking 900 ms). Set before numpy and numba are imported; lessons run as
# subprocesses inherit it.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

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
