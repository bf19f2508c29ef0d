"""PyTorch's other Tensor methods, in one table that compat/__init__ binds; the
reductions here also take numpy's ``axis``/``keepdims`` spellings (numpy calls
``t.sum(axis=..., out=None)`` when ``np.sum(t)`` defers to the tensor)."""
import numpy as np

from ..ops import elementwise as ew
from .linalg import LINALG_METHODS
from .pointwise import POINTWISE_METHODS
from .reduce import REDUCE_METHODS, numpy_names
from .select import SELECT_METHODS
from .shape import SHAPE_METHODS

_REDUCTIONS = {name: numpy_names(fn) for name, fn in REDUCE_METHODS.items()}

COMPAT_METHODS = {
    **POINTWISE_METHODS, **SELECT_METHODS, **LINALG_METHODS, **SHAPE_METHODS, **_REDUCTIONS,
    "multiply": ew.Mul.apply, "divide": ew.Div.apply, "subtract": ew.Sub.apply,
    "negative": ew.Neg.apply, "true_divide": ew.Div.apply, "absolute": ew.Abs.apply,
    "eq": ew.compare(np.equal), "ne": ew.compare(np.not_equal),
    "gt": ew.compare(np.greater), "lt": ew.compare(np.less),
    "ge": ew.compare(np.greater_equal), "le": ew.compare(np.less_equal),
    "greater": ew.compare(np.greater), "less": ew.compare(np.less),
    "greater_equal": ew.compare(np.greater_equal), "less_equal": ew.compare(np.less_equal),
}
