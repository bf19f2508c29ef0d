"""The ``microattn`` command line: ``microattn --help`` lists every command.

Each command is a module here with ``add_parser(subparsers)`` and ``run(args)``
(returning the exit code). Whatever goes wrong ends in one line on stderr:

- bad input (a flag, a run folder, a task file's error: naming the file, the
  function and the line): exit 2;
- a fault of the environment (a full or read-only disk, a missing permission,
  memory): the path and the cause, exit 1; temporary files are removed and the
  last checkpoint is left as it was (every write is atomic: microattn/files.py);
- Ctrl-C: exit 130.

``--debug`` adds the full traceback above the line.
"""
import sys
import traceback

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
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an error above its one line")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     parser_class=ArgumentParser)
    commands.required = True
    for command in COMMANDS:
        command.add_parser(commands)
    for sub in commands.choices.values():
        sub.add_argument("--debug", action="store_true", default=False,
                         help="print the full traceback of an error above its one line")
    return parser


def environment_fault(error):
    """One line for an OSError or MemoryError: the path and the cause."""
    if isinstance(error, MemoryError):
        return "out of memory: choose smaller sizes (--d-model, --batch-size, --layers)"
    cause = error.strerror or str(error) or type(error).__name__
    path = error.filename if error.filename is not None else None
    return f"cannot write or read {path}: {cause}" if path else cause


def main(argv=None):
    """Entry point of the ``microattn`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("microattn: interrupted", file=sys.stderr)
        return 130
    prog = args.parser.prog  # the subcommand's own: "microattn learn train"
    debug = args.debug or "--debug" in argv
    if getattr(args, "threads", None):
        set_num_threads(args.threads)  # else the library's default: one BLAS thread
    try:
        return args.run(args)
    except BAD_INPUT as error:
        return _report(prog, error, 2, debug)
    except (OSError, MemoryError) as error:
        return _report(prog, environment_fault(error), 1, debug, error)
    except KeyboardInterrupt as error:
        return _report(prog, "interrupted", 130, debug, error, label="")


def _report(prog, message, code, debug, error=None, label="error: "):
    error = message if error is None else error
    if debug and isinstance(error, BaseException):
        traceback.print_exception(error, file=sys.stderr)
    print(f"{prog}: {label}{message}", file=sys.stderr, flush=True)
    return code
