"""recall: associative recall, "a 3 c 7 b 1 | c" -> "7": the task on which induction heads form.

The source lists key-value pairs (letter keys, digit values), then ``|`` and a
query key; the answer is the value that followed that key. A key may come back
later in the list, always with the same value, so predicting the value after a
repeated key is recall too: the GPT learns from every token of the sequence
(``SCORE_SOURCE``), not only from the answer, and the held-out score counts the
answer only. A GPT solves it with two attention steps: one head copies each key
into the position of its value (by attending to the previous token), and a
second head, at the query, attends to the value whose copied key matches.
"""
KEYS = list("abcdefgh")
VALUES = [str(d) for d in range(10)]
KEYS_PER_EXAMPLE = 5           # keys in play in one example, drawn from KEYS
MIN_PAIRS, MAX_PAIRS = 4, 8

KIND = "lm"
DESCRIPTION = "associative recall, 'a3c7a3b1|c' -> '7': induction heads form"
VOCAB = KEYS + VALUES + ["|"]
MAX_LEN = 2 * MAX_PAIRS + 2
SCORE_SOURCE = True
DEFAULTS = dict(d_model=64, heads=4, layers=2, ff=128, batch_size=64, steps=5000,
                lr=2e-3, warmup=200, eval_every=500)


def example(rng):
    pool = rng.choice(len(KEYS), size=KEYS_PER_EXAMPLE, replace=False)
    value_of = {KEYS[k]: VALUES[int(rng.integers(len(VALUES)))] for k in pool}
    n = int(rng.integers(MIN_PAIRS, MAX_PAIRS + 1))
    keys = [KEYS[k] for k in rng.choice(pool, size=n)]
    query = keys[int(rng.integers(n))]
    source = [t for key in keys for t in (key, value_of[key])] + ["|", query]
    return source, [value_of[query]]


def expected_attention(source, target):
    """The answer lives in the value right after each earlier copy of the query key."""
    pairs = source[:-2]
    return [[i + 1 for i in range(0, len(pairs), 2) if pairs[i] == source[-1]]]
