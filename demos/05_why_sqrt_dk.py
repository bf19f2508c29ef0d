"""Why divide by sqrt(d_k): without it softmax saturates as d grows, and gradients vanish.

For q, k with independent N(0, 1) entries, q . k has variance d: the scores spread as
sqrt(d), softmax puts nearly all weight on one key, and its Jacobian diag(p) - p p^T
goes to zero. Dividing by sqrt(d) keeps the scores at variance 1 for every d.
What to look at, for d from 2 to 2048, with and without the scale:
- the printed table: score std, mean largest weight, the share of saturated rows
  (largest weight > 0.99: their gradient is all but zero), the gradient backward()
  delivers to the scores S, how many of the 16 keys the gradient reaches, and the
  size of the gradient reaching each query q;
- saturation.png: the same against d. Unscaled, more and more rows saturate, the
  gradient at the scores shrinks and reaches about two keys: the others learn nothing.
  The gradient reaching q even grows, because dL/dq = dL/dS K and |k| grows like
  sqrt(d), but it is what one or two keys say, with a size that depends on d. Scaled,
  every column stays put for every d: that is what dividing by sqrt(d) buys;
- rows.png: one query's weights over 16 keys at d = 512, with and without the scale.
"""
# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F
from microattn.viz import demo_arguments, show

args, out = demo_arguments("05_why_sqrt_dk", __doc__, default_steps=256, fast_steps=32)
rng = np.random.default_rng(0)
ROWS, KEYS, DV = args.steps, 16, 8   # --steps sets how many queries are averaged

# %% [markdown]
# ## Measure
# One query per row against 16 keys; a random upstream gradient g on the output, so
# L = sum(g * attention(Q, K, V)) and backward() gives dL/dS (S the scores, kept with
# retain_grad), dL/dQ and dL/dK. Attention is written out here so S is in the graph.

# %%
def measure(d, scaled):
    q = ma.tensor(rng.standard_normal((ROWS, 1, d)), requires_grad=True)
    k = ma.tensor(rng.standard_normal((ROWS, KEYS, d)), requires_grad=True)
    v = ma.tensor(rng.standard_normal((ROWS, KEYS, DV)))
    scale = 1 / math.sqrt(d) if scaled else 1.0
    scores = (q @ k.transpose(-2, -1)) * scale              # (ROWS, 1, KEYS)
    scores.retain_grad()
    weights = scores.softmax(dim=-1)
    output = weights @ v                                    # (ROWS, 1, DV)
    output.backward(rng.standard_normal(output.shape))
    p = weights.detach().numpy()[:, 0]
    per_key = np.linalg.norm(np.asarray(k.grad), axis=-1)   # (ROWS, KEYS): |dL/dk_j|
    # participation ratio: 16 when every key gets the same share, 1 when one gets all
    reached = per_key.sum(-1) ** 2 / (per_key ** 2).sum(-1)
    rms = lambda g: float(np.sqrt(np.mean(np.asarray(g) ** 2)))
    return {"score std": scores.detach().numpy().std(), "max weight": p.max(-1).mean(),
            "saturated rows": (p.max(-1) > 0.99).mean(),
            "rms dL/dS": rms(scores.grad), "keys reached": reached.mean(),
            "|dL/dq|": np.linalg.norm(np.asarray(q.grad), axis=-1).mean()}


dims = [2, 8, 32, 128, 512, 2048]
results = {(d, scaled): measure(d, scaled) for scaled in (False, True) for d in dims}
columns = list(results[dims[0], True])
print(f"\n{'':10s}{'d':>6s}" + "".join(f"{c:>17s}" for c in columns))
for scaled in (False, True):
    for d in dims:
        row = results[d, scaled]
        print(f"{'/ sqrt(d)' if scaled else 'unscaled':10s}{d:6d}"
              + "".join(f"{row[c]:17.3g}" for c in columns))

# %% [markdown]
# ## Pictures

# %%
fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
panels = (("max weight", "mean largest softmax weight"),
          ("rms dL/dS", "gradient at the scores (rms)"),
          ("keys reached", "keys the gradient reaches (of 16)"),
          ("|dL/dq|", "gradient reaching q (norm)"))
for scaled, style in ((False, "o-"), (True, "s-")):
    label = "q . k / sqrt(d)" if scaled else "q . k (unscaled)"
    for ax, (column, _) in zip(axes, panels):
        ax.plot(dims, [results[d, scaled][column] for d in dims], style, label=label)
for ax, (_, title) in zip(axes, panels):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("d (query/key size)")
    ax.set_title(title, fontsize=10)
axes[0].axhline(1 / KEYS, color="grey", lw=0.5)
axes[0].text(2, 1 / KEYS + 0.02, "uniform 1/16", fontsize=8, color="grey")
axes[0].set_ylim(0, 1.05)
axes[1].set_yscale("log")
axes[2].set_ylim(0, KEYS)
axes[3].set_yscale("log")
axes[0].legend()
show(fig, out / "saturation.png")

d = 512
q = rng.standard_normal((1, d))
k = rng.standard_normal((KEYS, d))
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True, layout="constrained")
for ax, scale, title in ((axes[0], 1.0, "unscaled: scores std ~ sqrt(512) = 23"),
                         (axes[1], 1 / math.sqrt(d), "divided by sqrt(512): scores std ~ 1")):
    weights = F.softmax(ma.tensor((q @ k.T) * scale), dim=-1).detach().numpy()[0]
    ax.bar(range(KEYS), weights)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("key")
axes[0].set_ylabel("softmax weight")
show(fig, out / "rows.png")
