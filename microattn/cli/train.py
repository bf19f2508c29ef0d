"""``microattn train TASK|FILE.py``: train a transformer on a task, in a run folder."""
import pathlib
import sys

from ..data import load_task
from ..train import Config, Interrupted, Progress, Run, train
from ..viz import RunPictures
from .common import (UsageError, add_threads, nonnegative_float, nonnegative_int,
                     positive_float, positive_int)
from .report import examples_table, scores_line

# Flags that set the config: (flag, config field, type, help).
CONFIG_FLAGS = [
    ("--steps", "steps", positive_int, "optimiser steps"),
    ("--batch-size", "batch_size", positive_int, "examples per step"),
    ("--d-model", "d_model", positive_int, "model width"),
    ("--heads", "heads", positive_int, "attention heads"),
    ("--layers", "layers", positive_int, "layers (encoder and decoder each; GPT blocks)"),
    ("--ff", "ff", positive_int, "feed-forward width"),
    ("--dropout", "dropout", nonnegative_float, "dropout probability"),
    ("--lr", "lr", positive_float, "peak learning rate"),
    ("--warmup", "warmup", nonnegative_int, "linear warm-up steps"),
    ("--schedule", "schedule", str, "cosine (default), noam or constant"),
    ("--weight-decay", "weight_decay", nonnegative_float, "AdamW weight decay"),
    ("--clip", "clip", nonnegative_float, "max gradient norm (0: off)"),
    ("--seed", "seed", nonnegative_int, "seed of the weights and the training data"),
    ("--eval-every", "eval_every", positive_int, "steps between held-out evaluations"),
    ("--save-every", "save_every", positive_int, "steps between checkpoints"),
]
# What may change when resuming (the rest would make the run another run).
RESUMABLE = {"steps"}
EXAMPLES_SHOWN = 3
TABLE_POOL = 100   # held-out examples decoded for the table (wrong ones shown first)
PICTURE_FRAMES = 40  # attention snapshots over a run: the frames of attention.gif


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a transformer on a task",
        description="Train on a built-in task (see `microattn tasks`) or on your own task file "
                    "(docs/tasks.md). Writes runs/<task>-<time>/ (or --out): config.json, "
                    "metrics.jsonl, checkpoint.ma, and when training ends the pictures and "
                    "report.html (docs/visualize.md). Ctrl-C saves a checkpoint and exits 130; "
                    "--resume continues exactly where it stopped. Flags left out take the "
                    "task's defaults.")
    parser.add_argument("task", nargs="?", metavar="TASK|FILE.py",
                        help="a built-in task name or a task file")
    parser.add_argument("--text", default=None, metavar="PATH",
                        help="charlm: the text file to learn (default: Python's pydoc topics)")
    add_options(parser)
    parser.set_defaults(run=run, parser=parser)


def add_options(parser):
    """The options of a training run (all but the task), shared with ``learn train``."""
    for flag, field, kind, text in CONFIG_FLAGS:
        parser.add_argument(flag, dest=field, type=kind, default=None, help=text)
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="the run folder (default runs/<task>-<YYYYmmdd-HHMMSS>)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the run in DIR from its checkpoint (--steps may raise "
                             "its total)")
    parser.add_argument("--stop-at", type=positive_int, default=None, metavar="STEP",
                        help="save a checkpoint after STEP steps and stop (resume later)")
    add_threads(parser)
    parser.add_argument("--quiet", action="store_true", help="print nothing while training")
    parser.add_argument("--no-pictures", action="store_true",
                        help="draw no pictures and no report.html in the run folder")


def picture_callbacks(args, config):
    """Callbacks that draw pictures into the run folder as it trains (none with
    ``--no-pictures``): microattn.viz.RunPictures, with about PICTURE_FRAMES
    attention snapshots over the run (and one at every evaluation)."""
    if args.no_pictures:
        return []
    return [RunPictures(every=max(1, config.steps // PICTURE_FRAMES), quiet=True)]


def _overrides(args):
    return {field: getattr(args, field) for _, field, _, _ in CONFIG_FLAGS}


def _open_resumed(args):
    if args.task is not None:
        raise UsageError("give either TASK or --resume DIR, not both")
    changed = [f"--{k.replace('_', '-')}" for k, v in _overrides(args).items()
               if v is not None and k not in RESUMABLE]
    if args.text is not None:
        changed.append("--text")
    if args.out is not None:
        changed.append("--out")
    if changed:
        raise UsageError(f"{', '.join(changed)} cannot change when resuming a run "
                         f"(only --steps can)")
    run = Run.open(args.resume, steps=args.steps)
    if run.step >= run.config.steps:
        raise UsageError(f"the run in {args.resume} has done its {run.config.steps} steps "
                         f"already (raise --steps to train on)")
    return run


def _create(args):
    if args.task is None:
        raise UsageError("give a task (see `microattn tasks`) or a task file, or --resume DIR")
    text = None if args.text is None else str(pathlib.Path(args.text).resolve())
    task = load_task(args.task, text=text)
    try:
        config = Config.for_task(task, text=text, **_overrides(args))
    except ValueError as error:
        raise UsageError(str(error)) from None
    return Run.create(config, args.out, task)


def run(args):
    run = _open_resumed(args) if args.resume else _create(args)
    if args.resume:
        run.prepare_resume()
    config, say = run.config, (lambda *a, **k: None) if args.quiet else print
    model_size = run.model.num_parameters()
    verb = f"resuming at step {run.step}" if args.resume else "training"
    say(f"{verb} {run.task.name} ({run.task.kind}): d_model {config.d_model}, {config.heads} "
        f"heads, {config.layers} layers, {model_size:,} parameters, {config.steps} steps; "
        f"run folder {run.dir}", flush=True)
    callbacks = picture_callbacks(args, config)
    progress = Progress(config.steps, mode="quiet" if args.quiet else "auto")
    try:
        train(run, callbacks, progress, stop_at=args.stop_at)
    except FloatingPointError as error:   # the loss diverged: a failed run, not bad input
        saved = f"; the last checkpoint is in {run.dir}" if run.checkpoint_path.exists() else ""
        print(f"microattn train: {error}{saved}", file=sys.stderr)
        return 1
    except Interrupted as stopped:
        print(f"microattn train: interrupted at step {stopped.run.step}; checkpoint saved to "
              f"{stopped.path}; continue with: microattn train --resume {run.dir}",
              file=sys.stderr, flush=True)
        return 130
    if run.step < config.steps:
        say(f"stopped at step {run.step} of {config.steps}; continue with: "
            f"microattn train --resume {run.dir}")
        return 0
    if not args.quiet:
        say(scores_line(run.metrics[-1]))
        if not run.task.open_ended:
            examples = run.task.held_out[:TABLE_POOL]
            run.model.eval()
            answers = run.task.predict(run.model, [s for s, _ in examples])
            for line in examples_table(run.task, examples, answers, EXAMPLES_SHOWN):
                say("  " + line)
        say(f"run folder: {run.dir}")
    for callback in callbacks:
        say_pictures(say, getattr(callback, "written", None))
    return 0


def say_pictures(say, written):
    """The report's path, then the pictures' (RunPictures.written: name -> path)."""
    if not written:
        return
    if "report.html" in written:
        say(f"report: {written['report.html']} (open it in a browser)")
    pictures = [str(path) for name, path in written.items() if name != "report.html"]
    if pictures:
        say("pictures: " + ", ".join(pictures))


__all__ = ["add_parser", "add_options", "run", "picture_callbacks"]
