"""Cross-entropy in one node: of logits against integer targets, and binary (of
probabilities against targets in [0, 1])."""
import numpy as np

from ..core import Function
from ..core.tensor import working
from .softmax import log_softmax_forward

REDUCTIONS = ("mean", "sum", "none")


def counted_targets(target, num_classes, ignore_index, op=""):
    """The targets that count (!= ignore_index), after checking they lie in [0, C).
    ``op`` prefixes the error message (Function.apply names the op by itself)."""
    counted = target != ignore_index
    out_of_range = counted & ((target < 0) | (target >= num_classes))
    if out_of_range.any():
        op = f"{op}: " if op else ""
        raise IndexError(f"{op}target {target[out_of_range][0]} is out of bounds for "
                         f"{num_classes} classes")
    return counted


class CrossEntropy(Function):
    """Cross-entropy of logits z (N, C) against integer targets t (N,), as PyTorch
    (F.cross_entropy brings any other layout to this one).

    With p = softmax(z) over the classes, smoothing e and the smoothed target
    q = (1 - e) onehot(t) + e / C, each row's loss is

        l = -sum_c q_c log p_c = -(1 - e) log p_t - (e / C) sum_c log p_c

    Rows whose target is ``ignore_index`` give 0 and no gradient. 'mean'
    divides the sum by the number n of rows not ignored (nan when n = 0, as
    PyTorch), 'sum' sums, 'none' keeps one loss per row.

    Backward: since sum_c q_c = 1, dl/dz = p - q; so dL/dz = (p - q) * w, with
    w = g per row ('none'), g ('sum') or g / n ('mean'), and 0 on ignored rows.
    """

    def forward(ctx, logits, target, ignore_index, label_smoothing, reduction):
        valid = counted_targets(target, logits.shape[-1], ignore_index)
        target = np.where(valid, target, 0)  # any class index will do on ignored rows
        log_p = working(log_softmax_forward(working(logits)))
        rows = np.arange(len(target))
        loss = -(1 - label_smoothing) * log_p[rows, target]
        if label_smoothing:
            loss -= label_smoothing * log_p.mean(axis=-1)
        loss[~valid] = 0
        count = int(valid.sum())
        ctx.save_for_backward(log_p, target, valid)
        ctx.label_smoothing, ctx.reduction, ctx.count = label_smoothing, reduction, count
        ctx.dtype_out = logits.dtype
        if reduction == "none":
            return loss.astype(logits.dtype, copy=False)
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
        dz[np.arange(len(target)), target] -= 1 - smoothing
        if reduction == "mean":
            # With no row counted the loss is nan but, as in PyTorch, the gradient is 0.
            g = g / count if count else np.zeros_like(g)
        dz *= (g * valid)[:, None]
        return dz.astype(ctx.dtype_out, copy=False), None, None, None, None


class BinaryCrossEntropy(Function):
    """l = -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch's.
    dL/dp = g (p - t) / max(p (1 - p), 1e-12),   dL/dt = g (log(1 - p) - log p)"""

    promote = (0, 1)

    def forward(ctx, p, t):
        if ((p < 0) | (p > 1)).any():
            raise RuntimeError("binary_cross_entropy: all elements of input should be "
                               "between 0 and 1")
        with np.errstate(divide="ignore"):
            log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, t, log_p, log_q)
        return -(t * log_p + (1 - t) * log_q)

    def backward(ctx, g):
        p, t, log_p, log_q = ctx.saved_tensors
        dp = g * (p - t) / np.maximum(p * (1 - p), 1e-12)
        dt = g * (log_q - log_p) if ctx.needs_input_grad[1] else None
        return dp, dt
