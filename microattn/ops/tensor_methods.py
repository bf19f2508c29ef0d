"""Bind the ops onto ``Tensor`` as Python operators and PyTorch-named methods.

The autograd core defines ``Tensor`` without any op (it sits below ``ops``);
this table is the one place where ``a + b`` meets ``Add``.
"""
from ..autograd import Tensor
from . import elementwise as ew
from . import linalg, nn_ops, reduce, shape
from .convert import CONVERT_METHODS, CONVERT_PROPERTIES
from .inplace import INPLACE_METHODS
from .more_methods import MORE_METHODS


def _reflected(op):
    """``other <op> tensor``: the same op with the operands in their written order."""
    def method(self, other):
        return op(other, self)
    method.__name__ = f"r{op.__name__}"
    return method


_OPERATORS = {
    "__add__": ew.add, "__radd__": _reflected(ew.add),
    "__sub__": ew.sub, "__rsub__": _reflected(ew.sub),
    "__mul__": ew.mul, "__rmul__": _reflected(ew.mul),
    "__truediv__": ew.div, "__rtruediv__": _reflected(ew.div),
    "__pow__": ew.pow, "__rpow__": _reflected(ew.pow),
    "__matmul__": linalg.matmul, "__rmatmul__": _reflected(linalg.matmul),
    "__neg__": ew.neg, "__abs__": ew.abs,
    "__eq__": ew.eq, "__ne__": ew.ne, "__lt__": ew.lt, "__le__": ew.le,
    "__gt__": ew.gt, "__ge__": ew.ge,
    "__getitem__": shape.getitem,
}

_METHODS = {
    # elementwise
    "add": ew.add, "sub": ew.sub, "mul": ew.mul, "div": ew.div, "pow": ew.pow,
    "neg": ew.neg, "exp": ew.exp, "log": ew.log, "sqrt": ew.sqrt, "tanh": ew.tanh,
    "sigmoid": ew.sigmoid, "relu": ew.relu, "gelu": ew.gelu, "abs": ew.abs,
    "masked_fill": ew.masked_fill, "double": ew.double, "float": ew.float,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "max": reduce.max,
    "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin,
    "argmax": reduce.argmax, "argmin": reduce.argmin,
    # shapes
    "reshape": shape.reshape, "view": shape.view, "transpose": shape.transpose,
    "permute": shape.permute, "unsqueeze": shape.unsqueeze, "squeeze": shape.squeeze,
    "expand": shape.expand, "flatten": shape.flatten, "contiguous": shape.contiguous,
    # linear algebra and fused nn ops
    "matmul": linalg.matmul, "softmax": nn_ops.softmax, "log_softmax": nn_ops.log_softmax,
}

for _name, _fn in {**_OPERATORS, **_METHODS, **INPLACE_METHODS, **CONVERT_METHODS,
                   **CONVERT_PROPERTIES, **MORE_METHODS}.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(shape.t, doc="The tensor with its dimensions reversed (a transpose for 2-D).")
