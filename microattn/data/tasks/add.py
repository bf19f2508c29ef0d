"""add: "123+456=" -> "579" with a decoder-only GPT; the loss counts the answer only."""
KIND = "lm"
DESCRIPTION = "add two 1-3 digit numbers, '123+456=' -> '579' (GPT, loss on the answer)"
VOCAB = [str(d) for d in range(10)] + ["+", "="]
MAX_LEN = 8   # "999+999=" is the longest source
DEFAULTS = dict(d_model=64, heads=4, layers=2, ff=256, batch_size=64, steps=4000,
                lr=2e-3, warmup=200, eval_every=500)


def example(rng):
    a, b = (int(rng.integers(0, 10 ** int(rng.integers(1, 4)))) for _ in range(2))
    return list(f"{a}+{b}="), list(str(a + b))


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example"]
