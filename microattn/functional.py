"""Functional interface with PyTorch's names: ``from microattn import functional as F``.

Softmax, log-softmax, layer norm, cross-entropy and attention come twice: a
fused Function with a hand-derived backward (microattn/fused/; the default: one
node, fewer intermediate arrays, numerically stable) and, with
``fused=False``, the same maths composed from primitive ops, so that every
step shows up in the graph. Tests check that both agree.
"""
import functools
import math
import warnings

import numpy as np

from .core import Tensor
from .core.errors import ShapeError
from .core.tensor import to_axis, unwrap
from .fused.attention import ScaledDotProductAttention
from .fused.cross_entropy import REDUCTIONS, BinaryCrossEntropy, CrossEntropy, counted_targets
from .fused.embedding import Embedding
from .fused.gelu import GELU
from .fused.layer_norm import LayerNorm
from .fused.linear import Linear
from .fused.tiled_attention import TiledAttention
from .fused.softmax import LogSoftmax, Softmax, check_floating
from .ops import cat, sigmoid, tanh
from .ops.dropout import Dropout, check_probability, dropout_mask
from .ops.elementwise import ReLU, Where

__all__ = ["relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout", "linear",
           "embedding", "layer_norm", "cross_entropy", "nll_loss", "mse_loss",
           "masked_softmax", "attention_mask", "scaled_dot_product_attention",
           "pad", "one_hot", "silu", "leaky_relu", "elu", "softplus", "logsigmoid",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "l1_loss",
           "normalize", "cosine_similarity"]


def _constant(array):
    """Wrap an ndarray as a tensor that takes no gradient (without copying it),
    so errors from an op name its shape rather than print its contents."""
    return Tensor._make(array, None)


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def relu(input, inplace=False):
    """max(x, 0); ``inplace=True`` overwrites ``input`` (``input.relu_()``), as PyTorch."""
    return input.relu_() if inplace else ReLU.apply(input)


def gelu(input, approximate="none"):
    """x Phi(x), Phi the standard normal CDF: ``approximate='none'`` is the exact
    erf form, ``'tanh'`` the tanh approximation, as torch.nn.functional.gelu."""
    return GELU.apply(input, approximate)


# -- softmax -------------------------------------------------------------------

def _detached_max(input, dim):
    """The max along ``dim``, detached: the shift of the composed softmax. An empty
    input has no max and needs no shift (its result is empty too)."""
    if input._data.size == 0:
        return 0.0
    return _constant(np.max(input._data, axis=dim, keepdims=True))


def _softmax_dim(op, input, dim):
    """``dim`` if given (checked); else PyTorch's old implicit choice, with its
    warning: dim 0 for 0-, 1- and 3-d input, else dim 1 (not the last dim!).
    Checks first that ``input`` is floating, for the composed graph too."""
    check_floating(op, input.dtype)
    if dim is not None:
        return to_axis(dim, input.shape, op)
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, fused=True, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``.

    ``dim`` left out: PyTorch's implicit choice with its warning (dim 0 for 0-,
    1- and 3-d input, else 1); pass it.

    ``fused=True``: one Softmax node (its backward in fused/softmax.py).
    ``fused=False``: composed from primitive ops, exp(x - m) / sum(exp(x - m))
    with m the max along ``dim``, so the graph shows every step. m is detached:
    softmax does not change when every entry shifts by the same amount, so no
    gradient flows through it. ``dtype``, as PyTorch's, casts the input first.
    """
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim("softmax", input, dim)
    if fused:
        return Softmax.apply(input, dim)
    exps = (input - _detached_max(input, dim)).exp()
    return exps / exps.sum(dim, keepdim=True)


def log_softmax(input, dim=None, fused=True, dtype=None):
    """x - log(sum(exp(x))) along ``dim``; ``dim``, ``fused`` and ``dtype`` as in
    :func:`softmax` (composed: (x - m) - log(sum(exp(x - m))), m the detached max)."""
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim("log_softmax", input, dim)
    if fused:
        return LogSoftmax.apply(input, dim)
    shifted = input - _detached_max(input, dim)
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


# -- dropout -------------------------------------------------------------------

def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 - p).

    The identity when not training or when p == 0; p == 1 gives zeros. The
    mask comes from the generator ``ma.manual_seed`` sets. ``inplace=True``
    multiplies ``input`` by the mask in place (see ops/inplace.py).
    """
    check_probability(p)
    if not training or p == 0:
        return input
    mask = _constant(dropout_mask(input.shape, p, input.dtype))
    return input.mul_(mask) if inplace else Dropout.apply(input, mask)


