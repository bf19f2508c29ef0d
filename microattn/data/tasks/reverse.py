"""reverse: output the digits backwards. Teaches the cross-attention an anti-diagonal."""
from ._digits import DEFAULTS, DIGITS, MAX_LEN, digits

KIND = "seq2seq"
DESCRIPTION = "reverse a digit string (4-12 digits): cross-attention learns the anti-diagonal"
VOCAB = DIGITS
# One head per layer, wider than copy's model: at d_model 64, or with 4 heads sharing
# the work, it reverses perfectly but its best head puts only ~0.8 of its attention on
# the mirrored digit (blurring into the neighbour); one 128-wide head holds ~0.94.
DEFAULTS = dict(DEFAULTS, d_model=128, heads=1, ff=256, steps=1000)


def example(rng):
    source = digits(rng)
    return source, source[::-1]


def expected_attention(source, target):
    """Target token j is source token n - 1 - j."""
    n = len(source)
    return [[n - 1 - j] for j in range(len(target))]


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example", "expected_attention"]
