"""Fused scaled-dot-product attention: one node, with its backward derived by hand."""
import numpy as np

from ..autograd import Function


def _swap(a):
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    return np.swapaxes(a, -1, -2)


def masked_softmax(scores, allowed):
    """Softmax over the last axis where ``allowed`` (None: everywhere); 0 elsewhere.
    Works in place on ``scores``, which the caller made and does not keep.

    A row with nothing allowed (or all -inf) has max -inf; shifting it by 0
    instead keeps its exp() at 0 rather than nan, so the row comes out as
    zeros instead of 0/0.
    """
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)  # may broadcast to more batch dims
    row_max = scores.max(axis=-1, keepdims=True)
    masked = not np.isfinite(row_max).all()
    if masked:
        row_max[~np.isfinite(row_max)] = 0
    scores -= row_max
    p = np.exp(scores, out=scores)
    total = p.sum(axis=-1, keepdims=True)
    if masked:
        total[total == 0] = 1
    p /= total
    return p


class ScaledDotProductAttention(Function):
    """out = D(P) V,  P = softmax(S) along the last dim,  S = scale * Q K^T + B,
    with S = -inf where ``allowed`` is False, B an additive mask (or None) and
    D(P) = P * M an (optional) dropout mask M. A row with nothing allowed has
    P = 0, so its output and its gradients are 0.

    Backward, with g = dL/dout:
        dV = D(P)^T g
        dP = (g V^T) * M
        dS = P * (dP - rowsum(dP * P))     (the softmax backward)
        dQ = scale * dS K,   dK = scale * dS^T Q,   dB = dS

    ``weights_out``: since a Function returns one array, pass a list to have
    P appended to it (the attention weights, before dropout); None otherwise.
    """

    def forward(ctx, q, k, v, bias, allowed, dropout_mask, scale, weights_out):
        scores = q @ _swap(k)
        scores *= scale
        if bias is not None:
            scores = scores + bias
        p = masked_softmax(scores, allowed)
        if weights_out is not None:
            weights_out.append(p)
        ctx.save_for_backward(q, k, v, p, dropout_mask)
        ctx.scale = scale
        return (p if dropout_mask is None else p * dropout_mask) @ v

    def backward(ctx, g):
        q, k, v, p, dropout_mask = ctx.saved_tensors
        needs_q, needs_k, needs_v, needs_bias = ctx.needs_input_grad[:4]
        dq = dk = dv = dbias = None
        if needs_v:
            dv = _swap(p if dropout_mask is None else p * dropout_mask) @ g
        if needs_q or needs_k or needs_bias:
            ds = g @ _swap(v)  # dP, turned into dS in place:
            if dropout_mask is not None:
                ds *= dropout_mask
            ds *= p
            ds -= p * ds.sum(axis=-1, keepdims=True)  # P * dP - P * rowsum(P * dP)
            if needs_q:
                dq = ds @ k
                dq *= ctx.scale
            if needs_k:
                dk = _swap(ds) @ q
                dk *= ctx.scale
            if needs_bias:
                dbias = ds
        return dq, dk, dv, dbias, None, None, None, None