# -- layers --------------------------------------------------------------------

def linear(input, weight, bias=None):
    """y = input @ weight^T + bias, with weight of shape (out_features, in_features)."""
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {tuple(input.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)}: expected weight (out_features, "
                         f"in_features) and input (..., in_features)")
    if bias is None:
        return Linear.apply(input, weight)
    if tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {tuple(bias.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)}: expected bias ({weight.shape[0]},)")
    return Linear.apply(input, weight, bias)


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by the integer ``input``: output (*input.shape, dim).

    With ``padding_idx``, as PyTorch's F.embedding, the output still holds that
    row, but no gradient flows back into it.
    """
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight of shape {tuple(weight.shape)} must be 2-D "
                           "(num_embeddings, embedding_dim)")
    if padding_idx is not None:
        rows = weight.shape[0]
        if not -rows <= padding_idx < rows:  # as nn.Embedding; backward would index past it
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"num_embeddings ({rows})")
        padding_idx %= rows  # a negative index counts from the end, as PyTorch
    return Embedding.apply(unwrap(input), weight, padding_idx)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, fused=True):
    """Normalise over the trailing ``normalized_shape`` dims to mean 0 and variance 1
    (biased), then scale by ``weight`` and shift by ``bias`` if given.

    ``fused=True`` runs one LayerNorm node (backward derived in
    :class:`microattn.ops.norm.LayerNorm`); ``fused=False`` composes mean, var
    and sqrt ops.
    """
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (normalized_shape,)
    if not (isinstance(normalized_shape, (tuple, list))
            and all(isinstance(n, (int, np.integer)) for n in normalized_shape)):
        raise TypeError(f"layer_norm: normalized_shape must be an int or a tuple of ints, got "
                        f"{normalized_shape!r}")
    normalized_shape = tuple(normalized_shape)
    ndim = len(normalized_shape)
    if ndim == 0 or tuple(input.shape[input.ndim - ndim:]) != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {tuple(input.shape)} does not end in "
                         f"normalized_shape {normalized_shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != normalized_shape:
            raise ShapeError(f"layer_norm: {name} of shape {tuple(param.shape)} does not match "
                             f"normalized_shape {normalized_shape}")
    check_floating("layer_norm", input.dtype)
    if fused:
        return LayerNorm.apply(input, weight, bias, ndim, eps)
    dims = tuple(range(-ndim, 0))
    centered = input - input.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)  # biased, as layer norm's
    output = centered / (var + eps).sqrt()
    if weight is not None:
        output = output * weight
    if bias is not None:
        output = output + bias
    return output


# -- losses --------------------------------------------------------------------

def _integer_target(op, target):
    target = unwrap(target)
    if target.dtype.kind not in "iu":  # a RuntimeError, as PyTorch's
        raise RuntimeError(f"{op}: expected integer class indices as target, got dtype "
                           f"{target.dtype} (class-probability targets are not supported)")
    return target


def _float_scores(op, input, zero_d_error):
    """Check that ``input`` holds floating-point class scores with a class dim: on
    integers softmax would truncate (PyTorch has no integer kernel either).
    ``zero_d_error``: the exception PyTorch's ``op`` raises on a 0-d input."""
    check_floating(op, input.dtype)
    if input.ndim == 0:
        raise zero_d_error(f"{op}: input is 0-d; expected at least one dim, holding the "
                           "C class scores")


