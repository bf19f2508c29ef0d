"""A headless Chromium (Debian's, driven by Playwright) for the report tests: skipped
locally when either is missing, a failure in CI (CI set)."""
import os

import pytest

from viz_helpers import require

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require("Playwright for Python", sync_playwright is not None)
    require(f"Chromium ({CHROMIUM})", os.path.exists(CHROMIUM))
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
