"""Version counters: how many times an array's memory has been written in place.

As in PyTorch, every in-place write (``add_``, ``+=``, ``t[i] = v``, an
optimizer step) bumps a counter, and a graph node that saved an array for
its backward remembers the counter's value at that moment. If the memory has
been written since, backward would read the new values and compute a wrong
gradient silently; instead it raises, naming the node and the write.

The counter belongs to the memory, not to a Tensor object: a tensor, its
``detach()`` and its views (reshape, transpose, basic indexing) share one
ndarray base, so they share one counter, as views share it in PyTorch.
Memory never written in place has version 0 and costs nothing here.
"""
import weakref

import numpy as np

_counters = {}  # id(base ndarray) -> [version, name of the last in-place op]


def base_of(array):
    """The ndarray that owns ``array``'s memory (``array`` itself if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def version(array):
    """How many in-place writes ``array``'s memory has seen."""
    entry = _counters.get(id(base_of(array)))
    return entry[0] if entry else 0


def last_writer(array):
    """The name of the last in-place op on ``array``'s memory (None if none)."""
    entry = _counters.get(id(base_of(array)))
    return entry[1] if entry else None


def bump(array, op):
    """Record one in-place write by ``op`` into ``array``'s memory."""
    base = base_of(array)
    key = id(base)
    entry = _counters.get(key)
    if entry is None:
        entry = _counters[key] = [0, op]
        # the entry goes when the memory does, so a new array at the same id starts at 0
        weakref.finalize(base, _counters.pop, key, None)
    entry[0] += 1
    entry[1] = op


def snapshot(arrays):
    """``(base, version, shape)`` of each ndarray among ``arrays``, for :func:`check`."""
    return tuple((base_of(a), version(a), a.shape) for a in arrays if isinstance(a, np.ndarray))


def check(node_name, saved):
    """Raise if memory saved by node ``node_name`` was written since :func:`snapshot`."""
    for base, saved_version, shape in saved:
        entry = _counters.get(id(base))
        if entry is not None and entry[0] != saved_version:
            raise RuntimeError(
                f"one of the arrays needed for gradient computation has been modified by an "
                f"inplace operation: {node_name} saved an array of shape {shape} at "
                f"version {saved_version}; it is now at version {entry[0]}, last written by "
                f"{entry[1]}. Make the in-place write after backward(), or write into a "
                f"clone() instead.")
