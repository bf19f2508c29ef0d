"""A run folder: ``config.json``, ``metrics.jsonl``, ``checkpoint.ma``, the task
file's copy (``task.json``, ``task/``), and the objects of a run in training (the
``run`` that callbacks receive).

Only ``train`` writes a run folder, one process at a time (``run_lock.py``), and
only into a new or empty folder, a run of its own, or with ``--overwrite``: a
user's folder is never written over by mistake.
"""
import glob
import json
import os
import pathlib
import random
import time

import numpy as np

import microattn as ma
from microattn import optim
from ..data import load_task
from ..files import write_atomic
from ..serialization import SerializationError
from .config import Config
from .model import build_model
from .run_error import RunError
from .run_lock import LOCK, RunLocked, lock_run, unlock
from .schedule import make_scheduler
from .task_record import RECORD, open_task, record_task

CONFIG, METRICS, CHECKPOINT = "config.json", "metrics.jsonl", "checkpoint.ma"
CHECKPOINT_FORMAT = "microattn-run"
# Files a run writes besides the pictures; --overwrite removes them first.
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, RECORD, "pictures.ma")


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
    _current = ma.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return np.random.default_rng([seed, 1])   # the training data's own stream


def _restore_rngs(states):
    global _current
    _current = ma.manual_seed(0)
    _current.bit_generator.state = states["microattn"]
    data_rng = np.random.default_rng()
    data_rng.bit_generator.state = states["data"]
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    return data_rng


def _pending():
    """What the loop has gathered since its last evaluation (kept in checkpoints, so that
    the evaluation after a resume averages the same steps as an uninterrupted run)."""
    return {"losses": [], "tokens": 0, "train_time": 0.0}


class Run:
    """A training run: ``dir``, ``config``, ``task``, ``model``, ``optimizer``,
    ``scheduler``, ``step`` (optimiser steps done), ``metrics`` (dicts so far),
    ``elapsed`` (seconds of training so far, over every resume), ``pending`` (the
    training losses, tokens and time since the last evaluation)."""

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
        self.elapsed = 0.0
        self.pending = _pending()
        self.lock = None

    def close(self):
        """Release the run folder's lock (``train`` does when it ends)."""
        if self.lock is not None:
            unlock(self.lock)
            self.lock = None

    @property
    def checkpoint_path(self):
        return self.dir / CHECKPOINT

    # -- creating and resuming ----------------------------------------------
    @classmethod
    def create(cls, config, directory=None, task=None, overwrite=False):
        """A new run of ``config`` in ``directory`` (default ``runs/<task>-<time>``):
        a new or empty folder, or one whose run stopped before saving anything; any
        other folder only with ``overwrite`` (its run files are removed first)."""
        task = task or load_task(config.task, text=config.text)
        directory = pathlib.Path(directory) if directory else default_run_dir(task.name)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:   # a file in the way: input
            raise RunError(f"cannot make the run folder {str(directory)!r}: "
                           f"{error.strerror or error}") from None
        if not directory.is_dir():
            raise RunError(f"cannot make the run folder {str(directory)!r}: a file is there")
        lock = _lock(directory)
        try:
            _check_new_folder(directory, overwrite)
            run = cls(directory, config, task)
            record_task(directory, task)
            config.save(directory / CONFIG)
            write_atomic(directory / METRICS, "")
        except BaseException:
            os.close(lock)
            raise
        run.lock = lock
        return run

    @classmethod
    def open(cls, directory, changes=None, trust_task=False, task_changed_ok=False):
        """The run in ``directory`` at its last checkpoint, locked for training on;
        ``changes``: config fields given new values (``steps``, ``until``, ``patience``)."""
        directory = pathlib.Path(directory)
        if not directory.is_dir():
            raise RunError(f"no run folder {str(directory)!r}")
        lock = _lock(directory)
        try:
            config, state = read_run(directory)
            for name, value in (changes or {}).items():
                setattr(config, name, value)
            try:
                config.validate()
            except ValueError as error:
                raise RunError(str(error)) from None
            task = open_task(directory, config, trust_task, resuming=True,
                             changed_ok=task_changed_ok)
            check_vocab(task, state, directory)
            run = cls(directory, config, task)
            try:
                run.model.load_state_dict(state["model"])
                run.optimizer.load_state_dict(state["optimizer"])
                run.scheduler.load_state_dict(state["scheduler"])
            except (RuntimeError, ValueError, KeyError, TypeError) as error:
                raise RunError(f"{directory / CHECKPOINT} does not match "
                               f"{directory / CONFIG}: {_reason(error)}") from None
            run.step = int(state["step"])
            run.data_rng = _restore_rngs(state["rng"])
            run.metrics = read_metrics(directory, up_to=run.step)
            run.elapsed = float(state.get("elapsed", run.metrics[-1]["elapsed_s"]
                                          if run.metrics else 0.0))
            run.pending = {**_pending(), **state.get("pending", {})}
        except BaseException:
            os.close(lock)
            raise
        run.lock = lock
        return run

    def prepare_resume(self):
        """Before training on from the checkpoint: drop metrics past it, save the new
        total of steps, remove temporary files a killed save left behind."""
        for stale in glob.glob(str(self.dir / ".*.tmp")):
            os.unlink(stale)
        self._write_metrics()
        self.config.save(self.dir / CONFIG)

    # -- saving --------------------------------------------------------------
    def state(self):
        return {"format": CHECKPOINT_FORMAT, "step": self.step,
                "config": self.config.to_dict(), "vocab": list(self.task.tokenizer.tokens),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": _rng_states(self.data_rng),
                "elapsed": self.elapsed, "pending": self.pending}

    def save_checkpoint(self):
        """Write ``checkpoint.ma`` atomically (a kill mid-save leaves the previous one)."""
        ma.save(self.state(), self.checkpoint_path)
        return self.checkpoint_path

    def log(self, metrics):
        """Append one evaluation to ``metrics.jsonl`` (rewritten whole, atomically: a
        full disk leaves the previous file, never a torn line)."""
        self.metrics.append(metrics)
        self._write_metrics()

    def _write_metrics(self):
        write_atomic(self.dir / METRICS, "".join(json.dumps(m) + "\n" for m in self.metrics))


