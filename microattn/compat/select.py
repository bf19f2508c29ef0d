"""Selection along a dimension: gather, scatter, scatter_add, index_select,
masked_select, topk, sort, argsort.

Each differentiable one moves numbers without computing new ones, so its
backward moves the gradient back to where each number came from (adding up
where one source fed several places).
"""
from collections import namedtuple

import numpy as np

from ..core import Function, Tensor
from .reduce import _single_axis

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _index_array(index, op):
    index = index._data if isinstance(index, Tensor) else np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    return index


class Gather(Function):
    """z[i][j][k] = x[i][index[i][j][k]][k] (for dim 1).
    dL/dx = zeros with g added at the gathered places (scatter_add of g)"""

    def forward(ctx, x, axis, index):
        ctx.axis, ctx.index, ctx.input_shape = axis, index, x.shape
        return np.take_along_axis(x, index, axis)

    def backward(ctx, g):
        dx = np.zeros(ctx.input_shape, dtype=g.dtype)
        _add_along_axis(dx, ctx.index, g, ctx.axis)
        return dx, None, None


def _add_along_axis(target, index, values, axis):
    """target[... index ...] += values along ``axis``, adding repeated indices up."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    np.add.at(target, tuple(grid), values)


def _check_index_shape(op, x_shape, index, axis):
    if index.ndim != len(x_shape) or any(
            n > m for i, (n, m) in enumerate(zip(index.shape, x_shape)) if i != axis):
        raise RuntimeError(f"{op}: index of shape {index.shape} does not fit input of shape "
                           f"{tuple(x_shape)} (same number of dims, each no larger except dim "
                           f"{axis})")


def gather(x, dim, index):
    axis = _single_axis("gather", x, dim)
    index = _index_array(index, "gather")
    _check_index_shape("gather", x.shape, index, axis)
    return Gather.apply(x, axis, index)


class Scatter(Function):
    """z = x with z[i][index[i][j]] = src[i][j] (dim 1); with ``add``, += instead of =.
    dL/dx = g (0 where overwritten, for plain scatter),  dL/dsrc = g gathered at index"""

    def forward(ctx, x, axis, index, src, add):
        ctx.axis, ctx.index, ctx.add = axis, index, add
        out = x.copy()
        src = np.broadcast_to(src, index.shape) if np.ndim(src) == 0 else src[
            tuple(slice(0, n) for n in index.shape)]
        if add:
            _add_along_axis(out, index, src, axis)
        else:
            np.put_along_axis(out, index, src, axis)
        ctx.src_shape = np.shape(src)
        return out

    def backward(ctx, g):
        dx_needed, _, _, dsrc_needed, _ = ctx.needs_input_grad
        dx = dsrc = None
        if dx_needed:
            dx = g.copy()
            if not ctx.add:
                np.put_along_axis(dx, ctx.index, 0, ctx.axis)
        if dsrc_needed:
            dsrc = np.take_along_axis(g, ctx.index, ctx.axis)
        return dx, None, None, dsrc, None


def scatter(x, dim, index, src=None, value=None, reduce=None):
    """x with src's values (or ``value``) written at index along dim."""
    if src is None:
        src = value
    if reduce not in (None, "add", "sum"):
        raise NotImplementedError(f"scatter: reduce={reduce!r} (only 'add')")
    axis = _single_axis("scatter", x, dim)
    index = _index_array(index, "scatter")
    _check_index_shape("scatter", x.shape, index, axis)
    return Scatter.apply(x, axis, index, src, reduce is not None)


def scatter_add(x, dim, index, src):
    axis = _single_axis("scatter_add", x, dim)
    index = _index_array(index, "scatter_add")
    _check_index_shape("scatter_add", x.shape, index, axis)
    return Scatter.apply(x, axis, index, src, True)


class IndexSelect(Function):
    """z = x's slices at ``index`` along dim.   dL/dx = g added back at those slices"""

    def forward(ctx, x, axis, index):
        ctx.axis, ctx.index, ctx.input_shape = axis, index, x.shape
        return np.take(x, index, axis=axis)

    def backward(ctx, g):
        dx = np.zeros(ctx.input_shape, dtype=g.dtype)
        np.add.at(np.moveaxis(dx, ctx.axis, 0), ctx.index, np.moveaxis(g, ctx.axis, 0))
        return dx, None, None


def index_select(x, dim, index):
    index = _index_array(index, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-d, got shape {index.shape}")
    return IndexSelect.apply(x, _single_axis("index_select", x, dim), index.reshape(-1))


def masked_select(x, mask):
    """The elements of x where the bool ``mask`` (broadcast) is True, as a 1-D tensor."""
    mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return x.expand(shape)[np.broadcast_to(mask, shape)]


def _take(x, axis, order):
    """x's values in ``order`` (indices along axis) and the indices as an int64 tensor."""
    values = Gather.apply(x, axis, order) if x.ndim else x.clone()
    return ValuesIndices(values, Tensor._make(order.astype(np.int64), None))


def sort(x, dim=-1, descending=False, stable=False):
    axis = _single_axis("sort", x, dim)
    if x.ndim == 0:
        return _take(x, 0, np.zeros((), np.int64))
    data = -x._data if descending and x.dtype.kind != "b" else x._data
    order = np.argsort(data, axis=axis, kind="stable")
    return _take(x, axis, order)


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending).indices


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along dim and their indices, largest first."""
    axis = _single_axis("topk", x, dim)
    size = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {size}")
    if x.ndim == 0:
        return _take(x, 0, np.zeros((), np.int64))
    data = -x._data if largest else x._data
    order = np.argsort(data, axis=axis, kind="stable")
    order = np.take(order, np.arange(k), axis=axis)
    return _take(x, axis, order)


def kthvalue(x, k, dim=-1, keepdim=False):
    axis = _single_axis("kthvalue", x, dim)
    values, indices = sort(x, axis)
    pick = (slice(None),) * axis + (slice(k - 1, k),)
    values, indices = values[pick], indices[pick]
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return ValuesIndices(values, indices)


SELECT_METHODS = {
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "index_select": index_select, "masked_select": masked_select, "sort": sort,
    "argsort": argsort, "topk": topk, "kthvalue": kthvalue,
}
