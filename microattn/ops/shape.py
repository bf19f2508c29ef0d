"""Shape ops: reshape, transpose, permute, squeeze, expand, indexing, cat and stack
(compat adds view, flatten, contiguous and the rest of PyTorch's).

None of them computes a new number: each only moves x's numbers to new
places, so each backward moves the gradient back to where they came from.
"""
import numpy as np

from ..core import Function
from ..core.tensor import sizes, to_axis


class Reshape(Function):
    """y = x with a new shape, the same elements in the same (row-major) order.
    dL/dx = g reshaped to x's shape"""

    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    def backward(ctx, g):
        return g.reshape(ctx.input_shape), None


class Unsqueeze(Reshape):
    """y = x with a new axis of size 1 inserted at dim.   dL/dx = g without that axis"""

    def forward(ctx, x, dim):
        ctx.input_shape = x.shape
        return np.expand_dims(x, to_axis(dim, x.shape + (1,)))  # dim may name the new axis


class Squeeze(Reshape):
    """y = x without its axes of size 1 (all, or those among dim).
    dL/dx = g reshaped to x's shape"""

    def forward(ctx, x, dim):
        ctx.input_shape = x.shape
        if dim is None:
            return np.squeeze(x)
        # A 0-d tensor takes dim 0 or -1, as PyTorch, and stays as it is.
        dims = [to_axis(d, x.shape)
                for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        if x.ndim == 0:
            return x.copy()
        # As in PyTorch, a named dim whose size is not 1 is kept, not an error.
        return np.squeeze(x, axis=tuple(d for d in dims if x.shape[d] == 1))


class Transpose(Function):
    """y = x with axes dim0 and dim1 swapped.   dL/dx = g with them swapped back"""

    def forward(ctx, x, dim0, dim1):
        # a 0-d tensor takes dims 0 and -1, as PyTorch
        ctx.dims = to_axis(dim0, x.shape), to_axis(dim1, x.shape)
        return x.copy() if x.ndim == 0 else np.swapaxes(x, *ctx.dims)

    def backward(ctx, g):
        return (g if g.ndim == 0 else np.swapaxes(g, *ctx.dims)), None, None


class Permute(Function):
    """y = x with its axes reordered: axis i of y is axis dims[i] of x.
    dL/dx = g with the inverse order: axis dims[i] of dx is axis i of g"""

    def forward(ctx, x, dims):
        y = np.transpose(x, dims)  # checks that dims is a permutation first
        ctx.inverse = np.argsort([d % x.ndim for d in dims])
        return y

    def backward(ctx, g):
        return np.transpose(g, ctx.inverse), None


class Expand(Function):
    """y = x repeated along new leading axes and along its axes of size 1 (a
    broadcast view, no copy); -1 keeps a size.
    dL/dx = g summed over the repeated axes: that is the engine's unbroadcast,
    so backward passes g on in y's shape."""

    def forward(ctx, x, sizes):
        new = len(sizes) - x.ndim
        if new < 0:
            raise ValueError(f"expand needs at least {x.ndim} sizes for a tensor of shape "
                             f"{x.shape}, got {sizes}")
        if -1 in sizes[:new]:
            raise ValueError(f"expand: -1 (keep the size) is not allowed for the new leading "
                             f"dimensions, got sizes {sizes} for shape {x.shape}")
        shape = tuple(x.shape[i - new] if n == -1 else n for i, n in enumerate(sizes))
        return np.broadcast_to(x, shape)

    def backward(ctx, g):
        return g, None


class Index(Function):
    """y = x[index]: basic (slices, ints, None, ...) and advanced (integer arrays,
    boolean masks) indexing.
    dL/dx = zeros of x's shape with g added at the indexed positions; an
    element picked several times (repeated integer indices) collects each g."""

    def forward(ctx, x, index):
        ctx.input_shape = x.shape
        ctx.index = index
        # Only integer arrays can pick an element twice; masks and basic indexing
        # cannot, and then plain assignment is much faster than np.add.at.
        parts = index if isinstance(index, tuple) else (index,)
        ctx.can_repeat = any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)
        return np.asarray(x[index])

    def backward(ctx, g):
        dx = np.zeros(ctx.input_shape, dtype=g.dtype)
        if ctx.can_repeat:
            np.add.at(dx, ctx.index, g)
        else:
            dx[ctx.index] = g
        return dx, None


class Cat(Function):
    """y = the inputs joined along dim.   dL/d(input k) = the slice of g that input k filled"""

    def forward(ctx, dim, *arrays):
        y = np.concatenate(arrays, axis=dim)
        ctx.dim = dim
        ctx.ends = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return y

    def backward(ctx, g):
        return (None, *np.split(g, ctx.ends, axis=ctx.dim))


class Stack(Function):
    """y = the inputs stacked along a new axis dim.   dL/d(input k) = g's slice k along dim"""

    def forward(ctx, dim, *arrays):
        y = np.stack(arrays, axis=dim)
        ctx.dim = dim
        return y

    def backward(ctx, g):
        return (None, *np.moveaxis(g, ctx.dim, 0))


def reshape(x, *shape):
    """x with a new shape (varargs or one tuple; one size may be -1)."""
    return Reshape.apply(x, sizes(shape))


def transpose(x, dim0, dim1):
    return Transpose.apply(x, dim0, dim1)


def permute(x, *dims):
    """x with its axes reordered (varargs or one tuple)."""
    return Permute.apply(x, sizes(dims))


def t(x):
    """x with all its axes reversed, as ``Tensor.T`` (a matrix transpose for 2-D)."""
    return Permute.apply(x, tuple(range(x.ndim - 1, -1, -1)))


def unsqueeze(x, dim):
    return Unsqueeze.apply(x, dim)


def squeeze(x, dim=None):
    """x without its size-1 axes: all of them, or those among dim (an int or a tuple)."""
    return Squeeze.apply(x, dim)


def expand(x, *size):
    """x broadcast to size (varargs or one tuple; -1 keeps a size; new leading dims allowed)."""
    return Expand.apply(x, sizes(size))


def getitem(x, index):
    """x[index] as numpy reads it: slices, ints, None, Ellipsis, integer arrays and
    boolean masks, or a tuple of them (compat binds PyTorch's rules in its place)."""
    return Index.apply(x, index)


def cat(tensors, dim=0):
    """The tensors (a list or tuple) joined along the existing axis dim."""
    return Cat.apply(dim, *tensors)


def stack(tensors, dim=0):
    """The tensors (a list or tuple, all one shape) stacked along a new axis dim."""
    return Stack.apply(dim, *tensors)
