"""Milliseconds per forward+backward of the tiled attention op for each tile size.

    python benchmarks/bench_attention_tiles.py [--lengths 512 1024 2048] [--repeats 5]

The configuration of bench_attention_scaling.py's attention: batch 4, 4 heads of
width 32, causal, float32, BLAS on one thread. For every sequence length each
(query tile, key tile) pair runs once per repeat, in an order that rotates
between repeats; the table shows the median. The tile sides in
microattn/fused/tiled_attention.py (BLOCK_Q, BLOCK_K) come from this table: small
tiles pay Python's per-tile overhead and many small BLAS calls, large ones
hold bigger blocks and skip less of a causal mask's upper triangle.
"""
import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import microattn as ma
from microattn.fused.tiled_attention import TiledAttention

SIDES = (64, 128, 256, 512)


def step(q, k, v, upstream, blocks):
    """One forward+backward of the tiled op; returns the seconds it took."""
    start = time.perf_counter()
    for t in (q, k, v):
        t.grad = None
    out = TiledAttention.apply(q, k, v, None, True, q.shape[-1] ** -0.5, *blocks)
    out.backward(upstream)
    return time.perf_counter() - start


def measure(length, repeats, rng):
    """{(block_q, block_k): median ms} at one sequence length."""
    q, k, v = (ma.tensor(rng.standard_normal((4, 4, length, 32)).astype(np.float32),
                         requires_grad=True) for _ in range(3))
    upstream = rng.standard_normal((4, 4, length, 32)).astype(np.float32)
    pairs = [(bq, bk) for bq in SIDES for bk in SIDES]
    times = {p: [] for p in pairs}
    step(q, k, v, upstream, pairs[0])  # warm-up
    for r in range(repeats):
        for p in pairs[r % len(pairs):] + pairs[:r % len(pairs)]:
            times[p].append(step(q, k, v, upstream, p))
    return {p: 1e3 * statistics.median(t) for p, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        results = {t: measure(t, args.repeats, rng) for t in args.lengths}
    print("| query tile | key tile | " + " | ".join(f"T = {t} (ms)" for t in args.lengths)
          + " |")
    print("|---|---|" + "---|" * len(args.lengths))
    for p in results[args.lengths[0]]:
        print(f"| {p[0]} | {p[1]} | " + " | ".join(f"{results[t][p]:.1f}" for t in args.lengths)
              + " |")


if __name__ == "__main__":
    main()
