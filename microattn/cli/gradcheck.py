"""``microattn gradcheck``: every op's backward against finite differences."""
from .. import opcheck


def add_parser(subparsers):
    check = subparsers.add_parser(
        "gradcheck", help="check every op's backward against finite differences",
        description="Check the backward of every op against central finite differences "
                    "on random float64 inputs (broadcast shapes included) and print a table. "
                    "Exits 1 if any case fails.")
    check.add_argument("--op", metavar="NAME", help="check only this op (see --list)")
    check.add_argument("--seed", type=int, default=0,
                       help="seed of the random inputs and projection (default 0)")
    check.add_argument("--list", action="store_true", help="list the cases instead of running them")
    check.set_defaults(run=run, parser=check)


def run(args):
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
