"""copy: output the digits as given. Teaches the cross-attention a diagonal."""
from ._digits import DEFAULTS, DIGITS, MAX_LEN, digits

KIND = "seq2seq"
DESCRIPTION = "copy a digit string (4-12 digits): cross-attention learns the diagonal"
VOCAB = DIGITS
DEFAULTS = dict(DEFAULTS)


def example(rng):
    source = digits(rng)
    return source, list(source)


def expected_attention(source, target):
    """Target token j is source token j."""
    return [[j] for j in range(len(target))]


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example", "expected_attention"]
