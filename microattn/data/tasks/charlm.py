"""charlm: a character-level GPT on a text file, by default the documentation text
that ships with Python (``pydoc_data.topics``), split 90/10 into train and validation.

Examples are windows of ``CONTEXT`` characters: the source is empty and the
target is the window, so the GPT predicts every character from those before
it. Training windows come from the first 90% of the text, held-out windows from
the last 10%. ``BASELINE_LOSS`` is the validation loss of the unigram model
(character frequencies of the training part): a model that reads no context.
"""
import pathlib
import types

import numpy as np

from ..metrics import log_loss_baseline
from ..task import HELD_OUT_SIZE

KIND = "lm"
DESCRIPTION = "character-level GPT on a text (--text PATH; default: Python's pydoc topics)"
CONTEXT = 64
TRAIN_SHARE = 0.9    # the first 90% of the text trains, the rest is held out
DEFAULTS = dict(d_model=128, heads=4, layers=2, ff=512, batch_size=32, steps=1500,
                lr=2e-3, warmup=200, eval_every=500)


def default_text():
    """The documentation text that ships with Python."""
    from pydoc_data.topics import topics
    return "\n\n".join(topics[key] for key in sorted(topics))


def minimum_length():
    """The shortest text whose held-out part holds HELD_OUT_SIZE windows (all must differ)."""
    n, windows = HELD_OUT_SIZE + CONTEXT - 1, HELD_OUT_SIZE + CONTEXT - 1
    while n - int(TRAIN_SHARE * n) < windows:
        n += 1
    return n


def example(rng):
    raise RuntimeError("charlm needs its text: load it with load_task('charlm', text=PATH)")


def configure(text=None):
    """The task over the text in file ``text`` (default: Python's pydoc topics)."""
    if text is None:
        content = default_text()
    else:
        path = pathlib.Path(text)
        if not path.is_file():
            raise ValueError(f"no text file {text!r}")
        content = path.read_text(encoding="utf-8", errors="replace")
    if len(content) < minimum_length():
        raise ValueError(f"the text has {len(content):,} characters; charlm needs at least "
                         f"{minimum_length():,}: its last 10% is held out and must hold "
                         f"{HELD_OUT_SIZE:,} different {CONTEXT}-character windows")
    split = int(TRAIN_SHARE * len(content))
    train, validation = content[:split], content[split:]
    vocab = sorted(set(content))
    index = {c: i for i, c in enumerate(vocab)}
    counts = [np.bincount([index[c] for c in part], minlength=len(vocab))
              for part in (train, validation)]

    def window(part):
        def draw(rng):
            start = int(rng.integers(0, len(part) - CONTEXT + 1))
            return [], list(part[start:start + CONTEXT])
        return draw

    return types.SimpleNamespace(
        KIND=KIND, DESCRIPTION=DESCRIPTION, VOCAB=vocab, MAX_LEN=CONTEXT, DEFAULTS=DEFAULTS,
        OPEN_ENDED=True, BASELINE_LOSS=log_loss_baseline(*counts),
        example=window(train), validation_example=window(validation),
        parse=list, format="".join)
