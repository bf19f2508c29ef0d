"""Bind the ops onto ``Tensor`` as Python operators and PyTorch-named methods: the one
place where ``a + b`` meets ``Add``. Each entry is the op's ``apply`` itself (``x.exp()``
is ``Exp.apply(x)``), or a function of reduce.py or shape.py that sorts out PyTorch's
arguments first. The layers above add theirs through :func:`bind`.
"""
import numpy as np

from ..core import Tensor
from . import reduce, shape
from .elementwise import (Abs, Add, Div, Exp, Log, MaskedFill, Mul, Neg, Pow, ReLU,
                          Sigmoid, Sqrt, Sub, Tanh, compare)
from .linalg import Matmul


Tensor.__add__ = Tensor.add = Add.apply
Tensor.__radd__ = lambda self, other: Add.apply(other, self)
Tensor.__sub__ = Tensor.sub = Sub.apply
Tensor.__rsub__ = lambda self, other: Sub.apply(other, self)
Tensor.__mul__ = Tensor.mul = Mul.apply
Tensor.__rmul__ = lambda self, other: Mul.apply(other, self)
Tensor.__truediv__ = Tensor.div = Div.apply
Tensor.__rtruediv__ = lambda self, other: Div.apply(other, self)
Tensor.__pow__ = Tensor.pow = Pow.apply
Tensor.__rpow__ = lambda self, other: Pow.apply(other, self)
Tensor.__matmul__ = Tensor.matmul = Matmul.apply
Tensor.__rmatmul__ = lambda self, other: Matmul.apply(other, self)
Tensor.__neg__ = Tensor.neg = Neg.apply
Tensor.__abs__ = Tensor.abs = Abs.apply
Tensor.exp = Exp.apply
Tensor.log = Log.apply
Tensor.sqrt = Sqrt.apply
Tensor.tanh = Tanh.apply
Tensor.sigmoid = Sigmoid.apply
Tensor.relu = ReLU.apply
Tensor.masked_fill = MaskedFill.apply

Tensor.__eq__ = compare(np.equal)
Tensor.__ne__ = compare(np.not_equal)
Tensor.__lt__ = compare(np.less)
Tensor.__le__ = compare(np.less_equal)
Tensor.__gt__ = compare(np.greater)
Tensor.__ge__ = compare(np.greater_equal)

Tensor.sum, Tensor.mean = reduce.sum, reduce.mean

Tensor.__getitem__ = shape.getitem
Tensor.reshape = shape.reshape
Tensor.transpose, Tensor.permute = shape.transpose, shape.permute
Tensor.unsqueeze, Tensor.squeeze = shape.unsqueeze, shape.squeeze
Tensor.expand = shape.expand
Tensor.T = property(shape.t, doc="The tensor with its dimensions reversed (a transpose for 2-D).")


def bind(methods):
    """Make each ``name: function`` of ``methods`` a Tensor method (or property)."""
    for name, method in methods.items():
        setattr(Tensor, name, method)
