"""Reductions: sum, mean, var, amax (compat adds max/min with indices, argmax, ...).

``dim`` is an int, a tuple of ints (negative counts from the end), or None
for every dimension, as in PyTorch (an empty tuple also means every
dimension). A backward spreads the gradient back over the reduced
dimensions by broadcasting, after putting them back when ``keepdim=False``.
"""
import builtins
import math
import warnings

import numpy as np

from ..core import Function, Tensor
from .elementwise import Cast

def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _axes(op, shape, dim):
    """``dim`` as a sorted tuple of non-negative axes of ``shape``."""
    ndim = len(shape)
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if dim is None or not dims:
        return tuple(range(ndim))
    # A 0-d tensor takes dim 0 or -1, as in PyTorch, and has nothing to reduce.
    size = builtins.max(ndim, 1)
    axes = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{op}(): dim must be an int, a tuple of ints or None, got {dim!r}")
        if not -size <= d < size:
            raise IndexError(f"{op}(): dim {d} is out of range for a tensor of shape "
                             f"{tuple(shape)} (expected a dim in [{-size}, {size - 1}])")
        axes.append(int(d) % size)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}(): dim {dim!r} names a dimension twice (shape {tuple(shape)})")
    return tuple(sorted(axes)) if ndim else ()


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


class Var(Function):
    """z = sum((x - mean)^2) / (n - correction) over dims.
    dL/dx = g * 2 (x - mean) / (n - correction)  (the mean's own dependence on x
    drops out, because the deviations sum to zero)."""

    def forward(ctx, x, axes, keepdim, correction):
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"var(): needs a floating-point tensor, got dtype {x.dtype} "
                               "(convert it first, e.g. with .double())")
        count = _count(x.shape, axes)
        deviation = x - _mean(x, axes, True, count)
        # As PyTorch: no negative divisor; n <= correction gives inf or nan.
        divisor = builtins.max(count - correction, 0)
        if divisor == 0:
            warnings.warn(f"var(): degrees of freedom is <= 0: correction {correction} is not "
                          f"less than the {count} elements reduced, so the result is inf or "
                          "nan", UserWarning, stacklevel=4)
        ctx.axes, ctx.keepdim, ctx.divisor = axes, keepdim, divisor
        ctx.save_for_backward(deviation)
        squares = np.sum(deviation * deviation, axis=axes, keepdims=keepdim)
        if divisor:
            return squares / divisor
        with np.errstate(invalid="ignore", divide="ignore"):  # x / 0: inf or nan, as PyTorch
            return squares / np.array(0, dtype=x.dtype)

    def backward(ctx, g):
        (deviation,) = ctx.saved_tensors
        g = _restore(g, ctx.axes, ctx.keepdim)
        if ctx.divisor:
            return g * deviation * (2 / ctx.divisor), None, None, None
        with np.errstate(invalid="ignore"):  # n <= correction: g * 0 * inf = nan, as PyTorch
            return g * deviation * math.inf, None, None, None


class _Extreme(Function):
    """Shared by Amax and Amin: ``extreme`` is np.max or np.min.

    A nan anywhere makes the result nan, which equals no element, so no
    element is a hit: amax's gradient is then 0/0 = nan everywhere, as
    PyTorch's. ``nan_hits`` (max() and min() of everything) makes the nan
    elements the hits instead, as PyTorch's max() and min().
    """

    extreme = None
    nan_hits = False

    def forward(ctx, x, axes, keepdim):
        out = ctx.extreme(x, axis=axes, keepdims=True)
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        hits = x == out
        if ctx.nan_hits:
            hits |= np.isnan(x) & np.isnan(out)
        g = _restore(g, ctx.axes, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):  # no hit: nan, as PyTorch
            return hits * (g / hits.sum(axis=ctx.axes, keepdims=True)), None, None


class Amax(_Extreme):
    """z = max of x over dims.   dL/dx = g / k at each of the k elements equal to
    the max, 0 elsewhere (ties share the gradient evenly, as PyTorch's amax)."""

    extreme = staticmethod(np.max)


def numpy_spelling(fn, x, args, options):
    """``fn(x, *args, **options)`` with numpy's spellings translated: ``axis`` is ``dim``,
    ``keepdims`` is ``keepdim``, ``dtype`` casts the result and ``out`` must be None
    (numpy passes them when ``np.sum(t)`` defers to ``t.sum``)."""
    if options.pop("out", None) is not None:
        raise TypeError(f"{fn.__name__}(): out= is not supported; use the result")
    dtype, axis, keepdims = (options.pop(k, None) for k in ("dtype", "axis", "keepdims"))
    if axis is not None:
        if args or options.get("dim") is not None:
            raise TypeError(f"{fn.__name__}(): pass dim or axis, not both")
        options["dim"] = axis
    if keepdims is not None:
        options["keepdim"] = keepdims
    result = fn(x, *args, **options)
    return result if dtype is None else Cast.apply(result, np.dtype(dtype))


def sum(x, dim=None, keepdim=False, **numpy):
    """Sum over ``dim`` (every dim by default)."""
    if numpy:
        return numpy_spelling(sum, x, (), dict(numpy, dim=dim, keepdim=keepdim))
    return Sum.apply(x, _axes("sum", _shape(x), dim), keepdim)


def mean(x, dim=None, keepdim=False, **numpy):
    """Mean over ``dim`` (every dim by default); floating tensors only."""
    if numpy:
        return numpy_spelling(mean, x, (), dict(numpy, dim=dim, keepdim=keepdim))
    return Mean.apply(x, _axes("mean", _shape(x), dim), keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, **numpy):
    """Variance over ``dim``: sum of squared deviations / (n - correction).

    The arguments are PyTorch's: ``var(dim, unbiased, keepdim)`` and
    ``var(dim, keepdim=..., correction=...)``. correction=1 (the default) is
    the unbiased estimate, 0 the population variance; ``unbiased=True/False``
    is the older spelling of 1/0.
    """
    if numpy:
        return numpy_spelling(var, x, (), dict(numpy, dim=dim, unbiased=unbiased,
                                                keepdim=keepdim, correction=correction))
    if isinstance(dim, bool):  # PyTorch's overload var(unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError("var(): pass either correction or unbiased, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var.apply(x, _axes("var", _shape(x), dim), keepdim, correction)


def _nonempty(op, shape, axes, dim, error=RuntimeError):
    """``axes`` checked for a value to pick: max, min and their kin have none over
    nothing (no identity, unlike sum), so an empty reduced dim is PyTorch's error:
    ``error`` when every dim is reduced (``dim`` None), else an IndexError."""
    if dim is None:
        if 0 in shape:
            raise error(f"{op}(): Expected reduction dim to be specified for input.numel() == 0: "
                        f"the tensor of shape {tuple(shape)} is empty")
        return axes
    for axis in axes:
        if shape[axis] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size "
                             f"(the tensor has shape {tuple(shape)})")
    return axes


def amax(x, dim=None, keepdim=False, **numpy):
    """Largest values over ``dim`` (an int, a tuple or None); ties share the gradient."""
    if numpy:
        return numpy_spelling(amax, x, (), dict(numpy, dim=dim, keepdim=keepdim))
    return Amax.apply(x, _nonempty("amax", _shape(x), _axes("amax", _shape(x), dim), dim), keepdim)


