"""Exercise 4: softmax and its backward, checked against the library's Softmax."""
import numpy as np

from .. import references
from ..comparison import compare, gradcheck, run
from ..learner_ops import functions_of
from ..mistakes import (SIGN_FLIPPED, SOFTMAX_NO_MAX, SOFTMAX_NO_ROW_TERM, SOFTMAX_NO_Y_FACTOR,
                        SOFTMAX_ROW_TERM_WITHOUT_Y, SOFTMAX_WRONG_AXIS)

TITLE = "softmax backward (the row term)"
TEACHES = "a Jacobian that is not diagonal, applied without ever forming it"
HINTS = (
    "softmax_backward returns an array shaped like y: one gradient per score. Every entry "
    "of a row shares one number, the row term sum(g * y) over that row.",
    "dy_i/dx_j = y_i (delta_ij - y_j), so dL/dx_j = y_j (g_j - sum_i g_i y_i): the "
    "diagonal part y * g minus y times the row term.",
    "row = (g * y).sum(axis=-1, keepdims=True)",
)

SHAPES = [(3, 5), (2, 3, 4), (1, 7), (4, 1), (2, 2, 3, 6)]


def _exp_rows(x, axis):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward_mistakes(x):
    return {SOFTMAX_NO_MAX: lambda: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
            SOFTMAX_WRONG_AXIS: lambda: [_exp_rows(x, 0), _exp_rows(x, None)]}


def backward_mistakes(y, g, expected):
    row = (g * y).sum(axis=-1, keepdims=True)
    return {SOFTMAX_NO_ROW_TERM: y * g, SOFTMAX_NO_Y_FACTOR: g - row,
            SOFTMAX_ROW_TERM_WITHOUT_Y: y * (g - g.sum(axis=-1, keepdims=True)),
            SOFTMAX_WRONG_AXIS: lambda: [y * (g - (g * y).sum(axis=0, keepdims=True)),
                                         y * (g - (g * y).sum())],
            SIGN_FLIPPED: -expected}


def _inputs(rng, shape):
    """Scores of several scales: ordinary, huge (overflow without the max), masked."""
    yield rng.standard_normal(shape) * 3
    yield rng.standard_normal(shape) * 300 + 500
    masked = rng.standard_normal(shape)
    if shape[-1] > 1:
        masked[..., 1:][rng.random(masked[..., 1:].shape) < 0.4] = -np.inf
    yield masked


def check(module, rng):
    """Forward and backward on several shapes and scales, float64 and float32, then
    central differences of your softmax against your softmax_backward."""
    cases = 0
    for shape in SHAPES:
        for x in _inputs(rng, shape):
            for dtype in (np.float64, np.float32):
                x = x.astype(dtype)
                what, y = run("softmax", module.softmax, x=x)
                compare(what, y, references.softmax(x), forward_mistakes(x), dtype)
                y = references.softmax(x)
                g = rng.standard_normal(shape).astype(dtype)
                what, dx = run("softmax_backward", module.softmax_backward, y=y, g=g)
                expected = references.softmax_backward(x, g)
                compare(what, dx, expected, backward_mistakes(y, g, expected), dtype)
                cases += 1
    gradcheck("central differences of your softmax, (3, 4) float64",
              functions_of({4: module}).softmax.apply,
              [rng.standard_normal((3, 4))])
    return cases + 1
