"""PyTorch's indexing rule, and writing through an index (``t[index] = value``).

numpy and PyTorch agree on indexing except in one place: numpy counts a
plain int as an advanced index, so in ``x[0, :, [0, 2]]`` the int and the
list are two advanced indices separated by a slice, and numpy moves the
result's indexed dimension to the front: shape (2, 3) for x of shape
(2, 3, 4). PyTorch first selects with the int (a basic index), then indexes
what is left with the list: shape (3, 2). ``index_steps`` rewrites such an
index as that same two-step selection; every other index is one step, as
numpy reads it.
"""
import numpy as np

from ..core import Function, Tensor
from ..ops.shape import Index


def _part(part):
    """An index component as numpy takes it: tensors and lists become arrays,
    and a 0-d integer array an int (PyTorch reads 0-d index tensors as ints)."""
    if isinstance(part, Tensor):
        part = part._data
    elif isinstance(part, list):
        part = np.asarray(part)
        if not part.size:
            part = part.astype(np.intp)  # [] means no rows, not floats
    if isinstance(part, np.ndarray) and part.ndim == 0 and part.dtype.kind in "iu":
        return int(part)
    return part


def _is_int(part):
    return isinstance(part, (int, np.integer)) and not isinstance(part, bool)


def index_steps(index):
    """``index`` as a tuple of indices to apply one after the other, with PyTorch's
    meaning; all but the last are basic (so each step is a view of the one before)."""
    parts = tuple(_part(p) for p in (index if isinstance(index, tuple) else (index,)))
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    if not arrays:
        # A trailing ... keeps a basic index a view even when it picks one element
        # (numpy would return a copied scalar), so t[0] shares t's memory, as in PyTorch.
        return (parts if Ellipsis in parts else parts + (Ellipsis,),)
    if not any(_is_int(p) for p in parts):
        return (parts if isinstance(index, tuple) else parts[0],)
    select, rest = [], []
    for p in parts:
        if _is_int(p):
            select.append(p)            # the int selects now; its dim is gone after
        elif isinstance(p, np.ndarray):
            select.extend([slice(None)] * (p.ndim if p.dtype == np.bool_ else 1))
            rest.append(p)
        elif p is None:
            select.append(None)         # the new axis exists after the select ...
            rest.append(slice(None))    # ... and the second step keeps it
        else:                           # a slice or Ellipsis
            select.append(p)
            rest.append(slice(None) if isinstance(p, slice) else p)
    return tuple(select), tuple(rest)


def view_at(array, steps):
    """``array`` indexed by every step but the last (a view), and the last step."""
    for step in steps[:-1]:
        array = array[step]
    return array, steps[-1]


class IndexPut(Function):
    """z = x with z[index] = value (value broadcast to the indexed shape).
    dL/dx = g with 0 at the written positions,  dL/dvalue = g[index] (summed
    back to value's shape by the engine)."""

    def forward(ctx, x, value, steps):
        ctx.steps = steps
        out = x.copy()
        target, last = view_at(out, steps)
        target[last] = value
        return out

    def backward(ctx, g):
        dx = dvalue = None
        if ctx.needs_input_grad[1]:
            picked, last = view_at(g, ctx.steps)
            dvalue = np.asarray(picked[last])
        if ctx.needs_input_grad[0]:
            dx = g.copy()
            target, last = view_at(dx, ctx.steps)
            target[last] = 0
        return dx, dvalue, None


def getitem(x, index):
    """x[index]: slices, ints, None, Ellipsis, integer arrays (ndarray, list or
    int64 tensor), boolean masks (ndarray or bool tensor), or a tuple of them,
    with PyTorch's rule for an int beside an index array (index_steps above):
    then it is two Index nodes, the int's select first."""
    for step in index_steps(index):
        x = Index.apply(x, step)
    return x
