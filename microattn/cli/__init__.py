"""The ``microattn`` command line: ``microattn --help`` lists every command.

Each command is a module here with ``add_parser(subparsers)`` and ``run(args)``
(returning the exit code). Bad input is one line on stderr and exit code 2.
"""
import sys

from .. import __version__, set_num_threads
from ..data import TaskError
from ..serialization import SerializationError
from ..train import RunError
from . import eval as eval_command
from . import attention, export, gradcheck, graph, learn, predict, sample, tasks, train
from .common import ArgumentParser, UsageError

COMMANDS = [tasks, train, eval_command, predict, sample, export, attention, graph, gradcheck,
            learn]

# Errors that mean bad input, not a bug: one line, exit code 2.
BAD_INPUT = (UsageError, TaskError, RunError, SerializationError)


def build_parser():
    parser = ArgumentParser(
        prog="microattn",
        description="microattn: a reverse-mode autograd engine on numpy, "
                    "and a transformer built on it.")
    parser.add_argument("--version", action="version", version=f"microattn {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     parser_class=ArgumentParser)
    commands.required = True
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``microattn`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        set_num_threads(args.threads)  # else the library's default: one BLAS thread
    try:
        return args.run(args)
    except BAD_INPUT as error:
        print(f"{args.parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.parser.prog}: interrupted", file=sys.stderr)
        return 130
