"""Microseconds per forward+backward of small ops: microattn against PyTorch.

    python benchmarks/bench_ops.py [--repeats 7] [--block 0.02] [--torch-threads N]

Both libraries run the same code (microattn's tensors have PyTorch's operators
and method names) on the same float32 data. Each repeat times a loop of calls
of one library, then of the other, alternating which goes first, so that
a slow moment of the machine hits both; the table shows the median over
repeats. PyTorch runs with its default number of threads unless
--torch-threads says otherwise; the header states the number, and the load
average, since other work on the machine skews multi-threaded timings most.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import microattn as ma

try:
    import torch
except ImportError:
    sys.exit("bench_ops.py compares against PyTorch: install the test extra "
             "(pip install -e '.[test]'), or run `make bench`")

# (op, shape label, fn on tensors of either library, input shapes)
BENCHES = [
    ("add", "4x4", lambda a, b: a + b, [(4, 4), (4, 4)]),
    ("matmul", "64x64 @ 64x64", lambda a, b: a @ b, [(64, 64), (64, 64)]),
    ("softmax", "32x64x64, dim=-1", lambda x: x.softmax(-1), [(32, 64, 64)]),
    ("(a*b+a).sum()", "4x4", lambda a, b: (a * b + a).sum(), [(4, 4), (4, 4)]),
]


def step_fn(fn, inputs, upstream):
    """One forward+backward; upstream is dL/d(output), None for a scalar output."""
    def step():
        for t in inputs:
            t.grad = None
        out = fn(*inputs)
        out.backward(upstream)
    return step


def setup(fn, shapes, seed=0):
    """The step of each library, on the same float32 inputs and upstream gradient."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ma_inputs = [ma.tensor(a, requires_grad=True) for a in arrays]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_shape = fn(*ma_inputs).shape
    ma_up = torch_up = None
    if out_shape != ():
        ma_up = rng.standard_normal(out_shape).astype(np.float32)
        torch_up = torch.from_numpy(ma_up)
    return step_fn(fn, ma_inputs, ma_up), step_fn(fn, torch_inputs, torch_up)


def calls_per_block(step, block):
    """How many calls of ``step`` take about ``block`` seconds (at least one)."""
    step()  # warm up
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < block / 4:
        step()
        calls += 1
    return max(1, 4 * calls)


def time_block(step, calls):
    """Microseconds per call, over a loop of ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls * 1e6


def measure(fn, shapes, repeats, block):
    """Median microseconds per call of (microattn, PyTorch), interleaved."""
    steps = setup(fn, shapes)
    calls = [calls_per_block(s, block) for s in steps]
    times = ([], [])
    for r in range(repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for k in order:
            times[k].append(time_block(steps[k], calls[k]))
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per library (median)")
    parser.add_argument("--block", type=float, default=0.02,
                        help="seconds of calls in one timed loop")
    parser.add_argument("--torch-threads", type=int, metavar="N",
                        help="torch.set_num_threads(N) first (default: PyTorch's own choice)")
    args = parser.parse_args(argv)
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)

    print("## Forward+backward of small ops: microattn vs PyTorch (float32, microseconds per call)")
    print()
    threads = "set to" if args.torch_threads is not None else "with its default"
    print(f"microattn {ma.__version__} on numpy {np.__version__}; torch {torch.__version__} "
          f"{threads} {torch.get_num_threads()} thread(s); Python {platform.python_version()} "
          f"on {platform.machine()} with {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the start. Median of {args.repeats} repeats, each a loop "
          f"of about {args.block * 1e3:g} ms per library, the two alternating.")
    print()
    print("| op | shapes | microattn (µs) | PyTorch (µs) | microattn / PyTorch |")
    print("|---|---|---:|---:|---:|")
    for name, label, fn, shapes in BENCHES:
        ours, theirs = measure(fn, shapes, args.repeats, args.block)
        print(f"| {name} | {label} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
