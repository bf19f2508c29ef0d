"""Exercise 8: scaled dot-product attention, fused, checked against the library's."""
import math

import numpy as np

from .. import references
from ..comparison import compare, gradcheck, run, unpack
from ..learner_ops import functions_of
from ..mistakes import (ATTENTION_DK_NOT_TRANSPOSED, ATTENTION_DV_NOT_TRANSPOSED,
                        ATTENTION_MASK_AFTER_SOFTMAX, ATTENTION_NO_ROW_TERM,
                        ATTENTION_NO_SCALE, ATTENTION_NO_SCALE_BACKWARD, SIGN_FLIPPED)

TITLE = "scaled dot-product attention backward, with masks"
TEACHES = "attention's backward: two matmul backwards around a softmax backward, and the scale"
HINTS = (
    "attention returns (out, P): out (..., Tq, dv), P (..., Tq, Tk). attention_backward "
    "returns (dq, dk, dv) shaped like q, k and v.",
    "Chain the rules: out = P v gives dv = P^T g and dP = g v^T; P = softmax(S) gives dS = "
    "softmax_backward(P, dP); S = q k^T / sqrt(d) gives dq = dS k / sqrt(d), dk = dS^T q / sqrt(d).",
    "scale = 1 / math.sqrt(q.shape[-1])",
)


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _case_masks(rng):
    """(q, k, v shapes, mask): none, causal, padding over 4-D heads, cross-attention."""
    padding = np.ones((2, 1, 1, 5), dtype=bool)
    padding[0, ..., 3:] = False
    blocked = rng.random((3, 6)) < 0.4
    blocked[:, 0] = False  # every query keeps a key
    return [(((2, 4, 4), (2, 4, 4), (2, 4, 4)), None),
            (((5, 3), (5, 3), (5, 2)), np.tri(5, dtype=bool)),
            (((2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4)), padding),
            (((2, 3, 4), (2, 6, 4), (2, 6, 3)), ~blocked)]


def forward_mistakes(q, k, v, mask):
    scores = q @ _swap(k)
    scaled = scores / math.sqrt(q.shape[-1])

    def weights(s, after=False):
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        return p * mask if after and mask is not None else p
    blocked = (lambda s: s) if mask is None else (lambda s: np.where(mask, s, -np.inf))
    return {ATTENTION_MASK_AFTER_SOFTMAX: lambda: weights(scaled, after=True) @ v,
            ATTENTION_NO_SCALE: lambda: weights(blocked(scores)) @ v}


def backward_mistakes(q, k, v, p, g, expected):
    """{Mistake: wrong value} for each of dq, dk and dv (lazy: some fit square shapes only)."""
    scale = 1 / math.sqrt(q.shape[-1])
    dp = g @ _swap(v)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    no_row = p * dp
    dq, dk, dv = expected
    return ({ATTENTION_NO_SCALE_BACKWARD: dq / scale, SIGN_FLIPPED: -dq,
             ATTENTION_NO_ROW_TERM: lambda: no_row @ k * scale},
            {ATTENTION_NO_SCALE_BACKWARD: dk / scale, SIGN_FLIPPED: -dk,
             ATTENTION_DK_NOT_TRANSPOSED: lambda: ds @ q * scale,
             ATTENTION_NO_ROW_TERM: lambda: _swap(no_row) @ q * scale},
            {ATTENTION_DV_NOT_TRANSPOSED: lambda: p @ g, SIGN_FLIPPED: -dv})


def check(module, rng):
    """Forward (out and P) and backward with no mask, a causal mask, a padding mask over
    heads and cross-attention, float64 and float32, then central differences."""
    cases = _case_masks(rng)
    for shapes, mask in cases:
        for dtype in (np.float64, np.float32):
            q, k, v = (rng.standard_normal(s).astype(dtype) for s in shapes)
            what, result = run("attention", module.attention, q=q, k=k, v=v, mask=mask)
            out, p = unpack(what, result, ("out", "P"))
            expected_out, expected_p = references.attention(q, k, v, mask)
            compare(f"{what}: out", out, expected_out, forward_mistakes(q, k, v, mask), dtype)
            compare(f"{what}: P", p, expected_p, dtype=dtype)
            g = rng.standard_normal(expected_out.shape).astype(dtype)
            what, result = run("attention_backward", module.attention_backward, q=q, k=k, v=v,
                               p=expected_p, g=g)
            grads = unpack(what, result, ("dq", "dk", "dv"))
            expected = references.attention_backward(q, k, v, mask, g)
            mistakes = backward_mistakes(q, k, v, expected_p, g, expected)
            for name, got, want, wrong in zip(("dq", "dk", "dv"), grads, expected, mistakes):
                compare(f"{what}: {name}", got, want, wrong, dtype)
    mask = np.tri(4, dtype=bool)
    gradcheck("central differences of your attention, causal, q k v (2, 4, 3) float64",
              lambda q, k, v: functions_of({8: module}).attention.apply(q, k, v, mask)[0],
              [rng.standard_normal((2, 4, 3)) for _ in range(3)])
    return 2 * len(cases) + 1
