"""Conversions: ``to``, the dtype shortcuts (``long``, ``half``, ...), ``clone``,
devices, and 0-d tensors as Python numbers (``int(t)``, ``f"{t:.4f}"``, ``xs[t]``).

Casts between floating dtypes keep the graph (their backward casts the
gradient back); a cast to an integer or bool dtype leaves it, as in PyTorch,
since nothing can flow back through whole numbers.
"""
import builtins
import numbers

import numpy as np

from ..core import Function, Tensor
from ..core.dtype import as_dtype
from ..nn.module import parse_to
from ..ops import elementwise as ew
from .dtypes import CPU, check_device


class Clone(Function):
    """z = a copy of x (its own memory).   dL/dx = g"""

    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


def clone(x, memory_format=None):
    """A copy of x with memory of its own, still in the graph."""
    return Clone.apply(x)


def cast(x, dtype):
    """x as ``dtype`` (x itself if it already is one)."""
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind in "fc" and x.dtype.kind in "fc":
        return ew.Cast.apply(x, dtype)
    return Tensor._make(x._data.astype(dtype), None)


def to(x, *args, **kwargs):
    """``x.to(dtype)``, ``x.to("cpu")``, ``x.to(device, dtype)``, ``x.to(other)``:
    x itself when nothing changes; any device but the CPU raises."""
    where, dtype, copy = parse_to(args, dict(kwargs))
    check_device(where)
    out = x if dtype is None else cast(x, dtype)
    return clone(out) if copy and out is x else out


# PyTorch's legacy type names, which ``t.type()`` returns and ``t.type(name)`` takes
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_TYPE_DTYPES = {f"torch.{name}": np.dtype(dtype) for dtype, name in _TYPE_NAMES.items()}


def type_(x, dtype=None):
    """``t.type()``: PyTorch's name for the tensor type ('torch.FloatTensor');
    ``t.type(dtype)`` (a dtype or such a name): t cast to it."""
    if dtype is None:
        return f"torch.{_TYPE_NAMES.get(x.dtype.name, x.dtype.name)}"
    return cast(x, _TYPE_DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)


def type_as(x, other):
    return cast(x, other.dtype)


def cpu(x):
    return x


def cuda(x, *args, **kwargs):
    check_device("cuda", "cuda()")


def _number(x, kind, convert):
    if x._data.size != 1:
        raise ValueError(f"only one element tensors can be converted to Python {kind}s, "
                         f"this one has shape {tuple(x.shape)}")
    return convert(x._data.item())


def to_int(x):
    return _number(x, "int", builtins.int)


def to_float(x):
    return _number(x, "float", builtins.float)


def to_index(x):
    """``xs[t]`` and ``data[t:t + 8]``: a one-element integer tensor as an int."""
    if x.dtype.kind not in "iub" or x._data.size != 1:
        raise TypeError(f"only integer tensors of a single element can be converted to an "
                        f"index, this one has dtype {x.dtype} and shape {tuple(x.shape)}")
    return builtins.int(x._data.item())


def format_(x, spec):
    """``f"{t:.4f}"`` formats the number of a one-element tensor; ``f"{t}"`` prints it."""
    if x._data.ndim == 0 or (spec and x._data.size == 1):
        return format(x._data.item(), spec)
    return format(str(x), spec)


def iterate(x):
    """``for row in t``: the slices along dim 0, as PyTorch (a 0-d tensor is not iterable)."""
    if x.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (x[i] for i in range(x.shape[0]))


def contains(x, element):
    """``v in t``: whether any element of t equals v (a number or a tensor)."""
    if isinstance(element, Tensor):
        element = element._data
    elif not isinstance(element, (numbers.Number, np.generic)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you "
                           f"passed in a {type(element)}.")
    return builtins.bool(np.any(x._data == element))


def length(x):
    """``len(t)``: the size of dim 0 (a 0-d tensor has none)."""
    if x.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return x.shape[0]


def new_tensor(x, data, dtype=None, device=None, requires_grad=False):
    check_device(device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype or x.dtype)


def _new(fill):
    def method(x, *size, dtype=None, device=None, requires_grad=False):
        check_device(device)
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        t = Tensor._make(fill(tuple(shape), as_dtype(dtype) or x.dtype), None)
        t.requires_grad = requires_grad
        return t
    return method


def new_full(x, size, fill_value, dtype=None, device=None, requires_grad=False):
    check_device(device)
    t = Tensor._make(np.full(tuple(size), fill_value, dtype=as_dtype(dtype) or x.dtype), None)
    t.requires_grad = requires_grad
    return t


CONVERT_METHODS = {
    "size": lambda x, dim=None: x.shape if dim is None else x.shape[dim],
    "numel": lambda x: x._data.size, "dim": lambda x: x._data.ndim, "__len__": length,
    "tolist": lambda x: x._data.tolist(), "to": to, "type": type_, "type_as": type_as, "clone": clone,
    "long": lambda x: cast(x, np.int64), "int": lambda x: cast(x, np.int32),
    "short": lambda x: cast(x, np.int16), "bool": lambda x: cast(x, np.bool_),
    "half": lambda x: cast(x, np.float16), "byte": lambda x: cast(x, np.uint8),
    "float": lambda x: cast(x, np.float32), "double": lambda x: cast(x, np.float64),
    "cpu": cpu, "cuda": cuda,
    "is_floating_point": lambda x: x.dtype.kind == "f",
    "is_complex": lambda x: x.dtype.kind == "c",
    "is_contiguous": lambda x, memory_format=None: True,
    "element_size": lambda x: x.dtype.itemsize,
    "nelement": lambda x: x._data.size, "ndimension": lambda x: x._data.ndim,
    "new_tensor": new_tensor, "new_full": new_full,
    "new_zeros": _new(np.zeros), "new_ones": _new(np.ones), "new_empty": _new(np.zeros),
    "__iter__": iterate, "__contains__": contains, "__pos__": lambda x: x,
    "positive": lambda x: x,
    "__int__": to_int, "__float__": to_float, "__index__": to_index, "__format__": format_,
}

CONVERT_PROPERTIES = {
    "retains_grad": property(lambda x: x.grad_fn is not None and x.grad_fn._retained is not None,
                             doc="Whether backward keeps this non-leaf tensor's .grad."),
    "device": property(lambda x: CPU, doc="Always the CPU: microattn computes with numpy."),
    "is_cuda": property(lambda x: False),
    "mT": property(lambda x: x.transpose(-2, -1), doc="The last two dims swapped."),
    "mH": property(lambda x: x.transpose(-2, -1)),
    "H": property(lambda x: x.T),
    "itemsize": property(lambda x: x.dtype.itemsize),
}
