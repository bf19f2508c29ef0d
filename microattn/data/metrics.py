"""Held-out metrics: exact match (the whole target right) and token accuracy."""
import numpy as np


def exact_match(predictions, targets):
    """Fraction of predictions (lists of tokens) equal to their target as a whole."""
    if not targets:
        return float("nan")
    return float(np.mean([list(p) == list(t) for p, t in zip(predictions, targets, strict=True)]))


def token_accuracy(predictions, targets):
    """Fraction of target tokens, the end of sequence included, that the prediction
    has at the same position (a missing or extra token counts as wrong)."""
    right = total = 0
    for p, t in zip(predictions, targets, strict=True):
        p, t = list(p) + [None], list(t) + [None]   # None marks the end of the sequence
        right += sum(a == b for a, b in zip(p, t))
        total += len(t)
    return right / total if total else float("nan")


def log_loss_baseline(counts_train, counts_eval):
    """Cross-entropy (nats per token) of ``counts_eval`` under the unigram distribution of
    ``counts_train`` (add-one smoothed): the loss a model that ignores context would get."""
    p = (counts_train + 1) / (counts_train + 1).sum()
    return float(-(counts_eval * np.log(p)).sum() / counts_eval.sum())
