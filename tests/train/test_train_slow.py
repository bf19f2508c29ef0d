"""Every built-in task trains to its target with its defaults (``microattn train TASK``,
run for real). Marked slow: ``pytest -m slow``. Wall times are measured and written
to docs/tasks.md, not asserted here (speed lives in benchmarks/)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# task -> (held-out exact match at least, alignment at least or None)
TARGETS = {
    "copy": (0.99, 0.9), "reverse": (0.99, 0.9), "sort": (0.99, None),
    "add": (0.99, None), "translate": (0.98, 0.9), "recall": (0.95, None),
}


def microattn(*args):
    done = subprocess.run([sys.executable, "-m", "microattn", *map(str, args)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    return done.stdout


def final_metrics(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


@pytest.mark.parametrize("task", TARGETS)
def test_task_reaches_its_target(tmp_path, task):
    microattn("train", task, "--out", tmp_path / task, "--quiet")
    metrics = final_metrics(tmp_path / task)
    exact, alignment = TARGETS[task]
    assert metrics["held_out_exact"] >= exact, metrics
    if alignment is not None:
        assert metrics["alignment"] >= alignment, metrics
    if task == "add":
        assert microattn("predict", tmp_path / task, "123+456").strip() == "579"
    if task == "translate":
        for english, spanish in [("the ball is blue", "la bola es azul"),
                                 ("the black cat drank the milk", "el gato negro bebió la leche")]:
            assert microattn("predict", tmp_path / task, english).strip() == spanish


def test_charlm_beats_the_unigram_baseline(tmp_path):
    microattn("train", "charlm", "--out", tmp_path / "charlm", "--quiet")
    metrics = final_metrics(tmp_path / "charlm")
    assert metrics["held_out_loss"] <= 0.6 * metrics["baseline_loss"], metrics
    sample = microattn("sample", tmp_path / "charlm", "--prompt", "The ", "--tokens", "100",
                       "--temperature", "0.8")
    assert sample.startswith("The ") and len(sample) > 100


def test_the_task_file_in_the_docs_trains(tmp_path):
    """docs/tasks.md's complete example of a task file, trained to its target."""
    docs = Path(__file__).parents[2] / "docs" / "tasks.md"
    code = re.search(r"```python\n(# count_letters\.py.*?)```", docs.read_text(), re.S).group(1)
    (tmp_path / "count_letters.py").write_text(code)
    microattn("train", tmp_path / "count_letters.py", "--out", tmp_path / "run", "--quiet")
    assert final_metrics(tmp_path / "run")["held_out_exact"] >= 0.95
    assert microattn("predict", tmp_path / "run", "abca").strip() == "a2 b1 c1"
