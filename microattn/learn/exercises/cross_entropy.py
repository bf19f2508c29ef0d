"""Exercise 5: cross-entropy over logits with ignore_index, checked against the library's."""
import numpy as np

from .. import references
from ..comparison import compare, gradcheck, run
from ..learner_ops import functions_of
from ..mistakes import (CE_IGNORED_NOT_ZERO, CE_MEAN_OVER_ALL, CE_NO_SOFTMAX, CE_NOT_AVERAGED,
                        SIGN_FLIPPED)

TITLE = "cross-entropy over logits, with ignore_index"
TEACHES = "log-softmax computed stably, the p - onehot gradient, and what padding must not count"
HINTS = (
    "cross_entropy returns one number; cross_entropy_backward an array shaped like logits, "
    "with zero rows where the target is ignore_index.",
    "For a counted row, dL/dz = (softmax(z) - onehot(t)) / n, n the number of counted rows "
    "(not all rows).",
    "counted = target != ignore_index",
)

# (rows, classes, ignore_index, rows ignored, logit scale)
CASES = [(6, 5, -100, 0, 2.0), (7, 4, -100, 2, 2.0), (8, 6, 0, 3, 2.0), (5, 3, -100, 1, 400.0),
         (1, 9, -100, 0, 1.0)]


def _parts(logits, target, ignore_index):
    counted = target != ignore_index
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(target))[counted], target[counted]] = 1
    return counted, p, onehot


def loss_mistakes(logits, target, ignore_index, expected):
    total = expected * (target != ignore_index).sum()
    return {CE_MEAN_OVER_ALL: total / len(target), CE_NOT_AVERAGED: total}


def grad_mistakes(logits, target, ignore_index, expected):
    counted, p, onehot = _parts(logits, target, ignore_index)
    n, rows = counted.sum(), counted[:, None]
    # An ignored row that keeps its softmax, with or without a one-hot at some class.
    kept = p.copy()
    kept[np.arange(len(target)), np.where(counted, target, 0)] -= 1
    return {CE_MEAN_OVER_ALL: (p - onehot) * rows / len(target),
            CE_IGNORED_NOT_ZERO: [(p - onehot) / n, kept / n],
            CE_NOT_AVERAGED: (p - onehot) * rows,
            CE_NO_SOFTMAX: (logits - onehot) * rows / n, SIGN_FLIPPED: -expected}


def _target(rng, rows, classes, ignore_index, ignored):
    target = rng.integers(1 if ignore_index == 0 else 0, classes, size=rows)
    target[rng.permutation(rows)[:ignored]] = ignore_index
    return target


def check(module, rng):
    """Loss and gradient with and without ignored rows, huge logits, float64 and float32,
    then central differences of your loss against your backward."""
    for rows, classes, ignore_index, ignored, scale in CASES:
        for dtype in (np.float64, np.float32):
            logits = (rng.standard_normal((rows, classes)) * scale).astype(dtype)
            target = _target(rng, rows, classes, ignore_index, ignored)
            what, loss = run("cross_entropy", module.cross_entropy, logits=logits,
                             target=target, ignore_index=ignore_index)
            expected = references.cross_entropy(logits, target, ignore_index)
            compare(what, loss, expected, loss_mistakes(logits, target, ignore_index, expected))
            what, grad = run("cross_entropy_backward", module.cross_entropy_backward,
                             logits=logits, target=target, ignore_index=ignore_index)
            expected = references.cross_entropy_backward(logits, target, ignore_index)
            compare(what, grad, expected,
                    grad_mistakes(logits, target, ignore_index, expected), dtype)
    target = _target(rng, 4, 5, -100, 1)
    gradcheck("central differences of your cross_entropy, (4, 5) float64",
              lambda z: functions_of({5: module}).cross_entropy.apply(z, target, -100),
              [rng.standard_normal((4, 5))])
    return 2 * len(CASES) + 1
