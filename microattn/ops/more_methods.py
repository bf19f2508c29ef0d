"""The Tensor methods added for PyTorch compatibility, gathered in one table
that tensor_methods binds (the reductions with numpy's ``axis``/``keepdims``
spellings too)."""
from . import elementwise as ew
from . import reduce
from .pointwise_more import POINTWISE_METHODS
from .reduce_more import REDUCE_METHODS, numpy_names
from .select import SELECT_METHODS
from .shape_more import SHAPE_METHODS

_REDUCTIONS = {name: numpy_names(fn) for name, fn in {
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "max": reduce.max,
    "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin, "argmax": reduce.argmax,
    "argmin": reduce.argmin, **REDUCE_METHODS}.items()}

MORE_METHODS = {
    **POINTWISE_METHODS, **SELECT_METHODS, **SHAPE_METHODS, **_REDUCTIONS,
    "multiply": ew.mul, "divide": ew.div, "subtract": ew.sub, "negative": ew.neg,
    "true_divide": ew.div, "absolute": ew.abs,
    "greater": ew.gt, "less": ew.lt, "greater_equal": ew.ge, "less_equal": ew.le,
    "eq": ew.eq, "ne": ew.ne, "gt": ew.gt, "lt": ew.lt, "ge": ew.ge, "le": ew.le,
}