def _rows(op, input, target):
    """PyTorch's layouts brought to rows: input (N, C), (N, C, d1, ...) or (C,) and
    target (N,), (N, d1, ...) or () -> input (M, C), target (M,), and the shape of
    a per-element loss."""
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.shape != expected:
        raise ShapeError(f"{op}: target of shape {target.shape} does not match input of shape "
                         f"{tuple(input.shape)}: expected target shape {expected} (the class "
                         "dim is dim 1, as in PyTorch)")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if input.ndim > 2:
        # (N, C, d1, ...) -> (N, d1, ..., C) -> (N * d1 * ..., C)
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
    elif input.ndim == 1:
        input = input.reshape(1, classes)  # (C,) -> (1, C)
    return input, target.reshape(-1), expected


def _negative_log_likelihood(op, log_probs, target, ignore_index, label_smoothing, reduction):
    """The composed loss of ``op`` on rows, log_probs (M, C) and target (M,): pick
    -log p_t by integer indexing, mix in the mean of -log p for label smoothing,
    zero ignored rows, reduce."""
    valid = counted_targets(target, log_probs.shape[-1], ignore_index, op)
    picked = log_probs[np.arange(len(target)), np.where(valid, target, 0)]
    loss = -(1 - label_smoothing) * picked
    if label_smoothing:
        loss = loss - label_smoothing * log_probs.mean(-1)
    # masked_fill, not a product with the mask: an ignored row may hold -inf, and -inf * 0 is nan
    loss = loss.masked_fill(_constant(~valid), 0.0)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    count = int(valid.sum())
    # No row counted: nan, as PyTorch. total is 0 here, so adding nan keeps
    # the gradient 0 (as PyTorch's), where 0 / 0 would make it nan.
    return total / count if count else total + math.nan


def cross_entropy(input, target, ignore_index=-100, label_smoothing=0.0, reduction="mean",
                  fused=True):
    """Cross-entropy of logits ``input`` against integer class indices ``target``,
    as PyTorch's F.cross_entropy: input (N, C) with target (N,), or (N, C, d1, ...)
    with target (N, d1, ...) (the class dim is dim 1), or (C,) with a 0-d target.

    Targets equal to ``ignore_index`` add nothing, and 'mean' divides by the
    number of the others (nan if there are none); ``label_smoothing`` e mixes
    the one-hot target with the uniform distribution: q = (1 - e) onehot + e / C.
    'none' gives the loss in the shape of target. ``fused=False`` composes
    log_softmax and indexing instead of the fused CrossEntropy node.
    """
    _check_reduction(reduction)
    check_probability(label_smoothing, "label_smoothing")
    _float_scores("cross_entropy", input, RuntimeError)
    logits, target, shape = _rows("cross_entropy", input, _integer_target("cross_entropy", target))
    if fused:
        loss = CrossEntropy.apply(logits, target, ignore_index, float(label_smoothing),
                                  reduction)
    else:
        loss = _negative_log_likelihood("cross_entropy", log_softmax(logits, -1), target,
                                        ignore_index, float(label_smoothing), reduction)
    return loss.reshape(shape) if reduction == "none" else loss


