"""The learner's ops as autograd nodes, and the swap that trains a model on them.

Each exercise from 4 to 8 gives a forward and a backward on numpy arrays; the
Functions here make each pair one node of the graph (forward runs the
learner's forward, backward the learner's backward), exactly as the library's
fused ops are nodes. :func:`learner_ops` then points the functional entry points
the library's layers call (``F.softmax``, ``F.cross_entropy``, ``F.layer_norm``,
``F.embedding``, ``F.scaled_dot_product_attention``) at those nodes for the
length of a ``with`` block, and restores them after: the model, the loop and the
run folder stay the library's; only the ops are the learner's.
"""
import contextlib
from types import SimpleNamespace

import numpy as np

import microattn as ma
from microattn import functional as F

from .comparison import LearnerCodeError, learner_frame


def _run(fn, *args):
    """``fn(*args)``, any exception from it as a LearnerCodeError (a RuntimeError, so that
    Function.apply passes it on as it is, line number included)."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as error:
        where = learner_frame(error) or fn.__module__
        raise LearnerCodeError(f"your {fn.__name__} raised {type(error).__name__}: {error} "
                               f"({where})") from error


def _like(array, reference):
    """The learner's result as an array of ``reference``'s dtype (numbers included)."""
    return np.asarray(array, dtype=reference.dtype)


class LearnerFunction(ma.Function):
    """A node running a learner's forward and backward: ``module`` is their exercise file."""
    module = None


