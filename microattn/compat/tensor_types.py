"""PyTorch's legacy tensor types: ``torch.LongTensor([1, 2])``, ``torch.FloatTensor(2, 3)``
and ``isinstance(t, torch.LongTensor)``.

Each is a constructor for one dtype, not a class of its own: ``LongTensor(data)``
is ``tensor(data, dtype=int64)``, ``LongTensor(2, 3)`` a zero-filled (2, 3)
tensor (PyTorch's is uninitialised memory), and ``isinstance(t, LongTensor)``
asks whether t is a Tensor of that dtype, as PyTorch's does.
"""
import numpy as np

from ..core import Tensor
from ..core.factories import zeros


class _TensorType(type):
    """The metaclass: ``isinstance`` by dtype, and ``repr`` as PyTorch's ``torch.LongTensor``."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _make(cls, *args):
    if not args:
        return zeros(0, dtype=cls.dtype)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return zeros(*args, dtype=cls.dtype)  # sizes (PyTorch leaves the memory uninitialised)
    data = args[0]
    if len(args) > 1 or np.ndim(data) == 0:
        raise TypeError(f"{cls.__name__}(): data must be a sequence or sizes, got {args!r}")
    if isinstance(data, Tensor):
        if data.dtype != cls.dtype:
            raise TypeError(f"{cls.__name__}(): expected a {cls.dtype} tensor, got {data.dtype} "
                            f"(convert it with .to())")
        return data  # PyTorch's constructor returns the same tensor
    return Tensor(np.asarray(data).astype(cls.dtype))


def _tensor_type(name, dtype):
    return _TensorType(name, (), {"dtype": np.dtype(dtype), "__new__": _make,
                                  "__doc__": f"A {np.dtype(dtype)} tensor, as torch.{name}.",
                                  "__module__": __name__})


FloatTensor = _tensor_type("FloatTensor", np.float32)
DoubleTensor = _tensor_type("DoubleTensor", np.float64)
HalfTensor = _tensor_type("HalfTensor", np.float16)
LongTensor = _tensor_type("LongTensor", np.int64)
IntTensor = _tensor_type("IntTensor", np.int32)
BoolTensor = _tensor_type("BoolTensor", np.bool_)
ByteTensor = _tensor_type("ByteTensor", np.uint8)

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "BoolTensor",
           "ByteTensor"]
