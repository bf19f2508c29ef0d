"""More shape ops with PyTorch's names: split, chunk, unbind, narrow, repeat,
repeat_interleave, flip, roll, tril, triu, movedim, diag.

split/chunk/unbind/narrow are slices (``x[..., a:b]``), so each piece is an
Index node of its own; the rest are Functions with their backward beside them.
"""
import math

import numpy as np

from ..core import Function, Tensor
from ..core.tensor import sizes, to_axis
from ..ops.shape import Reshape


class View(Reshape):
    """y = x with a new shape, sharing x's memory: only where the new shape fits x's
    strides, as PyTorch's view (a transposed x must be ``.contiguous()`` or
    ``.reshape``d, which copies).   dL/dx = g reshaped to x's shape"""

    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        y = x.view()
        try:
            y.shape = shape  # numpy refuses what would need a copy
        except AttributeError:
            raise RuntimeError(
                f"view size {shape} is not compatible with the input's size {x.shape} and "
                "stride (at least one dimension spans across two contiguous subspaces): "
                "use .reshape(...) instead") from None
        return y


class Contiguous(Function):
    """y = x with its elements laid out in row-major order (a copy if they are not).
    dL/dx = g"""

    def forward(ctx, x):
        return np.ascontiguousarray(x)

    def backward(ctx, g):
        return g


def view(x, *shape):
    """x with a new shape sharing its memory (varargs or one tuple; one size may be
    -1); a RuntimeError, as PyTorch, when the strides do not allow it."""
    return View.apply(x, sizes(shape))


def flatten(x, start_dim=0, end_dim=-1):
    """x with dims start_dim..end_dim (inclusive) merged into one."""
    if x.ndim == 0:
        return Reshape.apply(x, (1,))
    start, end = to_axis(start_dim, x.shape), to_axis(end_dim, x.shape)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for shape {x.shape}")
    shape = x.shape
    return Reshape.apply(x, shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def contiguous(x):
    """x itself if its elements are in row-major order, else a row-major copy (as PyTorch)."""
    return x if x._data.flags.c_contiguous else Contiguous.apply(x)


def _slice_along(x, axis, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop),)]


def split(x, split_size_or_sections, dim=0):
    """Pieces of x along dim: of ``split_size`` each (the last may be shorter), or
    of the sizes listed."""
    axis = to_axis(dim, x.shape)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        lengths = list(split_size_or_sections)
        if sum(lengths) != n:
            raise RuntimeError(f"split: sizes {lengths} add up to {sum(lengths)}, but dim "
                               f"{dim} has size {n}")
    else:
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        lengths = [min(size, n - start) for start in range(0, n, size)] if n else [0]
    ends = np.cumsum(lengths)
    return tuple(_slice_along(x, axis, end - length, end) for length, end in zip(lengths, ends))


def chunk(x, chunks, dim=0):
    """x split into ``chunks`` pieces of ceil(n / chunks) (fewer if they run out)."""
    n = x.shape[to_axis(dim, x.shape)]
    return split(x, max(math.ceil(n / chunks), 1), dim)


def unbind(x, dim=0):
    """The slices of x along dim, each without that dim."""
    axis = to_axis(dim, x.shape)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def narrow(x, dim, start, length):
    axis = to_axis(dim, x.shape)
    return _slice_along(x, axis, start, start + length)


class Repeat(Function):
    """z = x tiled ``repeats`` times along each dim (as np.tile; new leading dims allowed).
    dL/dx = g summed over the copies: g seen as (r0, n0, r1, n1, ...), summed over each r"""

    def forward(ctx, x, repeats):
        if len(repeats) < x.ndim:
            raise RuntimeError(f"repeat: {len(repeats)} repeats for a {x.ndim}-D tensor: "
                               "give at least one per dim")
        ctx.padded_shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.repeats = repeats
        ctx.input_shape = x.shape
        return np.tile(x, repeats)

    def backward(ctx, g):
        pairs = [n for pair in zip(ctx.repeats, ctx.padded_shape) for n in pair]
        summed = g.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2)))
        return summed.reshape(ctx.input_shape), None


def repeat(x, *repeats):
    return Repeat.apply(x, sizes(repeats))


