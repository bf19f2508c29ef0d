"""Fused nn ops: softmax, log_softmax and embedding, each one Function.

Fusing gives one node instead of a chain of exp / sum / div, one short
backward formula, and room to be numerically stable.
"""
import numpy as np

from ..autograd import Function


class Softmax(Function):
    """y = softmax(x) = exp(x - m) / sum(exp(x - m)) along dim, m = max(x, dim).

    Subtracting the max changes nothing (exp(-m) cancels) but keeps exp from
    overflowing: the largest term is exp(0) = 1, so the sum lies in [1, n].
    An entry of -inf gives exactly 0.

    Jacobian: dy_i/dx_j = y_i (delta_ij - y_j), so the vector-Jacobian product is
        dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j (g_j - sum_i g_i y_i),
    i.e.  dL/dx = y * (g - sum(g * y, dim)).
    """

    def forward(ctx, x, dim):
        y = x - x.max(axis=dim, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gy = g * y
        gy -= y * gy.sum(axis=ctx.dim, keepdims=True)  # y*g - y*sum(g*y)
        return gy, None


class LogSoftmax(Function):
    """y = log_softmax(x) = (x - m) - log(sum(exp(x - m))) along dim, m = max(x, dim).

    The max keeps exp from overflowing and the log's argument in [1, n], so y
    is finite wherever x is (and -inf where x is -inf).

    Jacobian: y_i = x_i - logsumexp(x) and d logsumexp/dx_j = softmax(x)_j = exp(y_j),
    so dy_i/dx_j = delta_ij - exp(y_j) and
        dL/dx_j = g_j - exp(y_j) sum_i g_i,
    i.e.  dL/dx = g - exp(y) * sum(g, dim).
    """

    def forward(ctx, x, dim):
        shifted = x - x.max(axis=dim, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * g.sum(axis=ctx.dim, keepdims=True), None


class Embedding(Function):
    """y[p] = weight[indices[p]]: one row of weight per index, y of shape indices.shape + (D,).
    dL/dweight[v] = sum of g[p] over every position p with indices[p] == v
    (a row looked up twice collects both gradients); indices get none."""

    def forward(ctx, indices, weight):
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding expects integer indices, got dtype {indices.dtype}")
        vocabulary = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= vocabulary):
            raise IndexError(f"embedding indices must lie in [0, {vocabulary - 1}] for a "
                             f"vocabulary of {vocabulary} rows, got values from "
                             f"{indices.min()} to {indices.max()}")
        ctx.save_for_backward(indices)
        ctx.weight_shape = weight.shape
        return weight[indices]

    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        dweight = np.zeros(ctx.weight_shape, dtype=g.dtype)
        np.add.at(dweight, indices.reshape(-1), g.reshape(-1, *ctx.weight_shape[1:]))
        return None, dweight


def softmax(x, dim=-1):
    return Softmax.apply(x, dim)


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(x, dim)


def embedding(indices, weight):
    """Rows of weight (V, D) picked by integer indices of any shape: indices.shape + (D,)."""
    return Embedding.apply(indices, weight)
