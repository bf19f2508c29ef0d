"""Fused against composed attention: two graphs, the same numbers, and their speed.

`F.scaled_dot_product_attention(q, k, v, ..., fused=False)` builds attention from
primitive ops, each with its own backward: `Matmul` (Q K^T), `Mul` (the 1/sqrt(d)),
`Add` (the mask), `Softmax`, `Matmul` (with V). With `fused=True` (the default) it
is one `ScaledDotProductAttention` node whose backward is written out by hand
(docs/attention.md derives it). What to look at:
- graphs.png (and composed.svg, fused.svg): the two computation graphs of the same
  causal attention, drawn by `microattn.viz.draw_graph`, side by side;
- the printed differences: the outputs are equal (both forwards compute the same
  arrays) and the gradients reaching q, k and v agree to rounding: about 1e-7 in
  float32, 1e-16 in float64;
- the gradcheck table: both backwards against central finite differences in float64,
  with and without the causal mask;
- the timing table and timing.png: forward + backward of both for growing sequence
  lengths, on your machine as it is loaded now (medians of repeats, not a
  benchmark: benchmarks/ measures speed under control). The fused node keeps fewer
  intermediate arrays and does the softmax backward in one pass, and both spend
  most of their time in the same two matrix products; how the speed-up moves with
  the length depends on the machine, so read it off the printed column rather
  than expecting a trend.
"""
# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F
from microattn.viz import demo_arguments, draw_graph, save_graph, show

args, out = demo_arguments("12_fused_vs_composed", __doc__, default_steps=20, fast_steps=3)
rng = np.random.default_rng(0)


def inputs(batch, heads, length, d, dtype="float32"):
    """q, k, v of shape (batch, heads, length, d), leaves that require grad."""
    return [ma.tensor(rng.standard_normal((batch, heads, length, d)).astype(dtype),
                      requires_grad=True) for _ in range(3)]


def attention(q, k, v, fused, causal=True):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, fused=fused)

# %% [markdown]
# ## Two graphs of the same attention

# %%
q, k, v = inputs(1, 2, 5, 4)
fig, axes = plt.subplots(1, 2, figsize=(12, 8))
for ax, fused in zip(axes, (False, True)):
    name = "fused" if fused else "composed"
    loss = attention(q, k, v, fused).sum()
    loss.backward()
    graph = draw_graph(loss, params={"q": q, "k": k, "v": v})
    q.grad = k.grad = v.grad = None
    print(f"{name:>8}: {graph.full_count} nodes in the graph")
    svg = show(graph, out / f"{name}.svg")
    png = out / f".{name}.png"             # for the side-by-side picture only
    if str(save_graph(graph, png)).endswith(".png"):
        ax.imshow(plt.imread(png))
        png.unlink()
    else:                                  # no Graphviz: .dot files were written instead
        ax.text(0.5, 0.5, f"Graphviz's dot is missing:\nsee {svg}", ha="center")
        (out / f".{name}.dot").unlink()
    ax.set_title(f"{name}: scaled_dot_product_attention(..., fused={fused})")
    ax.axis("off")
show(fig, out / "graphs.png")

# %% [markdown]
# ## The same numbers

# %%
print("\nfused - composed, largest |difference| (batch 2, 4 heads, 16 positions, d 8):")
for dtype in ("float32", "float64"):
    q, k, v = inputs(2, 4, 16, 8, dtype)
    results = {}
    for fused in (False, True):
        output = attention(q, k, v, fused)
        upstream = ma.tensor(np.cos(np.arange(output.detach().numpy().size)).reshape(output.shape)
                             .astype(dtype))
        (output * upstream).sum().backward()
        results[fused] = [output.detach().numpy().copy()] + [t.grad.numpy().copy()
                                                             for t in (q, k, v)]
        q.grad = k.grad = v.grad = None
    diffs = [np.abs(a - b).max() for a, b in zip(results[False], results[True])]
    print(f"  {dtype}: output {diffs[0]:.1e}, dL/dq {diffs[1]:.1e}, dL/dk {diffs[2]:.1e}, "
          f"dL/dv {diffs[3]:.1e}")

# %% [markdown]
# ## gradcheck: each backward against finite differences (float64)

# %%
print(f"\n{'attention':<10} {'mask':<7} {'gradcheck':<10} largest |analytic - numeric|")
from microattn.gradcheck import gradient_errors  # noqa: E402  (the numbers gradcheck judges)

for fused in (False, True):
    for causal in (False, True):
        q, k, v = inputs(1, 2, 4, 3, "float64")
        fn = lambda q, k, v: attention(q, k, v, fused, causal)  # noqa: E731
        ok = ma.gradcheck(fn, [q, k, v])
        worst = max(np.abs(a - n).max() for _, a, n in gradient_errors(fn, [q, k, v]))
        print(f"{'fused' if fused else 'composed':<10} {'causal' if causal else 'none':<7} "
              f"{'passed' if ok else 'FAILED':<10} {worst:.1e}")

# %% [markdown]
# ## Time: forward + backward
# The median of `--steps` repeats (20 by default), batch 8, 4 heads, d 32.

# %%
lengths = [16, 32, 64, 128] if not args.fast else [16, 32]
print(f"\n{'length':>7} {'composed ms':>12} {'fused ms':>9} {'speed-up':>9}")
times = {False: [], True: []}
for length in lengths:
    q, k, v = inputs(8, 4, length, 32)
    for fused in (False, True):
        spent = []
        for _ in range(args.steps):
            start = time.perf_counter()
            attention(q, k, v, fused).sum().backward()
            spent.append(time.perf_counter() - start)
            q.grad = k.grad = v.grad = None
        times[fused].append(1e3 * float(np.median(spent)))
    print(f"{length:>7} {times[False][-1]:>12.2f} {times[True][-1]:>9.2f} "
          f"{times[False][-1] / times[True][-1]:>8.1f}x")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(lengths, times[False], "o-", label="composed (5 ops)")
ax.plot(lengths, times[True], "s-", label="fused (1 op)")
ax.set_xlabel("sequence length")
ax.set_ylabel("forward + backward, ms (median)")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.legend()
ax.set_title("causal attention, batch 8, 4 heads, d 32")
show(fig, out / "timing.png")
