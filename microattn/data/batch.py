"""Examples -> padded int64 arrays for the model, in its coordinates.

- seq2seq: the encoder reads ``source <eos>`` (the end marker tells every
  position how far the end is); the decoder reads ``<bos> target`` and
  predicts ``target <eos>``; decoder row j predicts ``target[j]``.
- lm: the GPT reads ``<bos> source target`` and predicts the next token at each
  position; the loss counts only the predictions of ``target <eos>`` (just
  ``target`` for an open-ended task; the source as well for a task with
  ``SCORE_SOURCE``): row ``len(source) + j`` predicts ``target[j]``.
"""
from dataclasses import dataclass

import numpy as np

IGNORE = -100                 # target id that the loss skips (lm positions that are not answers)


@dataclass
class Batch:
    """Padded int64 arrays for the model. seq2seq: ``src`` (B, Ts), ``tgt_in``
    (B, Tt) (``<bos> target``), ``tgt_out`` (B, Tt) (``target <eos>``), and the
    padding masks (True at padding). lm: ``idx`` (B, T) and ``targets`` (B, T),
    ``IGNORE`` where no loss is taken. ``n_tokens``: tokens the model reads."""
    kind: str
    n_tokens: int
    src: np.ndarray = None
    tgt_in: np.ndarray = None
    tgt_out: np.ndarray = None
    src_padding_mask: np.ndarray = None
    tgt_padding_mask: np.ndarray = None
    idx: np.ndarray = None
    targets: np.ndarray = None


def pad(rows, value):
    """Lists of ids -> int64 array (B, longest), right-padded with ``value``."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def seq2seq_batch(tok, examples):
    """(source, target) pairs -> a seq2seq :class:`Batch` (``tok``: the Tokenizer)."""
    src = pad([tok.encode(s) + [tok.eos_id] for s, _ in examples], tok.pad_id)
    tgt = pad([[tok.bos_id] + tok.encode(t) + [tok.eos_id] for _, t in examples], tok.pad_id)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    return Batch("seq2seq", int((src != tok.pad_id).sum() + (tgt_in != tok.pad_id).sum()),
                 src=src, tgt_in=tgt_in, tgt_out=tgt_out,
                 src_padding_mask=src == tok.pad_id, tgt_padding_mask=tgt_in == tok.pad_id)


def lm_batch(tok, examples, open_ended=False, score_source=False):
    """(source, target) pairs -> an lm :class:`Batch`: targets are the next ids, IGNORE
    before the answer (``score_source``: from the first token) and in the padding."""
    rows, answer = [], []
    for s, t in examples:
        ids = [tok.bos_id] + tok.encode(s) + tok.encode(t)
        ids += [] if open_ended else [tok.eos_id]
        rows.append(ids)
        answer.append(0 if score_source else len(s))   # first scored position
    seq = pad(rows, tok.pad_id)
    idx, targets = seq[:, :-1], seq[:, 1:].copy()
    positions = np.arange(targets.shape[1])
    lengths = np.array([len(r) - 1 for r in rows])
    scored = (positions >= np.array(answer)[:, None]) & (positions < lengths[:, None])
    targets[~scored] = IGNORE
    return Batch("lm", int(lengths.sum()), idx=idx, targets=targets)
