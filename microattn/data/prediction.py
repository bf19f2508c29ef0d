"""A model's greedy answers for source token lists.

An empty source is a valid question for a language model (the GPT then reads
``<bos>`` alone and answers from nothing, as charlm's open-ended windows do), but
not for a seq2seq model, whose encoder would read ``<eos>`` alone: callers
refuse it there (``microattn predict`` says so in one line).
"""
import numpy as np

from .batch import pad


def predict_seq2seq(model, tok, sources, max_len):
    """Greedy decoding of ``sources`` (at most ``max_len`` answer tokens each)."""
    src = pad([tok.encode(s) + [tok.eos_id] for s in sources], tok.pad_id)
    out = model.greedy_decode(src, max_len + 2, tok.bos_id, tok.eos_id,
                              src_key_padding_mask=src == tok.pad_id)
    return [tok.decode(row) for row in out.numpy()]


def predict_lm(model, tok, sources, max_len):
    """Greedy continuations of ``<bos> source``, grouped by prompt length (a GPT batch
    needs one), each stopping at ``<eos>`` or after ``max_len + 1`` tokens."""
    answers = [None] * len(sources)
    by_length = {}
    for i, s in enumerate(sources):
        by_length.setdefault(len(s), []).append(i)
    for length, rows in by_length.items():
        prompt = np.array([[tok.bos_id] + tok.encode(sources[i]) for i in rows], dtype=np.int64)
        room = max(1, min(max_len + 1, model.max_len - prompt.shape[1]))
        out = model.generate(prompt, room, temperature=0).numpy()
        for i, row in zip(rows, out[:, prompt.shape[1]:]):
            answers[i] = tok.decode(row)
    return answers
