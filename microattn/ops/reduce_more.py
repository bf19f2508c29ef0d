"""More reductions with PyTorch's names: std, norm, logsumexp, prod, cumsum,
all and any. ``dim`` and ``keepdim`` as in ops/reduce.py."""
import numpy as np

from ..autograd import Function, Tensor
from .reduce import _axes, _restore, _shape, var


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
        return Tensor._make(np.asarray(fn(x.data, axis=axes, keepdims=keepdim)), None)
    op.__name__ = name
    return op


all = _truth(np.all, "all")
any = _truth(np.any, "any")


def count_nonzero(x, dim=None):
    return Tensor._make(np.asarray(np.count_nonzero(x.data, axis=dim), dtype=np.int64), None)


REDUCE_METHODS = {
    "std": std, "logsumexp": logsumexp, "norm": norm, "prod": prod, "cumsum": cumsum,
    "all": all, "any": any, "count_nonzero": count_nonzero,
}


def numpy_names(fn):
    """``fn`` also taking numpy's spellings ``axis=`` and ``keepdims=``, as PyTorch's
    reductions do (``x.sum(axis=1)``), and ``dtype=`` (the result cast to it) and
    ``out=None``, which numpy passes when ``np.sum(t)`` defers to ``t.sum``."""
    def reduction(x, *args, axis=None, keepdims=None, dtype=None, out=None, **kwargs):
        if out is not None:
            raise TypeError(f"{fn.__name__}(): out= is not supported; use the result")
        if axis is not None:
            if args or "dim" in kwargs:
                raise TypeError(f"{fn.__name__}(): pass dim or axis, not both")
            kwargs["dim"] = axis
        if keepdims is not None:
            kwargs["keepdim"] = keepdims
        result = fn(x, *args, **kwargs)
        return result if dtype is None else result.to(dtype)
    reduction.__name__ = fn.__name__
    reduction.__doc__ = fn.__doc__
    return reduction
