"""More of ``torch.nn.functional``: pad, one_hot, the smooth activations, and
the binary cross-entropy, KL-divergence and L1 losses. functional.py
re-exports every name here, so ``F.pad`` is found where learners look.
"""
import numpy as np

from .autograd import Function, Tensor
from .autograd.tensor import unwrap
from .ops import pointwise_more as pw
from .ops.inplace import write
from .ops.pointwise_more import clamp, softplus
from .ops.fused import REDUCTIONS

__all__ = ["pad", "one_hot", "silu", "leaky_relu", "elu", "softplus", "logsigmoid",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "l1_loss",
           "normalize", "cosine_similarity"]


def _reduce(loss, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


class Pad(Function):
    """z = x with ``value`` added around it (widths per dim, before and after).
    dL/dx = g without the added border"""

    def forward(ctx, x, widths, value):
        ctx.inner = tuple(slice(before, n + before) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, g):
        return g[ctx.inner], None, None


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then
    ``(left, right, top, bottom)`` for the last two, ... as torch's F.pad."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of widths for at most {input.ndim} "
                         f"dims, got {tuple(pad)}")
    if any(p < 0 for p in pad):
        raise NotImplementedError("pad: negative widths (cropping) are not supported")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(input, tuple(widths), 0 if value is None else value)


def one_hot(tensor, num_classes=-1):
    """(..., num_classes) int64 with a 1 at each index of the integer ``tensor``."""
    indices = unwrap(tensor)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensors, got dtype "
                           f"{indices.dtype}")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._make((indices[..., None] == np.arange(num_classes)).astype(np.int64), None)


def silu(input, inplace=False):
    """x sigmoid(x); ``inplace=True`` overwrites ``input``."""
    return write(input, "silu_", pw.silu) if inplace else pw.silu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope x; ``inplace=True`` overwrites ``input``."""
    if inplace:
        return write(input, "leaky_relu_", lambda x: pw.leaky_relu(x, negative_slope))
    return pw.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (e^x - 1); ``inplace=True`` overwrites ``input``."""
    if inplace:
        return write(input, "elu_", lambda x: pw.elu(x, alpha))
    return pw.elu(input, alpha)


def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x)."""
    return -softplus(-input)


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


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` against ``target`` in [0, 1]."""
    if tuple(unwrap(target).shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy: target of shape {unwrap(target).shape} "
                         f"differs from input of shape {tuple(input.shape)}")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE of sigmoid(input), computed stably from the logits:
    l = (1 - t) x + w_t softplus(-x),  w_t = 1 + (pos_weight - 1) t."""
    if tuple(unwrap(target).shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target of shape "
                         f"{unwrap(target).shape} differs from input of shape "
                         f"{tuple(input.shape)}")
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + log_weight * softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target (log target - input), 0 where
    target is 0; ``input`` holds log-probabilities. 'batchmean' divides the sum
    by the batch size (the true KL divergence), 'mean' by the number of elements."""
    if log_target:
        loss = target.exp() * (target - input)
    else:
        t = unwrap(target)
        positive = Tensor._make(t > 0, None)
        safe = target.masked_fill(~positive, 1.0) if isinstance(target, Tensor) \
            else Tensor._make(np.where(t > 0, t, 1.0), None)
        loss = (target * safe.log()).masked_fill(~positive, 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def l1_loss(input, target, reduction="mean"):
    return _reduce((input - target).abs(), reduction)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along ``dim``."""
    return input / clamp(input.norm(p, dim, keepdim=True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim``."""
    norms = clamp(x1.norm(2, dim), min=eps) * clamp(x2.norm(2, dim), min=eps)
    return (x1 * x2).sum(dim) / norms
