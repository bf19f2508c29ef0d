"""The Tensor methods added for PyTorch compatibility, gathered in one table
that tensor_methods binds (the reductions with numpy's ``axis``/``keepdims``
spellings too)."""
import numpy as np

from . import elementwise as ew
from . import reduce
from .linalg_more import LINALG_METHODS
from .pointwise_more import POINTWISE_METHODS
from .reduce_more import REDUCE_METHODS, numpy_names
from .select import SELECT_METHODS
from .shape_more import SHAPE_METHODS

_REDUCTIONS = {name: numpy_names(fn) for name, fn in {
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "max": reduce.max,
    "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin, "argmax": reduce.argmax,
    "argmin": reduce.argmin, **REDUCE_METHODS}.items()}

MORE_METHODS = {
    **POINTWISE_METHODS, **SELECT_METHODS, **LINALG_METHODS, **SHAPE_METHODS, **_REDUCTIONS,
    "multiply": ew.Mul.apply, "divide": ew.Div.apply, "subtract": ew.Sub.apply,
    "negative": ew.Neg.apply, "true_divide": ew.Div.apply, "absolute": ew.Abs.apply,
    "eq": ew.compare(np.equal), "ne": ew.compare(np.not_equal),
    "gt": ew.compare(np.greater), "lt": ew.compare(np.less),
    "ge": ew.compare(np.greater_equal), "le": ew.compare(np.less_equal),
    "greater": ew.compare(np.greater), "less": ew.compare(np.less),
    "greater_equal": ew.compare(np.greater_equal), "less_equal": ew.compare(np.less_equal),
}
