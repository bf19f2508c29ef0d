"""The training configuration: one dataclass, saved as ``config.json`` in every run."""
import dataclasses
import json
import math
from dataclasses import dataclass, fields

from ..files import write_atomic

SCHEDULES = ("cosine", "noam", "constant")
SEED_LIMIT = 2**32          # numpy's legacy seeding (np.random.seed) takes seeds below it
TASK_FIELDS = ("task", "text")   # what a task's DEFAULTS may not set: they name the task
OPTIONAL = ("text", "until")     # fields that may be None
UPPER_BOUND_STEPS = 20000        # a task file without DEFAULTS: stops when learned, or here


@dataclass
class Config:
    """Everything that decides a training run. ``for_task`` fills it from the base
    values here, then the task's ``DEFAULTS``, then what the user set. A run stops
    once held-out exact match reaches ``until`` at ``patience`` evaluations in a row
    (tasks with exact answers; open-ended ones train on); with ``until`` set, a task
    that sets no ``steps`` gets :data:`UPPER_BOUND_STEPS`, a bound, not a guess."""
    task: str                      # a built-in task name or a task file path
    text: str = None               # charlm's text file (None: Python's pydoc topics)
    steps: int = 2000              # optimiser steps
    batch_size: int = 64
    d_model: int = 64
    heads: int = 4
    layers: int = 2                # encoder and decoder layers each (seq2seq), blocks (lm)
    ff: int = 128                  # feed-forward width
    dropout: float = 0.0
    lr: float = 1e-3               # peak learning rate (noam: its scale, the paper uses 1)
    warmup: int = 100              # linear warm-up steps
    schedule: str = "cosine"       # cosine (decay to 0 after warm-up) | noam | constant
    weight_decay: float = 0.01     # AdamW's decoupled weight decay
    clip: float = 1.0              # max gradient norm (0: no clipping)
    seed: int = 0
    eval_every: int = 500          # steps between held-out evaluations
    save_every: int = 500          # steps between checkpoints
    until: float = None            # stop once held-out exact match reaches it (None: never;
                                   # `microattn train` sets 1.0 unless told otherwise)
    patience: int = 1              # ... at this many evaluations in a row

    def __post_init__(self):
        self.validate()

    def validate(self):
        """ValueError naming the first field with an impossible value."""
        positive = ("steps", "batch_size", "d_model", "heads", "layers", "ff", "eval_every",
                    "save_every")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in OPTIONAL and value is None:
                continue
            kind = (int, float) if f.type is float else f.type
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"config {f.name} should be {f.type.__name__}, got {value!r}")
            if f.type is float:
                if not math.isfinite(value):
                    raise ValueError(f"config {f.name} should be a finite number, got {value!r}")
                setattr(self, f.name, float(value))
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"config {name} should be positive, got {getattr(self, name)}")
        for name in ("lr", "warmup", "weight_decay", "clip", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"config {name} should be >= 0, got {getattr(self, name)}")
        if self.seed >= SEED_LIMIT:
            raise ValueError(f"config seed should be below 2**32, got {self.seed}")
        if self.lr == 0:
            raise ValueError("config lr should be positive, got 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"config dropout should be in [0, 1), got {self.dropout}")
        if self.d_model % self.heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by heads={self.heads}")
        if self.until is not None and not 0 < self.until <= 1:
            raise ValueError(f"config until should be in (0, 1], got {self.until}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"config schedule should be one of {', '.join(SCHEDULES)}, "
                             f"got {self.schedule!r}")

    @classmethod
    def for_task(cls, task, **overrides):
        """Base values, then ``task.defaults``, then ``overrides`` (None values skipped).
        ValueError naming the task and the key when its DEFAULTS are not training options
        of the right type."""
        check_defaults(task)
        budget = {}
        if ("steps" not in task.defaults and not task.open_ended
                and overrides.get("until", task.defaults.get("until")) is not None):
            budget["steps"] = UPPER_BOUND_STEPS   # an upper bound: `until` ends it sooner
        values = {**budget, **task.defaults,
                  **{k: v for k, v in overrides.items() if v is not None}}
        return cls.from_dict({"task": task.source or task.name, **values})

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        if "task" not in values:
            raise ValueError("config has no task")
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text):
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("config.json should hold a JSON object")
        return cls.from_dict(values)

    def save(self, path):
        """Write ``config.json`` atomically."""
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())


def check_defaults(task):
    """A task's ``DEFAULTS``: training options only (no ``task``, ``text``), each of its
    field's type and a possible value; ValueError naming the task and the key."""
    names = {f.name: f for f in fields(Config)}
    for key in task.defaults:
        if key not in names or key in TASK_FIELDS:
            options = ", ".join(n for n in names if n not in TASK_FIELDS)
            raise ValueError(f"{task.label}: DEFAULTS[{key!r}] is not a training option "
                             f"(they are {options})")
    try:
        Config(task="check", **task.defaults)
    except ValueError as error:
        raise ValueError(f"{task.label}: DEFAULTS: {error}") from None
