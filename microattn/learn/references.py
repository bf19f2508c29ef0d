"""The right answers, computed by the library's own ops: what every check compares
the learner's results with ("one truth"). Numpy arrays in, numpy arrays out.

Forwards call the public functional API; gradients come from running the same
op through the autograd engine with the upstream gradient ``g``. This is the
one module of the learn package that imports a library internal
(``unbroadcast``, which has no public name).
"""
import numpy as np

import microattn as ma
from microattn import functional as F
from microattn.core.tensor import unbroadcast  # the reference of exercise 2


def _leaves(*arrays):
    return [ma.tensor(np.asarray(a), requires_grad=True) for a in arrays]


def _grads(output, g, leaves):
    output.backward(np.asarray(g, dtype=output.dtype))
    return tuple(leaf.grad.numpy() for leaf in leaves)


def matmul_backward(a, b, g):
    """(dL/da, dL/db) of z = a @ b, by the library's Matmul."""
    ta, tb = _leaves(a, b)
    return _grads(ta @ tb, g, (ta, tb))


def softmax(x):
    return F.softmax(ma.tensor(x), dim=-1).numpy()


def softmax_backward(x, g):
    """dL/dx of softmax along the last dim at x (the library's Softmax backward)."""
    (tx,) = _leaves(x)
    return _grads(F.softmax(tx, dim=-1), g, (tx,))[0]


def cross_entropy(logits, target, ignore_index):
    return F.cross_entropy(ma.tensor(logits), target, ignore_index=ignore_index).numpy()


def cross_entropy_backward(logits, target, ignore_index):
    (tz,) = _leaves(logits)
    return _grads(F.cross_entropy(tz, target, ignore_index=ignore_index), 1.0, (tz,))[0]


def layer_norm(x, weight, bias, eps):
    width = np.shape(x)[-1]
    return F.layer_norm(ma.tensor(x), width, ma.tensor(weight), ma.tensor(bias), eps).numpy()


def layer_norm_backward(x, weight, bias, g, eps):
    """(dx, dweight, dbias) of layer norm over the last dim."""
    tx, tw, tb = _leaves(x, weight, bias)
    return _grads(F.layer_norm(tx, np.shape(x)[-1], tw, tb, eps), g, (tx, tw, tb))


def embedding(indices, weight):
    return F.embedding(indices, ma.tensor(weight)).numpy()


def embedding_backward(indices, weight, g, padding_idx):
    (tw,) = _leaves(weight)
    return _grads(F.embedding(indices, tw, padding_idx=padding_idx), g, (tw,))[0]


def attention(q, k, v, mask):
    """(out, P) of scaled dot-product attention, mask True where allowed."""
    out, p = F.scaled_dot_product_attention(ma.tensor(q), ma.tensor(k), ma.tensor(v),
                                            attn_mask=mask, need_weights=True)
    return out.numpy(), p.numpy()


def attention_backward(q, k, v, mask, g):
    """(dq, dk, dv) by the library's fused attention."""
    tq, tk, tv = _leaves(q, k, v)
    out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask)
    return _grads(out, g, (tq, tk, tv))


__all__ = ["unbroadcast", "matmul_backward", "softmax", "softmax_backward", "cross_entropy",
           "cross_entropy_backward", "layer_norm", "layer_norm_backward", "embedding",
           "embedding_backward", "attention", "attention_backward"]
