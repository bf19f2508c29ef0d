"""Fused cross-entropy: log-softmax and negative log-likelihood in one node."""
import numpy as np

from ..autograd import Function
from .nn_ops import log_softmax_forward

REDUCTIONS = ("mean", "sum", "none")


def counted_targets(target, scores_shape, ignore_index, op=""):
    """The rows that count (target != ignore_index), after checking that target
    has the shape of the scores (..., C) without C and counted targets lie in [0, C).
    ``op`` prefixes the error messages (Function.apply names the op by itself)."""
    op = f"{op}: " if op else ""
    if target.shape != scores_shape[:-1]:
        raise ValueError(f"{op}target of shape {target.shape} does not match input of shape "
                         f"{scores_shape}: expected target shape {scores_shape[:-1]} "
                         "(the class dim is last)")
    num_classes = scores_shape[-1]
    counted = target != ignore_index
    out_of_range = counted & ((target < 0) | (target >= num_classes))
    if out_of_range.any():
        raise IndexError(f"{op}target {target[out_of_range][0]} is out of bounds for "
                         f"{num_classes} classes")
    return counted


class CrossEntropy(Function):
    """Cross-entropy of logits z (..., C) against integer targets t (...), as PyTorch.

    With p = softmax(z) over the last dim, smoothing e and the smoothed target
    q = (1 - e) onehot(t) + e / C, each row's loss is

        l = -sum_c q_c log p_c = -(1 - e) log p_t - (e / C) sum_c log p_c

    Rows whose target is ``ignore_index`` give 0 and no gradient. 'mean'
    divides the sum by the number n of rows not ignored (nan when n = 0, as
    PyTorch), 'sum' sums, 'none' keeps the shape of t.

    Backward: since sum_c q_c = 1, dl/dz = p - q; so dL/dz = (p - q) * w, with
    w = g per row ('none'), g ('sum') or g / n ('mean'), and 0 on ignored rows.
    """

    def forward(ctx, logits, target, ignore_index, label_smoothing, reduction):
        valid = counted_targets(target, logits.shape, ignore_index)
        target = np.where(valid, target, 0)  # any class index will do on ignored rows
        log_p = log_softmax_forward(logits)
        picked = np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
        loss = -(1 - label_smoothing) * picked
        if label_smoothing:
            loss = loss - label_smoothing * log_p.mean(axis=-1)
        loss = np.where(valid, loss, 0)
        count = int(valid.sum())
        ctx.save_for_backward(log_p, target, valid)
        ctx.label_smoothing, ctx.reduction, ctx.count = label_smoothing, reduction, count
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "mean":
            total = total / count if count else np.nan
        return np.asarray(total, dtype=logits.dtype)

    def backward(ctx, g):
        log_p, target, valid = ctx.saved_tensors
        smoothing, reduction, count = ctx.label_smoothing, ctx.reduction, ctx.count
        dz = np.exp(log_p)
        if smoothing:
            dz -= smoothing / log_p.shape[-1]
        np.put_along_axis(dz, target[..., None],
                          np.take_along_axis(dz, target[..., None], axis=-1) - (1 - smoothing),
                          axis=-1)
        if reduction == "mean":
            # With no row counted the loss is nan but, as in PyTorch, the gradient is 0.
            g = g / count if count else np.zeros_like(g)
        dz *= (g * valid)[..., None]
        return dz, None, None, None, None
