"""Ops: one Function per differentiable operation, forward and backward side by side.

Importing this package also binds the ops onto ``Tensor`` as operators and
methods (``tensor_methods``), since the autograd core below knows no ops.
"""
from . import tensor_methods  # noqa: F401  (binds operators and methods onto Tensor)
from .elementwise import (abs, add, div, double, eq, exp, float, ge, gelu, gt, le, log, lt,
                          masked_fill, mul, ne, neg, pow, relu, sigmoid, sqrt, sub, tanh,
                          where)
from .linalg import matmul
from .nn_ops import embedding, log_softmax, softmax
from .reduce import amax, amin, argmax, argmin, max, mean, min, sum, var
from .shape import (cat, contiguous, expand, flatten, getitem, permute, reshape, squeeze,
                    stack, transpose, unsqueeze, view)

__all__ = ["abs", "add", "div", "double", "eq", "exp", "float", "ge", "gelu", "gt", "le", "log",
           "lt", "masked_fill", "mul", "ne", "neg", "pow", "relu", "sigmoid", "sqrt", "sub",
           "tanh", "where", "matmul", "embedding", "log_softmax", "softmax", "amax", "amin",
           "argmax", "argmin", "max", "mean", "min", "sum", "var", "cat", "contiguous",
           "expand", "flatten", "getitem", "permute", "reshape", "squeeze", "stack",
           "transpose", "unsqueeze", "view"]
