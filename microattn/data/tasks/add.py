"""add: "123+456=" -> "579" with a decoder-only GPT; the loss counts the answer only."""
KIND = "lm"
DESCRIPTION = "add two 1-3 digit numbers, '123+456=' -> '579' (GPT, loss on the answer)"
VOCAB = [str(d) for d in range(10)] + ["+", "="]
MAX_LEN = 8   # "999+999=" is the longest source
# The best we measured (92.8% held-out exact match, short of 99%): the answer's
# first digit needs every carry, and only the answer's tokens give a signal.
DEFAULTS = dict(d_model=128, heads=4, layers=2, ff=512, batch_size=64, steps=6000,
                lr=1e-3, warmup=200, eval_every=500)


def example(rng):
    a, b = (int(rng.integers(0, 10 ** int(rng.integers(1, 4)))) for _ in range(2))
    return list(f"{a}+{b}="), list(str(a + b))


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example"]
