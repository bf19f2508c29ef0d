"""Fused nn ops: softmax, log_softmax and embedding, each one Function.

Fusing gives one node instead of a chain of exp / sum / div, one short
backward formula, and room to be numerically stable.
"""
import numpy as np

from ..autograd import Function
from .reduce import _single_axis


# -- softmax arithmetic, shared by Softmax, LogSoftmax, attention and cross-entropy --

# Largest spread of values for which one shift serves every row (see stable_shift).
SHARED_SHIFT_SPAN = 20.0


def row_sum(a, dim=-1):
    """sum(a, dim, keepdims=True). Over the last dim it is a product with a vector
    of ones: BLAS does that several times faster than numpy reduces short rows."""
    if a.ndim == 0:
        return a
    if dim == -1 or dim == a.ndim - 1:
        return a @ np.ones((a.shape[-1], 1), dtype=a.dtype)
    return a.sum(axis=dim, keepdims=True)


def shared_shift(x):
    """The max of all of x, if it can stand in for every row's max; else None.

    Softmax subtracts a shift m before exp so that exp(x - m) cannot overflow;
    the textbook m is each row's max. But when all of x lies within
    SHARED_SHIFT_SPAN of its overall max, that one number serves every row as
    well: each exp(x - m) lies in [e^-20, 1], far from overflow and from
    underflow, and one reduction over the whole array is much faster than one
    per row. The price is a relative error in exp of at most 20 units in the
    last place (it grows with |x - m|): 1e-6 in float32, 2e-15 in float64. A
    wider spread, or any -inf or nan, gives None: use the row max.
    """
    if x.size:
        top, bottom = x.max(), x.min()
        if np.isfinite(bottom) and top - bottom <= SHARED_SHIFT_SPAN:
            return top
    return None


def stable_shift(x, dim=-1):
    """The shift for softmax along ``dim``: shared_shift(x), or else each row's max."""
    shift = shared_shift(x)
    return x.max(axis=dim, keepdims=True) if shift is None else shift


def softmax_forward(x, dim=-1, allowed=None):
    """softmax(x) along ``dim`` as a new array; with a boolean ``allowed`` mask
    (broadcasting to x), entries not allowed get 0, and a row with nothing
    allowed is all zeros (not 0/0)."""
    if allowed is not None:  # a mask may add leading dims: give x all of them
        x = np.broadcast_to(x, np.broadcast_shapes(x.shape, np.shape(allowed)))
    if x.size == 0:  # nothing to normalise (e.g. no keys): an empty result, as PyTorch
        return np.zeros(x.shape, x.dtype)
    shift = shared_shift(x)
    if shift is None:
        if allowed is not None:
            x = np.where(allowed, x, -np.inf)  # the row max must be an allowed entry's
        shift = x.max(axis=dim, keepdims=True)
        shift[np.isneginf(shift)] = 0  # a row of -inf: exp gives zeros, not nan
    y = np.asarray(np.subtract(x, shift, dtype=x.dtype))  # an array even when 0-d
    np.exp(y, out=y)
    if allowed is not None:
        y *= allowed
    total = row_sum(y, dim)
    if allowed is not None:
        total[total == 0] = 1
    y /= total
    return y


def log_softmax_forward(x, dim=-1):
    """log_softmax(x) = (x - m) - log(sum(exp(x - m))) along ``dim``, m from stable_shift."""
    if x.size == 0:  # no max to shift by; the result is as empty as x, as PyTorch
        return np.zeros(x.shape, x.dtype)
    shifted = x - stable_shift(x, dim)
    return shifted - np.log(row_sum(np.exp(shifted), dim))


def softmax_backward(y, g, dim=-1):
    """dL/dx = y * (g - sum(g * y, dim)) for y = softmax(x) (derived in Softmax);
    a new array (y and g are left as they are)."""
    gy = g * y
    gy -= y * row_sum(gy, dim)
    return gy


class Softmax(Function):
    """y = softmax(x) = exp(x - m) / sum(exp(x - m)) along dim (m: see stable_shift).

    Subtracting m changes nothing (exp(-m) cancels) but keeps exp from
    overflowing. An entry of -inf gives exactly 0.

    Jacobian: dy_i/dx_j = y_i (delta_ij - y_j), so the vector-Jacobian product is
        dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j (g_j - sum_i g_i y_i),
    i.e.  dL/dx = y * (g - sum(g * y, dim)).
    """

    def forward(ctx, x, dim):
        y = softmax_forward(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return softmax_backward(y, g, ctx.dim), None


class LogSoftmax(Function):
    """y = log_softmax(x) = (x - m) - log(sum(exp(x - m))) along dim (m: see stable_shift).

    The shift keeps exp from overflowing and the log's argument away from 0,
    so y is finite wherever x is (and -inf where x is -inf; a row of only -inf
    gives nan, as in PyTorch).

    Jacobian: y_i = x_i - logsumexp(x) and d logsumexp/dx_j = softmax(x)_j = exp(y_j),
    so dy_i/dx_j = delta_ij - exp(y_j) and
        dL/dx_j = g_j - exp(y_j) sum_i g_i,
    i.e.  dL/dx = g - exp(y) * sum(g, dim).
    """

    def forward(ctx, x, dim):
        y = log_softmax_forward(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * row_sum(g, ctx.dim), None


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


def softmax_dim(op, x, dim):
    """``dim`` checked as PyTorch checks it: one int, in range (a 0-d tensor takes
    0 or -1). None or a tuple would make numpy normalise over several dims."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    _single_axis(op, x, dim)  # an IndexError naming the op when out of range
    return dim


def softmax(x, dim=-1):
    return Softmax.apply(x, softmax_dim("softmax", x, dim))


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(x, softmax_dim("log_softmax", x, dim))


def embedding(indices, weight):
    """Rows of weight (V, D) picked by integer indices of any shape: indices.shape + (D,)."""
    return Embedding.apply(indices, weight)
