"""The tensor constructors the library is built with: zeros, ones and randn (compat adds
PyTorch's others: full, arange, rand, zeros_like, ...)."""
import numpy as np

from . import random
from .tensor import Tensor, sizes
from .dtype import as_dtype, check_device, get_default_dtype


def _new_shape(op, size):
    """The shape of a new tensor, ``f(2, 3)`` or ``f((2, 3))``: ints, none negative."""
    shape = sizes(size)
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}(): size must be ints, got {shape!r}")
        if n < 0:
            raise RuntimeError(f"{op}(): Trying to create tensor with negative dimension {n}: "
                               f"{shape}")
    return shape


def _leaf(array, requires_grad, device=None):
    check_device(device, "a tensor constructor")
    t = Tensor._make(array, None)
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype):
    return as_dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _leaf(np.zeros(_new_shape("zeros", size), dtype=_float_dtype(dtype)), requires_grad,
                 device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _leaf(np.ones(_new_shape("ones", size), dtype=_float_dtype(dtype)), requires_grad,
                 device)


def randn(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Standard normal samples from the generator ``manual_seed`` sets."""
    array = random.generator(generator).standard_normal(_new_shape("randn", size))
    array = array.astype(_float_dtype(dtype), copy=False)
    return _leaf(array, requires_grad, device)
