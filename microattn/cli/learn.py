"""``microattn learn``: exercises from a scalar gradient to attention's backward, checked
with targeted feedback, ending with ``reverse`` trained on the learner's own ops."""
import argparse
import sys
from pathlib import Path

from ..learn import (EXERCISES, TRAIN_TARGET, TRAINED_ON, Workspace, WorkspaceError,
                     check_exercise, exercise, format_result, learner_ops)
from ..learn.comparison import LearnerCodeError
from ..train import read_metrics
from ..train.run import default_run_dir
from . import train as train_command
from .common import ArgumentParser, UsageError

GUIDE = "docs/learn.md"


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "learn", help="learn by building: exercises from a scalar gradient to attention",
        description="Exercises you complete, from a scalar autograd Value to attention's "
                    "backward, each checked against the library with a diagnosis of what is "
                    "wrong; then a transformer trained on your own ops. Without a command: "
                    f"the exercises and your progress. The guide: {GUIDE}.")
    parser.add_argument("--dir", default=".", help="the workspace (default: this folder)")
    parser.set_defaults(run=run_list, parser=parser)
    commands = parser.add_subparsers(title="commands", dest="learn_command", metavar="COMMAND",
                                     parser_class=ArgumentParser)
    start = commands.add_parser("start", help="write a workspace of exercise files",
                                description="Write the exercise files (ex01_value.py ... "
                                            "ex10_train.py) and progress.json into DIR.")
    start.add_argument("workspace", metavar="DIR", help="a new (or empty) folder")
    start.add_argument("--solved", action="store_true",
                       help="write the reference solutions instead (for teachers and tests)")
    start.set_defaults(run=run_start, parser=start)

    check = commands.add_parser("check", help="check exercises against the library",
                                description="Check exercise N (1-10), or all those with code "
                                            "(1-9): shapes, dtypes, inputs left unchanged, "
                                            "values and gradients against the library's ops "
                                            "on random float64 and float32 inputs, and central "
                                            "differences of your own backward. Exit code 0 "
                                            "only if every exercise checked passes.")
    check.add_argument("which", nargs="?", default="all", metavar="N|all",
                       help="an exercise number, or all (the default)")
    check.add_argument("--dir", default=argparse.SUPPRESS,
                       help="the workspace (default: this folder)")
    check.set_defaults(run=run_check, parser=check)

    hint = commands.add_parser("hint", help="the next hint for an exercise",
                               description="One hint at a time: the shape of the answer, "
                                           "then the rule, then the first line.")
    hint.add_argument("number", type=_number, metavar="N", help="the exercise (1-10)")
    hint.add_argument("--dir", default=argparse.SUPPRESS,
                       help="the workspace (default: this folder)")
    hint.set_defaults(run=run_hint, parser=hint)

    train = commands.add_parser(
        "train", help="train reverse on your own ops",
        description="Train the reverse task with your softmax, cross-entropy, layer norm, "
                    "embedding and attention (exercises 4-8, which must pass `learn check` "
                    "first) in place of the library's, into a run folder with the usual "
                    "report (default DIR/runs/reverse-<time>). Takes train's options.")
    train.add_argument("workspace", metavar="DIR", help="your workspace")
    train_command.add_options(train)
    train.set_defaults(run=run_train, parser=train)


def _number(text):
    try:
        return exercise(int(text)).number
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an exercise number from 1 to "
                                         f"{len(EXERCISES)}, got {text!r}") from None


def _open(directory):
    try:
        return Workspace.open(directory)
    except WorkspaceError as error:
        raise UsageError(str(error)) from None


def _status(workspace, ex):
    if ex.check is None:
        record = workspace.progress().get("train")
        if not record:
            return "to do"
        exact = record["held_out_exact"]
        return "passed" if exact >= TRAIN_TARGET else f"{exact:.1%} (needs {TRAIN_TARGET:.0%})"
    record = workspace.progress()["exercises"].get(str(ex.number))
    if record is None or record["status"] == "not done":
        return "to do"
    if workspace.passed(ex.number):
        return "passed"
    return "edited since it passed: check again" if record["passed"] else "failed"


