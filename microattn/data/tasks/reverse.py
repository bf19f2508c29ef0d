"""reverse: output the digits backwards. Teaches the cross-attention an anti-diagonal."""
from ._digits import DEFAULTS, DIGITS, MAX_LEN, digits

KIND = "seq2seq"
DESCRIPTION = "reverse a digit string (4-12 digits): cross-attention learns the anti-diagonal"
VOCAB = DIGITS
# Wider than copy's model: at d_model 64 it reverses perfectly, but its best head puts
# only ~0.8 of its attention on the mirrored digit, blurring into the neighbour.
DEFAULTS = dict(DEFAULTS, d_model=128, ff=256, steps=1500)


def example(rng):
    source = digits(rng)
    return source, source[::-1]


def expected_attention(source, target):
    """Target token j is source token n - 1 - j."""
    n = len(source)
    return [[n - 1 - j] for j in range(len(target))]


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example", "expected_attention"]
