"""More reductions with PyTorch's names: var, std, amax/amin, max/min (with indices),
argmax/argmin, norm, logsumexp, prod, cumsum, all and any. ``dim`` and ``keepdim`` as in ops/reduce.py."""
import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from ..core import Function, Tensor
from ..core.tensor import unwrap
from ..ops.elementwise import Cast
from ..ops.reduce import _axes, _count, _mean, _restore, _shape


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


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What max(x, dim) and min(x, dim) return: ``.values`` and ``.indices``."


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


def _single_axis(op, x, dim):
    """The one axis ``dim`` names (0 for a 0-d tensor)."""
    if isinstance(dim, (tuple, list)):
        hint = f" (a{op} reduces over several)" if op in ("max", "min") else ""
        raise TypeError(f"{op}(): dim must be a single int, got {dim!r}{hint}")
    axes = _axes(op, _shape(x), dim)
    return axes[0] if axes else 0


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


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """sqrt(var(x)), the arguments as :func:`var` (correction=1 by default)."""
    return var(x, dim, unbiased, keepdim, correction=correction).sqrt()


class LogSumExp(Function):
    """z = log sum exp(x) over dims, computed as m + log sum exp(x - m), m the max.
    dL/dx = g softmax(x) = g exp(x - z)"""

    def forward(ctx, x, axes, keepdim):
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(ctx, g):
        x, z = ctx.saved_tensors
        return _restore(g, ctx.axes, ctx.keepdim) * np.exp(x - z), None, None


def logsumexp(x, dim, keepdim=False):
    return LogSumExp.apply(x, _axes("logsumexp", _shape(x), dim), keepdim)


class Norm(Function):
    """z = (sum |x|^p)^(1/p) over dims (p = 2 by default; inf: max |x|).
    dL/dx = g sign(x) |x|^(p-1) / z^(p-1)  (for p = 2: g x / z; 0 where z = 0)"""

    def forward(ctx, x, p, axes, keepdim):
        a = np.abs(x)
        if p == np.inf:
            out = np.max(a, axis=axes, keepdims=True)
        else:
            out = np.sum(a ** p, axis=axes, keepdims=True) ** (1 / p)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(ctx, g):
        x, z = ctx.saved_tensors
        g = _restore(g, ctx.axes, ctx.keepdim)
        p = ctx.p
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == np.inf:
                hits = np.abs(x) == z
                grad = g * np.sign(x) * hits / hits.sum(axis=ctx.axes, keepdims=True)
            else:
                grad = g * np.sign(x) * np.abs(x) ** (p - 1) / z ** (p - 1)
        return np.where(z == 0, 0, grad), None, None, None


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm over ``dim`` (all of x by default); "fro" is p = 2."""
    p = 2.0 if p in ("fro", None) else float(p)
    if p <= 0:
        raise ValueError(f"norm: p must be positive (or inf), got {p}")
    return Norm.apply(x, p, _axes("norm", _shape(x), dim), keepdim)


class Prod(Function):
    """z = product of x over dims.   dL/dx = g z / x (products of the others where x = 0)"""

    def forward(ctx, x, axes, keepdim):
        out = np.prod(x, axis=axes, keepdims=True)
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(ctx, g):
        x, z = ctx.saved_tensors
        g = _restore(g, ctx.axes, ctx.keepdim)
        if np.all(x != 0):
            return g * z / x, None, None
        # with zeros, the product of the others, one element left out at a time
        flat = np.moveaxis(x, ctx.axes, range(len(ctx.axes))).reshape(-1, *[
            n for i, n in enumerate(x.shape) if i not in ctx.axes])
        others = np.stack([np.prod(np.delete(flat, i, axis=0), axis=0)
                           for i in range(flat.shape[0])])
        others = np.moveaxis(others.reshape(*[x.shape[a] for a in ctx.axes], *flat.shape[1:]),
                             range(len(ctx.axes)), ctx.axes)
        return g * others, None, None


def prod(x, dim=None, keepdim=False, dtype=None):
    return Prod.apply(x, _axes("prod", _shape(x), dim), keepdim)


class Cumsum(Function):
    """z_i = x_0 + ... + x_i along dim.   dL/dx_i = g_i + ... + g_last (a reversed cumsum)"""

    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis, dtype=x.dtype if x.dtype.kind in "fc" else np.int64)

    def backward(ctx, g):
        flipped = np.flip(g, ctx.axis)
        return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis), None


def cumsum(x, dim, dtype=None):
    (axis,) = _axes("cumsum", _shape(x), dim) or (0,)
    out = Cumsum.apply(x, axis) if x.ndim else x.clone()
    return out if dtype is None else out.to(dtype)


def _truth(fn, name):
    def op(x, dim=None, keepdim=False):
        axes = _axes(name, _shape(x), dim)
        return Tensor._make(np.asarray(fn(x._data, axis=axes, keepdims=keepdim)), None)
    op.__name__ = name
    return op


all = _truth(np.all, "all")
any = _truth(np.any, "any")


def count_nonzero(x, dim=None):
    return Tensor._make(np.asarray(np.count_nonzero(x._data, axis=dim), dtype=np.int64), None)


REDUCE_METHODS = {
    "var": var, "amax": amax, "max": max, "min": min, "amin": amin, "argmax": argmax, "argmin": argmin, "std": std, "logsumexp": logsumexp, "norm": norm, "prod": prod, "cumsum": cumsum,
    "all": all, "any": any, "count_nonzero": count_nonzero,
}


def numpy_names(fn):
    """``fn`` also taking numpy's spellings (see numpy_spelling)."""
    def reduction(x, *args, **kwargs):
        return numpy_spelling(fn, x, args, kwargs) if kwargs else fn(x, *args)
    reduction.__name__ = fn.__name__
    reduction.__doc__ = fn.__doc__
    return reduction
