"""The exercises, in order: each module here holds one exercise's title, what it teaches,
its hints and its check; the learner's file is the template of the same number."""
from dataclasses import dataclass

from ..learner_ops import FUNCTIONS
from . import (attention, cross_entropy, embedding, layer_norm, matmul, multihead, softmax,
               unbroadcast, value)


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``file`` in the workspace, checked by ``check(module, rng)`` (which
    returns the number of cases passed); exercise 10 has no code to check but a run."""
    number: int
    file: str
    title: str
    teaches: str
    hints: tuple
    check: object = None
    uses: tuple = ()   # the exercises whose files this one imports

    @property
    def module_name(self):
        return self.file[:-len(".py")]


TRAIN_HINTS = (
    "Exercises 4 to 8 must pass `microattn learn check` first: train runs their code.",
    "`microattn learn train DIR` takes train's options; --steps 300 gives a quick look, the "
    "defaults (1,000 steps) reach 99% held-out exact match.",
    "Open report.html in the run folder: the cross-attention's anti-diagonal is your backward's work.",
)

EXERCISES = [
    Exercise(1, "ex01_value.py", value.TITLE, value.TEACHES, value.HINTS, value.check),
    Exercise(2, "ex02_unbroadcast.py", unbroadcast.TITLE, unbroadcast.TEACHES, unbroadcast.HINTS,
             unbroadcast.check),
    Exercise(3, "ex03_matmul.py", matmul.TITLE, matmul.TEACHES, matmul.HINTS, matmul.check),
    Exercise(4, "ex04_softmax.py", softmax.TITLE, softmax.TEACHES, softmax.HINTS, softmax.check),
    Exercise(5, "ex05_cross_entropy.py", cross_entropy.TITLE, cross_entropy.TEACHES,
             cross_entropy.HINTS, cross_entropy.check),
    Exercise(6, "ex06_layer_norm.py", layer_norm.TITLE, layer_norm.TEACHES, layer_norm.HINTS,
             layer_norm.check),
    Exercise(7, "ex07_embedding.py", embedding.TITLE, embedding.TEACHES, embedding.HINTS,
             embedding.check),
    Exercise(8, "ex08_attention.py", attention.TITLE, attention.TEACHES, attention.HINTS,
             attention.check, uses=(4,)),
    Exercise(9, "ex09_multihead.py", multihead.TITLE, multihead.TEACHES, multihead.HINTS,
             multihead.check),
    Exercise(10, "ex10_train.py", "train reverse on your own ops",
             "a transformer trained end to end through the backwards you wrote", TRAIN_HINTS),
]

# The exercises whose code `learn train` runs (learner_ops swaps them in).
TRAINED_ON = tuple(sorted(number for _, number in FUNCTIONS.values()))
# Held-out exact match on reverse that completes exercise 10.
TRAIN_TARGET = 0.99


def exercise(number):
    """The exercise numbered ``number`` (1 to 10); ValueError for any other."""
    if not 1 <= number <= len(EXERCISES):
        raise ValueError(f"there is no exercise {number}: they are numbered 1 to "
                         f"{len(EXERCISES)} (see `microattn learn`)")
    return EXERCISES[number - 1]
