"""Every demo runs as CI runs it (``--fast``: the same code, fewer steps), prints what it
shows, and writes its pictures at a sane size. Each runs in a subprocess started with
this interpreter, the environment (PYTHONPATH included) inherited."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from viz_helpers import require

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"

# demo -> (the pictures it writes, a line of its findings it must print)
EXPECTED = {
    "01_autograd_scalar_to_tensor": (["derivative.png", "graph.svg"],
                                     "a wrong backward is caught"),
    "02_qkv_soft_lookup": (["lookup.png", "learned_query.png"], "learned weights:"),
    "03_nadaraya_watson": (["attention_before_after.png", "fit.png", "loss.png"], "learned w ="),
    "04_scoring_functions": (["masked_weights.png", "training.png", "trained_weights.png"],
                             "weight past the valid length: 0.0"),
    "05_why_sqrt_dk": (["saturation.png", "rows.png"], "saturated rows"),
    "06_masks": (["masks.png", "training.png", "attention.png"], "prefix-only loss"),
    "07_positional_encoding": (["table.png", "dot_products.png", "task.png", "forming.png"],
                               "held-out accuracy"),
    "08_multi_head": (["gradient.png", "heads.png", "training.png"], "both right"),
    "09_three_kinds_of_attention": (["three_kinds.png", "cross_heads.png"],
                                    "weight on future positions in the decoder's self-attention"
                                    ": 0.0"),
    "10_word_relations": (["relations.png", "alignment.png"],
                          "mean weight on the aligned English word"),
    "11_watching_attention_learn": (["alignment_vs_loss.png", "forming.png", "attention.gif",
                                     "gradients.png"], "gradients of the followed head"),
    "12_fused_vs_composed": (["composed.svg", "fused.svg", "graphs.png", "timing.png"],
                             "fused      causal  passed"),
    "13_pytorch_file_on_microattn": (["loss.png", "graph.svg"],
                                     "gradcheck of CausalSelfAttention: True"),
    "14_char_gpt_on_python_docs": (["loss.png", "attention.png"], "--- sample after"),
    "15_tiled_attention": (["scaling.png"], "both paths agree"),
    "16_bahdanau_attention": (["attention.png", "attention_zero_state.png", "loss.png"],
                              "mean weight on the aligned source word"),
}
# Demos that train with microattn.train leave their run folder in out/run.
RUN_FOLDER = {"09_three_kinds_of_attention", "10_word_relations",
              "11_watching_attention_learn", "14_char_gpt_on_python_docs"}


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
    if any(p.endswith(".svg") for p in pictures):
        require("Graphviz's dot", shutil.which("dot"))
    result = subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), "--fast", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert finding in result.stdout, result.stdout[-3000:]
    written = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert written == sorted(pictures)
    if name in RUN_FOLDER:
        assert {"config.json", "metrics.jsonl", "checkpoint.ma"} <= {
            p.name for p in (tmp_path / "run").iterdir()}
    for picture in pictures:
        if picture.endswith(".svg"):  # a graph drawn by Graphviz
            text = (tmp_path / picture).read_text(encoding="utf-8")
            assert "<svg" in text and len(text) > 1000, picture
            continue
        with Image.open(tmp_path / picture) as image:
            width, height = image.size
        assert 300 <= width <= 2500 and 200 <= height <= 2000, (picture, image.size)


# -- what each demo's docstring claims, checked on its default run (slow) --------------

def _rows(stdout, pattern):
    """{first group: the float groups after it} for every line matching ``pattern``."""
    import re
    return {m.group(1): [float(x) for x in m.groups()[1:]]
            for m in re.finditer(pattern, stdout, flags=re.M)}


def _check_02(stdout):
    weights = _rows(stdout, r"^learned (weights):.*lime ([\d.]+), blueberry ([\d.]+)")["weights"]
    assert sum(weights) > 0.9  # teal is a blend of lime and blueberry


def _check_03(stdout):
    (w, after, before), = _rows(stdout, r"^learned (w) = ([\d.]+): test MSE against the truth "
                                        r"([\d.]+) \(was ([\d.]+)").values()
    assert w > 2 and after < before / 3


def _check_04(stdout):
    rows = _rows(stdout, r"^(\w+ keys\s+\S+)\s+[a-z -]*?\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+$")
    on_target = {" ".join(k.split()): v[2] for k, v in rows.items()}
    assert on_target["positive keys additive"] > 0.8
    assert on_target["positive keys scaled"] > 0.8
    assert on_target["signed keys scaled"] > 0.8
    assert on_target["signed keys additive"] < 0.4


def _check_05(stdout):
    unscaled = _rows(stdout, r"^unscaled\s+(\d+)" + r"\s+([\d.e+-]+)" * 6)
    scaled = _rows(stdout, r"^/ sqrt\(d\)\s+(\d+)" + r"\s+([\d.e+-]+)" * 6)
    assert unscaled["2048"][1] > 0.9 and unscaled["2048"][2] > 0.5    # saturated
    assert unscaled["2048"][3] < unscaled["2"][3] / 2                  # dL/dS shrinks
    assert all(row[2] == 0 and 0.15 < row[1] < 0.35 for row in scaled.values())


def _check_06(stdout):
    number = r"\s+([\d.]+)"
    rows = _rows(stdout, r"^(no mask \(cheats\)|causal mask)" + number * 5)
    cheat, honest = rows["no mask (cheats)"], rows["causal mask"]
    assert cheat[1] < 0.5 and cheat[3] > 1.5           # looks solved; is not
    assert honest[3] < 1.3 and honest[4] > 0.95 > cheat[4]


def _check_07(stdout):
    rows = _rows(stdout, r"^(no positions|sinusoidal)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")
    assert rows["sinusoidal"][2] > 0.95 and rows["no positions"][2] < 0.4


def _check_08(stdout):
    rows = _rows(stdout, r"^\s+(\d)\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")
    assert rows["2"][3] > 0.95 and rows["4"][3] > 0.95 and rows["1"][3] < 0.3
    push = r"head \d ([+-][\d.]+) / ([+-][\d.]+)"
    pushes = _rows(stdout, r"^2 heads, (step \d+): .*?" + push + ", " + push)
    assert min(pushes["step 20"]) > 0.02            # every head's scores pushed up on both sides
    left0, right0, left1, right1 = pushes["step 30"]
    assert (right0 - left0) * (right1 - left1) < 0  # then the two heads take one side each
    (left, right), = _rows(stdout, r"^1 head, (step 30): .*?" + push).values()
    assert left > 0.05 > right                      # the single head: one side only
    assert max(map(abs, pushes["step 50"])) < 0.03  # saturated: the scores barely move


def _check_09(stdout):
    assert "'the ball is blue' -> 'la bola es azul' (right)" in stdout
    cross = stdout.split("cross-attention (decoder -> encoder):")[1].splitlines()[1]
    for spanish, english in (("bola", "ball"), ("azul", "blue")):
        assert f"writing {spanish}: {english} (" in cross


def _check_10(stdout):
    assert "-> 'el gato negro bebió la leche' (right)" in stdout
    rows = _rows(stdout, r"^\s+(gato|negro) <- (?:cat|black)\s+([\d.]+)  its English word$")
    assert set(rows) == {"gato", "negro"}  # the swap: gato reads cat, negro reads black
    (share,), = _rows(stdout, r"^(mean) weight on the aligned English word: ([\d.]+)").values()
    assert share > 0.7


def _check_11(stdout):
    rows = _rows(stdout, r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$")
    last = rows[max(rows, key=int)]
    assert last[2] > 0.95 and last[3] > 0.6          # solved, and aligned
    grads = _rows(stdout, r"^\s+step\s+(\d+): alignment ([\d.]+), max \|dL/dA\| ([\d.e+-]+), "
                          r"max \|dL/dS\| ([\d.e+-]+), mean dL/dS on the expected cells "
                          r"([\d.e+-]+), elsewhere ([\d.e+-]+)")
    first, end = grads[min(grads, key=int)], grads[max(grads, key=int)]
    assert end[0] > first[0] and end[1] < first[1] / 100   # aligned; dL/dA faded away
    assert end[2] < first[2] / 100                         # and dL/dS with it
    assert first[3] < 0 < first[4]  # from step 0 descent raises the mirrored digit's scores


def _check_12(stdout):
    assert stdout.count(" passed ") == 4
    diffs = _rows(stdout, r"^\s+(float64): output ([\d.e+-]+), dL/dq ([\d.e+-]+), "
                          r"dL/dk ([\d.e+-]+), dL/dv ([\d.e+-]+)")
    assert max(diffs["float64"]) < 1e-12


def _check_13(stdout):
    assert "import torch gives: microattn" in stdout
    rows = _rows(stdout, r"^step\s+(\d+)\s+training loss ([\d.]+)\s+held-out loss ([\d.]+)\s+"
                         r"reversed digits right ([\d.]+)")
    assert rows[max(rows, key=int)][2] > 0.95      # the reversed digits, nearly all right
    worst = _rows(stdout, r"^(x|qkv\.weight|qkv\.bias)\s+\(.*?\)\s+([\d.e+-]+)$")
    assert set(worst) == {"x", "qkv.weight", "qkv.bias"} and max(max(worst.values())) < 1e-6


def _check_14(stdout):
    (before, after, baseline, ratio), = _rows(
        stdout, r"^(held-out) loss before training ([\d.]+) nats/char, after ([\d.]+); unigram "
                r"baseline ([\d.]+) \(ratio ([\d.]+)\)").values()
    assert after < baseline < before and ratio < 0.8


def _check_15(stdout):
    (worst,), = _rows(stdout, r"^both paths (agree): largest difference in float64 "
                              r"([\d.e+-]+)").values()
    assert worst < 1e-12
    growth = _rows(stdout, r"^(materialized|tiled): peak memory x([\d.]+) from T")
    assert growth["materialized"][0] > 3 and growth["tiled"][0] < 2.5   # T^2 against T


CLAIMS = {"02_qkv_soft_lookup": _check_02, "03_nadaraya_watson": _check_03,
          "04_scoring_functions": _check_04, "05_why_sqrt_dk": _check_05,
          "06_masks": _check_06, "07_positional_encoding": _check_07,
          "08_multi_head": _check_08, "09_three_kinds_of_attention": _check_09,
          "10_word_relations": _check_10, "11_watching_attention_learn": _check_11,
          "12_fused_vs_composed": _check_12, "13_pytorch_file_on_microattn": _check_13,
          "14_char_gpt_on_python_docs": _check_14, "15_tiled_attention": _check_15}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_demo_shows_what_its_docstring_says(name, tmp_path):
    result = subprocess.run([sys.executable, str(DEMOS / f"{name}.py"), "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    CLAIMS[name](result.stdout)
