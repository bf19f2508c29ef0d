"""What the picture tests share: tools that may be missing locally but never in CI."""
import os

import pytest


def require(what, available):
    """Skip a test locally when ``what`` is missing; fail it in CI (CI set), where
    every picture test must really run."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: the picture tests must not skip")
    pytest.skip(f"{what} is not installed")
