"""Every demo runs as CI runs it (``--fast``: the same code, fewer steps), prints what it
shows, and writes its pictures at a sane size. Each runs in a subprocess started with
this interpreter, the environment (PYTHONPATH included) inherited."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "demos"

# demo -> (the pictures it writes, a line of its findings it must print)
EXPECTED = {
    "01_autograd_scalar_to_tensor": (["derivative.png"], "a wrong backward is caught"),
    "02_qkv_soft_lookup": (["lookup.png", "learned_query.png"], "learned weights:"),
    "03_nadaraya_watson": (["attention_before_after.png", "fit.png", "loss.png"], "learned w ="),
    "04_scoring_functions": (["masked_weights.png", "training.png", "trained_weights.png"],
                             "weight past the valid length: 0.0"),
    "05_why_sqrt_dk": (["saturation.png", "rows.png"], "saturated rows"),
    "06_masks": (["masks.png", "training.png", "attention.png"], "prefix-only loss"),
    "07_positional_encoding": (["table.png", "dot_products.png", "task.png"],
                               "held-out accuracy"),
    "08_multi_head": (["heads.png", "training.png"], "both right"),
}


def test_every_demo_is_listed():
    found = sorted(p.stem for p in DEMOS.glob("[0-9][0-9]_*.py"))
    assert found == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_demo_is_a_percent_script_with_a_docstring(name):
    source = (DEMOS / f"{name}.py").read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring and "look at" in docstring, "the docstring says what to look at"
    assert "\n# %%\n" in source, "cells in jupytext's percent format"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_demo_runs_fast_and_draws(name, tmp_path):
    pictures, finding = EXPECTED[name]
    result = subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), "--fast", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert finding in result.stdout, result.stdout[-3000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(pictures)
    for picture in pictures:
        with Image.open(tmp_path / picture) as image:
            width, height = image.size
        assert 300 <= width <= 2500 and 200 <= height <= 2000, (picture, image.size)
