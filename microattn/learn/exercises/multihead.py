"""Exercise 9: multi-head attention and a pre-norm encoder block, composed from tensor ops,
checked against nn.MultiheadAttention and nn.TransformerEncoderLayer (values and gradients)."""
import numpy as np

import microattn as ma
from microattn import functional as F
from microattn import nn

from ..comparison import Failure, call, compare
from ..mistakes import (HEADS_NOT_TRANSPOSED, MERGE_NOT_TRANSPOSED, NO_OUT_PROJ, NO_RESIDUAL,
                        POST_NORM)

TITLE = "multi-head attention by composition, and a transformer block"
TEACHES = "heads as a reshape and a transpose; projections; residuals around pre-norm sub-blocks"
HINTS = (
    "split_heads: (B, T, E) -> (B, heads, T, E / heads); merge_heads undoes it; "
    "multi_head_attention and encoder_block return (B, T, E) tensors.",
    "A reshape alone cannot move the heads axis in front of T: reshape to (B, T, heads, d) "
    "first, then transpose(1, 2). Pre-norm: x + sub_block(norm(x)), twice.",
    "batch, length, width = x.shape",
)

EMBED, HEADS = 8, 2


def _tensor(rng, *shape):
    return ma.tensor(rng.standard_normal(shape), requires_grad=True)


def _wrong_split(x, heads):
    batch, length, width = x.shape
    return x.reshape(batch, heads, length, width // heads)  # (B, T, E) -> (B, heads, T, d), mixed


def _wrong_merge(x):
    batch, heads, length, width = x.shape
    return x.reshape(batch, length, heads * width)  # positions and heads mixed


def _composed(mha, query, key, value, mask, split, merge, project=True):
    """Multi-head attention from library ops, with a chosen (possibly wrong) split and merge."""
    q, k, v = (split(proj(t), mha.num_heads) for proj, t in
               ((mha.q_proj, query), (mha.k_proj, key), (mha.v_proj, value)))
    heads = merge(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    return mha.out_proj(heads) if project else heads


def _right_split(x, heads):
    batch, length, width = x.shape
    return x.reshape(batch, length, heads, width // heads).transpose(1, 2)


def _right_merge(x):
    batch, heads, length, width = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * width)


def _check_heads(module, rng):
    x = _tensor(rng, 2, 3, EMBED)
    what = "split_heads(x tensor (2, 3, 8), 2)"
    split = call(what, module.split_heads, x, HEADS)
    compare(what, split, _right_split(x, HEADS).detach().numpy(),
            {HEADS_NOT_TRANSPOSED: _wrong_split(x, HEADS).detach().numpy()})
    heads = _tensor(rng, 2, HEADS, 3, EMBED // HEADS)
    what = "merge_heads(x tensor (2, 2, 3, 4))"
    compare(what, call(what, module.merge_heads, heads), _right_merge(heads).detach().numpy(),
            {MERGE_NOT_TRANSPOSED: _wrong_merge(heads).detach().numpy()})


def _compare_gradients(what, got_fn, expected_fn, tensors, g):
    """Run both with the upstream gradient g; compare the gradient of every tensor."""
    grads = []
    for fn in (expected_fn, got_fn):
        for t in tensors:
            t.grad = None
        out = fn()
        if not isinstance(out, ma.Tensor) or out.grad_fn is None:
            raise Failure(what, "returned no tensor with a graph: build it from tensor ops "
                                "(reshape, transpose, the layers), not from numpy arrays")
        out.backward(g)
        grads.append([t.grad.numpy() for t in tensors])
    for i, (want, got) in enumerate(zip(*grads)):
        compare(f"{what}: gradient of input {i}", got, want)


def _check_attention(module, rng, mask):
    mha = nn.MultiheadAttention(EMBED, HEADS, batch_first=True).double()
    query, key, value = _tensor(rng, 2, 3, EMBED), _tensor(rng, 2, 5, EMBED), _tensor(rng, 2, 5, EMBED)
    what = (f"multi_head_attention(mha {EMBED} wide, {HEADS} heads, query (2, 3, 8), "
            f"key and value (2, 5, 8), mask {'None' if mask is None else mask.shape})")
    blocked = None if mask is None else ~mask

    def expected():
        return mha(query, key, value, attn_mask=blocked, need_weights=False)[0]

    def got():
        return call(what, module.multi_head_attention, mha, query, key, value, mask)
    with ma.no_grad():
        compare(what, got(), expected().numpy(), {
            HEADS_NOT_TRANSPOSED: lambda: _composed(mha, query, key, value, mask, _wrong_split,
                                                    _right_merge).numpy(),
            MERGE_NOT_TRANSPOSED: lambda: _composed(mha, query, key, value, mask, _right_split,
                                                    _wrong_merge).numpy(),
            NO_OUT_PROJ: lambda: _composed(mha, query, key, value, mask, _right_split,
                                           _right_merge, project=False).numpy()})
    _compare_gradients(what, got, expected, [query, key, value, *mha.parameters()],
                       rng.standard_normal((2, 3, EMBED)))


def _check_block(module, rng, mask):
    layer = nn.TransformerEncoderLayer(EMBED, HEADS, dim_feedforward=16, dropout=0.0,
                                       batch_first=True, norm_first=True).double()
    x = _tensor(rng, 2, 4, EMBED)
    what = f"encoder_block(layer, x (2, 4, 8), mask {'None' if mask is None else mask.shape})"
    blocked = None if mask is None else ~mask

    def attend(t):
        return layer.self_attn(t, t, t, attn_mask=blocked, need_weights=False)[0]

    def ff(t):
        return layer.linear2(F.relu(layer.linear1(t)))

    def got():
        return call(what, module.encoder_block, layer, x, mask)
    with ma.no_grad():
        compare(what, got(), layer(x, src_mask=blocked).numpy(), {
            POST_NORM: lambda: layer.norm2(layer.norm1(x + attend(x))
                                           + ff(layer.norm1(x + attend(x)))).numpy(),
            NO_RESIDUAL: lambda: [ff(layer.norm2(attend(layer.norm1(x)))).numpy(),
                                  (lambda h: h + ff(layer.norm2(h)))(attend(layer.norm1(x))).numpy(),
                                  (lambda h: ff(layer.norm2(h)))(x + attend(layer.norm1(x))).numpy()]})
    _compare_gradients(what, got, lambda: layer(x, src_mask=blocked),
                       [x, *layer.parameters()], rng.standard_normal((2, 4, EMBED)))


def check(module, rng):
    """The head reshapes, then multi-head attention and the block without and with a mask,
    values and the gradients of every input and weight."""
    _check_heads(module, rng)
    cross = np.ones((3, 5), dtype=bool)
    cross[:, 3:] = rng.random((3, 2)) < 0.5
    for mask in (None, cross):
        _check_attention(module, rng, mask)
    for mask in (None, np.tri(4, dtype=bool)):
        _check_block(module, rng, mask)
    return 6
