"""Shared test set-up.

PyTorch is the independent oracle. Locally a missing torch skips those tests;
in CI (CI=true) it fails the run, so parity is never skipped silently.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

try:
    import torch
    # One thread: the oracle's thread pool only contends with ours on a small,
    # shared machine (under load, 2 threads made parity tests ~50x slower).
    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - depends on the environment
    torch = None
    if os.environ.get("CI"):
        raise RuntimeError("PyTorch is required in CI: the parity tests must not skip "
                           "(install the test extra: pip install -e '.[test]')") from None


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True, scope="session")
def _run_key_in_a_temporary_home(tmp_path_factory):
    """``microattn train`` signs the task files it copies with a key in
    $XDG_CONFIG_HOME/microattn; the tests' key lives in a temporary folder, never
    in the home of whoever runs them (subprocesses inherit the variable)."""
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    yield
    if previous is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture
def no_numpy_warnings():
    """An empty dim must not make numpy complain about it (mean of empty slice)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("error", ".*(zero-size|empty)", RuntimeWarning)
        yield
