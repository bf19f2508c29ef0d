"""The one random generator behind randn, rand, dropout and sampling."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed every random draw microattn makes (randn, rand, init, dropout, generate)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator():
    """The current ``numpy.random.Generator``."""
    return _generator
