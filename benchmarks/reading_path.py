"""How much of the package a reader must follow: executed lines and files of three small runs.

    python benchmarks/reading_path.py [--files]

Each run is traced with ``sys.settrace``; the table counts the distinct lines
of ``microattn/`` that ran, and the files they are in. The module and the
inputs are built before tracing starts, so only the computation is counted:

- mha: one float64 ``nn.MultiheadAttention(16, 4, batch_first=True)``
  forward (``need_weights=False``) and backward, on a (2, 5, 16) input (the
  upstream gradient, ones, is built outside: no loss is part of the run);
- exp: ``x.exp().sum().backward()`` on a (3, 4) float64 leaf;
- matmul: ``(a @ b).sum().backward()`` on (3, 4) and (4, 5) float64 leaves.

``--files`` lists the lines per file of each run.
"""
import argparse
import os
import sys
from collections import defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import microattn as ma  # noqa: E402
from microattn import nn  # noqa: E402

PACKAGE = os.path.join(ROOT, "microattn") + os.sep


def traced(run):
    """Distinct (file, line) pairs of the package that ``run()`` executes."""
    lines = set()

    def tracer(frame, event, arg):
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None  # do not trace numpy or the standard library line by line
        if event == "line":
            lines.add((frame.f_code.co_filename, frame.f_lineno))
        return tracer

    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(None)
    return lines


def runs():
    """name -> a function doing the traced work; everything else built here."""
    rng = np.random.default_rng(0)
    ma.set_default_dtype(np.float64)
    mha = nn.MultiheadAttention(16, 4, batch_first=True).double()
    x = ma.tensor(rng.standard_normal((2, 5, 16)), requires_grad=True)
    upstream = ma.ones(2, 5, 16)
    e = ma.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    a = ma.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = ma.tensor(rng.standard_normal((4, 5)), requires_grad=True)

    def attention():
        out, _ = mha(x, x, x, need_weights=False)
        out.backward(upstream)

    return {"mha": attention,
            "exp": lambda: e.exp().sum().backward(),
            "matmul": lambda: (a @ b).sum().backward()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", action="store_true", help="lines per file of each run")
    args = parser.parse_args(argv)
    print("| run | lines | files |\n|---|---|---|")
    details = {}
    for name, run in runs().items():
        run()  # once untraced: first-call caches must not count
        lines = traced(run)
        per_file = defaultdict(int)
        for path, _ in lines:
            per_file[os.path.relpath(path, ROOT)] += 1
        details[name] = per_file
        print(f"| {name} | {len(lines)} | {len(per_file)} |")
    if args.files:
        for name, per_file in details.items():
            print(f"\n{name}:")
            for path, n in sorted(per_file.items(), key=lambda kv: -kv[1]):
                print(f"  {n:4d}  {path}")


if __name__ == "__main__":
    main()
