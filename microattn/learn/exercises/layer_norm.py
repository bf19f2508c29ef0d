"""Exercise 6: layer norm and its backward, checked against the library's LayerNorm."""
import numpy as np

from .. import references
from ..comparison import compare, gradcheck, run, unpack
from ..learner_ops import functions_of
from ..mistakes import (LN_NO_MEAN_TERMS, LN_NO_WEIGHT, LN_NO_XHAT_TERM, LN_UNBIASED,
                        NOT_SUMMED_OVER_BROADCAST, SIGN_FLIPPED)

TITLE = "layer norm backward"
TEACHES = "a normalisation couples a row: the mean terms of its backward"
HINTS = (
    "dx is shaped like x; dweight and dbias like weight, (N,): summed over every leading dim.",
    "dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma, with g_hat = g * weight "
    "and the means over the last dim (keepdims=True).",
    "centred = x - x.mean(axis=-1, keepdims=True)",
)

SHAPES = [(4, 6), (2, 3, 5), (1, 8), (3, 2)]
EPS = 1e-5


def _normalised(x, ddof=0):
    """(x_hat, sigma) over the last dim."""
    centred = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True, ddof=ddof) + EPS)
    return centred / sigma, sigma


def _dx(g_hat, x_hat, sigma, mean_terms=2):
    """The x gradient with its two mean terms, one (the first) or none."""
    dx = g_hat
    if mean_terms:
        dx = dx - g_hat.mean(axis=-1, keepdims=True)
    if mean_terms == 2:
        dx = dx - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)
    return dx / sigma


def check(module, rng):
    """Forward and backward on several shapes, float64 and float32, then central
    differences of your layer norm against your backward (x, weight and bias)."""
    for shape in SHAPES:
        for dtype in (np.float64, np.float32):
            x, g = (rng.standard_normal(shape).astype(dtype) * 2 + 0.5 for _ in range(2))
            weight, bias = (rng.standard_normal(shape[-1:]).astype(dtype) for _ in range(2))
            what, y = run("layer_norm", module.layer_norm, x=x, weight=weight, bias=bias,
                          eps=EPS)
            compare(what, y, references.layer_norm(x, weight, bias, EPS), {
                LN_UNBIASED: lambda: _normalised(x, ddof=1)[0] * weight + bias}, dtype)
            what, result = run("layer_norm_backward", module.layer_norm_backward, x=x,
                               weight=weight, g=g, eps=EPS)
            dx, dweight, dbias = unpack(what, result, ("dx", "dweight", "dbias"))
            expected = references.layer_norm_backward(x, weight, bias, g, EPS)
            x_hat, sigma = _normalised(x)
            compare(f"{what}: dx", dx, expected[0], {
                LN_NO_MEAN_TERMS: _dx(g * weight, x_hat, sigma, 0),
                LN_NO_XHAT_TERM: _dx(g * weight, x_hat, sigma, 1),
                LN_NO_WEIGHT: _dx(g, x_hat, sigma), SIGN_FLIPPED: -expected[0]}, dtype)
            compare(f"{what}: dweight", dweight, expected[1], {
                NOT_SUMMED_OVER_BROADCAST: g * x_hat, SIGN_FLIPPED: -expected[1]}, dtype)
            compare(f"{what}: dbias", dbias, expected[2], {
                NOT_SUMMED_OVER_BROADCAST: g, SIGN_FLIPPED: -expected[2]}, dtype)
    gradcheck("central differences of your layer norm, x (3, 4) float64",
              lambda x, w, b: functions_of({6: module}).layer_norm.apply(x, w, b, EPS),
              [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)])
    return 2 * len(SHAPES) + 1
