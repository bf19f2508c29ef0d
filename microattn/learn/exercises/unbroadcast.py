"""Exercise 2: unbroadcasting a gradient, checked against the engine's own helper."""
import numpy as np

from .. import references
from ..comparison import compare, run
from ..mistakes import MEAN_NOT_SUM, NOT_SUMMED_OVER_BROADCAST

TITLE = "unbroadcasting a gradient"
TEACHES = "why a broadcast input's gradient is a sum, and over which dims"
HINTS = (
    "The answer has exactly the input's shape: grad.ndim - len(shape) leading dims are "
    "summed away, and the dims where shape has 1 are summed with keepdims=True.",
    "Broadcasting copies the input; each copy passes its whole gradient back, so the input "
    "receives the sum over the copies (never the mean, never one copy).",
    "Start with: grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))",
)

# (grad's shape, input's shape): leading dims, size-1 dims, both, a scalar, nothing.
CASES = [((2, 3, 4), (3, 1)), ((2, 3, 4), (3, 4)), ((2, 3, 4), (1, 4)), ((2, 3, 4), ()),
         ((2, 3, 4), (2, 1, 4)), ((4, 1, 3), (1, 1, 3)), ((5,), (1,)), ((2, 3), (2, 3)),
         ((3, 2, 5), (2, 1)), ((2, 2, 3, 3), (1, 3, 1))]


def _summed(grad, shape, reduce, leading=True, ones=True):
    """grad reduced (np.sum or np.mean) over its leading dims and/or the input's size-1 dims."""
    lead = grad.ndim - len(shape)
    size_one = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if leading:
        grad = reduce(grad, axis=tuple(range(lead)))
        lead = 0
    if ones:
        grad = reduce(grad, axis=tuple(lead + i for i in size_one), keepdims=True)
    return grad


def check(module, rng):
    """Every kind of broadcast, float64 and float32, without changing grad."""
    for grad_shape, shape in CASES:
        for dtype in (np.float64, np.float32):
            grad = rng.standard_normal(grad_shape).astype(dtype)
            what, got = run("unbroadcast", module.unbroadcast, grad=grad, shape=shape)
            compare(what, got, references.unbroadcast(grad, shape), {
                NOT_SUMMED_OVER_BROADCAST: lambda: [_summed(grad, shape, np.sum, ones=False),
                                                    _summed(grad, shape, np.sum, leading=False)],
                MEAN_NOT_SUM: lambda: _summed(grad, shape, np.mean)}, dtype)
    return 2 * len(CASES)
