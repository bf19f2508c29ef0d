"""The docs site builds with warnings as errors (a renamed function in the API
reference, a broken link or anchor fails it) and needs nothing from the network.

Needs the docs extra (pip install -e '.[docs]'): skipped locally without it, a
failure in CI (CI=true), as conftest.py does for PyTorch."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS_TOOLS = ("mkdocs", "mkdocstrings_handlers.python", "pymdownx", "mathjax")
MISSING = [name for name in DOCS_TOOLS if importlib.util.find_spec(name.split(".")[0]) is None]
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"the docs build needs {MISSING} in CI: pip install -e '.[docs]'")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"docs extra not installed: {MISSING}")

# A tag that would load something when the page is viewed: scripts, styles, images, fonts.
LOADS = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"']"
                   r"((?:https?:)?//[^\"']+)", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    return out


def test_site_builds_every_page(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("index.html", "autograd.html", "attention.html", "api/nn.html",
                 "api/functional.html", "tutorial.html", "tasks.html", "visualize.html",
                 "performance.html", "api/train.html", "api/viz.html"):
        assert page in pages
    for picture in ("img/report.png", "img/reverse/loss.png", "img/translate/attention.png",
                    "img/watching/gradients.png"):  # the pictures of real runs, embedded
        assert (site / picture).stat().st_size > 10_000, picture
    api = (site / "api" / "nn.html").read_text()
    assert 'id="microattn.nn.MultiheadAttention"' in api  # generated from the docstring
    for page in (site / "api").glob("*.html"):
        assert not re.search(r":(class|func|meth):<code>", page.read_text()), page.name


def test_site_works_offline(site):
    for page in site.rglob("*.html"):
        remote = LOADS.findall(page.read_text())
        assert not remote, f"{page.relative_to(site)} loads {remote[:3]}"
    assert (site / "js" / "mathjax-tex-svg.js").stat().st_size > 100_000  # formulas render here