class Softmax(LearnerFunction):
    """y = softmax(x) along the last dim; dL/dx = softmax_backward(y, g) (exercise 4)."""

    def forward(ctx, x):
        y = _like(_run(ctx.module.softmax, x), x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _like(_run(ctx.module.softmax_backward, y, g), g)


class CrossEntropy(LearnerFunction):
    """Mean cross-entropy of logits (N, C) against targets (N,) (exercise 5);
    dL/dlogits = g * cross_entropy_backward(logits, target, ignore_index)."""

    def forward(ctx, logits, target, ignore_index):
        ctx.save_for_backward(logits, target)
        ctx.ignore_index = ignore_index
        return _like(_run(ctx.module.cross_entropy, logits, target, ignore_index), logits)

    def backward(ctx, g):
        logits, target = ctx.saved_tensors
        grad = _run(ctx.module.cross_entropy_backward, logits, target, ctx.ignore_index)
        return _like(grad * g, logits), None, None


class LayerNorm(LearnerFunction):
    """Layer norm over the last dim (exercise 6); backward gives (dx, dweight, dbias)."""

    def forward(ctx, x, weight, bias, eps):
        ctx.save_for_backward(x, weight)
        ctx.eps = eps
        return _like(_run(ctx.module.layer_norm, x, weight, bias, eps), x)

    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        dx, dweight, dbias = _run(ctx.module.layer_norm_backward, x, weight, g, ctx.eps)
        return _like(dx, g), _like(dweight, g), _like(dbias, g), None


class Embedding(LearnerFunction):
    """Rows of weight picked by integer indices (exercise 7); the indices get no gradient."""

    def forward(ctx, indices, weight, padding_idx):
        ctx.save_for_backward(indices)
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        return _like(_run(ctx.module.embedding, indices, weight), weight)

    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        dweight = _run(ctx.module.embedding_backward, indices, g, ctx.rows, ctx.padding_idx)
        return None, _like(dweight, g), None


class Attention(LearnerFunction):
    """Scaled dot-product attention with a boolean mask, True where allowed (exercise 8).
    Returns (out, P), P taking no gradient, as the library's fused attention."""

    def forward(ctx, q, k, v, mask):
        out, p = _run(ctx.module.attention, q, k, v, mask)
        p = _like(p, q)
        ctx.save_for_backward(q, k, v, p)
        return _like(out, q), p

    def backward(ctx, g):
        q, k, v, p = ctx.saved_tensors
        dq, dk, dv = _run(ctx.module.attention_backward, q, k, v, p, g)
        return _like(dq, g), _like(dk, g), _like(dv, g), None


# Each Function above, and the exercise whose file it runs.
FUNCTIONS = {"softmax": (Softmax, 4), "cross_entropy": (CrossEntropy, 5),
             "layer_norm": (LayerNorm, 6), "embedding": (Embedding, 7),
             "attention": (Attention, 8)}


def functions_of(modules):
    """The Functions above bound to a workspace's exercise modules ({number: module}),
    those whose exercise is among them: ``functions_of({4: m}).softmax.apply(x)``."""
    return SimpleNamespace(**{
        name: type(base.__name__, (base,), {"module": modules[number], "__doc__": base.__doc__})
        for name, (base, number) in FUNCTIONS.items() if number in modules})


def _array(x):
    return x.numpy() if isinstance(x, ma.Tensor) else np.asarray(x)


def allowed_mask(attn_mask, is_causal, q_len, k_len):
    """Any mask F.scaled_dot_product_attention takes, as one boolean mask, True where
    attention is allowed (None for none). A float mask must be 0 or -inf."""
    allowed = None
    if attn_mask is not None:
        mask = _array(attn_mask)
        if mask.dtype == np.bool_:
            allowed = mask
        elif np.all((mask == 0) | np.isneginf(mask)):
            allowed = mask == 0
        else:
            raise ValueError("learn train: your attention takes masks of allowed/blocked "
                             "positions; a float mask must hold only 0 and -inf")
    if is_causal:
        causal = np.tri(q_len, k_len, dtype=bool)
        allowed = causal if allowed is None else allowed & causal
    return allowed


def _entry_points(ops, library):
    """Replacements for the functional entry points, with the library's signatures.
    What the learner's ops do not cover raises a ValueError saying so."""

    def softmax(input, dim=None, fused=True, dtype=None):
        if dtype is not None or dim not in (-1, input.ndim - 1):
            raise ValueError(f"learn train: your softmax works along the last dim, not "
                             f"dim={dim}")
        return ops.softmax.apply(input)

    def cross_entropy(input, target, ignore_index=-100, label_smoothing=0.0,
                      reduction="mean", fused=True):
        if input.ndim != 2 or label_smoothing or reduction not in ("mean", "sum"):
            raise ValueError("learn train: your cross_entropy takes logits (N, C), no label "
                             "smoothing and reduction 'mean' (or 'sum', the mean times n)")
        target = _array(target)
        counted = int((target != ignore_index).sum())
        if not counted:  # nothing to score (an evaluation batch of padding): 0, as the sum
            return (input * 0.0).sum()
        loss = ops.cross_entropy.apply(input, target, ignore_index)
        return loss if reduction == "mean" else loss * counted

    def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, fused=True):
        if tuple(np.atleast_1d(normalized_shape)) != (input.shape[-1],):
            raise ValueError("learn train: your layer_norm normalises over the last dim only")
        width = input.shape[-1]
        weight = np.ones(width, input.dtype) if weight is None else weight
        bias = np.zeros(width, input.dtype) if bias is None else bias
        return ops.layer_norm.apply(input, weight, bias, eps)

    def embedding(input, weight, padding_idx=None):
        if padding_idx is not None:
            padding_idx %= weight.shape[0]
        return ops.embedding.apply(_array(input), weight, padding_idx)

    def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                     is_causal=False, scale=None, need_weights=False,
                                     fused=True, scores_hook=None):
        if not fused:  # the composed graph pictures record: the library's, on your softmax
            return library(query, key, value, attn_mask, dropout_p, is_causal, scale,
                           need_weights, fused, scores_hook=scores_hook)
        if dropout_p or scale is not None:
            raise ValueError("learn train: your attention has no dropout and scales by "
                             "1/sqrt(d): train with --dropout 0")
        mask = allowed_mask(attn_mask, is_causal, query.shape[-2], key.shape[-2])
        out, weights = ops.attention.apply(query, key, value, mask)
        return (out, weights) if need_weights else out

    return {"softmax": softmax, "cross_entropy": cross_entropy, "layer_norm": layer_norm,
            "embedding": embedding, "scaled_dot_product_attention": scaled_dot_product_attention}


@contextlib.contextmanager
def learner_ops(modules):
    """Within the block, the functional entry points the library's layers and losses
    call run the learner's ops (modules: {exercise number: module}, 4 to 8 needed);
    the library's own are restored on the way out, whatever happens."""
    ops = functions_of(modules)
    library_attention = F.scaled_dot_product_attention
    replacements = _entry_points(ops, library_attention)
    originals = {name: getattr(F, name) for name in replacements}
    try:
        for name, fn in replacements.items():
            setattr(F, name, fn)
        yield ops
    finally:
        for name, fn in originals.items():
            setattr(F, name, fn)
