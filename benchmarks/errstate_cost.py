"""What silencing numpy's floating-point warnings costs (silenced in microattn/core/tensor.py).

    OPENBLAS_NUM_THREADS=1 python benchmarks/errstate_cost.py [--repeats 9]

Three ways, timed in interleaved repeats (medians), on a small op called at top
level (``ma.log`` of a 4x4 tensor, forward only) and on one float64
MultiheadAttention forward+backward (B=2, T=8, E=16, 2 heads):

- none: numpy's warnings left on (the op run inside an already silenced region,
  so it skips the switch: the cost of the code without the feature);
- per op: ``np.errstate(all="ignore")`` around every op's forward, the obvious way;
- as shipped: the switch made once per outermost call (a top-level op, a
  Module's forward, a backward), through numpy's error-state context variable.
"""
import argparse
import contextlib
import statistics
import sys
import time

import numpy as np

import microattn as ma
from microattn import nn
from microattn.core.grad_mode import state
from microattn.nn import module

engine = sys.modules["microattn.core.tensor"]  # (microattn.core.tensor is also ma.tensor)


def per_op_errstate(run):
    """Run with np.errstate around each op's forward, and nothing else silenced."""
    saved = engine.silenced, module.silenced
    engine.silenced = lambda: np.errstate(all="ignore")  # in apply (and once in backward)
    module.silenced = contextlib.nullcontext
    try:
        return run()
    finally:
        engine.silenced, module.silenced = saved


def unsilenced(run):
    state.quiet = True  # every silenced() region is then already entered: a no-op
    try:
        return run()
    finally:
        state.quiet = False


def time_loop(fn, seconds=0.05):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return (time.perf_counter() - start) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    ma.set_num_threads(1)
    ma.manual_seed(0)
    x = ma.rand(4, 4)
    mha = nn.MultiheadAttention(16, 2, batch_first=True).double()
    q = ma.randn(2, 8, 16, dtype=np.float64, requires_grad=True)

    def small_op():
        ma.log(x)

    def attention():
        out, _ = mha(q, q, q)
        out.sum().backward()

    ways = {"none": unsilenced, "per op": per_op_errstate, "as shipped": lambda run: run()}
    for name, fn in (("ma.log, 4x4, top level", small_op),
                     ("MultiheadAttention fwd+bwd", attention)):
        times = {way: [] for way in ways}
        for _ in range(args.repeats):
            for way, wrap in ways.items():
                times[way].append(wrap(lambda: time_loop(fn)))
        base = statistics.median(times["none"])
        print(f"{name}:")
        for way in ways:
            t = statistics.median(times[way])
            print(f"  {way:10s} {t * 1e6:9.1f} us  ({t / base - 1:+.0%})")


if __name__ == "__main__":
    main()
