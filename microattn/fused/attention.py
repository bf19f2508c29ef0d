"""Scaled dot-product attention in one node: scores, softmax, weighted values."""
import numpy as np

from ..core import Function
from ..core.tensor import working
from .softmax import softmax_backward, softmax_forward


def _swap(a):
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    return np.swapaxes(a, -1, -2)


class ScaledDotProductAttention(Function):
    """out = D(P) V,  P = softmax(S) along the last dim,  S = scale * Q K^T + B,
    with B the additive mask (-inf where attention is blocked; None for none)
    and D(P) = P * M an (optional) dropout mask M. A row with nothing allowed
    has P = 0, so its output and its gradients are 0.

    Returns (out, P): the attention weights P (before dropout) as a second
    output, which takes no gradient.

    Backward, with g = dL/dout:
        dV = D(P)^T g
        dP = (g V^T) * M
        dS = P * (dP - rowsum(dP * P))     (the softmax backward)
        dQ = scale * dS K,   dK = scale * dS^T Q,   dB = dS
    """

    def forward(ctx, q, k, v, bias, dropout_mask, scale):
        dtype = q.dtype
        q, k, v, bias = working(q), working(k), working(v), working(bias)  # float16 in float32
        scores = q @ _swap(k)
        scores *= scale
        if bias is not None:
            if np.broadcast_shapes(scores.shape, bias.shape) == scores.shape:
                scores += bias
            else:  # the mask adds leading dims
                scores = scores + bias
        p = softmax_forward(scores, -1, empty_rows_zero=True)
        ctx.save_for_backward(q, k, v, p, dropout_mask)
        ctx.scale = scale
        out = (p if dropout_mask is None else p * dropout_mask) @ v
        weights = p.view()
        weights.flags.writeable = False  # the memory backward reads: look, don't touch
        return out.astype(dtype, copy=False), weights.astype(dtype, copy=False)

    def backward(ctx, g):
        g = working(g)
        q, k, v, p, dropout_mask = ctx.saved_tensors
        needs_q, needs_k, needs_v, needs_bias = ctx.needs_input_grad[:4]
        dq = dk = dv = dbias = None
        if needs_v:
            dv = _swap(p if dropout_mask is None else p * dropout_mask) @ g
        if needs_q or needs_k or needs_bias:
            dp = g @ _swap(v)
            if dropout_mask is not None:
                dp *= dropout_mask
            ds = softmax_backward(p, dp, out=dp)  # dP is not needed after: dS in its memory
            if needs_q:
                dq = ds @ k
                dq *= ctx.scale
            if needs_k:
                dk = _swap(ds) @ q
                dk *= ctx.scale
            if needs_bias:
                dbias = ds
        return dq, dk, dv, dbias, None, None
