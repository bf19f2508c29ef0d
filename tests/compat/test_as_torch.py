"""PyTorch files run unchanged on microattn: install_as_torch() and
``python -m microattn.as_torch``. The yardstick is tests/compat/pytorch_files/tiny_gpt.py,
a small GPT written for PyTorch, trained under both from the same weights."""
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

FILES = Path(__file__).parent / "pytorch_files"
SCRIPT = FILES / "train_tiny_gpt.py"


def _run(args, cwd=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result


def _run_here(script, args, monkeypatch):
    """Run ``script`` as __main__ in this process (PyTorch is imported here already)."""
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    monkeypatch.setattr(sys, "path", list(sys.path))
    rng_state = torch.random.get_rng_state()  # the script seeds PyTorch's generator
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.random.set_rng_state(rng_state)
        sys.modules.pop("tiny_gpt", None)


def test_tiny_gpt_trains_and_samples_the_same_under_torch_and_microattn(tmp_path, monkeypatch):
    weights = tmp_path / "init.npz"
    _run_here(SCRIPT, ["--save-init", str(weights), "--report", str(tmp_path / "torch.json")],
              monkeypatch)
    result = _run(["-m", "microattn.as_torch", str(SCRIPT), "--load-init", str(weights),
                   "--report", str(tmp_path / "ma.json")])
    assert "RuntimeWarning" not in result.stderr
    torch_run = json.loads((tmp_path / "torch.json").read_text())
    ma_run = json.loads((tmp_path / "ma.json").read_text())
    assert (torch_run["torch"], ma_run["torch"]) == ("torch", "microattn")
    assert len(ma_run["losses"]) == 5
    np.testing.assert_allclose(ma_run["losses"], torch_run["losses"], rtol=0, atol=1e-4)
    # after training, both attention paths (sdpa and the explicit masked softmax)
    for key in ("eval_sdpa", "eval_explicit"):
        assert abs(ma_run[key] - torch_run[key]) < 1e-4, key
    assert ma_run["params"] == torch_run["params"]
    sample = ma_run["sample"]
    assert len(sample) == 21 and sample[0] == 0 and all(0 <= t < 65 for t in sample)


def test_install_as_torch_resolves_every_module_pytorch_code_imports():
    code = (
        "import microattn as ma\n"
        "ma.install_as_torch()\n"
        "import torch, torch.nn as nn, torch.optim, torch.nn.init\n"
        "from torch.nn import functional as F\n"
        "import torch.nn.functional as F2\n"
        "from torch.optim.lr_scheduler import LambdaLR\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "assert torch is ma and nn is ma.nn and F is ma.functional and F2 is F\n"
        "assert torch.optim is ma.optim and torch.nn.init is ma.nn.init\n"
        "assert not torch.cuda.is_available()\n"
        "x = torch.ones(2, 3, dtype=torch.float32, device='cpu')\n"
        "assert isinstance(x, ma.Tensor) and x.dtype == torch.float32\n"
        "print('ok')\n")
    assert _run(["-c", code]).stdout.strip() == "ok"


def test_install_as_torch_refuses_after_the_real_torch_was_imported():
    # a stand-in for the real torch, already imported: the refusal looks only at the name
    code = ("import sys, types\nsys.modules['torch'] = types.ModuleType('torch')\n"
            "import microattn as ma\n"
            "try:\n    ma.install_as_torch()\nexcept RuntimeError as e:\n    print('refused')\n")
    assert _run(["-c", code]).stdout.strip() == "refused"


def test_as_torch_without_a_script_prints_usage_and_exits_2():
    result = subprocess.run([sys.executable, "-m", "microattn.as_torch"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "usage" in result.stderr


def test_as_torch_passes_arguments_and_runs_the_script_as_main(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import sys, torch\nif __name__ == '__main__':\n"
                      "    print(torch.__name__, sys.argv[1:], torch.tensor([1.5, 2.0]))\n")
    out = _run(["-m", "microattn.as_torch", str(script), "a", "--b"]).stdout.strip()
    assert out == "microattn ['a', '--b'] tensor([1.5000, 2.0000])"


def test_the_example_in_docs_pytorch_md_runs():
    text = (Path(__file__).parents[2] / "docs" / "pytorch.md").read_text()
    example = text.split("```py\n", 1)[1].split("```", 1)[0]
    assert "install_as_torch" in example
    _run(["-c", example])
