"""The ``microattn`` command line: ``microattn --help`` lists every command.

Each command is a module of this package with ``add_parser(subparsers)`` (which
adds its sub-parser and ``set_defaults(run=run)``) and ``run(args) -> exit code``;
``COMMANDS`` lists them in the order ``--help`` shows.
"""
import argparse

from .. import __version__
from . import attention, gradcheck, graph

COMMANDS = [attention, graph, gradcheck]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="microattn",
        description="microattn: a reverse-mode autograd engine on numpy, "
                    "and a transformer built on it.")
    parser.add_argument("--version", action="version", version=f"microattn {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``microattn`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.run(args)
