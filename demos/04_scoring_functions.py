"""Scoring functions: additive (Bahdanau) against scaled dot-product, with masked softmax.

Attention is scores -> softmax -> weighted average of values; only the score differs:
    additive:        score(q, k) = v^T tanh(W_q q + W_k k)        (nn.AdditiveAttention)
    scaled dot:      score(q, k) = (W_q q) . (W_k k) / sqrt(d)    (F.scaled_dot_product_attention)
What to look at:
- masked_weights.png: both scorers on the same queries and keys, two sequences with valid
  lengths 2 and 6: every key past the valid length gets weight exactly 0 (the printed
  sums of the masked weights), the rest still sum to 1;
- training.png: the same small task trained with each scorer (find the key closest to
  the query among 3-10 valid keys, return its value): loss and the weight put on the
  right key, step by step; the printed table compares them. With positive keys both
  learn; with keys of either sign only the dot product does (see the cell's note);
- trained_weights.png: where each trained scorer looks, the right key outlined.
"""
# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, nn, optim
from microattn.viz import demo_arguments, plot_matrix, running_mean, show

args, out = demo_arguments("04_scoring_functions", __doc__, default_steps=1000, fast_steps=40)


def train(model, loss_fn, steps, lr=1e-2, on_step=None):
    """AdamW (no weight decay) on ``loss_fn()``, a fresh batch's loss each call, for
    ``steps`` steps; returns the losses as floats. ``on_step(step)``, if given, runs
    before the first step (step 0) and after each optimizer step (1..steps)."""
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    if on_step is not None:
        on_step(0)
    for step in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1)
    return losses


ma.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## Two scorers, the same queries and keys
# Dot-product attention needs queries and keys projected to the same size; additive
# attention adds the projections and passes them through tanh, then a vector v scores.

# %%
class DotProductAttention(nn.Module):
    """Scaled dot-product attention with learned query and key projections."""

    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)

    def forward(self, query, key, value, key_padding_mask):
        """query (B, Tq, Dq), key (B, Tk, Dk), value (B, Tk, Dv), key_padding_mask (B, Tk)
        True at padding -> (context (B, Tq, Dv), weights (B, Tq, Tk))."""
        allowed = ~key_padding_mask[:, None, :]  # (B, 1, Tk): F's masks are True where allowed
        return F.scaled_dot_product_attention(self.query_proj(query), self.key_proj(key), value,
                                              attn_mask=allowed, need_weights=True)


DIM, HIDDEN, KEYS = 8, 32, 10
scorers = {"additive": nn.AdditiveAttention(DIM, DIM, HIDDEN),
           "scaled dot-product": DotProductAttention(DIM, DIM, HIDDEN)}

queries = ma.tensor(rng.standard_normal((2, 3, DIM)), dtype="float32")
keys = ma.tensor(rng.standard_normal((2, KEYS, DIM)), dtype="float32")
values = ma.tensor(rng.standard_normal((2, KEYS, 4)), dtype="float32")
valid_lens = np.array([2, 6])
padding = np.arange(KEYS)[None, :] >= valid_lens[:, None]   # (2, 10), True past the valid length

fig, axes = plt.subplots(2, 2, figsize=(10, 4.5), layout="constrained")
for column, (name, scorer) in enumerate(scorers.items()):
    _, weights = scorer(queries, keys, values, key_padding_mask=padding)
    w = weights.detach().numpy()                                          # (2, 3, 10)
    past_valid = w[np.broadcast_to(padding[:, None], w.shape)].sum()
    print(f"{name:20s} weight past the valid length: {past_valid:.1f}, "
          f"row sums {np.round(w.sum(-1).ravel(), 6)}")
    for row in range(2):
        plot_matrix(axes[row, column], w[row], f"{name}, valid length {valid_lens[row]}",
                xlabel="keys", ylabel="queries", vmax=1, colorbar=column == 1)
show(fig, out / "masked_weights.png")

# %% [markdown]
# ## The same task, trained with each scorer
# Each example: 3-10 valid keys (random unit vectors in R^8, the rest padding) with a
# scalar value each; the query is a noisy copy of one valid key. Target: that key's
# value. The padding keys hold decoys, copies of the query itself, which only the mask
# keeps out. Two variants: keys with positive coordinates, and keys anywhere on the
# sphere. Additive attention without biases (as in the paper) is an odd function,
# score(-q, -k) = -score(q, k): when a key and its negation are equally likely, it
# cannot rank "the same as the query" first. The dot product is made for exactly that.

