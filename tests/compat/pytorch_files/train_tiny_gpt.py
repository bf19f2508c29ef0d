"""Train TinyGPT for a few steps on fixed batches and sample from it: a plain
PyTorch script. The compatibility test runs it under torch and, unchanged,
under microattn (``python -m microattn.as_torch train_tiny_gpt.py ...``).

--save-init PATH   write the initial weights (npz) before training
--load-init PATH   start from those weights instead of this run's own init
--report PATH      write the losses and a sample (json)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_gpt import ModelConfig, TinyGPT  # noqa: E402


def batch_of(rows, device):
    """Inputs and next-token targets, each contiguous (as view() needs)."""
    x = torch.from_numpy(np.ascontiguousarray(rows[:, :-1])).long()
    y = torch.from_numpy(np.ascontiguousarray(rows[:, 1:])).long()
    return x.to(device), y.to(device)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--save-init")
    parser.add_argument("--load-init")
    parser.add_argument("--report", required=True)
    args = parser.parse_args()

    torch.manual_seed(1337)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = ModelConfig()
    model = TinyGPT(cfg).to(device)
    if args.load_init:
        with np.load(args.load_init) as saved:
            model.load_state_dict({k: torch.from_numpy(saved[k]) for k in saved.files})
    if args.save_init:
        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        np.savez(args.save_init, **state)

    data = np.random.default_rng(0).integers(0, cfg.vocab, size=(args.steps, 4, cfg.context + 1))
    optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-3,
                                           betas=(0.9, 0.95), device_type=device)
    losses = []
    model.train()
    for step in range(args.steps):
        x, y = batch_of(data[step], device)
        logits, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())

    # the explicit attention path (mask buffer), from the trained weights
    explicit = TinyGPT(ModelConfig(use_sdpa=False))
    explicit.load_state_dict(model.state_dict(), strict=False)
    model.eval()
    explicit.eval()
    with torch.no_grad():
        x, y = batch_of(data[0], device)
        _, loss_sdpa = model(x, y)
        _, loss_explicit = explicit(x, y)

    start = torch.zeros((1, 1), dtype=torch.long, device=device)
    sample = model.generate(start, max_new_tokens=20, temperature=0.8, top_k=10)
    with open(args.report, "w") as f:
        json.dump({"losses": losses, "eval_sdpa": float(loss_sdpa),
                   "eval_explicit": float(loss_explicit), "sample": sample[0].tolist(),
                   "params": model.num_params(), "torch": torch.__name__}, f)


if __name__ == "__main__":
    main()
