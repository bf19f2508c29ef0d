"""The rest of PyTorch's top-level names, re-exported by ``microattn/__init__``:
dtypes and devices, more constructors, grad modes, and a function form
``ma.name(x, ...)`` of every Tensor method (``ma.exp``, ``ma.tril``,
``ma.softmax``, ``ma.split``, ...).

A function form *is* the method's function (``ma.exp is ma.Tensor.exp``), so
it reaches the op's ``apply`` with no extra hop; where PyTorch's function
takes other arguments than its method (``torch.max(a, b)``, ``torch.where``,
``torch.cat``), it is written out here.
"""
import builtins

import numpy as np

from ..core import Tensor, no_grad, enable_grad
from ..core.grad_mode import state
from ..ops import elementwise as _ew
from . import creation, dtypes
from . import linalg as _linalg_more
from . import pointwise as _pointwise
from .dtypes import device

# -- dtypes and devices -----------------------------------------------------------
float16, half, float32, float64, double = (dtypes.float16, dtypes.half, dtypes.float32,
                                           dtypes.float64, dtypes.double)
uint8, int8, int16, short, int32 = (dtypes.uint8, dtypes.int8, dtypes.int16, dtypes.short,
                                    dtypes.int32)
int64, long, complex64, complex128 = dtypes.int64, dtypes.long, dtypes.complex64, \
    dtypes.complex128
cfloat, cdouble = dtypes.cfloat, dtypes.cdouble
finfo, iinfo = np.finfo, np.iinfo
Size = tuple  # t.shape is a tuple; torch.Size is a tuple too
# The names that shadow builtins here (float, int, bool) are set at the end of the file.

# -- constructors -------------------------------------------------------------------
full, arange, rand = creation.full, creation.arange, creation.rand
zeros_like, ones_like = creation.zeros_like, creation.ones_like
empty, eye, linspace, logspace = creation.empty, creation.eye, creation.linspace, \
    creation.logspace
full_like, empty_like, rand_like, randn_like = (creation.full_like, creation.empty_like,
                                                creation.rand_like, creation.randn_like)
randint_like, randperm, from_numpy, as_tensor = (creation.randint_like, creation.randperm,
                                                 creation.from_numpy, creation.as_tensor)
multinomial, normal, bernoulli = creation.multinomial, creation.normal, creation.bernoulli
randint, Generator = creation.randint, creation.Generator


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.dtype.kind == "f"


def numel(t):
    return t._data.size


# -- grad modes ----------------------------------------------------------------------
class inference_mode(no_grad):
    """As torch.inference_mode: no graph is recorded inside (``inference_mode(False)``
    leaves grad mode as it is). A context manager and a decorator, with or
    without the parentheses."""

    def __init__(self, mode=True):
        if callable(mode):  # used bare: @inference_mode
            self._mode, self._fn = True, mode
        else:
            self._mode, self._fn = builtins.bool(mode), None

    def __enter__(self):
        self._previous = state.grad_enabled
        if self._mode:
            state.grad_enabled = False
        return self

    def __call__(self, *args, **kwargs):
        if self._fn is not None:
            with inference_mode():
                return self._fn(*args, **kwargs)
        return super().__call__(*args)


class set_grad_enabled(enable_grad):
    """Grad mode on or off, as torch.set_grad_enabled: at once when called, and
    only within the block when used as ``with set_grad_enabled(False):``."""

    def __init__(self, mode):
        self._previous = state.grad_enabled
        self.enabled = builtins.bool(mode)
        state.grad_enabled = self.enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._previous
        return False


# -- function forms ------------------------------------------------------------------
_NOT_FUNCTIONS = {"to", "type", "type_as", "cpu", "cuda", "backward", "register_hook",
                  "retain_grad", "requires_grad_", "item", "tolist", "numpy", "size", "dim",
                  "numel", "detach", "contiguous", "view", "view_as", "expand", "expand_as",
                  "new_tensor", "new_full", "new_zeros", "new_ones", "new_empty", "long",
                  "int", "short", "bool", "half", "byte", "float", "double",
                  "is_contiguous", "element_size", "nelement", "ndimension", "is_complex",
                  "repeat", "reshape_as"}


def _function_forms():
    """name -> the method's function, for every public Tensor method."""
    forms = {}
    for name in dir(Tensor):
        # in-place methods stay methods (x.add_(y)), as almost all of PyTorch's do
        if name.startswith("_") or name.endswith("_") or name in _NOT_FUNCTIONS:
            continue
        value = Tensor.__dict__.get(name)
        if callable(value) and not isinstance(value, (property, type)):
            forms[name] = value
    return forms


globals().update({k: v for k, v in _function_forms().items() if k not in globals()})


def max(input, dim=None, keepdim=False, *, out=None, **kwargs):
    """``max(x)``, ``max(x, dim)`` -> (values, indices), or ``max(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return _pointwise.maximum(input, dim)
    return Tensor.max(input, dim, keepdim, **kwargs)


def min(input, dim=None, keepdim=False, *, out=None, **kwargs):
    """``min(x)``, ``min(x, dim)`` -> (values, indices), or ``min(a, b)`` elementwise."""
    if isinstance(dim, Tensor):
        return _pointwise.minimum(input, dim)
    return Tensor.min(input, dim, keepdim, **kwargs)


def where(condition, input=None, other=None):
    """``where(cond, a, b)``; ``where(cond)`` gives the indices of True, as nonzero."""
    if input is None and other is None:
        return tuple(Tensor._make(i.astype(np.int64), None)
                     for i in np.nonzero(condition._data))
    return _ew.Where.apply(condition, input, other)


def nonzero(input, as_tuple=False):
    indices = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64), None) for i in indices)
    return Tensor._make(np.stack(indices, axis=1).astype(np.int64), None)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    out = np.unique(input._data, return_inverse=return_inverse, return_counts=return_counts,
                    axis=dim)
    if not isinstance(out, tuple):
        return Tensor._make(out, None)
    values, *rest = out
    rest = [Tensor._make(r.reshape(input.shape) if i == 0 and return_inverse else r, None)
            for i, r in enumerate(rest)]
    return (Tensor._make(values, None), *rest)


def clone(input, memory_format=None):
    return input.clone()


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


def einsum(equation, *operands):
    return _linalg_more.einsum(equation, *operands)


def t(input):
    return input.t()


def detach(input):
    return input.detach()


Tensor.nonzero = nonzero
Tensor.unique = unique

float, int, bool = dtypes.float32, dtypes.int32, dtypes.bool_  # noqa: A001 (PyTorch's names)

__all__ = sorted(name for name in globals() if not name.startswith("_") and name not in (
    "builtins", "np", "Tensor", "no_grad", "enable_grad", "creation", "dtypes", "state"))
