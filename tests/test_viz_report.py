"""report.html in a real browser: headless Chromium (Debian's) driven by Playwright.

Locally the test skips when Playwright or Chromium is missing; in CI (CI set) it fails."""
import os
import re

import pytest

import microattn as ma
from microattn.viz.recorder import RunPictures
from viz_helpers import ReverseTask, require, train_briefly

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    ma.manual_seed(0)
    task = ReverseTask()
    run = train_briefly(task, task.model(), tmp_path_factory.mktemp("report"),
                        [RunPictures(quiet=True)], steps=8, eval_every=4)
    return run.dir / "report.html"


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


def test_the_file_names_nothing_outside_itself(report):
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(http" not in page and "@import" not in page
    assert page.count("data:image/png;base64,") == 4  # curves, grid, strip, gradient flow
    assert "<svg" in page and "<!DOCTYPE svg" not in page  # the graph, inline


def test_report_opens_offline_and_the_slider_changes_the_heatmap(report, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests

    heatmap = lambda: page.eval_on_selector("#weights", "c => c.toDataURL()")  # noqa: E731
    title = lambda: page.inner_text("#steptitle")  # noqa: E731
    assert title() == "step 8 · held-out exact 0.50"  # opens on the last recorded step
    last = heatmap()
    page.focus("#step")
    page.keyboard.press("Home")  # move the slider to the first snapshot
    assert page.input_value("#step") == "0"
    assert title() == "step 0"
    first = heatmap()
    assert first != last
    page.keyboard.press("End")
    assert heatmap() == last

    # The kind, layer and head selectors and the overlay toggle redraw too.
    assert page.eval_on_selector_all("#kind option", "os => os.map(o => o.value)") == [
        "encoder", "decoder", "cross"]
    assert page.input_value("#kind") == "cross"  # the task's expected pattern lives there
    page.select_option("#head", "1")
    assert heatmap() != last
    with_overlay = heatmap()
    page.uncheck("#overlay")
    assert heatmap() != with_overlay
    page.select_option("#kind", "encoder")
    assert page.eval_on_selector("#weights", "c => c.width") > 100
    assert errors == [] and all(u.startswith(("file://", "data:")) for u in requests)
    page.close()
