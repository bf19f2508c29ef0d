"""sort: output the digits in increasing order. Attention must find the k-th smallest."""
from ._digits import DEFAULTS, DIGITS, MAX_LEN, digits

KIND = "seq2seq"
DESCRIPTION = "sort a digit string (4-12 digits): attention finds the k-th smallest digit"
VOCAB = DIGITS
DEFAULTS = dict(DEFAULTS)


def example(rng):
    source = digits(rng)
    return source, sorted(source)


def expected_attention(source, target):
    """Target token j is the k-th smallest digit: every source position holding that digit."""
    return [[i for i, s in enumerate(source) if s == t] for t in target]


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example", "expected_attention"]
