"""The primitive ops, one Function each, forward and backward side by side (elementwise,
reduce, shape, linalg, dropout); methods.py binds them onto ``Tensor``. The function
forms here are the ops' ``apply`` themselves, or the functions of reduce and shape.
"""
from . import elementwise as _ew
from . import methods  # noqa: F401  (binds operators and methods onto Tensor)
from .linalg import Matmul as _Matmul
from .reduce import mean, sum
from .shape import (cat, expand, getitem, permute, reshape, squeeze, stack, transpose,
                    unsqueeze)

add, sub, mul, div = _ew.Add.apply, _ew.Sub.apply, _ew.Mul.apply, _ew.Div.apply
pow, neg, abs = _ew.Pow.apply, _ew.Neg.apply, _ew.Abs.apply
exp, log, sqrt, tanh = _ew.Exp.apply, _ew.Log.apply, _ew.Sqrt.apply, _ew.Tanh.apply
sigmoid, relu = _ew.Sigmoid.apply, _ew.ReLU.apply
where, masked_fill, matmul = _ew.Where.apply, _ew.MaskedFill.apply, _Matmul.apply

__all__ = ["abs", "add", "div", "exp", "log", "masked_fill", "mul", "neg", "pow",
           "relu", "sigmoid", "sqrt", "sub", "tanh", "where", "matmul", "mean", "sum", "cat",
           "expand", "getitem", "permute", "reshape", "squeeze", "stack", "transpose",
           "unsqueeze"]
