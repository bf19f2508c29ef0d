"""Softmax and log-softmax along one dim, and the shifted exponentials every
softmax of the library (cross-entropy, attention) is computed from."""
import math

import numpy as np

from ..core import Function
from ..core.tensor import to_axis, working


# Every softmax here (Softmax, LogSoftmax, CrossEntropy, attention) goes through
# these helpers. softmax(x) = exp(x - m) / sum(exp(x - m)) for any shift m (exp(-m)
# cancels); m must keep exp from overflowing (x - m <= 0) and keep each row's
# largest term far from underflow. The textbook m is each row's max. float16 is
# computed in float32 (as PyTorch accumulates it) and rounded once at the end.

def _row_sum(a):
    """sum(a, -1, keepdims=True) as a product with a vector of ones: numpy reduces
    short rows one at a time, BLAS does it in one call (docs/performance.md).
    Never in float16: callers pass float32 (see working)."""
    return a @ np.ones((a.shape[-1], 1), dtype=a.dtype)


# Rows whose exp(x - m) sum to at least this, with m the max of the whole array,
# have their own max within 20 + log(n) of m: their terms are normal floats.
_SAFE_TOTAL = math.exp(-20)


def _exp_shifted(x, dim, keep_shifted=False):
    """(s, e, total): s = x - m, e = exp(s) and its sums along ``dim`` (keepdims), in
    the working dtype; s is None unless ``keep_shifted`` (else exp overwrites it).

    Along the last dim the max of the whole array is tried first as m (numpy's
    row maxes are slow for short rows; docs/performance.md has the timings): it
    keeps exp from overflowing, and the row sums show whether it also kept every
    row from underflowing (each row's largest term at least e^-20 / n). If a row
    fails (or the max is not finite), every row takes its own max. A row of only
    -inf is shifted by 0, so it gives zeros (not nan).
    """
    x = working(x)
    if dim in (-1, x.ndim - 1) and x.size:
        top = x.max()
        if np.isfinite(top):
            s = x - top
            e = np.exp(s, out=None if keep_shifted else s)
            total = _row_sum(e)
            if total.min() >= _SAFE_TOTAL:
                return (s if keep_shifted else None), e, total
    m = x.max(axis=dim, keepdims=True)
    m[np.isneginf(m)] = 0
    s = x - m
    e = np.exp(s, out=None if keep_shifted else s)
    return (s if keep_shifted else None), e, e.sum(axis=dim, keepdims=True)


def check_floating(op, dtype):
    """Refuse integer or bool input where the result must be fractional (softmax,
    normalisation), as PyTorch, which has no integer kernel for them."""
    if dtype.kind != "f":
        raise NotImplementedError(f"{op}: expected floating-point input, got dtype {dtype} "
                                  "(convert it first, e.g. with .float())")


def softmax_forward(x, dim=-1, empty_rows_zero=False):
    """softmax(x) along ``dim``, as a new array of x's dtype. A row of only -inf
    gives nan, as PyTorch's softmax, or zeros with ``empty_rows_zero`` (attention:
    a query allowed to see nothing gets weight 0 everywhere)."""
    if x.ndim == 0:
        return np.ones_like(x)
    if x.size == 0:  # nothing to normalise (e.g. no keys): an empty result, as PyTorch
        return np.zeros(x.shape, x.dtype)
    _, y, total = _exp_shifted(x, dim)
    if empty_rows_zero:
        total[total == 0] = 1
    y /= total
    return y.astype(x.dtype, copy=False)


def log_softmax_forward(x, dim=-1):
    """log_softmax(x) = (x - m) - log(sum(exp(x - m))) along ``dim``, a new array of x's dtype."""
    if x.ndim == 0:
        return np.zeros_like(x)
    if x.size == 0:  # no max to shift by; the result is as empty as x, as PyTorch
        return np.zeros(x.shape, x.dtype)
    y, _, total = _exp_shifted(x, dim, keep_shifted=True)
    y -= np.log(total)
    return y.astype(x.dtype, copy=False)


def softmax_backward(y, g, dim=-1, out=None):
    """dL/dx = y * (g - sum(g * y, dim)) for y = softmax(x) (derived in Softmax), into
    ``out`` if given (``out=g`` overwrites g, when the caller no longer needs it)."""
    y, g = working(y), working(g)
    if dim in (-1, y.ndim - 1):  # sum(g * y) without the product's array
        total = np.einsum("...i,...i->...", g, y)[..., None]
    else:
        total = (g * y).sum(axis=dim, keepdims=True)
    dx = np.subtract(g, total, out=out)
    dx *= y
    return dx


class Softmax(Function):
    """y = softmax(x) = exp(x - m) / sum(exp(x - m)) along dim, m the row max.

    Jacobian: dy_i/dx_j = y_i (delta_ij - y_j), so the vector-Jacobian product is
        dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j (g_j - sum_i g_i y_i),
    i.e.  dL/dx = y * (g - sum(g * y, dim)).
    """

    def forward(ctx, x, dim=-1):
        check_floating("softmax", x.dtype)
        y = softmax_forward(x, to_axis(dim, x.shape, "softmax"))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if y.ndim == 0:
            return np.zeros_like(g), None
        return softmax_backward(y, g, ctx.dim), None


class LogSoftmax(Function):
    """y = log_softmax(x) = (x - m) - log(sum(exp(x - m))) along dim, m the row max:
    finite wherever x is (-inf where x is -inf; a row of only -inf gives nan, as PyTorch).

    Jacobian: y_i = x_i - logsumexp(x) and d logsumexp/dx_j = softmax(x)_j = exp(y_j),
    so dy_i/dx_j = delta_ij - exp(y_j) and
        dL/dx_j = g_j - exp(y_j) sum_i g_i,
    i.e.  dL/dx = g - exp(y) * sum(g, dim).
    """

    def forward(ctx, x, dim=-1):
        check_floating("log_softmax", x.dtype)
        y = log_softmax_forward(x, to_axis(dim, x.shape, "log_softmax"))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if y.ndim == 0:
            return np.zeros_like(g), None
        y, g = working(y), working(g)
        dim = ctx.dim
        total = _row_sum(g) if dim in (-1, y.ndim - 1) else g.sum(axis=dim, keepdims=True)
        return g - np.exp(y) * total, None
