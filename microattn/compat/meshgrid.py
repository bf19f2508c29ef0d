"""``meshgrid(*tensors, indexing='ij')``, as torch.meshgrid: coordinate grids.

For 1-D tensors of sizes n_0, ..., n_k, output i holds tensor i's values along
dim i of an (n_0, ..., n_k) grid; ``indexing='xy'`` swaps the first two dims
(numpy's and matplotlib's convention). Each output is tensor i reshaped and
expanded, so gradients flow back to the inputs (summed over the copies).
"""
from ..core import Tensor


def meshgrid(*tensors, indexing=None):
    """Grids for 1-D (or 0-d) tensors, given as arguments or as one list;
    ``indexing`` 'ij' (PyTorch's default) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors or not all(isinstance(t, Tensor) and t.ndim <= 1 for t in tensors):
        raise RuntimeError("meshgrid: expects one or more 0-d or 1-d tensors, got "
                           f"{[tuple(getattr(t, 'shape', ())) for t in tensors]}")
    sizes = [t.numel() for t in tensors]
    dims = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        dims[0], dims[1] = 1, 0  # the first input varies along dim 1, the second along dim 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for t, dim in zip(tensors, dims):
        shape = [1] * len(tensors)
        shape[dim] = -1
        grids.append(t.reshape(shape).expand(*sizes))  # (n,) -> (1, .., n, .., 1) -> grid
    return tuple(grids)


__all__ = ["meshgrid"]
