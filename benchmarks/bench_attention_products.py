"""The floor under the tiled attention's time: its matrix products alone, against
PyTorch's whole attention forward+backward and against the tiled op itself.

    python benchmarks/bench_attention_products.py [--lengths 1024 4096] [--repeats 5]

The configuration of bench_attention_scaling.py's attention: batch 4, 4 heads of
width 32, causal, float32, one BLAS/intra-op thread each side. "products" runs
only the seven products the tiled op makes per (128 x 128) tile of a causal
forward and backward (forward: S = Q K^T, P V; backward: S = Q K^T again,
P^T dO, dO V^T, dS K, dS^T Q) on the op's operand layouts, with nothing
between them: no exponentials, no masks, no sums. "tiled" is the op
(microattn/fused/tiled_attention.py) and "PyTorch" its
F.scaled_dot_product_attention(is_causal=True). Steps are interleaved,
the order rotating between repeats; the table shows medians.
"""
import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import microattn as ma
from microattn.fused.attention import _swap
from microattn.fused.tiled_attention import BLOCK_Q, BLOCK_K, TiledAttention

try:
    import torch
except ImportError:
    torch = None

LEAD, WIDTH = (4, 4), 32


def products(q, k, v, g):
    """The seven block products of one causal tiled forward+backward, and nothing else."""
    length = q.shape[-2]
    for r0 in range(0, length, BLOCK_Q):
        rows = slice(r0, min(r0 + BLOCK_Q, length))
        for c0 in range(0, rows.stop, BLOCK_K):
            cols = slice(c0, min(c0 + BLOCK_K, rows.stop))
            q_rows, g_rows = q[..., rows, :], g[..., rows, :]
            k_cols, v_cols = k[..., cols, :], v[..., cols, :]
            p = q_rows @ _swap(k_cols)           # forward: S
            p @ v_cols                           # forward: P V
            p = q_rows @ _swap(k_cols)           # backward: S again
            _swap(p) @ g_rows                    # dV
            ds = g_rows @ _swap(v_cols)          # dP
            ds @ k_cols                          # dQ
            _swap(ds) @ q_rows                   # dK


def steps(length, rng):
    """{name: step} at one sequence length."""
    q, k, v, g = (rng.standard_normal(LEAD + (length, WIDTH)).astype(np.float32)
                  for _ in range(4))
    leaves = [ma.tensor(a, requires_grad=True) for a in (q, k, v)]

    def tiled():
        for t in leaves:
            t.grad = None
        TiledAttention.apply(*leaves, None, True, WIDTH ** -0.5).backward(g)
    found = {"products": lambda: products(q, k, v, g), "tiled": tiled}
    if torch is not None:
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        upstream = torch.tensor(g)

        def pytorch():
            for t in theirs:
                t.grad = None
            torch.nn.functional.scaled_dot_product_attention(
                *theirs, is_causal=True).backward(upstream)
        found["PyTorch"] = pytorch
    return found


def measure(length, repeats, rng):
    """{name: median ms} at one sequence length."""
    found = steps(length, rng)
    for step in found.values():
        step()  # warm-up
    times = {name: [] for name in found}
    names = list(found)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            found[name]()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        results = {t: measure(t, args.repeats, rng) for t in args.lengths}
    names = list(next(iter(results.values())))
    print("| T | " + " | ".join(f"{n} (ms)" for n in names) + " | products / tiled |")
    print("|---|" + "---|" * (len(names) + 1))
    for length, row in results.items():
        print(f"| {length} | " + " | ".join(f"{row[n]:.1f}" for n in names)
              + f" | {row['products'] / row['tiled']:.2f} |")


if __name__ == "__main__":
    main()