def nll_loss(input, target, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at integer ``target``,
    in PyTorch's layouts (those of :func:`cross_entropy`, class dim 1):
    ``cross_entropy(x, t) == nll_loss(log_softmax(x, 1), t)``."""
    _check_reduction(reduction)
    _float_scores("nll_loss", input, ValueError)
    log_probs, target, shape = _rows("nll_loss", input, _integer_target("nll_loss", target))
    loss = _negative_log_likelihood("nll_loss", log_probs, target, ignore_index, 0.0, reduction)
    return loss.reshape(shape) if reduction == "none" else loss


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, (input - target)^2 reduced; gradients reach both arguments."""
    _check_reduction(reduction)
    check_floating("mse_loss", input.dtype)
    if tuple(unwrap(target).shape) != tuple(input.shape):
        warnings.warn(f"mse_loss: target of shape {tuple(unwrap(target).shape)} differs from "
                      f"input of shape {tuple(input.shape)}; they will be broadcast, which is "
                      "likely not what you meant", stacklevel=2)
    diff = input - target
    squared = diff * diff
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()


# -- attention -----------------------------------------------------------------

def check_mask(op, name, mask):
    """Refuse a mask that is neither a tensor nor an ndarray (a nested list, say),
    with a TypeError as PyTorch's; None (no mask) passes."""
    if mask is not None and not isinstance(mask, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: {name} must be a tensor or an ndarray, not "
                        f"{type(mask).__name__}")


def attention_mask(mask, dtype, true_means="allowed"):
    """Any attention mask in the one form the attention kernel takes: a float mask
    added to the scores, 0 where attention may go and -inf where it may not.

    A boolean mask is True where attention is allowed (``true_means="allowed"``,
    F.scaled_dot_product_attention's convention) or where it is blocked
    (``"blocked"``, nn.MultiheadAttention's ``attn_mask`` and every
    ``key_padding_mask``); a float mask is already in this form and is returned
    as it is (a tensor keeps its gradient). None stays None.
    """
    if mask is None:
        return None
    array = unwrap(mask)
    if array.dtype == np.bool_:
        blocked = array if true_means == "blocked" else ~array
        return np.where(blocked, -np.inf, 0).astype(dtype)
    if array.dtype.kind != "f":
        meaning = "allowed" if true_means == "allowed" else "NOT allowed"
        raise TypeError(f"attention masks must be boolean (True where attention is {meaning}) "
                        f"or floating (added to the scores), not {array.dtype}")
    return mask if isinstance(mask, Tensor) else array.astype(dtype, copy=False)


@functools.lru_cache(maxsize=32)
def causal_mask(q_len, k_len, dtype):
    """The causal mask in the kernel's form, (Tq, Tk): -inf where key j > query i
    (top-left aligned, as PyTorch), 0 elsewhere. Cached: made once per size."""
    mask = np.where(np.tri(q_len, k_len, dtype=bool), 0, -np.inf).astype(dtype)
    mask.flags.writeable = False
    return mask


def _add_masks(a, b):
    """The sum of two masks in the kernel's form (either may be None)."""
    if a is None or b is None:
        return b if a is None else a
    return a + b


def masked_softmax(input, dim=-1):
    """softmax(input) along ``dim`` (the Softmax node), where a row of
    only -inf (a query allowed to see nothing) gives zeros and gradient 0, not nan:
    its scores are replaced by zeros (masked_fill cuts their gradient) and its
    weights zeroed afterwards."""
    empty_rows = np.isneginf(input._data).all(axis=dim, keepdims=True)
    if not empty_rows.any():
        return softmax(input, dim)
    empty_rows = _constant(empty_rows)
    return softmax(input.masked_fill(empty_rows, 0.0), dim).masked_fill(empty_rows, 0.0)


def _composed_attention(q, k, v, mask, dropout, scale, scores_hook=None):
    """Attention from primitive ops, so the graph shows each step. Returns
    (output, weights)."""
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., Tq, d) @ (..., d, Tk) -> (..., Tq, Tk)
    if mask is not None:
        scores = scores + mask
    if scores_hook is not None:
        scores_hook(scores)
    weights = masked_softmax(scores)
    dropped = weights if dropout is None else Dropout.apply(weights, dropout)
    return dropped @ v, weights


# Which attention runs: the materialising op (fused/attention.py) holds the
# weights P, B * heads * Tq * Tk numbers: pictures need them, and at short
# lengths it is the faster one. The tiled op (fused/tiled_attention.py) never
# holds them: its memory grows as T, and at long lengths it is faster too.
# scaled_dot_product_attention and nn.MultiheadAttention ask takes_tiled_path,
# and nothing else decides.

# "auto" takes the tiled op from Tq * Tk = TILED_FROM ** 2 scores per head: the
# crossover of one causal MultiheadAttention forward+backward measured by
# benchmarks/bench_attention_scaling.py (docs/performance.md has the table).
TILED_FROM = 256

