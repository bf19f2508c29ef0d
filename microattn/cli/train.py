"""``microattn train TASK|FILE.py``: train a transformer on a task, in a run folder."""
import pathlib
import sys

from ..data import load_task
from ..train import Config, Interrupted, Progress, Run, train
from ..viz import RunPictures
from .common import (UsageError, add_threads, add_trust_task, fraction, nonnegative_float,
                     nonnegative_int, positive_float, positive_int, seed_int)
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
    ("--seed", "seed", seed_int, "seed of the weights and the training data"),
    ("--eval-every", "eval_every", positive_int, "steps between held-out evaluations"),
    ("--save-every", "save_every", positive_int, "steps between checkpoints"),
    ("--until", "until", fraction, "stop once held-out exact match reaches ACC (0-1], "
                                   "checked at evaluations (default 1.0; tasks without exact "
                                   "answers train all their steps)"),
    ("--patience", "patience", positive_int, "evaluations in a row at --until before "
                                             "stopping (default 1)"),
]
METAVARS = {"until": "ACC", "patience": "N"}
# What may change when resuming (the rest would make the run another run).
RESUMABLE = {"steps", "until", "patience"}
DEFAULT_UNTIL = 1.0  # a new run stops once every held-out answer is right
RISING = 0.005       # held-out exact match gained over the last evaluations: still learning
EXAMPLES_SHOWN = 3
TABLE_POOL = 100   # held-out examples decoded for the table (wrong ones shown first)
PICTURE_FRAMES = 40  # attention snapshots over a run: the frames of attention.gif


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a transformer on a task",
        description="Train on a built-in task (see `microattn tasks`) or on your own task file "
                    "(docs/tasks.md). Writes runs/<task>-<time>/ (or --out): config.json, "
                    "metrics.jsonl, checkpoint.ma, and when training ends the pictures and "
                    "report.html (docs/visualize.md). Stops once held-out exact match reaches "
                    "--until (default 1.0), else after --steps. Ctrl-C saves a checkpoint and "
                    "exits 130 (a second Ctrl-C stops at once); --resume continues exactly "
                    "where it stopped. Flags left out take the task's defaults. Errors are one "
                    "line (`microattn --debug train ...` adds the traceback).")
    parser.add_argument("task", nargs="?", metavar="TASK|FILE.py",
                        help="a built-in task name or a task file")
    parser.add_argument("--text", default=None, metavar="PATH",
                        help="charlm: the text file to learn (default: Python's pydoc topics)")
    add_options(parser)
    parser.set_defaults(run=run, parser=parser)


def add_options(parser):
    """The options of a training run (all but the task), shared with ``learn train``."""
    for flag, field, kind, text in CONFIG_FLAGS:
        parser.add_argument(flag, dest=field, type=kind, default=None, help=text,
                            metavar=METAVARS.get(field))
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="the run folder (default runs/<task>-<YYYYmmdd-HHMMSS>)")
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the run in DIR from its checkpoint (--steps may raise "
                             "its total)")
    parser.add_argument("--stop-at", type=positive_int, default=None, metavar="STEP",
                        help="save a checkpoint after STEP steps and stop (resume later)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into --out even if it holds other files or a run (its "
                             "run files are replaced; other files stay)")
    parser.add_argument("--task-changed-ok", action="store_true",
                        help="with --resume: train on although the task file changed since "
                             "the run started")
    add_trust_task(parser)
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
    if args.overwrite:
        changed.append("--overwrite")
    if changed:
        raise UsageError(f"{', '.join(changed)} cannot change when resuming a run "
                         f"(only --steps, --until and --patience can)")
    run = Run.open(args.resume, {k: v for k, v in _overrides(args).items()
                                 if v is not None and k in RESUMABLE},
                   trust_task=args.trust_task, task_changed_ok=args.task_changed_ok)
    if run.step >= run.config.steps:
        raise UsageError(f"the run in {args.resume} has done its {run.config.steps} steps "
                         f"already (raise --steps to train on)")
    if args.stop_at is not None and args.stop_at <= run.step:
        raise UsageError(f"the run in {args.resume} is at step {run.step} already; --stop-at "
                         f"should be later than that")
    return run


def _create(args):
    if args.task is None:
        raise UsageError("give a task (see `microattn tasks`) or a task file, or --resume DIR")
    if args.task_changed_ok:
        raise UsageError("--task-changed-ok goes with --resume")
    text = None if args.text is None else str(pathlib.Path(args.text).resolve())
    task = load_task(args.task, text=text)
    overrides = _overrides(args)
    if overrides["until"] is None and "until" not in task.defaults:
        overrides["until"] = DEFAULT_UNTIL
    try:
        config = Config.for_task(task, text=text, **overrides)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return Run.create(config, args.out, task, overwrite=args.overwrite)


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
    except KeyboardInterrupt:
        saved = (f"the last checkpoint (step {_saved_step(run)}) is in {run.dir}; continue "
                 f"with: microattn train --resume {run.dir}" if run.checkpoint_path.exists()
                 else "no checkpoint was saved yet")
        print(f"microattn train: interrupted at once; {saved}", file=sys.stderr, flush=True)
        return 130
    if run.step < config.steps and not run.learned:
        say(f"stopped at step {run.step} of {config.steps}; continue with: "
            f"microattn train --resume {run.dir}")
        return 0
    _summary(run, args, say)
    for callback in callbacks:
        say_pictures(say, getattr(callback, "written", None))
    closing = closing_line(run)
    if closing:
        say(closing)
    return 0


def _saved_step(run):
    from ..serialization import load
    try:
        return load(run.checkpoint_path)["step"]
    except (OSError, ValueError, KeyError):
        return "?"


def _summary(run, args, say):
    if args.quiet:
        return
    say(scores_line(run.metrics[-1]))
    if not run.task.open_ended:
        examples = run.task.held_out[:TABLE_POOL]
        run.model.eval()
        answers = run.task.predict(run.model, [s for s, _ in examples])
        for line in examples_table(run.task, examples, answers, EXAMPLES_SHOWN):
            say("  " + line)
    say(f"run folder: {run.dir}")


def closing_line(run):
    """How the run ended, when there is something to do about it: learned (stopped
    early), or still improving when its steps ran out (with the command that goes on)."""
    config, metrics = run.config, run.metrics
    if run.learned:
        return (f"learned: held-out exact match {100 * metrics[-1]['held_out_exact']:.1f}% "
                f"(--until {config.until}) at step {run.step} of {config.steps}; stopped")
    exact = [m.get("held_out_exact") for m in metrics[-3:]]
    if len(exact) < 2 or any(e is None for e in exact) or exact[-1] - exact[0] < RISING:
        return None
    steps = metrics[-1]["step"] - metrics[-len(exact)]["step"]
    return (f"held-out exact match was still rising ({100 * exact[0]:.1f}% -> "
            f"{100 * exact[-1]:.1f}% over the last {steps} steps); continue with: microattn "
            f"train --resume {run.dir} --steps {2 * config.steps}")


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