def _lock(directory):
    try:
        return lock_run(directory)
    except RunLocked as error:
        raise RunError(str(error)) from None


def _check_new_folder(directory, overwrite):
    """A folder ``train`` may start a run in (see Run.create); with ``overwrite`` the
    run files of what is there are removed."""
    present = sorted(p.name for p in directory.iterdir() if p.name != LOCK)
    if not present:
        return
    if overwrite:
        for name in RUN_FILES:
            (directory / name).unlink(missing_ok=True)
        return
    if not _is_run(directory):
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise RunError(f"{directory} is not empty ({shown}) and is not a microattn run: "
                       f"choose a new or empty --out, or pass --overwrite to write into it")
    if (directory / CHECKPOINT).exists() or read_metrics(directory):
        raise RunError(f"{directory} already holds a run; resume it with --resume "
                       f"{directory}, or choose another --out (or --overwrite it)")
    # A run stopped before its first checkpoint and evaluation: nothing to lose.
    for name in RUN_FILES:
        (directory / name).unlink(missing_ok=True)


def _is_run(directory):
    try:
        Config.load(directory / CONFIG)
        return True
    except (OSError, ValueError, TypeError):
        return False


def _reason(error):
    """A load_state_dict error in one line, its reason included (the first line alone
    says only "Error(s) in loading state_dict for ...:")."""
    return " ".join(str(error).split())[:300]


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
        raise RunError(f"{directory} has no {CHECKPOINT}: the run stopped before its first "
                       f"one (every {config.save_every} steps); start it again with: "
                       f"{restart_command(directory, config)}")
    try:
        state = ma.load(directory / CHECKPOINT)
    except (SerializationError, OSError) as error:
        raise RunError(f"{directory / CHECKPOINT} is corrupt: {error}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RunError(f"{directory / CHECKPOINT} is not a microattn run checkpoint")
    try:
        saved = Config.from_dict(state.get("config", {})).to_dict()
    except (ValueError, TypeError) as error:
        raise RunError(f"{directory / CHECKPOINT} holds a bad config: {error}") from None
    free = ("steps", "until", "patience")     # what --resume may change
    if {k: v for k, v in saved.items() if k not in free} != {
            k: v for k, v in config.to_dict().items() if k not in free}:
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
                if not isinstance(metrics, dict) or not isinstance(metrics.get("step"), int):
                    continue    # not an evaluation: a line someone wrote by hand
                if up_to is None or metrics["step"] <= up_to:
                    out.append(metrics)
    except FileNotFoundError:
        pass
    return out


def restart_command(directory, config):
    """The ``microattn train`` command that starts ``config`` again in ``directory``."""
    base = Config(task=config.task)
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in config.to_dict().items()
             if k not in ("task", "text") and v != getattr(base, k) and v is not None]
    text = [f"--text {config.text}"] if config.text else []
    return " ".join(["microattn train", config.task, *flags, *text, "--out", str(directory)])


def load_trained(directory, trust_task=False):
    """(task, model, config, step) of a run's checkpoint, the model in eval().
    ``trust_task``: import the run's task file even if this machine did not record it."""
    config, state = read_run(directory)
    task = open_task(directory, config, trust_task)
    check_vocab(task, state, pathlib.Path(directory))
    model = build_model(task, config)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as error:
        raise RunError(f"{pathlib.Path(directory) / CHECKPOINT} does not match its config: "
                       f"{_reason(error)}") from None
    model.eval()
    return task, model, config, int(state["step"])
