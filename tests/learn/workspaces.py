"""What the learn tests share: the command run as a learner runs it, and file edits."""
import os
import subprocess
import sys
from pathlib import Path

from microattn.learn import exercise

ROOT = Path(__file__).resolve().parents[2]


def microattn(*args, cwd=None, env=None):
    """``python -m microattn *args`` in a subprocess: the CompletedProcess (text)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "microattn", *map(str, args)], cwd=cwd,
                          env=environment, capture_output=True, text=True, timeout=900)


def edit(workspace, number, old, new):
    """Replace the first ``old`` by ``new`` in exercise ``number``'s file (it must be there)."""
    path = workspace.dir / exercise(number).file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1))