class RepeatInterleave(Function):
    """z = each element (or slice along dim) of x repeated ``repeats`` times in turn.
    dL/dx = g summed over each element's run of copies"""

    def forward(ctx, x, repeats, axis):
        ctx.axis, ctx.input_shape = axis, x.shape
        ctx.starts = np.concatenate([[0], np.cumsum(np.broadcast_to(repeats, x.shape[axis]))])[:-1]
        return np.repeat(x, repeats, axis=axis)

    def backward(ctx, g):
        if g.shape[ctx.axis] == 0:
            return np.zeros(ctx.input_shape, g.dtype), None, None
        summed = np.add.reduceat(g, ctx.starts, axis=ctx.axis)
        # reduceat gives g[start] itself where a run is empty: those get 0
        empty = np.diff(np.append(ctx.starts, g.shape[ctx.axis])) == 0
        if empty.any():
            summed[(slice(None),) * ctx.axis + (empty,)] = 0
        return summed, None, None


def repeat_interleave(x, repeats, dim=None):
    if isinstance(repeats, Tensor):
        repeats = repeats._data
    if dim is None:
        x, dim = x.reshape(-1), 0
    return RepeatInterleave.apply(x, repeats, to_axis(dim, x.shape))


class Flip(Function):
    """z = x reversed along dims.   dL/dx = g reversed along the same dims"""

    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes)

    def backward(ctx, g):
        return np.flip(g, ctx.axes), None


def flip(x, *dims):
    return Flip.apply(x, tuple(to_axis(d, x.shape) for d in sizes(dims)))


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


class Roll(Function):
    """z = x shifted cyclically by ``shifts`` along dims.   dL/dx = g shifted back"""

    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(x, shifts, axes)

    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return np.roll(g, back, ctx.axes), None, None


def roll(x, shifts, dims=None):
    if isinstance(shifts, list):
        shifts = tuple(shifts)
    if isinstance(dims, list):
        dims = tuple(dims)
    if dims is None:
        return Roll.apply(x.reshape(-1), shifts, None).reshape(x.shape)
    return Roll.apply(x, shifts, dims)


class Triangle(Function):
    """z = x with the entries above (tril) or below (triu) diagonal k zeroed, in the
    last two dims.   dL/dx = g with the same entries zeroed"""

    def forward(ctx, x, lower, k):
        if x.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'}: input must have at least 2 "
                               f"dims, got shape {x.shape}")
        rows, cols = x.shape[-2:]
        keep = np.tri(rows, cols, k, dtype=bool)
        ctx.keep = keep if lower else ~np.tri(rows, cols, k - 1, dtype=bool)
        return np.where(ctx.keep, x, np.zeros((), x.dtype))

    def backward(ctx, g):
        return np.where(ctx.keep, g, 0), None, None


def tril(x, diagonal=0):
    return Triangle.apply(x, True, diagonal)


def triu(x, diagonal=0):
    return Triangle.apply(x, False, diagonal)


def movedim(x, source, destination):
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src, dst = [to_axis(s, x.shape) for s in src], [to_axis(d, x.shape) for d in dst]
    order = [d for d in range(x.ndim) if d not in src]
    for s, d in sorted(zip(src, dst), key=lambda pair: pair[1]):
        order.insert(d, s)
    return x.permute(order)


def matrix_transpose(x):
    """``x.t()``: a 2-D tensor transposed; 0-D and 1-D ones as they are."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but this one has "
                           f"shape {tuple(x.shape)}: use transpose(dim0, dim1) or mT")
    return x if x.ndim < 2 else x.transpose(0, 1)


def swapaxes(x, axis0, axis1):
    return x.transpose(axis0, axis1)


SHAPE_METHODS = {
    "view": view, "flatten": flatten, "contiguous": contiguous,
    "split": split, "chunk": chunk, "unbind": unbind, "narrow": narrow, "repeat": repeat,
    "repeat_interleave": repeat_interleave, "flip": flip, "fliplr": fliplr, "flipud": flipud,
    "roll": roll, "tril": tril, "triu": triu, "movedim": movedim, "moveaxis": movedim,
    "swapaxes": swapaxes, "swapdims": swapaxes,
    "t": matrix_transpose,
    "view_as": lambda x, other: x.view(other.shape),
    "reshape_as": lambda x, other: x.reshape(other.shape),
    "expand_as": lambda x, other: x.expand(other.shape),
    "unflatten": lambda x, dim, sizes_: x.reshape(
        x.shape[:to_axis(dim, x.shape)] + tuple(sizes_)
        + x.shape[to_axis(dim, x.shape) + 1:]),
}
