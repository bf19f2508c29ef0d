"""The one random generator behind randn, rand, dropout and sampling."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed every random draw microattn makes (randn, rand, init, dropout, generate).

    As PyTorch: ``int(seed)`` is taken (1.5 seeds as 1), and a negative seed
    wraps around 2**64 (-1 seeds as 2**64 - 1)."""
    global _generator
    seed = int(seed)
    if not -2**63 <= seed < 2**64:
        raise ValueError(f"manual_seed: seed {seed} is out of range: expected an int in "
                         "[-2**63, 2**64)")
    _generator = np.random.default_rng(seed % 2**64)
    return _generator


def generator(stream=None):
    """The ``numpy.random.Generator`` to draw from: ``stream``'s (a ``ma.Generator``,
    which compat defines) if given, else the global one."""
    return _generator if stream is None else stream._rng
