"""What the commands share: argument types, one-line usage errors, the thread limit."""
import argparse
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


def fail(command, message):
    """Print ``microattn <command>: error: <message>`` on stderr; the exit code (2)."""
    print(f"microattn {command}: error: {message}", file=sys.stderr)
    return 2


def open_run(run_dir):
    """The trained run in ``run_dir``: ``.task``, ``.model`` (in eval mode), ``.config``,
    ``.step`` and ``.dir``. Raises ValueError (a RunError), saying why, when it cannot."""
    from ..train import load_trained
    task, model, config, step = load_trained(run_dir)
    return SimpleNamespace(task=task, model=model, config=config, step=step, dir=run_dir)
