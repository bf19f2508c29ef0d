"""Bind the ops onto ``Tensor`` as Python operators and PyTorch-named methods.

The core defines ``Tensor`` without any op (it sits below ``ops``); this table
is where ``a + b`` meets ``Add``: each entry is the op's ``apply`` itself
(``x.exp()`` is ``Exp.apply(x)``), or, where PyTorch's arguments need sorting
out first (``sum(dim)``, ``reshape(*shape)``), a function of reduce.py or
shape.py that calls it. The layers above add their methods through
:func:`bind` (fused: softmax, gelu; compat: PyTorch's other names).
"""
import numpy as np

from ..core import Tensor
from . import reduce, shape
from .elementwise import (Abs, Add, Cast, Div, Exp, Log, MaskedFill, Mul, Neg, Pow, ReLU,
                          Sigmoid, Sqrt, Sub, Tanh, compare)
from .linalg import Matmul


def _cast(dtype):
    dtype = np.dtype(dtype)

    def method(self):
        # As PyTorch, a tensor already of that dtype is returned itself.
        return self if self._data.dtype == dtype else Cast.apply(self, dtype)
    method.__doc__ = f"The tensor as {dtype} (itself if it already is)."
    return method


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
Tensor.double = _cast(np.float64)
Tensor.float = _cast(np.float32)

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
