"""Embedding lookup: rows of a weight matrix picked by integer indices."""
import numpy as np

from ..core import Function
from ..core.tensor import working


class Embedding(Function):
    """y[p] = weight[indices[p]]: one row of weight per index, y of shape indices.shape + (D,).

    dL/dweight[v] = sum of g[p] over every position p with indices[p] == v (a row
    looked up twice collects both gradients), and 0 for ``padding_idx``, whose
    row never learns; indices get none.
    """

    def forward(ctx, indices, weight, padding_idx=None):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding expects integer indices, got dtype {indices.dtype}")
        vocabulary = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= vocabulary):
            raise IndexError(f"embedding indices must lie in [0, {vocabulary - 1}] for a "
                             f"vocabulary of {vocabulary} rows, got values from "
                             f"{indices.min()} to {indices.max()}")
        ctx.save_for_backward(indices)
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        return weight[indices]

    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        # Sort the positions by index, then sum each run of equal indices
        # (np.add.reduceat): the sums np.add.at(dweight, indices, g) makes, without
        # its per-element loop (about 6x faster: docs/performance.md).
        flat = indices.reshape(-1)
        order = np.argsort(flat, kind="stable")
        ids = flat[order]
        starts = np.flatnonzero(np.diff(ids, prepend=-1))
        g = working(g)  # float16 rows are summed in float32
        dweight = np.zeros(ctx.weight_shape, dtype=g.dtype)
        if flat.size:
            rows = g.reshape(-1, *ctx.weight_shape[1:])[order]
            dweight[ids[starts]] = np.add.reduceat(rows, starts, axis=0)
        if ctx.padding_idx is not None:
            dweight[ctx.padding_idx] = 0
        return None, dweight, None