ATTENTION_PATHS = ("auto", "tiled", "materialized")


class attention_path:
    """Force one attention path, as a setting or for a ``with`` block.

    ``"auto"`` (the default): the tiled op from ``TILED_FROM ** 2`` scores per
    head on, where nothing needs the weights. ``"tiled"``: the tiled op at any
    length, where nothing needs the weights. ``"materialized"``: the
    materialising op always. Nothing needs the weights when
    ``need_weights=False``, attention is fused, there is no dropout on them,
    no mask takes a gradient and no picture records them
    (``MultiheadAttention.capture_graph``, set by ``viz.AttentionRecorder``):
    a forced ``"tiled"`` yields to all of these. The tiled path keeps no
    ``last_attn_weights`` (it is None after such a forward).

    Calling it sets the path (as ``torch.set_grad_enabled``); leaving a
    ``with`` block restores the one before::

        F.attention_path("tiled")             # from now on
        with F.attention_path("materialized"):
            ...                               # only here
    """

    current = "auto"

    def __init__(self, path):
        if path not in ATTENTION_PATHS:
            raise ValueError(f"attention_path: path must be one of {ATTENTION_PATHS}, "
                             f"got {path!r}")
        self.previous = attention_path.current
        attention_path.current = path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        attention_path.current = self.previous


