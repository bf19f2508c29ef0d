"""Reductions: sum and mean (compat adds var, std, max/min, amax, argmax, ...).

``dim`` is an int, a tuple of ints or None (every dim), as in PyTorch. A backward
spreads the gradient back over the reduced dims by broadcasting, after putting them
back when ``keepdim=False``.
"""
import numpy as np

from ..core import Function, Tensor, hooks
from ..core.tensor import to_axis

def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _axes(op, shape, dim):
    """``dim`` as a sorted tuple of non-negative axes of ``shape``."""
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if dim is None or not dims:
        return tuple(range(len(shape)))
    axes = [to_axis(d, shape, op) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}(): dim {dim!r} names a dimension twice (shape {tuple(shape)})")
    # A 0-d tensor takes dim 0 or -1, as in PyTorch, and has nothing to reduce.
    return tuple(sorted(axes)) if shape else ()


def _count(shape, axes):
    """How many elements each output element reduces over."""
    return int(np.prod([shape[a] for a in axes]))


def _mean(x, axes, keepdim, count):
    """x.mean(axes), ``count`` elements each. A mean over nothing is nan, as
    PyTorch's, without numpy's "mean of empty slice" warning."""
    if count == 0:
        return np.full(np.sum(x, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x.dtype)
    return np.mean(x, axis=axes, keepdims=keepdim)


def _restore(g, axes, keepdim):
    """The gradient with the reduced axes (an int or a sorted tuple) put back
    with size 1, so it broadcasts against the input."""
    return g if keepdim else np.expand_dims(g, axes)


class Sum(Function):
    """z = sum of x over dims.   dL/dx = g broadcast back over the summed dims"""

    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim, ctx.input_shape = axes, keepdim, x.shape
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(ctx, g):
        return np.broadcast_to(_restore(g, ctx.axes, ctx.keepdim), ctx.input_shape), None, None


class Mean(Function):
    """z = sum of x over dims / n, n the number of elements summed.
    dL/dx = g / n broadcast back over the dims"""

    def forward(ctx, x, axes, keepdim):
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"mean(): needs a floating-point tensor, got dtype {x.dtype} "
                               "(convert it first, e.g. with .double())")
        ctx.axes, ctx.keepdim, ctx.input_shape = axes, keepdim, x.shape
        ctx.count = _count(x.shape, axes)
        return _mean(x, axes, keepdim, ctx.count)

    def backward(ctx, g):
        if ctx.count == 0:  # x is empty: so is its gradient
            return np.zeros(ctx.input_shape, g.dtype), None, None
        g = _restore(g, ctx.axes, ctx.keepdim) / ctx.count
        return np.broadcast_to(g, ctx.input_shape), None, None


def sum(x, dim=None, keepdim=False, **numpy):
    """Sum over ``dim`` (every dim by default)."""
    if numpy:
        return hooks.numpy_spelling(sum, x, (), dict(numpy, dim=dim, keepdim=keepdim))
    return Sum.apply(x, _axes("sum", _shape(x), dim), keepdim)


def mean(x, dim=None, keepdim=False, **numpy):
    """Mean over ``dim`` (every dim by default); floating tensors only."""
    if numpy:
        return hooks.numpy_spelling(mean, x, (), dict(numpy, dim=dim, keepdim=keepdim))
    return Mean.apply(x, _axes("mean", _shape(x), dim), keepdim)