def run_list(args):
    """The exercises, with the progress of the workspace in --dir if there is one."""
    try:
        workspace = Workspace.open(args.dir)
    except WorkspaceError:
        workspace = None
    print(f"{'':>3}  {'file':<22} {'exercise':<62} status")
    for ex in EXERCISES:
        status = _status(workspace, ex) if workspace else ""
        print(f"{ex.number:>3}  {ex.file:<22} {ex.title:<62} {status}")
    if workspace is None:
        print(f"\nstart with: microattn learn start mywork    (the guide: {GUIDE})")
        return 0
    todo = [ex.number for ex in EXERCISES if _status(workspace, ex) != "passed"]
    done = f"{len(EXERCISES) - len(todo)} of {len(EXERCISES)} done"
    print(f"\nworkspace {workspace.dir}: {done}; {_next_step(workspace, todo)}")
    return 0


def _next_step(workspace, todo):
    """What to do next, given the exercises not done yet."""
    if not todo:
        return f"all done: open the run's report.html ({GUIDE})"
    if todo[0] != 10:
        return f"next: microattn learn check {todo[0]}"
    return f"next: microattn learn train {workspace.dir}"


def run_start(args):
    try:
        workspace = Workspace.create(args.workspace, solved=args.solved)
    except WorkspaceError as error:
        raise UsageError(str(error)) from None
    kind = "with the reference solutions" if args.solved else f"of {len(EXERCISES)} exercises"
    print(f"wrote a workspace {kind} to {workspace.dir}:")
    for ex in EXERCISES:
        print(f"  {ex.file:<22} {ex.title}")
    print(f"\nopen {workspace.dir / EXERCISES[0].file}, complete what raises "
          f"NotImplementedError, then:\n  cd {workspace.dir}\n  microattn learn check 1\n"
          f"the guide: {GUIDE}")
    return 0


def _which(text):
    if text == "all":
        return [ex.number for ex in EXERCISES if ex.check is not None]
    try:
        return [_number(text)]
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{error}, or all") from None


def run_check(args):
    numbers = _which(args.which)
    workspace = _open(args.dir)
    results = []
    for number in numbers:
        result = check_exercise(workspace, number)
        print("\n".join(format_result(result)), flush=True)
        results.append(result)
    passed = sum(r.passed for r in results)
    if len(results) > 1:
        print(f"\n{passed} of {len(results)} passed")
    if passed == len(results):
        print(_next_step(workspace, [ex.number for ex in EXERCISES
                                     if _status(workspace, ex) != "passed"]))
    return 0 if passed == len(results) else 1


def run_hint(args):
    workspace = _open(args.dir)
    ex = exercise(args.number)
    shown = workspace.next_hint(args.number)
    print(f"exercise {ex.number}, hint {shown + 1} of {len(ex.hints)}: {ex.hints[shown]}")
    return 0


def run_train(args):
    workspace = _open(args.workspace)
    unfinished = [n for n in TRAINED_ON if not workspace.passed(n)]
    if unfinished:
        names = ", ".join(f"{n} ({exercise(n).title})" for n in unfinished)
        raise UsageError(f"train runs your exercises 4 to 8; not passing `microattn learn "
                         f"check` yet: {names}")
    if args.dropout:
        raise UsageError("your attention has no dropout: leave --dropout out")
    if args.resume is None and args.out is None:
        args.out = str(default_run_dir("reverse", root=Path(args.workspace) / "runs"))
    args.task, args.text = (None, None) if args.resume else ("reverse", None)
    modules = workspace.load_all(TRAINED_ON)
    try:
        with learner_ops(modules):
            code = train_command.run(args)
    except LearnerCodeError as error:  # a case the checks did not try: say where, in one line
        print(f"microattn learn train: {error}", file=sys.stderr)
        return 1
    run_dir = Path(args.resume or args.out)
    metrics = read_metrics(run_dir) if (run_dir / "metrics.jsonl").exists() else []
    if metrics:
        workspace.record_train(run_dir, metrics[-1])
        exact = metrics[-1]["held_out_exact"]
        verdict = ("exercise 10 done" if exact >= TRAIN_TARGET
                   else f"exercise 10 needs {TRAIN_TARGET:.0%}: train longer (--steps)")
        if not args.quiet:
            print(f"your ops trained reverse to {exact:.1%} held-out exact match: {verdict}")
    return code
