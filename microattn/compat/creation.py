"""PyTorch's other constructors (the core has zeros, ones and randn): full, arange,
rand, zeros_like, ones_like, empty, eye, linspace, logspace, full_like, rand_like,
randn_like, randint_like, empty_like, randperm, from_numpy, as_tensor, multinomial,
normal, bernoulli.

Random ones draw from the generator that ``manual_seed`` seeds.
"""
import numpy as np

from ..core import random
from ..core.dtype import as_array, as_dtype, get_default_dtype
from ..core.factories import _float_dtype, _leaf, _new_shape
from ..core.tensor import Tensor, sizes


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    shape = _new_shape("full", (size,))
    return _leaf(np.full(shape, fill_value, dtype=_float_dtype(dtype)), requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    return _leaf(np.zeros(t.shape, dtype=as_dtype(dtype) or t.dtype), requires_grad, device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    return _leaf(np.ones(t.shape, dtype=as_dtype(dtype) or t.dtype), requires_grad, device)


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


def empty(*size, dtype=None, requires_grad=False, device=None, **_layout):
    """An uninitialised tensor in PyTorch; here zeros (numpy's empty would show
    whatever the memory held, which helps no learner)."""
    return _leaf(np.zeros(sizes(size), dtype=_float_dtype(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _leaf(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _leaf(np.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad,
                 device)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    return _leaf(np.logspace(start, end, steps, base=base, dtype=_float_dtype(dtype)),
                 requires_grad, device)


def _like(t, dtype):
    return as_dtype(dtype) or t.dtype


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    return _leaf(np.full(t.shape, fill_value, dtype=_like(t, dtype)), requires_grad, device)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    return _leaf(np.zeros(t.shape, dtype=_like(t, dtype)), requires_grad, device)


def rand_like(t, dtype=None, requires_grad=False, device=None, generator=None):
    array = random.generator(generator).random(t.shape).astype(_like(t, dtype), copy=False)
    return _leaf(array, requires_grad, device)


def randn_like(t, dtype=None, requires_grad=False, device=None, generator=None):
    array = random.generator(generator).standard_normal(t.shape).astype(_like(t, dtype), copy=False)
    return _leaf(array, requires_grad, device)


def randint_like(t, low, high=None, dtype=None, requires_grad=False, device=None,
                 generator=None):
    if high is None:
        low, high = 0, low
    array = random.generator(generator).integers(low, high, size=t.shape).astype(_like(t, dtype))
    return _leaf(array, requires_grad, device)


def randperm(n, dtype=np.int64, requires_grad=False, device=None, generator=None):
    return _leaf(random.generator(generator).permutation(n).astype(as_dtype(dtype)), requires_grad,
                 device)


def from_numpy(array):
    """A tensor sharing ``array``'s memory, as torch.from_numpy (writes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    return Tensor._make(array, None)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory where it can: a tensor of the dtype is
    returned itself, an ndarray of the dtype is shared; anything else is converted."""
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtype):
        return _leaf(data, False, device)
    return _leaf(as_array(data, dtype), False, device)


def multinomial(input, num_samples, replacement=False, generator=None):
    """Indices drawn from each row of ``input`` (weights, need not sum to 1): a 1-D
    input gives (num_samples,), a 2-D one (rows, num_samples), int64."""
    weights = np.asarray(input._data if isinstance(input, Tensor) else input, dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                           f"{weights.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise RuntimeError(f"multinomial: cannot sample {num_samples} > the number of "
                           "non-zero weights without replacement")
    rng = random.generator(generator)
    drawn = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                 p=row / total) for row, total in zip(rows, totals)])
    return Tensor._make(drawn.reshape(*weights.shape[:-1], num_samples).astype(np.int64), None)


def normal(mean, std, size=None, dtype=None, requires_grad=False, device=None,
           generator=None):
    """Samples of N(mean, std^2): ``normal(mean, std, size)`` with numbers, or
    elementwise means and stds given as tensors."""
    mean = mean._data if isinstance(mean, Tensor) else mean
    std = std._data if isinstance(std, Tensor) else std
    shape = sizes((size,)) if size is not None else np.broadcast_shapes(np.shape(mean),
                                                                        np.shape(std))
    dtype = _float_dtype(dtype) if size is not None or not isinstance(mean, np.ndarray) \
        else mean.dtype
    array = random.generator(generator).normal(mean, std, shape).astype(dtype)
    return _leaf(array, requires_grad, device)


def bernoulli(input, p=None, generator=None):
    """1 with probability ``input`` (or ``p``) per element, else 0, in input's dtype."""
    probs = input._data if p is None else np.full(input.shape, p)
    drawn = random.generator(generator).random(input.shape) < probs
    return Tensor._make(drawn.astype(input.dtype), None)


def randint(low, high=None, size=None, dtype=np.int64, requires_grad=False, device=None,
            generator=None):
    """Integers in [low, high), as PyTorch: ``randint(high, size)`` or
    ``randint(low, high, size)``; ``size`` is a tuple (of ints, or empty for a 0-d tensor)."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint() takes (high, size) or (low, high, size), with size a "
                        f"tuple; got low={low!r}, high={high!r}, size={size!r}")
    if not low < high:
        raise RuntimeError(f"randint: low >= high (got low={low}, high={high}): the "
                           "integers are drawn from [low, high)")
    array = random.generator(generator).integers(low, high, size=sizes((size,)), dtype=dtype)
    return _leaf(array, requires_grad, device)


class Generator:
    """A random stream of its own, as ``torch.Generator``: pass it as ``generator=``
    to a sampler to draw from it instead of the global stream ``manual_seed`` seeds."""

    def __init__(self, device="cpu"):
        self._rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns self (so ``Generator().manual_seed(0)``)."""
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        return self

    def initial_seed(self):
        return self._seed
