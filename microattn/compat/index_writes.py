"""Writes at indices, as PyTorch's Tensor methods: ``scatter_``, ``index_fill``,
``index_fill_``, ``masked_scatter``, ``masked_scatter_``.

The out-of-place forms are composed from ops that have their backward
(scatter, masked_fill, indexing, where); each in-place form is its
out-of-place form written into the tensor by the one in-place helper, which
keeps the graph and the version counter as for any other in-place op.
"""
import numpy as np

from ..core import Tensor
from ..core.tensor import unwrap
from ..ops import where
from .inplace import write
from .select import _single_axis, scatter


def scatter_(self, dim, index, src=None, value=None, reduce=None):
    """In place: self[i][index[i][j]] = src[i][j] along dim (or ``value``)."""
    src = value if src is None else src
    return write(self, "scatter_", lambda t, s: scatter(t, dim, index, s, reduce=reduce), src)


def index_fill(self, dim, index, value):
    """self with the slices at ``index`` along dim set to ``value`` (a number or a
    0-d tensor, which then gets the gradient of every filled element)."""
    axis = _single_axis("index_fill", self, dim)
    index = np.asarray(unwrap(index)).reshape(-1)
    if index.dtype.kind not in "iu":
        raise IndexError(f"index_fill: index must be an integer tensor, got {index.dtype}")
    size = self.shape[axis] if self.ndim else 1
    if index.size and (index.min() < -size or index.max() >= size):
        raise IndexError(f"index_fill: index out of range for dim {dim} of size {size}")
    shape = [1] * self.ndim
    if self.ndim:
        shape[axis] = size
    mask = np.zeros(size, dtype=bool)
    mask[index] = True
    return self.masked_fill(Tensor._make(mask.reshape(shape), None), value)  # (1,..,n,..,1)


def index_fill_(self, dim, index, value):
    return write(self, "index_fill_", lambda t, v: index_fill(t, dim, index, v), value)


def masked_scatter(self, mask, source):
    """self with its elements where ``mask`` (bool, broadcast) is True replaced, in
    row-major order, by source's first elements.   dL/dsource: g at those places."""
    m = np.broadcast_to(unwrap(mask), self.shape)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter: expected a bool mask, got {m.dtype}")
    count = int(m.sum())
    if count > source.numel():
        raise RuntimeError(f"masked_scatter: the mask selects {count} elements but source has "
                           f"only {source.numel()}")
    if count == 0:
        return self.clone()
    # where the k-th True of the mask is, the k-th element of source (elsewhere unused)
    order = np.maximum(np.cumsum(m.reshape(-1)) - 1, 0).reshape(self.shape)
    taken = source.reshape(-1)[Tensor._make(order, None)]  # (self's shape)
    return where(Tensor._make(np.ascontiguousarray(m), None), taken, self)


def masked_scatter_(self, mask, source):
    return write(self, "masked_scatter_", lambda t, s: masked_scatter(t, mask, s), source)


METHODS = {"scatter_": scatter_, "index_fill": index_fill, "index_fill_": index_fill_,
           "masked_scatter": masked_scatter, "masked_scatter_": masked_scatter_}
for _name, _method in METHODS.items():
    setattr(Tensor, _name, _method)

__all__ = ["index_fill", "masked_scatter"]  # function forms, as torch.index_fill
