"""``microattn export``: the safetensors file loads into the PyTorch twin of the model
(tests/models/test_training_parity.py) with ``safetensors.torch`` and gives the same logits."""
import subprocess
import sys

import numpy as np
import pytest

from microattn.train import load_trained

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
from models.test_training_parity import TorchGPT, TorchSeq2Seq  # noqa: E402  (needs torch)

TINY = ["--d-model", "16", "--heads", "2", "--layers", "2", "--ff", "32", "--batch-size", "8",
        "--no-pictures"]


def train_and_export(tmp_path, task):
    run_dir, out = tmp_path / task, tmp_path / f"{task}.safetensors"
    for args in (["train", task, "--steps", "3", *TINY, "--out", run_dir, "--quiet"],
                 ["export", run_dir, out]):
        done = subprocess.run([sys.executable, "-m", "microattn", *map(str, args)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return run_dir, out


def test_seq2seq_export_matches_the_torch_twin(tmp_path):
    run_dir, out = train_and_export(tmp_path, "translate")
    task, model, config, _ = load_trained(run_dir)
    twin = TorchSeq2Seq(len(task.tokenizer), len(task.tokenizer), config.d_model, config.heads,
                        config.layers, config.ff, task.model_max_len, task.tokenizer.pad_id,
                        norm_first=True).float()
    twin.load_state_dict(safetensors_torch.load_file(out), strict=True)
    twin.eval()
    examples = task.held_out[:16]
    batch = task.batch(examples)
    ours = np.asarray(model(batch.src, batch.tgt_in).detach().numpy())
    with torch.no_grad():
        theirs = twin(torch.from_numpy(batch.src), torch.from_numpy(batch.tgt_in)).numpy()
    real = ~batch.tgt_padding_mask   # padded query rows are not compared
    np.testing.assert_allclose(ours[real], theirs[real], atol=1e-5, rtol=1e-5)


def test_gpt_export_matches_the_torch_twin(tmp_path):
    run_dir, out = train_and_export(tmp_path, "recall")
    task, model, config, _ = load_trained(run_dir)
    twin = TorchGPT(len(task.tokenizer), config.d_model, config.heads, config.layers,
                    task.model_max_len, config.ff).float()
    twin.load_state_dict(safetensors_torch.load_file(out), strict=True)
    twin.eval()
    batch = task.batch(task.held_out[:16])
    ours = np.asarray(model(batch.idx).detach().numpy())
    with torch.no_grad():
        theirs = twin(torch.from_numpy(batch.idx)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_export_header_carries_the_config_and_vocabulary(tmp_path):
    from safetensors import safe_open
    _, out = train_and_export(tmp_path, "copy")
    with safe_open(out, framework="np") as f:
        metadata = f.metadata()
        names = set(f.keys())
    assert '"d_model": 16' in metadata["microattn_config"] and "<pad>" in metadata["vocab"]
    assert "encoder.layers.0.self_attn.in_proj_weight" in names
    assert not any("q_proj" in name for name in names)
