"""Ops: one Function per differentiable operation, forward and backward side by side.

The primitive ops (elementwise.py, reduce.py, shape.py, linalg.py) are written
as a reader expects; the fused ones (fused.py: softmax, log-softmax,
cross-entropy, layer norm, attention, GELU, embedding) carry their derivations
and the speed work. Importing this package also binds the ops onto ``Tensor``
as operators and methods (``tensor_methods``), since the autograd core below
knows no ops. The function forms here are the ops' ``apply`` themselves.
"""
from . import elementwise as _ew
from . import fused as _fused
from . import tensor_methods  # noqa: F401  (binds operators and methods onto Tensor)
from .linalg import Matmul as _Matmul
from .reduce import amax, amin, argmax, argmin, max, mean, min, sum, var
from .shape import (cat, contiguous, expand, flatten, getitem, permute, reshape, squeeze,
                    stack, transpose, unsqueeze, view)

add, sub, mul, div = _ew.Add.apply, _ew.Sub.apply, _ew.Mul.apply, _ew.Div.apply
pow, neg, abs = _ew.Pow.apply, _ew.Neg.apply, _ew.Abs.apply
exp, log, sqrt, tanh = _ew.Exp.apply, _ew.Log.apply, _ew.Sqrt.apply, _ew.Tanh.apply
sigmoid, relu, gelu = _ew.Sigmoid.apply, _ew.ReLU.apply, _fused.GELU.apply
where, masked_fill, matmul = _ew.Where.apply, _ew.MaskedFill.apply, _Matmul.apply
softmax, log_softmax = _fused.Softmax.apply, _fused.LogSoftmax.apply
embedding = _fused.Embedding.apply

__all__ = ["abs", "add", "div", "exp", "gelu", "log", "masked_fill", "mul", "neg", "pow",
           "relu", "sigmoid", "sqrt", "sub", "tanh", "where", "matmul", "embedding",
           "log_softmax", "softmax", "amax", "amin", "argmax", "argmin", "max", "mean", "min",
           "sum", "var", "cat", "contiguous", "expand", "flatten", "getitem", "permute",
           "reshape", "squeeze", "stack", "transpose", "unsqueeze", "view"]
