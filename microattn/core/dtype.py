"""Which dtype data becomes: the default float dtype, and numbers, lists and arrays as ndarrays."""
import numpy as np

from . import hooks

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype):
    """Set the floating dtype that Python floats become (float32 unless changed)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype expects a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    """The floating dtype that Python floats become: float32 unless set."""
    return _default_dtype


def as_array(data, dtype=None):
    """An ndarray from ``data``, by the pinned rules: Python floats take the default
    dtype, numpy arrays keep theirs, Python ints give int64 and bools give bool."""
    if dtype is not None:
        return np.array(data, dtype=as_dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype.kind == "f":
        return array.astype(_default_dtype, copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "b":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} data "
                        f"(numpy made dtype {array.dtype}); expected numbers or bools")
    return array


def as_dtype(dtype):
    """A numpy dtype from a dtype object, a numpy type or name ("int64"); None stays None."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype: use ma.float32, ma.int64, ma.bool, ...") \
            from None


def check_device(where, op="to"):
    """Refuse a device other than the CPU (None means the CPU). compat's hook reads
    PyTorch's device objects; without it only "cpu" is known."""
    if hooks.check_device is not None:
        return hooks.check_device(where, op)
    if where not in (None, "cpu"):
        raise RuntimeError(f"{op}: device {where!r} is not available: microattn runs on the "
                           "CPU only (numpy); use 'cpu'")
