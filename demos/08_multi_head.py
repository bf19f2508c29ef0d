"""Multi-head attention: heads that look at different places, and what one head cannot do.

Task: for every position of 12 random tokens, output BOTH neighbours: the token on
the left and the token on the right (wrapping around at the ends). Two lookups per
position, in two different places. The same model (32 features, one attention layer,
no feed-forward) is trained with 1, 2 and 4 heads. What to look at:
- the printed table: with 2 or 4 heads both neighbours are right; one head has one
  softmax, one place to look per query (spreading it over both places would mix the
  two tokens into one sum that cannot say which was left): it looks left and gets the
  left neighbour right and the right one at chance, 1 in 16;
- heads.png: the per-head grid on one held-out sequence: with 2 heads one head looks
  one step right (the diagonal above the main one), the other one step left; with 4
  heads two take each job; the single head looks left only;
- training.png: the loss of each.
"""
# %%
import numpy as np

import microattn as ma
from microattn import functional as F
from _common import OneLayerAttention, heatmap, plt, save, setup, smooth, train

args, out = setup("08_multi_head", __doc__, default_steps=400, fast_steps=40)
rng = np.random.default_rng(0)
VOCAB, LENGTH, D_MODEL = 16, 12, 32

# %% [markdown]
# ## Two outputs per position
# The readout gives 2 x 16 logits per position: the first 16 for the left neighbour,
# the last 16 for the right one.

# %%
def neighbours(tokens):
    """(B, T) -> targets (B, T, 2): the left and right neighbour of every position."""
    return np.stack([np.roll(tokens, 1, axis=1), np.roll(tokens, -1, axis=1)], axis=-1)


def neighbour_loss(model, tokens):
    logits = model(tokens).reshape(len(tokens), LENGTH, 2, VOCAB)       # (B, T, 2, V)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), neighbours(tokens).reshape(-1))
    return loss, logits


held_out = rng.integers(0, VOCAB, (500, LENGTH))
models, losses = {}, {}
for heads in (1, 2, 4):
    ma.manual_seed(0)
    model = OneLayerAttention(VOCAB, D_MODEL, heads, LENGTH, out_features=2 * VOCAB)
    losses[heads] = train(
        model, lambda: neighbour_loss(model, rng.integers(0, VOCAB, (32, LENGTH)))[0],
        args.steps, lr=1e-2)
    models[heads] = model

print(f"\n{'heads':>5s} {'head size':>9s} {'held-out loss':>14s} {'left right':>11s}"
      f" {'both right':>11s}")
for heads, model in models.items():
    with ma.no_grad():
        loss, logits = neighbour_loss(model, held_out)
    correct = logits.data.argmax(-1) == neighbours(held_out)             # (B, T, 2)
    print(f"{heads:5d} {D_MODEL // heads:9d} {loss.item():14.3f} {correct[..., 0].mean():11.3f}"
          f" {correct[..., 1].mean():5.3f} {correct.all(-1).mean():11.3f}")

# %% [markdown]
# ## The per-head grid
# `nn.MultiheadAttention` keeps every head's weights of its last forward in
# `last_attn_weights`, (B, heads, Tq, Tk).

# %%
example = held_out[:1]
labels = [str(t) for t in example[0]]
fig, axes = plt.subplots(3, 4, figsize=(14, 10), layout="constrained")
for row, (heads, model) in enumerate(models.items()):
    with ma.no_grad():
        model(example)
    weights = model.self_attn.last_attn_weights.data[0]                 # (heads, T, T)
    for column in range(4):
        ax = axes[row, column]
        if column >= heads:
            ax.axis("off")
            continue
        heatmap(ax, weights[column], f"{heads} head{'s' * (heads > 1)}: head {column}",
                xlabels=labels, ylabels=labels, xlabel="key token", ylabel="query token",
                vmax=1, colorbar=False)
save(fig, out, "heads.png")

fig, ax = plt.subplots(figsize=(7, 3.8))
for heads, curve in losses.items():
    ax.plot(smooth(curve), label=f"{heads} head{'s' * (heads > 1)}")
ax.set_yscale("log")
ax.set_xlabel("AdamW step")
ax.set_ylabel("loss (mean of 20 steps)")
ax.legend()
save(fig, out, "training.png")
