"""Small stand-ins for the training side, for the picture tests: two toy tasks that
follow the Task API of COMMON.md (seq2seq ``reverse`` and lm ``copy``) and a loop
that calls the callbacks the way ``microattn.train`` does."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import microattn as ma
from microattn import functional as F, optim
from microattn.models import GPT, Seq2SeqTransformer

SPECIALS = ["<pad>", "<bos>", "<eos>"]
SYMBOLS = [str(i) for i in range(6)] + ["|"]
VOCAB = SPECIALS + SYMBOLS
ID = {t: i for i, t in enumerate(VOCAB)}
PAD, BOS, EOS = 0, 1, 2


def _pad(rows):
    width = max(len(r) for r in rows)
    return np.array([r + [PAD] * (width - len(r)) for r in rows], dtype=np.int64)


class ReverseTask:
    """seq2seq: the target is the source reversed; cross-attention should be anti-diagonal."""

    name, kind, description = "reverse", "seq2seq", "reverse a sequence of digits"

    def __init__(self, n_held_out=40, length=(4, 6)):
        rng = np.random.default_rng(7)
        self.length = length
        self.held_out = [self.example(rng) for _ in range(n_held_out)]

    def example(self, rng):
        n = int(rng.integers(self.length[0], self.length[1] + 1))
        source = [str(t) for t in rng.integers(0, 6, n)]
        return source, source[::-1]

    def batch(self, examples):
        src = _pad([[ID[t] for t in s] + [EOS] for s, _ in examples])
        tgt = _pad([[BOS] + [ID[t] for t in t_] + [EOS] for _, t_ in examples])
        return SimpleNamespace(src=src, tgt_in=tgt[:, :-1], tgt_out=tgt[:, 1:])

    def loss(self, model, batch):
        logits = model(batch.src, batch.tgt_in)
        return F.cross_entropy(logits.reshape(-1, len(VOCAB)), batch.tgt_out.reshape(-1),
                               ignore_index=PAD)

    def attention_view(self, example):
        source, target = example
        src = source + ["<eos>"]
        dec = ["<bos>"] + target
        return {"encoder": (src, src), "decoder": (dec, dec), "cross": (dec, src)}

    def expected_mask(self, example):
        source, target = example
        n = len(source)
        mask = np.zeros((len(target) + 1, n + 1), dtype=bool)
        mask[np.arange(n), n - 1 - np.arange(n)] = True
        return "cross", mask

    def predict(self, model, source):
        src = np.array([[ID[t] for t in source] + [EOS]])
        out = model.greedy_decode(src, max_len=len(source) + 2, bos=BOS, eos=EOS).data[0, 1:]
        return [VOCAB[i] for i in out if i not in (PAD, EOS)]

    def model(self, layers=2, d_model=16, nhead=2):
        return Seq2SeqTransformer(len(VOCAB), len(VOCAB), d_model, nhead, layers, layers,
                                  2 * d_model, 0.0, 16, pad_idx=PAD)


class CopyTask:
    """lm: a sequence, '|', then the same sequence again."""

    name, kind, description = "copy", "lm", "copy a sequence after a separator"

    def __init__(self, n_held_out=40):
        rng = np.random.default_rng(3)
        self.held_out = []
        for _ in range(n_held_out):
            source = [str(t) for t in rng.integers(0, 6, 4)]
            self.held_out.append((source, list(source)))

    def tokens(self, example):
        source, target = example
        return ["<bos>"] + source + ["|"] + target + ["<eos>"]

    def batch(self, examples):
        ids = _pad([[ID[t] for t in self.tokens(e)] for e in examples])
        return SimpleNamespace(x=ids[:, :-1], y=ids[:, 1:])

    def loss(self, model, batch):
        logits = model(batch.x)
        return F.cross_entropy(logits.reshape(-1, len(VOCAB)), batch.y.reshape(-1),
                               ignore_index=PAD)

    def attention_view(self, example):
        seq = self.tokens(example)[:-1]
        return {"decoder": (seq, seq)}

    def expected_mask(self, example):
        n = len(example[0])
        seq = self.tokens(example)[:-1]
        mask = np.zeros((len(seq), len(seq)), dtype=bool)
        for i in range(n):  # the position before target i looks at source i
            mask[n + 1 + i, 1 + i] = True
        return "decoder", mask

    def model(self, layers=2, d_model=16, nhead=2):
        return GPT(len(VOCAB), d_model, nhead, layers, 16)


def train_briefly(task, model, run_dir, callbacks, steps=12, eval_every=4, batch_size=16,
                  lr=3e-3):
    """A few Adam steps the way microattn.train runs them, calling the callbacks and
    writing metrics.jsonl; returns the ``run`` object."""
    ma.manual_seed(0)
    rng = np.random.default_rng(0)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    opt = optim.Adam(model.parameters(), lr=lr)
    run = SimpleNamespace(dir=run_dir, config={"task": task.name, "steps": steps, "lr": lr},
                          task=task, model=model, optimizer=opt, scheduler=None, step=0,
                          metrics=[])
    for cb in callbacks:
        getattr(cb, "on_train_begin", lambda r: None)(run)
    for step in range(1, steps + 1):
        model.train()
        examples = [task.held_out[int(i)] for i in rng.integers(0, len(task.held_out),
                                                                 batch_size)]
        opt.zero_grad()
        loss = task.loss(model, task.batch(examples))
        loss.backward()
        opt.step()
        run.step = step
        for cb in callbacks:
            getattr(cb, "on_step", lambda *a: None)(run, step, loss.item())
        if step % eval_every == 0 or step == steps:
            model.eval()
            with ma.no_grad():
                held = task.loss(model, task.batch(task.held_out[:8])).item()
            metrics = {"step": step, "loss": held, "held_out_exact": step / (2 * steps),
                       "held_out_token_acc": step / steps * 0.8,
                       "alignment": min(1.0, step / steps), "lr": lr}
            run.metrics.append(metrics)
            with open(run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(metrics) + "\n")
            for cb in callbacks:
                getattr(cb, "on_eval", lambda *a: None)(run, metrics)
    for cb in callbacks:
        getattr(cb, "on_train_end", lambda r: None)(run)
    return run


def require(what, available):
    """Skip a test locally when ``what`` is missing; fail it in CI (CI set), where
    every picture test must really run."""
    import os

    import pytest
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: the picture tests must not skip")
    pytest.skip(f"{what} is not installed")
