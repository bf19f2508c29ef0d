"""tests/pytorch_files/d2l_attention.py, d2l's attention code as plain PyTorch, runs
unchanged on microattn (``python -m microattn.as_torch``) for several AdamW steps,
with PyTorch's losses and gradient norms from the same weights."""
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).parent / "pytorch_files" / "d2l_attention.py"


def _reports(tmp_path, monkeypatch, style):
    weights, ours, theirs = (tmp_path / "init.npz", tmp_path / "ma.json",
                             tmp_path / "torch.json")
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--masked-softmax", style, "--save-init",
                                      str(weights), "--report", str(theirs)])
    rng_state = torch.random.get_rng_state()
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    finally:
        torch.random.set_rng_state(rng_state)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "microattn.as_torch", str(SCRIPT),
                             "--masked-softmax", style, "--load-init", str(weights),
                             "--report", str(ours)], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr
    return json.loads(ours.read_text()), json.loads(theirs.read_text())


def _assert_same_training(ours, theirs):
    assert (ours["torch"], theirs["torch"]) == ("microattn", "torch")
    assert len(ours["losses"]) == 4
    # per step: the classifier's loss, the seq2seq loss, the gradient norm before clipping
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["attention"], theirs["attention"], rtol=0, atol=1e-5)


def test_d2l_attention_with_torch_where_masking_trains_as_pytorch(tmp_path, monkeypatch):
    _assert_same_training(*_reports(tmp_path, monkeypatch, "where"))


def test_d2l_attention_as_written_trains_as_pytorch(tmp_path, monkeypatch):
    # sequence_mask writes X[~mask] = -1e6 into a reshaped view of the scores
    _assert_same_training(*_reports(tmp_path, monkeypatch, "d2l"))
