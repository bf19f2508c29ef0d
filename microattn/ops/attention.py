"""Fused scaled-dot-product attention: one node, with its backward derived by hand."""
import numpy as np

from ..autograd import Function, Tensor
from .nn_ops import softmax_backward, softmax_forward


def check_mask(op, name, mask):
    """Refuse a mask that is neither a tensor nor an ndarray (a nested list, say),
    with a TypeError as PyTorch's; None (no mask) passes."""
    if mask is not None and not isinstance(mask, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: {name} must be a tensor or an ndarray, not "
                        f"{type(mask).__name__}")


def _swap(a):
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    return np.swapaxes(a, -1, -2)


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
        p = softmax_forward(scores, -1, allowed)
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
            dp = g @ _swap(v)
            if dropout_mask is not None:
                dp *= dropout_mask
            ds = softmax_backward(p, dp)
            if needs_q:
                dq = ds @ k
                dq *= ctx.scale
            if needs_k:
                dk = _swap(ds) @ q
                dk *= ctx.scale
            if needs_bias:
                dbias = ds
        return dq, dk, dv, dbias, None, None, None, None
