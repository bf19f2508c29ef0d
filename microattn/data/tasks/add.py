"""add: "123+456=" -> "579" with a decoder-only GPT; the loss counts the answer only.

The model writes the sum last digit first ("975"), as minGPT's adder does: then
each digit it writes depends only on the two digits in that column and the carry
out of the column it has just written, which attention can look up. Written first
digit first, the first digit would need every carry at once: the same model
stopped at 92.8% held-out exact match after 6,000 steps, against 100% this way.
``format_answer`` turns it back for people (``microattn predict`` prints 579).
"""
KIND = "lm"
DESCRIPTION = "add two 1-3 digit numbers, '123+456=' -> '579' (GPT, loss on the answer)"
VOCAB = [str(d) for d in range(10)] + ["+", "="]
MAX_LEN = 8   # "999+999=" is the longest source
DEFAULTS = dict(d_model=128, heads=4, layers=2, ff=512, batch_size=64, steps=6000,
                lr=1e-3, warmup=200, eval_every=500)


def example(rng):
    a, b = (int(rng.integers(0, 10 ** int(rng.integers(1, 4)))) for _ in range(2))
    return list(f"{a}+{b}="), list(str(a + b))[::-1]   # the sum, last digit first


def parse(text):
    """What a person types, '123+456' or '123+456=', as the source tokens (ending in '=')."""
    text = text.replace(" ", "")
    return list(text if text.endswith("=") else text + "=")


def format_answer(tokens):
    """The sum in reading order: the model writes it last digit first."""
    return "".join(reversed(tokens))


__all__ = ["KIND", "DESCRIPTION", "VOCAB", "MAX_LEN", "DEFAULTS", "example", "parse", "format_answer"]
