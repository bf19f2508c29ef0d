"""Dropout: multiply by a random keep-mask already scaled by 1 / (1 - p)."""
import numbers

import numpy as np

from ..core import Function
from ..core.random import generator


def check_probability(p, name="dropout probability"):
    """p itself, after checking that it is a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} has to be a number between 0 and 1, but got {p!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"{name} has to be between 0 and 1, but got {p}")
    return p


def dropout_mask(shape, p, dtype):
    """Inverted-dropout mask: 1 / (1 - p) with probability 1 - p, else 0.

    Scaling the kept entries at training time keeps E[mask] = 1, so evaluation
    needs no rescaling. Drawn from the generator ``ma.manual_seed`` sets.
    """
    if p == 1:
        return np.zeros(shape, dtype=dtype)
    keep = generator().random(shape) >= p
    return np.multiply(keep, 1 / (1 - p), dtype=dtype)


class Dropout(Function):
    """y = x * mask  (mask from :func:`dropout_mask`).   dL/dx = g * mask"""

    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None
