"""End to end: the models learn small tasks through our own backward passes.

Slower than the unit tests (seconds each), so marked slow; `make test` and CI
run them too.
"""
import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn import optim
from microattn.models import GPT, Seq2SeqTransformer

pytestmark = pytest.mark.slow

VOCAB, LENGTH, BATCH = 8, 6, 32


def train(model, batches, loss_fn, steps, lr=3e-3):
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    for _ in range(steps):
        loss = loss_fn(*next(batches))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def test_seq2seq_learns_to_reverse_sequences():
    ma.manual_seed(0)
    rng = np.random.default_rng(0)
    bos, eos = VOCAB, VOCAB + 1
    model = Seq2SeqTransformer(VOCAB + 2, VOCAB + 2, d_model=32, nhead=4, num_encoder_layers=2,
                               num_decoder_layers=2, dim_feedforward=64, dropout=0.0,
                               max_len=16)

    def batches():
        while True:
            src = rng.integers(0, VOCAB, (BATCH, LENGTH))
            tgt = np.concatenate([np.full((BATCH, 1), bos), src[:, ::-1],
                                  np.full((BATCH, 1), eos)], axis=1)
            yield src, tgt

    def loss_fn(src, tgt):
        logits = model(ma.tensor(src), ma.tensor(tgt[:, :-1]))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               ma.tensor(tgt[:, 1:].reshape(-1)))

    final_loss = train(model, batches(), loss_fn, steps=300)
    src = rng.integers(0, VOCAB, (64, LENGTH))
    decoded = model.greedy_decode(ma.tensor(src), max_len=LENGTH + 2, bos=bos, eos=eos)
    token_accuracy = (np.asarray(decoded.detach().numpy())[:, 1:LENGTH + 1] == src[:, ::-1]).mean()
    assert final_loss < 0.2  # from log(10) = 2.3 at chance
    assert token_accuracy > 0.9


def test_gpt_learns_to_copy_the_first_half():
    ma.manual_seed(0)
    rng = np.random.default_rng(0)
    model = GPT(VOCAB, d_model=32, nhead=4, num_layers=2, max_len=2 * LENGTH,
                dim_feedforward=64, dropout=0.0)

    def batches():
        while True:
            half = rng.integers(0, VOCAB, (BATCH, LENGTH))
            yield (np.concatenate([half, half], axis=1),)

    def loss_fn(sequence):
        # Only the second half is predictable: score the predictions of it.
        logits = model(ma.tensor(sequence[:, :-1]))[:, LENGTH - 1:]
        return F.cross_entropy(logits.reshape(-1, VOCAB), ma.tensor(sequence[:, LENGTH:].reshape(-1)))

    final_loss = train(model, batches(), loss_fn, steps=300)
    prompt = rng.integers(0, VOCAB, (64, LENGTH))
    completed = model.generate(ma.tensor(prompt), max_new_tokens=LENGTH, temperature=0)
    accuracy = (np.asarray(completed.detach().numpy())[:, LENGTH:] == prompt).mean()
    assert final_loss < 0.2  # from log(8) = 2.1 at chance
    assert accuracy > 0.9
