"""``Tensor.data``, as PyTorch's: the values cut from the graph, and a way to replace them."""
import numpy as np

from ..core import Tensor


class DataTensor(Tensor):
    """What ``.data`` returns: a Tensor whose in-place writes bump no version counter."""

    __slots__ = ()


def _get(self):
    """This tensor's values as a Tensor sharing its memory, cut from the graph, as
    PyTorch's ``.data`` (``x.data.clone()``, ``p.grad.data.zero_()``); writes
    through it reach this tensor and are recorded in no graph, nor counted by
    the version counter (as in PyTorch, they bypass autograd). The ndarray
    itself is ``.numpy()``."""
    return DataTensor._make(self._data, None)


def _set(self, value):
    """Replace the values by a tensor's (or an ndarray), of any shape, as PyTorch's
    ``.data =``; a tensor that requires grad keeps a floating dtype."""
    if isinstance(value, Tensor):
        value = value._data
    elif not isinstance(value, np.ndarray):
        raise TypeError(f"Tensor.data must be set to a tensor or an ndarray, not "
                        f"{type(value).__name__} (convert it first, e.g. with ma.tensor)")
    if self._requires_grad and value.dtype.kind not in "fc":
        raise RuntimeError(f"data set to a tensor that requires gradients must be floating "
                           f"point, got dtype {value.dtype}")
    self._data = value


DATA_PROPERTY = property(_get, _set, doc=_get.__doc__)
