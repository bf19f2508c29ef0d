# %% [markdown]
# # Exercise 8: scaled dot-product attention, forward and backward, fused
#
# Each query scores every key, softmax turns a row of scores into weights,
# and the output is the weighted sum of the values. A mask blocks some keys
# (the future, in a decoder; padding). As one fused node, the backward is
# two matmul backwards around a softmax backward: yours, from exercise 4.
# Derivation: docs/derivatives.md, "Scaled dot-product attention", and
# docs/attention.md, section 3.
#
# Check: `microattn learn check 8`; hints: `microattn learn hint 8`.

# %%
import math

import numpy as np

from ex04_softmax import softmax, softmax_backward


def attention(q, k, v, mask=None):
    """(out, P): scaled dot-product attention with an optional boolean mask.

        S = q @ k^T / sqrt(d)         (..., Tq, d) @ (..., d, Tk) -> (..., Tq, Tk)
        S = -inf where mask is False  (mask broadcasts to S; True where attention is allowed)
        P = softmax(S)                along the last dim (exercise 4)
        out = P @ v                   (..., Tq, Tk) @ (..., Tk, dv) -> (..., Tq, dv)

    d is the last dim of q. Every query row allows at least one key.
    """
    # solution:begin
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    p = softmax(scores)
    return p @ v, p
    # solution:end


def attention_backward(q, k, v, p, g):
    """(dq, dk, dv) given the weights P of the forward and g = dL/dout:

        dv = P^T @ g
        dP = g @ v^T
        dS = softmax_backward(P, dP)          (exercise 4: the row term included)
        dq = dS @ k / sqrt(d),    dk = dS^T @ q / sqrt(d)

    ^T swaps the last two axes. Masked entries need nothing: P is 0 there, so dS is too.
    """
    # solution:begin
    scale = 1 / math.sqrt(q.shape[-1])
    dv = np.swapaxes(p, -1, -2) @ g
    ds = softmax_backward(p, g @ np.swapaxes(v, -1, -2))
    return ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, dv
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(8)
