"""PyTorch's type promotion: the dtype of an op on tensors and numbers of mixed dtypes.

Installed as ``core.hooks.promote``; the core calls it only when the arguments
of an op are not already arrays of one dtype.
"""
import numpy as np

from ..core.dtype import get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_type(values, floating=False):
    """The dtype of an op on ``values`` (arrays and Python or numpy numbers), by PyTorch's rules.

    Categories rank bool < integer < float. Arrays with dims outrank 0-d arrays,
    which outrank numbers (numbers and 0-d tensors are "weak"): a weaker operand
    decides the dtype only when its category is higher, and then a float number
    gives the default float dtype. So int64 + float32 is float32, float16 * 2.5
    stays float16, int64 * 2.5 is float32 and float32 + float64 0-d is float32.
    """
    ranks = [None, None, None]  # dims > 0, 0-d, numbers
    for v in values:
        if isinstance(v, np.ndarray):
            rank, dtype = (0 if v.ndim else 1), v.dtype
        elif isinstance(v, (bool, np.bool_)):
            rank, dtype = 2, np.dtype(np.bool_)
        elif isinstance(v, (int, np.integer)):
            rank, dtype = 2, np.dtype(np.int64)
        elif isinstance(v, (float, np.floating)):
            rank, dtype = 2, get_default_dtype()
        else:
            raise TypeError(f"expected a tensor, an array or a number, got {type(v).__name__}")
        ranks[rank] = dtype if ranks[rank] is None else _promote_pair(ranks[rank], dtype)
    result = None
    for dtype in ranks:  # strongest first
        if dtype is not None and (result is None
                                  or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]):
            result = dtype
    if floating and result.kind not in "fc":
        result = get_default_dtype()
    return result


def _promote_pair(a, b):
    """Two dtypes of one rank: the higher category wins (int64 and float16 give
    float16); within a category, the wider one."""
    ka, kb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ka != kb:
        return a if ka > kb else b
    return np.promote_types(a, b)


def promote(raw, positions, floating):
    """Give the values at ``positions`` of ``raw`` one dtype, in place: arrays cast,
    numbers made 0-d arrays, so a forward is plain numpy (``Add.forward`` is a + b)."""
    positions = [i for i in positions if i < len(raw) and raw[i] is not None]
    values = [raw[i] for i in positions]
    first = values[0]
    if (type(first) is np.ndarray and all(type(v) is np.ndarray and v.dtype == first.dtype
                                          for v in values)
            and (first.dtype.kind in "fc" or not floating)):
        return  # already one dtype: the common case costs one pass
    dtype = result_type(values, floating)
    for i, v in zip(positions, values):
        if type(v) is not np.ndarray or v.dtype != dtype:
            raw[i] = np.asarray(v, dtype=dtype)


