"""Shared by copy, reverse and sort: random digit strings and their model defaults."""
DIGITS = [str(d) for d in range(10)]
MIN_LEN, MAX_LEN = 4, 12

# A small pre-norm encoder-decoder that learns these tasks in a couple of minutes.
DEFAULTS = dict(d_model=64, heads=4, layers=2, ff=128, batch_size=64, steps=2000,
                lr=2e-3, warmup=100, eval_every=500)


def digits(rng):
    """A random digit string of length MIN_LEN..MAX_LEN, as a list of tokens."""
    n = int(rng.integers(MIN_LEN, MAX_LEN + 1))
    return [DIGITS[d] for d in rng.integers(0, 10, size=n)]
