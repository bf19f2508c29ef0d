"""The training loop: AdamW steps on fresh batches, periodic held-out evaluation,
checkpoints, callbacks, and a clean stop on Ctrl-C."""
import math
import signal
import sys
import threading
import time

import numpy as np

from microattn import nn
from .evaluate import evaluate
from .progress import Progress
from .run import Run


class Interrupted(Exception):
    """Training stopped by SIGINT after saving; ``path`` is the checkpoint written."""

    def __init__(self, run, path):
        super().__init__(f"interrupted at step {run.step}; checkpoint saved to {path}")
        self.run, self.path = run, path


class _SigintFlag:
    """While active, the first SIGINT sets ``raised`` instead of raising
    KeyboardInterrupt, so the step in flight finishes and a checkpoint is written;
    a second one raises KeyboardInterrupt at once (a step that never ends, such as
    a task's ``example`` waiting on input, can always be stopped). If the step has
    not ended a second after the first SIGINT, one line says how to stop at once."""

    NOTICE_AFTER = 1.0   # seconds

    def __init__(self):
        self.raised = False
        self._previous = None
        self._notice = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():   # signals go to it only
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        self._notice = threading.Timer(self.NOTICE_AFTER, lambda: print(
            "microattn: stopping after this step to save a checkpoint (Ctrl-C again to stop "
            "at once, keeping the last checkpoint)", file=sys.stderr, flush=True))
        self._notice.daemon = True
        self._notice.start()

    def __exit__(self, *exc):
        if self._notice is not None:
            self._notice.cancel()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _call(callbacks, hook, *args):
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def train_step(run, examples):
    """One optimiser step on ``examples``; returns (loss, tokens read)."""
    batch = run.task.batch(examples)
    run.optimizer.zero_grad()
    loss = run.task.loss(run.model, batch)
    loss.backward()
    if run.config.clip > 0:
        nn.utils.clip_grad_norm_(run.model.parameters(), run.config.clip)
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    return loss.item(), batch.n_tokens


def evaluation_metrics(run, train_loss, tokens_per_s, elapsed):
    """The dict one evaluation appends to metrics.jsonl."""
    scores = evaluate(run.task, run.model)
    metrics = {"step": run.step, "loss": train_loss, "held_out_loss": scores["loss"],
               "held_out_exact": scores["exact"], "held_out_token_acc": scores["token_acc"],
               "alignment": scores["alignment"], "alignment_head": scores["alignment_head"],
               "lr": run.optimizer.param_groups[0]["lr"], "tokens_per_s": tokens_per_s,
               "elapsed_s": elapsed}
    if run.task.baseline_loss is not None:
        metrics["baseline_loss"] = run.task.baseline_loss
    return metrics


def learned(run):
    """Whether held-out exact match reached ``config.until`` at the last ``patience``
    evaluations (never for a task without exact answers)."""
    until, patience = run.config.until, run.config.patience
    last = run.metrics[-patience:]
    return (until is not None and len(last) == patience
            and all(m.get("held_out_exact") is not None and m["held_out_exact"] >= until
                    for m in last))


def _evaluate(run, callbacks, progress, now):
    pending = run.pending
    metrics = evaluation_metrics(run, float(np.mean(pending["losses"])),
                                 pending["tokens"] / max(pending["train_time"], 1e-9), now)
    run.pending = {"losses": [], "tokens": 0, "train_time": 0.0}
    run.log(metrics)
    progress.evaluated(metrics)
    _call(callbacks, "on_eval", run, metrics)


def _save(run, callbacks, now):
    run.elapsed = now
    path = run.save_checkpoint()
    _call(callbacks, "on_checkpoint", run)
    return path


def train(run, callbacks=(), progress=None, stop_at=None):
    """Train ``run`` (a new :class:`Run` or one opened to resume) to ``config.steps``,
    or until it has learned (:func:`learned`; ``run.learned`` says which).

    Evaluates on the held-out set every ``eval_every`` steps and at the end,
    saves ``checkpoint.ma`` every ``save_every`` steps and at the end, and calls
    the callbacks' ``on_train_begin``, ``on_step``, ``on_eval``, ``on_checkpoint``
    (after each save: callbacks keep their own state in the run folder) and
    ``on_train_end``. ``stop_at``: save and return after that step (resume later).
    On SIGINT the step in flight finishes, a checkpoint is saved and
    :class:`Interrupted` raised; a second SIGINT raises KeyboardInterrupt at once.
    """
    try:
        return _train(run, callbacks, progress, stop_at)
    finally:
        run.close()     # the run folder's lock


def _train(run, callbacks, progress, stop_at):
    config = run.config
    progress = progress or Progress(config.steps, mode="quiet")
    end = config.steps if stop_at is None else min(stop_at, config.steps)
    started, elapsed_before = time.perf_counter(), run.elapsed
    clock = lambda: elapsed_before + time.perf_counter() - started  # noqa: E731
    run.learned = False
    _call(callbacks, "on_train_begin", run)
    progress.start(run.step)
    with _SigintFlag() as sigint:
        while run.step < end and not run.learned:
            t0 = time.perf_counter()
            # Overflow shows up as a non-finite loss, reported below in one line.
            with np.errstate(over="ignore", invalid="ignore"):
                loss, n = train_step(run, run.task.sample(run.data_rng, config.batch_size))
            run.pending["train_time"] += time.perf_counter() - t0
            if not math.isfinite(loss):
                raise FloatingPointError(f"the training loss became {loss} at step {run.step}; "
                                         f"try a lower --lr")
            run.pending["losses"].append(loss)
            run.pending["tokens"] += n
            _call(callbacks, "on_step", run, run.step, loss)
            progress.step(run.step, loss, run.optimizer.param_groups[0]["lr"])
            if run.step % config.eval_every == 0 or run.step == config.steps:
                _evaluate(run, callbacks, progress, clock())
                run.learned = learned(run)
            if run.step % config.save_every == 0 or run.step == end or run.learned:
                _save(run, callbacks, clock())
            if sigint.raised:
                path = _save(run, callbacks, clock())
                progress.close()
                raise Interrupted(run, path)
    progress.close()
    _call(callbacks, "on_train_end", run)
    return run


__all__ = ["train", "train_step", "Interrupted", "Run"]