def takes_tiled_path(q_len, k_len, need_weights=False, fused=True, dropout_p=0.0,
                     mask_requires_grad=False):
    """True where scaled-dot-product attention runs the tiled op: nothing needs the
    weights (see :class:`attention_path`) and the path is "tiled", or "auto" with
    ``q_len * k_len >= TILED_FROM ** 2``."""
    if need_weights or not fused or dropout_p > 0 or mask_requires_grad:
        return False
    if attention_path.current == "auto":
        return q_len * k_len >= TILED_FROM ** 2
    return attention_path.current == "tiled"


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, need_weights=False, fused=True,
                                 scores_hook=None):
    """softmax(query @ key^T * scale + mask) @ value, as PyTorch's F.scaled_dot_product_attention.

    Shapes: query (..., Tq, d), key (..., Tk, d), value (..., Tk, dv) -> (..., Tq, dv);
    leading dims broadcast. ``scale`` defaults to 1/sqrt(d).

    Masks broadcast to (..., Tq, Tk): a boolean ``attn_mask`` is True where
    attention is allowed; a float one is added to the scores (a tensor one
    receives a gradient). ``is_causal`` lets query i see keys 0..i (top-left
    aligned when Tq != Tk); given with ``attn_mask``, both apply. A query row
    with nothing allowed gets output 0 and gradient 0, never nan.

    ``dropout_p`` > 0 drops attention weights (always, as PyTorch: pass 0.0
    when evaluating), with a mask from the generator ``ma.manual_seed`` sets.

    ``need_weights=True`` returns ``(output, weights)``, the attention weights
    P = softmax(...) of shape (..., Tq, Tk), taken before dropout. With
    ``fused=True`` (one ScaledDotProductAttention node) the weights are a
    constant tensor, for inspection; with ``fused=False`` (the composed graph)
    they are the graph's softmax output and carry gradient.

    Where nothing needs the weights and the sequence is long, the tiled op
    (fused/tiled_attention.py) runs instead: the same numbers to rounding,
    without ever holding the (..., Tq, Tk) weights; ``attention_path`` forces
    either and says when each runs.

    ``scores_hook(S)``, with ``fused=False``, receives the pre-softmax scores
    S = query @ key^T * scale + mask as a tensor of the graph (pictures retain
    its gradient dL/dS, which the engine computes in backward).
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(f"scaled_dot_product_attention: {name} of shape {tuple(t.shape)} "
                             "needs at least 2 dims (..., T, d)")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"scaled_dot_product_attention: query of shape {tuple(query.shape)} "
                         f"and key of shape {tuple(key.shape)} differ in the last dim")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: key of shape {tuple(key.shape)} and "
                         f"value of shape {tuple(value.shape)} differ in length (dim -2)")
    if type(dropout_p) is not float or dropout_p != 0.0:  # 0.0, the default, needs no check
        check_probability(dropout_p)
    q_len, k_len = query.shape[-2], key.shape[-2]
    if scale is None:  # d = 0: the scores are all 0 whatever the scale
        scale = 1 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    scale = float(scale)
    check_mask("scaled_dot_product_attention", "attn_mask", attn_mask)
    mask = attention_mask(attn_mask, query.dtype, true_means="allowed")
    if mask is not None:
        shape = unwrap(mask).shape
        if len(shape) < 2 or not all(m in (1, n) for m, n in zip(shape[-2:], (q_len, k_len))):
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {shape} does "
                             f"not broadcast to the scores (..., {q_len}, {k_len})")
    if takes_tiled_path(q_len, k_len, need_weights, fused, dropout_p,
                        isinstance(mask, Tensor) and mask.requires_grad):
        return TiledAttention.apply(query, key, value, None if mask is None else unwrap(mask),
                                    is_causal, scale)
    if is_causal:
        mask = _add_masks(mask, causal_mask(q_len, k_len, query.dtype))
    dropout = None
    if dropout_p > 0:
        score_shape = np.broadcast_shapes(query.shape[:-1] + (k_len,), key.shape[:-2] + (1, 1),
                                          () if mask is None else unwrap(mask).shape)
        dropout = _constant(dropout_mask(score_shape, dropout_p, query.dtype))
    if fused:
        output, weights = ScaledDotProductAttention.apply(query, key, value, mask, dropout, scale)
    else:
        output, weights = _composed_attention(query, key, value, mask, dropout, scale,
                                              scores_hook)
    return (output, weights) if need_weights else output


# -- more activations, composed from the primitive ops ------------------------------

def silu(input, inplace=False):
    """x sigmoid(x); ``inplace=True`` overwrites ``input``."""
    if inplace:
        return input.copy_(silu(input.clone()))
    return input * input.sigmoid()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope x; ``inplace=True`` overwrites ``input``."""
    if inplace:
        return input.copy_(leaky_relu(input.clone(), negative_slope))
    return Where.apply(input > 0, input, input * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (e^x - 1); ``inplace=True`` overwrites ``input``.
    The exponential reads x only where x <= 0, so that no overflow meets the where."""
    if inplace:
        return input.copy_(elu(input.clone(), alpha))
    positive = input > 0
    return Where.apply(positive, input, alpha * (input.masked_fill(positive, 0).exp() - 1))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch);
    log1p keeps the tiny values of very negative x."""
    z = input * beta
    linear = z > threshold
    return Where.apply(linear, input, z.masked_fill(linear, 0).exp().log1p() / beta)


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then
    ``(left, right, top, bottom)`` for the last two, ... as torch's F.pad; the
    border is ``value`` (0), joined to the input by cat."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of widths for at most {input.ndim} "
                         f"dims, got {tuple(pad)}")
    if any(p < 0 for p in pad):
        raise NotImplementedError("pad: negative widths (cropping) are not supported")
    for i in range(len(pad) // 2):
        dim = input.ndim - 1 - i
        parts = []
        for width in (int(pad[2 * i]), int(pad[2 * i + 1])):
            shape = input.shape[:dim] + (width,) + input.shape[dim + 1:]
            parts.append(_constant(np.full(shape, 0 if value is None else value, input.dtype)))
        input = cat([parts[0], input, parts[1]], dim)
    return input


def _reduce(loss, reduction):
    """The per-element ``loss`` reduced as ``reduction`` says ('mean', 'sum', 'none')."""
    _check_reduction(reduction)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


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


def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x)."""
    return -softplus(-input)


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
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim``."""
    norms = x1.norm(2, dim).clamp(min=eps) * x2.norm(2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / norms