# %%
def batch(size, signed):
    keys = rng.standard_normal((size, KEYS, DIM))
    keys = keys if signed else np.abs(keys)
    keys /= np.linalg.norm(keys, axis=-1, keepdims=True)
    lengths = rng.integers(3, KEYS + 1, size)
    pad = np.arange(KEYS)[None, :] >= lengths[:, None]
    target = rng.integers(0, lengths)                         # a valid key per example
    query = keys[np.arange(size), target] + rng.normal(0, 0.1, (size, DIM))
    keys[pad] = np.repeat(query[:, None], KEYS, axis=1)[pad]  # decoys in the padding
    values = rng.standard_normal((size, KEYS, 1))
    answer = values[np.arange(size), target]
    as_tensor = lambda a: ma.tensor(a.astype(np.float32))
    return (as_tensor(query[:, None]), as_tensor(keys), as_tensor(values), pad,
            as_tensor(answer), target)


def train_scorer(scorer, signed):
    """Train on fresh batches; returns (losses, weight on the right key per step, seconds)."""
    on_target = []

    def loss_fn():
        query, keys_b, values_b, pad, answer, target = batch(64, signed)
        context, weights = scorer(query, keys_b, values_b, key_padding_mask=pad)
        on_target.append(weights.detach().numpy()[np.arange(64), 0, target].mean())
        return F.mse_loss(context[:, 0], answer)

    start = time.perf_counter()
    losses = train(scorer, loss_fn, args.steps, lr=1e-2)
    return losses, on_target, time.perf_counter() - start


variants = {"positive keys": False, "signed keys": True}
trained, history = {}, {}
for variant, signed in variants.items():
    for name in scorers:
        ma.manual_seed(1)
        scorer = (nn.AdditiveAttention(DIM, DIM, HIDDEN) if name == "additive"
                  else DotProductAttention(DIM, DIM, HIDDEN))
        history[variant, name] = train_scorer(scorer, signed)
        trained[variant, name] = scorer

print(f"\n{'keys':14s} {'scorer':20s} {'loss, first 20':>15s} {'loss, last 20':>14s} "
      f"{'weight on the right key':>24s} {'ms/step':>8s}")
for (variant, name), (losses, on_target, seconds) in history.items():
    print(f"{variant:14s} {name:20s} {np.mean(losses[:20]):15.3f} {np.mean(losses[-20:]):14.3f} "
          f"{np.mean(on_target[-20:]):24.2f} {1000 * seconds / args.steps:8.2f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for (variant, name), (losses, on_target, _) in history.items():
    style = "-" if variant == "positive keys" else ":"
    color = "C0" if name == "additive" else "C1"
    axes[0].plot(running_mean(losses), style, color=color, label=f"{name}, {variant}", alpha=0.8)
    axes[1].plot(running_mean(on_target), style, color=color, label=f"{name}, {variant}", alpha=0.8)
axes[0].set_yscale("log")
axes[0].set_xlabel("Adam step")
axes[0].set_title("loss (MSE of the retrieved value), mean of 20 steps", fontsize=10)
axes[1].set_xlabel("Adam step")
axes[1].set_title("mean weight on the right key", fontsize=10)
axes[1].set_ylim(0, 1)
axes[1].legend(fontsize=8)
show(fig, out / "training.png")

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 6), layout="constrained")
for row, (variant, signed) in enumerate(variants.items()):
    query, keys_b, values_b, pad, answer, target = batch(6, signed)
    for column, name in enumerate(scorers):
        ax = axes[row, column]
        with ma.no_grad():
            _, weights = trained[variant, name](query, keys_b, values_b, key_padding_mask=pad)
        plot_matrix(ax, weights.detach().numpy()[:, 0], f"trained {name}, {variant}",
                xlabel="keys (past the valid length: masked decoys)", ylabel="example",
                vmax=1, colorbar=column == 1)
        ax.scatter(target, np.arange(6), marker="s", s=160, facecolors="none", edgecolors="C0")
show(fig, out / "trained_weights.png")
