"""Writes through a view of a tensor in a graph, recorded as PyTorch's CopySlices.

``v = h.reshape(-1, n)[0]; v[mask] = -1e6`` writes into h's memory. The
graph must say so: h's values are now "old h with v's region replaced by the
written values", and a gradient reaching h must split in two, the part
outside the region going to old h and the part inside to the write.

:func:`rebase` does that without finding h itself: it changes h's graph
node, in place, into a :class:`CopySlices` node whose inputs are a copy of
the old node and the write's node. Every tensor holding that node (h, and
every other view of its memory) now backpropagates through the write; v
keeps its own chain of view nodes, which now ends at the CopySlices node, so
v is "a view of the new h", as in PyTorch. The write itself reads a copy of
v's old values whose view chain ends at the old node.

The write's operands were computed before it, from h's old values: any path
from them to h's node is redirected to the copy of the old node (the nodes on
it copied, so the tensors holding them keep theirs), as PyTorch's graph,
whose nodes never change, would have it.

Where v lies within h is found by running the view chain's backward on an
array numbering v's elements: each view op's backward is exactly the map
that puts a view's elements back where they came from.
"""
import numpy as np

from ..core import Function, Tensor
from ..core.tensor import AccumulateGrad


class CopySlices(Function):
    """z = base with the region of a view replaced by the written values w.
    dL/dbase = g with 0 in the region,  dL/dw = g's region, in the view's shape"""

    def backward(ctx, g):
        d_base = g.copy()
        d_base[ctx.region] = 0
        d_written = np.empty(ctx.order.size, dtype=g.dtype)
        d_written[ctx.order] = g[ctx.region]
        return d_base, d_written.reshape(ctx.view_shape)


def view_chain(tensor):
    """The view nodes from ``tensor`` up to the node of the tensor owning the memory,
    and that node; (None, None) when ``tensor`` is not a view of a tensor in a graph."""
    chain, node = [], tensor.grad_fn
    while node is not None and getattr(node, "_view", False) and not node._released:
        chain.append(node)
        node = node._parents[0]
    if not chain or node is None or getattr(node, "_released", False):
        return None, None
    return chain, node


def _copy_node(node, **changes):
    """A new node of node's class with node's fields (``changes`` replacing some)."""
    twin = object.__new__(type(node))
    twin.__dict__.update(node.__dict__, **changes)
    return twin


def _redirect(root, base, old_base):
    """``root``'s graph with ``base`` replaced by ``old_base``: each node on a path to
    ``base`` is copied with redirected parents; the rest is shared. Iterative, so a
    graph of any depth goes through."""
    done = {base: old_base}  # node -> its replacement (itself when it does not reach base)
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if node in done:
            continue
        parents = node._parents
        if not parents_done:
            stack.append((node, True))
            stack.extend((p, False) for p in parents if p is not None and p not in done)
            continue
        new = [None if p is None else done[p] for p in parents]
        same = all(n is p for n, p in zip(new, parents))
        done[node] = node if same else _copy_node(node, _parents=new)
    return done[root]


def _operand(arg, base, old_base):
    """An operand of the write, its graph read as of before the write."""
    if not isinstance(arg, Tensor) or arg.grad_fn is None:
        return arg
    node = _redirect(arg.grad_fn, base, old_base)
    return arg if node is arg.grad_fn else Tensor._make(arg._data, node)


def _region(chain, shape):
    """(mask over the base's shape: the view's elements; for each masked position in
    row-major order, the index of the view element there)."""
    numbers = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)
    for node in chain:  # view -> ... -> base
        numbers = node.backward(numbers)[0]
    region = numbers > 0
    return region, (numbers[region] - 1).astype(np.intp)


def rebase(tensor, op, compute, args, store):
    """Write ``compute(view's old values, *args)`` into ``tensor``, a view of a tensor in
    a graph, with ``store(result)``, and record it as CopySlices on the base's node.
    Returns False (nothing done) when ``tensor`` is not such a view."""
    chain, base = view_chain(tensor)
    if chain is None:
        return False
    if isinstance(base, AccumulateGrad):
        raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being used "
                           "in an in-place operation")
    region, order = _region(chain, tensor.shape)
    old_base = _copy_node(base, _hooks=None, _retained=None)
    below = old_base
    for node in reversed(chain):  # the old values' view chain, ending at the old node
        below = _copy_node(node, _parents=[below, *node._parents[1:]])
    old = Tensor._make(tensor._data.copy(), below)
    result = compute(old, *(old if a is tensor else _operand(a, base, old_base) for a in args))
    store(result)
    fields = {k: getattr(base, k) for k in ("shape", "dtype", "module_path", "_hooks",
                                            "_retained")}
    base.__class__ = CopySlices
    base.__dict__.clear()
    base.__dict__.update(fields, _parents=[old_base, result.grad_fn], region=region,
                         order=order, view_shape=tensor.shape)
    return True
