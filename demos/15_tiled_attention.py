"""Tiled attention: the same numbers as the materialising attention, in memory that grows as T.

`F.scaled_dot_product_attention` has two ways to compute softmax(Q K^T / sqrt(d)) V.
The materialising one holds the weights P, batch x heads x T x T numbers, and its
backward two more arrays that size. The tiled one (`TiledAttention`, derived in
docs/tiled_attention.md) walks the keys in tiles with a running max and sum per
query row and never holds P; its backward recomputes each tile of P from one saved
number per row. `F.attention_path("tiled" | "materialized")` forces either. What
to look at:
- the printed differences: on the same input, the two paths' outputs and the
  gradients reaching q, k and v agree to rounding (about 1e-7 in float32, 1e-16
  in float64), causal or not, with a padding mask too;
- scaling.png and the table: milliseconds and peak memory of one causal attention
  forward+backward (batch 4, 4 heads, d 32, float32) against T, for both paths and
  for PyTorch's F.scaled_dot_product_attention when it is installed. The
  materialising path's memory grows as T^2 (4x per doubling), the tiled one's as T
  (2x); past a few hundred positions the tiled path is also the faster of ours.
  PyTorch's memory is the rise of this process's peak resident memory
  (measured first, before numpy's allocations, smallest T first), ours is
  tracemalloc's peak: close measures, not the same one.
"""
# %%
import time
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F
from microattn.viz import demo_arguments, show

try:
    import torch
except ImportError:
    torch = None

args, out = demo_arguments("15_tiled_attention", __doc__, default_steps=3, fast_steps=1)
rng = np.random.default_rng(0)
MIB = 2 ** 20


def inputs(shape, dtype):
    """q, k, v of ``shape`` (batch, heads, T, d), leaves that require grad."""
    return [ma.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
            for _ in range(3)]


def step(path, q, k, v, upstream, **masks):
    """Forward+backward on ``path``; returns the output and the three gradients."""
    for t in (q, k, v):
        t.grad = None
    with F.attention_path(path):
        output = F.scaled_dot_product_attention(q, k, v, **masks)
    output.backward(upstream)
    return [output.detach().numpy()] + [t.grad.numpy() for t in (q, k, v)]

# %% [markdown]
# ## The same input, both paths
# 300 positions: not a multiple of the 128-wide tiles, so the last tile is clipped.

# %%
padding = np.ones((2, 1, 1, 300), bool)
padding[1, ..., 250:] = False       # the second sequence is 250 long
print("\ntiled - materialized, largest |difference| (batch 2, 4 heads, 300 positions, d 16):")
worst = 0.0
for dtype in ("float32", "float64"):
    for name, masks in (("causal", dict(is_causal=True)),
                        ("padding", dict(attn_mask=padding)),
                        ("none", {})):
        q, k, v = inputs((2, 4, 300, 16), dtype)
        upstream = np.cos(np.arange(2 * 4 * 300 * 16)).reshape(2, 4, 300, 16).astype(dtype)
        tiled, full = (step(path, q, k, v, upstream, **masks) for path in ("tiled",
                                                                             "materialized"))
        diffs = [np.abs(a - b).max() for a, b in zip(tiled, full)]
        if dtype == "float64":
            worst = max([worst, *diffs])
        print(f"  {dtype} {name:<8} output {diffs[0]:.1e}, dL/dq {diffs[1]:.1e}, "
              f"dL/dk {diffs[2]:.1e}, dL/dv {diffs[3]:.1e}")
print(f"both paths agree: largest difference in float64 {worst:.1e}")

# %% [markdown]
# ## Time and peak memory against T
# One causal forward+backward, batch 4, 4 heads, d 32, float32, the median of
# `--steps` runs (3 by default) after a warm-up.

# %%
lengths = [64, 128, 256] if args.fast else [128, 256, 512, 1024, 2048]
shape = lambda length: (4, 4, length, 32)  # noqa: E731


def torch_memory(length):
    """MiB of peak resident memory of one PyTorch step above the memory before it (Linux)."""
    status = Path("/proc/self/status")
    read = lambda field: next(int(line.split()[1]) * 1024 for line in  # noqa: E731
                              status.read_text().splitlines() if line.startswith(field))
    q, k, v = (torch.randn(shape(length), requires_grad=True) for _ in range(3))
    Path("/proc/self/clear_refs").write_text("5")      # the peak starts again from now
    before = read("VmRSS:")
    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return (read("VmHWM:") - before) / MIB


def torch_time(length):
    q, k, v = (torch.randn(shape(length), requires_grad=True) for _ in range(3))
    run = lambda: torch.nn.functional.scaled_dot_product_attention(  # noqa: E731
        q, k, v, is_causal=True).sum().backward()
    run()
    spent = []
    for _ in range(args.steps):
        start = time.perf_counter()
        run()
        spent.append(time.perf_counter() - start)
    return 1e3 * float(np.median(spent))


def ours(path, length):
    """(median ms, tracemalloc peak MiB) of our step on ``path``."""
    q, k, v = inputs(shape(length), np.float32)
    upstream = np.ones(shape(length), np.float32)
    step(path, q, k, v, upstream, is_causal=True)
    spent = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step(path, q, k, v, upstream, is_causal=True)
        spent.append(time.perf_counter() - start)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    step(path, q, k, v, upstream, is_causal=True)
    peak = (tracemalloc.get_traced_memory()[1] - before) / MIB
    tracemalloc.stop()
    return 1e3 * float(np.median(spent)), peak


results = {}
if torch is not None:
    torch.set_num_threads(1)
    measured = Path("/proc/self/clear_refs").exists()
    torch_time(16)  # PyTorch's one-time set-up, not counted
    for length in lengths:  # memory first: before numpy's arrays come and go
        results.setdefault("PyTorch", {})[length] = [None, torch_memory(length) if measured
                                                     else np.nan]
    for length in lengths:
        results["PyTorch"][length][0] = torch_time(length)
else:
    print("PyTorch is not installed: microattn's two paths only")
for path in ("materialized", "tiled"):
    results[path] = {length: list(ours(path, length)) for length in lengths}

print(f"\n{'T':>5} " + " ".join(f"{n + ' ms':>16}" for n in results)
      + " " + " ".join(f"{n + ' MiB':>17}" for n in results))
for length in lengths:
    print(f"{length:>5} " + " ".join(f"{results[n][length][0]:>16.1f}" for n in results)
          + " " + " ".join(f"{results[n][length][1]:>17.1f}" for n in results))
top, half = lengths[-1], lengths[-2]
for path in ("materialized", "tiled"):
    growth = results[path][top][1] / results[path][half][1]
    print(f"{path}: peak memory x{growth:.1f} from T = {half} to {top}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
styles = {"materialized": "o-", "tiled": "s-", "PyTorch": "^--"}
for name, by_length in results.items():
    for ax, column in zip(axes, (0, 1)):
        ax.plot(lengths, [by_length[t][column] for t in lengths], styles[name], label=name)
for ax, label in zip(axes, ("forward + backward, ms (median)", "peak memory, MiB")):
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(label)
    ax.legend()
axes[0].set_title("time: causal attention, batch 4, 4 heads, d 32")
axes[1].set_title("memory: T^2 for the materialising path, T for the tiled")
show(fig, out / "scaling.png")
