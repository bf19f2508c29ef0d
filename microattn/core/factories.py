"""Tensor constructors with PyTorch's names: zeros, ones, full, randn, rand, arange, ..."""
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


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    shape = _new_shape("full", (size,))
    return _leaf(np.full(shape, fill_value, dtype=_float_dtype(dtype)), requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    return _leaf(np.zeros(t.shape, dtype=as_dtype(dtype) or t.dtype), requires_grad, device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    return _leaf(np.ones(t.shape, dtype=as_dtype(dtype) or t.dtype), requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Standard normal samples from the generator ``manual_seed`` sets."""
    array = random.generator(generator).standard_normal(_new_shape("randn", size))
    array = array.astype(_float_dtype(dtype), copy=False)
    return _leaf(array, requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Uniform samples on [0, 1) from the generator ``manual_seed`` sets."""
    array = random.generator(generator).random(_new_shape("rand", size))
    array = array.astype(_float_dtype(dtype), copy=False)
    return _leaf(array, requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """``arange(end)`` or ``arange(start, end, step)``: int64 for whole-number
    arguments, the default float dtype otherwise, as PyTorch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if dtype is None:
        whole = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if whole else get_default_dtype()
    return _leaf(np.arange(start, end, step, dtype=dtype), requires_grad, device)
