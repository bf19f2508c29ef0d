"""Every demo opens as a notebook and shows its pictures inline: converted from its
percent-format script with jupytext and executed by nbconvert in a Jupyter kernel
(with --fast), each must run without an error and put at least one image (PNG or
SVG) in its cells' outputs, while still writing its files."""
import os
from pathlib import Path

import pytest

from viz_helpers import require

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"
NAMES = sorted(p.stem for p in DEMOS.glob("[0-9][0-9]_*.py"))


def inline_images(notebook):
    return sum(1 for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", ())
               if {"image/png", "image/svg+xml"} & set(output.get("data", {})))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_demo_runs_as_a_notebook_with_inline_pictures(name, tmp_path, monkeypatch):
    try:
        import jupytext
        from nbconvert.preprocessors import ExecutePreprocessor
    except ImportError:
        jupytext = None
    require("jupytext and nbconvert (the test extra)", jupytext is not None)
    notebook = jupytext.read(DEMOS / f"{name}.py")
    monkeypatch.setenv("MICROATTN_DEMO_ARGS", f"--fast --out {tmp_path / 'out'}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    # Run from demos/, as a learner opening demos/NAME.py in Jupyter would.
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(DEMOS)}})
    assert inline_images(notebook) >= 1, f"{name} showed no picture inline"
    assert any((tmp_path / "out").iterdir()), f"{name} wrote no file"
