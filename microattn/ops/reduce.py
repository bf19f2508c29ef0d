"""Reductions: sum, mean, var, max/min (with indices), amax/amin, argmax/argmin.

``dim`` is an int, a tuple of ints (negative counts from the end), or None
for every dimension, as in PyTorch (an empty tuple also means every
dimension). A backward spreads the gradient back over the reduced
dimensions by broadcasting, after putting them back when ``keepdim=False``.
"""
import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from ..autograd import Function, Tensor
from ..autograd.tensor import unwrap

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What max(x, dim) and min(x, dim) return: ``.values`` and ``.indices``."


def _shape(x):
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


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
    if keepdim:
        return g
    shape = list(g.shape)
    for axis in axes if isinstance(axes, tuple) else (axes,):  # in order: each lands in place
        shape.insert(axis, 1)
    return g.reshape(shape)


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


class Amin(_Extreme):
    """z = min of x over dims.   dL/dx = g / k at each of the k elements equal to
    the min, 0 elsewhere (ties share the gradient evenly, as PyTorch's amin)."""

    extreme = staticmethod(np.min)


class Max(Amax):
    """z = max of every element.   dL/dx as Amax, except that when z is nan the
    gradient goes evenly to the nan elements (PyTorch's max())."""

    nan_hits = True


class Min(Amin):
    """z = min of every element.   dL/dx as Amin, except that when z is nan the
    gradient goes evenly to the nan elements (PyTorch's min())."""

    nan_hits = True


class SelectAlongDim(Function):
    """z = x at ``indices`` along one dim (the values max/min(x, dim) pick).
    dL/dx = g at the chosen index of each slice, 0 elsewhere."""

    def forward(ctx, x, indices, axis, keepdim):
        ctx.input_shape, ctx.axis, ctx.keepdim = x.shape, axis, keepdim
        if x.ndim == 0:
            return x.copy()
        ctx.indices = np.expand_dims(indices, axis)
        picked = np.take_along_axis(x, ctx.indices, axis)
        return picked if keepdim else np.squeeze(picked, axis=axis)

    def backward(ctx, g):
        if not ctx.input_shape:
            return g, None, None, None
        grad = np.zeros(ctx.input_shape, dtype=g.dtype)
        np.put_along_axis(grad, ctx.indices, _restore(g, ctx.axis, ctx.keepdim), ctx.axis)
        return grad, None, None, None


def sum(x, dim=None, keepdim=False):
    """Sum over ``dim`` (every dim by default)."""
    return Sum.apply(x, _axes("sum", _shape(x), dim), keepdim)


def mean(x, dim=None, keepdim=False):
    """Mean over ``dim`` (every dim by default); floating tensors only."""
    return Mean.apply(x, _axes("mean", _shape(x), dim), keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``: sum of squared deviations / (n - correction).

    The arguments are PyTorch's: ``var(dim, unbiased, keepdim)`` and
    ``var(dim, keepdim=..., correction=...)``. correction=1 (the default) is
    the unbiased estimate, 0 the population variance; ``unbiased=True/False``
    is the older spelling of 1/0.
    """
    if isinstance(dim, bool):  # PyTorch's overload var(unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError("var(): pass either correction or unbiased, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var.apply(x, _axes("var", _shape(x), dim), keepdim, correction)


def _single_axis(op, x, dim):
    """The one axis ``dim`` names (0 for a 0-d tensor)."""
    if isinstance(dim, (tuple, list)):
        hint = f" (a{op} reduces over several)" if op in ("max", "min") else ""
        raise TypeError(f"{op}(): dim must be a single int, got {dim!r}{hint}")
    axes = _axes(op, _shape(x), dim)
    return axes[0] if axes else 0


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


def _extreme(op, full, arg, x, dim, keepdim):
    if dim is None:
        return full.apply(x, _nonempty(op, _shape(x), _axes(op, _shape(x), None), None), False)
    axis = _single_axis(op, x, dim)
    if _shape(x):
        _nonempty(op, _shape(x), (axis,), dim)
    data = unwrap(x)
    indices = arg(data, axis=axis) if data.ndim else np.zeros((), np.int64)
    values = SelectAlongDim.apply(x, indices, axis, keepdim)
    if keepdim and data.ndim:
        indices = np.expand_dims(indices, axis)
    return ValuesIndices(values, Tensor._make(indices.astype(np.int64), None))


def max(x, dim=None, keepdim=False):
    """The largest value: with ``dim=None`` a tensor (ties share the gradient);
    with an int ``dim`` a (values, indices) pair, the gradient going to the index."""
    return _extreme("max", Max, np.argmax, x, dim, keepdim)


def min(x, dim=None, keepdim=False):
    """The smallest value; see :func:`max`."""
    return _extreme("min", Min, np.argmin, x, dim, keepdim)


def amax(x, dim=None, keepdim=False):
    """Largest values over ``dim`` (an int, a tuple or None); ties share the gradient."""
    return Amax.apply(x, _nonempty("amax", _shape(x), _axes("amax", _shape(x), dim), dim), keepdim)


def amin(x, dim=None, keepdim=False):
    """Smallest values over ``dim``; see :func:`amax`."""
    return Amin.apply(x, _nonempty("amin", _shape(x), _axes("amin", _shape(x), dim), dim), keepdim)


def _arg(op, fn, x, dim, keepdim):
    data = unwrap(x)
    axis = None if dim is None else _single_axis(op, x, dim)
    if data.ndim == 0:
        return Tensor._make(np.zeros((), np.int64), None)
    _nonempty(op, data.shape, range(data.ndim) if axis is None else (axis,), dim, IndexError)
    return Tensor._make(np.asarray(fn(data, axis=axis, keepdims=keepdim), dtype=np.int64), None)


def argmax(x, dim=None, keepdim=False):
    """Index of the largest value (int64, no gradient): into the flattened
    tensor when ``dim`` is None, else along ``dim``."""
    return _arg("argmax", np.argmax, x, dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest value; see :func:`argmax`."""
    return _arg("argmin", np.argmin, x, dim, keepdim)
