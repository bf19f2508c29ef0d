"""Version counters: how many times an array's memory has been written in place.

As in PyTorch, every in-place write (``add_``, ``+=``, ``t[i] = v``, an
optimizer step) bumps a counter, and backward refuses to run a node whose
saved arrays were written after it saved them: it would read the new values
and compute a wrong gradient silently; instead it raises, naming the node and
the write.

The counter belongs to the memory, not to a Tensor object: a tensor, its
``detach()`` and its views (reshape, transpose, basic indexing) share one
ndarray base, so they share one counter, as views share it in PyTorch.

What each op pays: nothing but one integer. Every write also counts in the
core's ``hooks.writes``, which a node notes when it saves arrays; only a node
whose note differs from the count at its backward (something was written in
between) has its arrays checked, by :func:`check_node`.
"""
import weakref

import numpy as np

from ..core import hooks

_counters = {}  # id(base ndarray) -> [version, name of the last in-place op, hooks.writes then]


def base_of(array):
    """The ndarray that owns ``array``'s memory (``array`` itself if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def version(array):
    """How many in-place writes ``array``'s memory has seen."""
    entry = _counters.get(id(base_of(array)))
    return entry[0] if entry else 0


def bump(array, op):
    """Record one in-place write by ``op`` into ``array``'s memory."""
    base = base_of(array)
    key = id(base)
    entry = _counters.get(key)
    if entry is None:
        entry = _counters[key] = [0, op, 0]
        # the entry goes when the memory does, so a new array at the same id starts at 0
        weakref.finalize(base, _counters.pop, key, None)
    hooks.writes += 1
    entry[0] += 1
    entry[1:] = op, hooks.writes


def _fail(node, shape, saved, entry):
    raise RuntimeError(
        f"one of the arrays needed for gradient computation has been modified by an "
        f"inplace operation: {node.name()}0 saved an array of shape {shape} {saved}; it is "
        f"now at version {entry[0]}, last written by {entry[1]}. Make the in-place write "
        f"after backward(), or write into a clone() instead.")


def check_node(node):
    """core hook on_backward: refuse a backward whose saved arrays were written since
    the node saved them."""
    values = node.__dict__
    for array in values.get("saved_tensors", ()):
        if isinstance(array, np.ndarray):
            entry = _counters.get(id(base_of(array)))
            if entry is not None and entry[2] > node._writes:
                _fail(node, array.shape, "before a write", entry)


def install():
    """Count in-place writes (``core.hooks.wrote``) and check them in backward."""
    hooks.on_write = bump
    hooks.on_backward = check_node
