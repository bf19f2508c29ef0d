"""Training: the config, the loop, run folders and checkpoints, evaluation, export.

    from microattn.data import load_task
    from microattn.train import Config, Run, train
    task = load_task("reverse")
    run = train(Run.create(Config.for_task(task), "runs/reverse-demo", task))

Callbacks are objects with any of ``on_train_begin(run)``, ``on_step(run, step,
loss)``, ``on_eval(run, metrics)`` and ``on_train_end(run)``.
"""
from .config import Config
from .evaluate import evaluate
from .loop import Interrupted, train, train_step
from .model import build_model
from .progress import Progress, format_metrics
from .run import Run, RunError, load_trained, read_metrics, read_run

__all__ = ["Config", "Run", "RunError", "train", "train_step", "Interrupted", "evaluate",
           "build_model", "Progress", "format_metrics", "load_trained", "read_metrics",
           "read_run"]
