"""A run folder: ``config.json``, ``metrics.jsonl`` and ``checkpoint.ma``, and the
objects of a run in training (the ``run`` that callbacks receive)."""
import glob
import json
import os
import pathlib
import random
import time

import numpy as np

from .. import manual_seed, optim
from ..serialization import SerializationError, load, save
from ..data import load_task
from ..files import write_atomic
from .config import Config
from .model import build_model
from .schedule import make_scheduler

CONFIG, METRICS, CHECKPOINT = "config.json", "metrics.jsonl", "checkpoint.ma"
CHECKPOINT_FORMAT = "microattn-run"


class RunError(ValueError):
    """A run folder that is missing, corrupt, or does not match its config."""


def default_run_dir(task_name, root="runs"):
    """``runs/<task>-<YYYYmmdd-HHMMSS>`` (with a suffix if that exists already)."""
    base = pathlib.Path(root) / f"{task_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _rng_states(data_rng):
    return {"microattn": _microattn_generator().bit_generator.state,
            "data": data_rng.bit_generator.state,
            "numpy": list(np.random.get_state()),
            "python": random.getstate()}


# The generator ``ma.manual_seed`` made for this run (it returns it): the one behind
# the model's initial weights and dropout, whose state the checkpoint keeps.
_current = None


def _microattn_generator():
    """The generator behind ma.randn, dropout and sampling (``ma.manual_seed`` returns it)."""
    return _current


def _seed_all(seed):
    global _current
    _current = manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return np.random.default_rng([seed, 1])   # the training data's own stream


def _restore_rngs(states):
    global _current
    _current = manual_seed(0)
    _current.bit_generator.state = states["microattn"]
    data_rng = np.random.default_rng()
    data_rng.bit_generator.state = states["data"]
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    return data_rng


class Run:
    """A training run: ``dir``, ``config``, ``task``, ``model``, ``optimizer``,
    ``scheduler``, ``step`` (optimiser steps done), ``metrics`` (dicts so far)."""

    def __init__(self, directory, config, task):
        self.dir = pathlib.Path(directory)
        self.config, self.task = config, task
        self.data_rng = _seed_all(config.seed)
        self.model = build_model(task, config)
        self.optimizer = optim.AdamW(self.model.parameters(), lr=config.lr,
                                     weight_decay=config.weight_decay)
        self.scheduler = make_scheduler(self.optimizer, config)
        self.step = 0
        self.metrics = []

    @property
    def checkpoint_path(self):
        return self.dir / CHECKPOINT

    # -- creating and resuming ----------------------------------------------
    @classmethod
    def create(cls, config, directory=None, task=None):
        """A new run of ``config`` in ``directory`` (default ``runs/<task>-<time>``)."""
        task = task or load_task(config.task, text=config.text)
        directory = pathlib.Path(directory) if directory else default_run_dir(task.name)
        if (directory / CHECKPOINT).exists() or (directory / METRICS).exists():
            raise RunError(f"{directory} already holds a run; resume it with --resume "
                           f"{directory}, or choose another --out")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot make the run folder {str(directory)!r}: "
                           f"{error.strerror or error}") from None
        run = cls(directory, config, task)
        config.save(directory / CONFIG)
        open(directory / METRICS, "w").close()
        return run

    @classmethod
    def open(cls, directory, steps=None):
        """The run in ``directory`` at its last checkpoint (``steps``: a new total)."""
        directory = pathlib.Path(directory)
        config, state = read_run(directory)
        if steps is not None and steps != config.steps:
            config.steps = steps
            config.validate()
        task = load_task(config.task, text=config.text)
        check_vocab(task, state, directory)
        run = cls(directory, config, task)
        try:
            run.model.load_state_dict(state["model"])
            run.optimizer.load_state_dict(state["optimizer"])
            run.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise RunError(f"{directory / CHECKPOINT} does not match {directory / CONFIG}: "
                           f"{str(error).splitlines()[0]}") from None
        run.step = int(state["step"])
        run.data_rng = _restore_rngs(state["rng"])
        run.metrics = read_metrics(directory, up_to=run.step)
        return run

    def prepare_resume(self):
        """Before training on from the checkpoint: drop metrics past it, save the new
        total of steps, remove temporary files a killed save left behind."""
        for stale in glob.glob(str(self.dir / f".{CHECKPOINT}.*.tmp")):
            os.unlink(stale)
        write_atomic(self.dir / METRICS, "".join(json.dumps(m) + "\n" for m in self.metrics))
        self.config.save(self.dir / CONFIG)

    # -- saving --------------------------------------------------------------
    def state(self):
        return {"format": CHECKPOINT_FORMAT, "step": self.step,
                "config": self.config.to_dict(), "vocab": list(self.task.tokenizer.tokens),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": _rng_states(self.data_rng)}

    def save_checkpoint(self):
        """Write ``checkpoint.ma`` atomically (a kill mid-save leaves the previous one)."""
        save(self.state(), self.checkpoint_path)
        return self.checkpoint_path

    def log(self, metrics):
        self.metrics.append(metrics)
        with open(self.dir / METRICS, "a", encoding="utf-8") as f:
            f.write(json.dumps(metrics) + "\n")


def read_run(directory):
    """(config, checkpoint state) of a run folder; RunError if missing or corrupt."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise RunError(f"no run folder {str(directory)!r}")
    try:
        config = Config.load(directory / CONFIG)
    except FileNotFoundError:
        raise RunError(f"{directory} is not a run folder (no {CONFIG})") from None
    except ValueError as error:
        raise RunError(f"{directory / CONFIG} is corrupt: {error}") from None
    if not (directory / CHECKPOINT).is_file():
        raise RunError(f"{directory} has no {CHECKPOINT} yet")
    try:
        state = load(directory / CHECKPOINT)
    except (SerializationError, OSError) as error:
        raise RunError(f"{directory / CHECKPOINT} is corrupt: {error}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RunError(f"{directory / CHECKPOINT} is not a microattn run checkpoint")
    saved = {k: v for k, v in state.get("config", {}).items() if k != "steps"}
    if saved != {k: v for k, v in config.to_dict().items() if k != "steps"}:
        raise RunError(f"{directory / CHECKPOINT} does not match {directory / CONFIG} "
                       f"(the config was edited after the checkpoint was written)")
    return config, state


def check_vocab(task, state, directory):
    if list(state.get("vocab", [])) != list(task.tokenizer.tokens):
        raise RunError(f"{directory / CHECKPOINT}: the task {task.name!r} now has another "
                       f"vocabulary than the run was trained with")


def read_metrics(directory, up_to=None):
    """The metrics dicts of ``metrics.jsonl`` (a torn last line is skipped)."""
    out = []
    try:
        with open(pathlib.Path(directory) / METRICS, encoding="utf-8") as f:
            for line in f:
                try:
                    metrics = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if up_to is None or metrics.get("step", 0) <= up_to:
                    out.append(metrics)
    except FileNotFoundError:
        pass
    return out


def load_trained(directory):
    """(task, model, config, step) of a run's checkpoint, the model in eval()."""
    config, state = read_run(directory)
    task = load_task(config.task, text=config.text)
    check_vocab(task, state, pathlib.Path(directory))
    model = build_model(task, config)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as error:
        raise RunError(f"{pathlib.Path(directory) / CHECKPOINT} does not match its config: "
                       f"{str(error).splitlines()[0]}") from None
    model.eval()
    return task, model, config, int(state["step"])
