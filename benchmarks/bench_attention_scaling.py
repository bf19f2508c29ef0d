"""Time and peak memory of one causal MultiheadAttention forward+backward against T:
microattn's materialising attention, its tiled attention, and PyTorch.

    python benchmarks/bench_attention_scaling.py [--max-length 4096] [--repeats 5] [--json PATH]

The configuration: batch 4, embed_dim 128, 4 heads, float32, batch first,
``need_weights=False``, ``is_causal=True`` (PyTorch also gets the causal
attn_mask it requires with the hint), one BLAS/intra-op thread each side.
A step is forward, then backward of a fixed random upstream gradient.

Time: after one warm-up step each, every repeat runs one step of each of the
three in an order that rotates between repeats (so a busy moment of the
machine hits all three); the table shows medians and the ratio of the medians
to PyTorch. microattn's two paths are forced with ``F.attention_path``.

Peak memory, measured in separate untimed steps: for microattn, tracemalloc's
peak (numpy reports its arrays to it) above what was allocated before the
step; for PyTorch, whose allocations tracemalloc does not see, the rise of
the peak resident memory of a fresh process over its resident memory before
the step (Linux). The two are close but not the same measure: resident memory
also counts pages the allocator keeps.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import microattn as ma
from microattn import functional as F
from microattn import nn

try:
    import torch
except ImportError:
    torch = None

BATCH, EMBED, HEADS = 4, 128, 4
LENGTHS = (64, 128, 256, 512, 1024, 2048, 4096)
MIB = 2 ** 20


def ours_step(path, length, rng):
    """A forward+backward of microattn's MultiheadAttention on ``path``."""
    layer = nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    x = ma.tensor(rng.standard_normal((BATCH, length, EMBED)).astype(np.float32),
                  requires_grad=True)
    upstream = rng.standard_normal((BATCH, length, EMBED)).astype(np.float32)

    def step():
        layer.zero_grad()
        x.grad = None
        with F.attention_path(path):
            out, _ = layer(x, x, x, need_weights=False, is_causal=True)
        out.backward(upstream)
    return step


def torch_step(length, rng):
    """The same step in PyTorch."""
    layer = torch.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    x = torch.tensor(rng.standard_normal((BATCH, length, EMBED)).astype(np.float32),
                     requires_grad=True)
    upstream = torch.tensor(rng.standard_normal((BATCH, length, EMBED)).astype(np.float32))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(length)

    def step():
        layer.zero_grad()
        x.grad = None
        out, _ = layer(x, x, x, need_weights=False, attn_mask=mask, is_causal=True)
        out.backward(upstream)
    return step


def traced_peak(step):
    """MiB allocated at the peak of ``step`` above what was allocated before it."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / MIB


def torch_peak(length):
    """MiB of peak resident memory of one PyTorch step at ``length`` above the resident
    memory before it, in a fresh process (whose allocator holds few freed pages to
    reuse) after a step at T = 16 (PyTorch's one-time set-up), since tracemalloc
    does not see PyTorch's allocations."""
    code = ("import sys, numpy as np, torch; sys.path.insert(0, sys.argv[1]);"
            "import bench_attention_scaling as b; torch.set_num_threads(1);"
            "rng = np.random.default_rng(0); b.torch_step(16, rng)();"
            "step = b.torch_step(int(sys.argv[2]), rng); print(b.resident_peak(step))")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(length)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def _status(field):
    """A field of /proc/self/status (VmRSS: resident memory, VmHWM: its peak), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def resident_peak(step):
    """MiB of peak resident memory during ``step`` above the resident memory before it."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to VmRSS
    before = _status("VmRSS")
    step()
    return (_status("VmHWM") - before) / MIB


def measure(length, repeats, rng):
    """{name: (median ms, peak MiB)} at one length."""
    steps = {"materialized": ours_step("materialized", length, rng),
             "tiled": ours_step("tiled", length, rng)}
    if torch is not None:
        steps["PyTorch"] = torch_step(length, rng)
    for step in steps.values():
        step()  # warm-up
    times = {name: [] for name in steps}
    names = list(steps)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    memory = {name: traced_peak(step) for name, step in steps.items() if name != "PyTorch"}
    if torch is not None:
        memory["PyTorch"] = torch_peak(length)
    return {name: (1e3 * statistics.median(times[name]), memory[name]) for name in steps}


def table(results):
    """The markdown table of ``results`` ({length: {name: (ms, MiB)}})."""
    names = list(next(iter(results.values())))
    head = "| T | " + " | ".join(f"{n} (ms)" for n in names)
    if "PyTorch" in names:
        head += " | materialized / PyTorch | tiled / PyTorch"
    head += " | " + " | ".join(f"{n} peak (MiB)" for n in names) + " |"
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for length, row in results.items():
        cells = [f"{row[n][0]:.1f}" for n in names]
        if "PyTorch" in names:
            cells += [f"{row[n][0] / row['PyTorch'][0]:.2f}" for n in ("materialized", "tiled")]
        cells += [f"{row[n][1]:.1f}" for n in names]
        lines.append(f"| {length} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=4096,
                        help="the longest T measured (e.g. 1024 for a quick run)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if torch is None:
        print("PyTorch is not installed: microattn's two paths only")
    else:
        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    results = {}
    with threadpool_limits(1):
        for length in (t for t in LENGTHS if t <= args.max_length):
            results[length] = measure(length, args.repeats, rng)
            print(f"T = {length}: " + ", ".join(f"{n} {ms:.1f} ms {mib:.1f} MiB"
                                                for n, (ms, mib) in results[length].items()),
                  flush=True)
    print(f"\nbatch {BATCH}, embed_dim {EMBED}, {HEADS} heads, causal, float32, 1 thread each; "
          f"median of {args.repeats} interleaved steps\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({str(t): r for t, r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
