"""The ``microattn`` command line: ``microattn --help`` lists every command."""
import argparse

from . import __version__, opcheck


def gradcheck_command(args):
    """Check every op's backward against finite differences; exit 1 if any fails."""
    cases = opcheck.CASES
    names = opcheck.op_names(cases)
    if args.op is not None:
        if args.op not in names:
            args.parser.error(f"unknown op {args.op!r}; known ops: {', '.join(names)}")
        cases = [c for c in cases if c.op == args.op]
    if args.list:
        for c in cases:
            print(f"{c.op:<12} {c.what:<28} {opcheck.format_shapes(c.shapes)}")
        return 0
    results = [opcheck.check(c, seed=args.seed) for c in cases]
    print(opcheck.format_table(results, seed=args.seed))
    return 0 if all(r.passed for r in results) else 1


def build_parser():
    parser = argparse.ArgumentParser(
        prog="microattn",
        description="microattn: a reverse-mode autograd engine on numpy, "
                    "and a transformer built on it.")
    parser.add_argument("--version", action="version", version=f"microattn {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser(
        "gradcheck", help="check every op's backward against finite differences",
        description="Check the backward of every op against central finite differences "
                    "on random float64 inputs (broadcast shapes included) and print a table. "
                    "Exits 1 if any case fails.")
    check.add_argument("--op", metavar="NAME", help="check only this op (see --list)")
    check.add_argument("--seed", type=int, default=0,
                       help="seed of the random inputs and projection (default 0)")
    check.add_argument("--list", action="store_true", help="list the cases instead of running them")
    check.set_defaults(run=gradcheck_command, parser=check)
    return parser


def main(argv=None):
    """Entry point of the ``microattn`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.run(args)
