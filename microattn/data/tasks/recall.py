"""recall: associative recall, "a 3 c 7 b 1 | c" -> "7": the task on which induction heads form.

The source lists key-value pairs (distinct letter keys, digit values), then ``|``
and a query key; the answer is the value that followed that key. A GPT solves it
with two attention steps: one head copies each key into the position of its
value, and a second head at the query attends to the value whose key matches.
"""
KEYS = list("abcdefgh")
VALUES = [str(d) for d in range(10)]
MIN_PAIRS, MAX_PAIRS = 2, 5

KIND = "lm"
DESCRIPTION = "associative recall, 'a3c7b1|c' -> '7': induction heads form"
VOCAB = KEYS + VALUES + ["|"]
MAX_LEN = 2 * MAX_PAIRS + 2
DEFAULTS = dict(d_model=64, heads=4, layers=2, ff=128, batch_size=64, steps=3000,
                lr=2e-3, warmup=200, eval_every=500)


def example(rng):
    n = int(rng.integers(MIN_PAIRS, MAX_PAIRS + 1))
    keys = [KEYS[i] for i in rng.choice(len(KEYS), size=n, replace=False)]
    values = [VALUES[i] for i in rng.integers(0, len(VALUES), size=n)]
    query = int(rng.integers(0, n))
    source = [t for pair in zip(keys, values) for t in pair] + ["|", keys[query]]
    return source, [values[query]]


def expected_attention(source, target):
    """The answer lives in the value right after the earlier copy of the query key."""
    query = source[-1]
    key_position = source[:-2].index(query)
    return [[key_position + 1]]


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example",
           "expected_attention"]
