"""What the commands share: argument types, one-line usage errors, the thread limit."""
import argparse
import pathlib
import sys
from types import SimpleNamespace


class UsageError(Exception):
    """Bad input to a command: reported as one line on stderr, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``microattn train: error: ...`` and exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def fraction(text):
    """A number in (0, 1], such as a held-out accuracy to reach."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def seed_int(text):
    """A seed: a whole number in [0, 2**32), what every generator microattn seeds takes."""
    value = nonnegative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed below 2**32 = 4294967296, "
                                         f"got {text!r}")
    return value


def positive_float(text):
    value = nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def add_threads(parser):
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="BLAS threads (default 1, microattn's own default, unless "
                             "OMP/OPENBLAS/MKL_NUM_THREADS is set: on toy models more "
                             "threads only contend for the cores; docs/tasks.md)")


def add_run(parser):
    parser.add_argument("run_dir", metavar="RUN", help="a run folder written by microattn train")
    add_trust_task(parser)


def add_trust_task(parser):
    parser.add_argument("--trust-task", action="store_true",
                        help="run the run's task file even though microattn train did not "
                             "record it on this machine (a shared run folder): it is Python "
                             "code, read it first")


def check_output(path):
    """UsageError unless ``path`` can be a file written by a command: its folder exists
    and it is not itself a folder. (A read-only or full disk is found when writing.)"""
    path = pathlib.Path(path)
    if path.is_dir():
        raise UsageError(f"{str(path)!r} is a folder; give the file to write")
    if not path.parent.is_dir():
        raise UsageError(f"no folder {str(path.parent)!r} to write {path.name} into")


def fail(command, message):
    """Print ``microattn <command>: error: <message>`` on stderr; the exit code (2)."""
    print(f"microattn {command}: error: {message}", file=sys.stderr)
    return 2


def open_run(run_dir, trust_task=False):
    """The trained run in ``run_dir``: ``.task``, ``.model`` (in eval mode), ``.config``,
    ``.step`` and ``.dir``. Raises ValueError (a RunError), saying why, when it cannot."""
    from ..train import load_trained
    task, model, config, step = load_trained(run_dir, trust_task)
    return SimpleNamespace(task=task, model=model, config=config, step=step, dir=run_dir)
