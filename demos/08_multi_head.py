"""Multi-head attention: heads that look at different places, and what one head cannot do.

Task: for every position of 12 random tokens, output BOTH neighbours: the token on
the left and the token on the right (wrapping around at the ends). Two lookups per
position, in two different places. The same model (32 features, one attention layer,
no feed-forward) is trained with 1, 2 and 4 heads. What to look at:
- the printed table: with 2 or 4 heads both neighbours are right; one head has one
  softmax per query, and spreading it evenly over both places would mix the two
  tokens into one sum that cannot say which was left. Here it looks left and gets the
  left neighbour right and the right one at chance, 1 in 16. (With other seeds a
  single head may instead split its weight unevenly, about 90% of one side right and
  25% of the other; both right stays below 1 in 5, against all of them with 2 heads);
- heads.png: the per-head grid on one held-out sequence: with 2 heads one head looks
  one step right (the diagonal above the main one), the other one step left; with 4
  heads two take each job; the single head looks left only;
- gradient.png and the printed pushes: where backward() pushes the attention at steps
  0, 20, 30 and 50: -dL/dS, S the scores before the softmax, which is what gradient
  descent moves (red: descent raises that score, so the head attends more there; the
  sign of dL/dA alone would not say so, because a row of weights sums to one). At
  step 0 it is near zero everywhere; by step 20 every head is pushed towards both
  neighbours; by step 30 the two heads have split the work, one pushed right, the
  other left, and the single head is pushed left only: it has chosen one side; by
  step 50 the pushes are near zero for all of them: their softmax rows are nearly
  one-hot (saturated), so the scores get almost no gradient, and the single head
  stays at chance on the right neighbour;
- training.png: the loss of each.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, nn, optim
from microattn.viz import demo_arguments, plot_matrix, running_mean, show

args, out = demo_arguments("08_multi_head", __doc__, default_steps=400, fast_steps=40)


class OneLayerAttention(nn.Module):
    """The smallest model that attends: tokens, positions, one self-attention, a readout::

        x = tok_embed(idx) + positions                       (B, T, d_model)
        x = x + self_attn(x, x, x, is_causal=is_causal)      one residual attention layer
        logits = readout(x)                                  (B, T, out_features)

    ``positions``: "learned" (one trained vector per position), "sinusoidal" (the
    fixed table of "Attention Is All You Need") or None (no position at all: attention
    then sees a bag of tokens). No feed-forward layer and no norm, so what the model
    can do it must do through attention.
    """

    def __init__(self, vocab_size, d_model, nhead, max_len, out_features=None,
                 positions="learned"):
        super().__init__()
        self.tok_embed = nn.Embedding(vocab_size, d_model)
        if positions == "learned":
            self.positions = nn.LearnedPositionalEmbedding(max_len, d_model)
        elif positions == "sinusoidal":
            self.positions = nn.PositionalEncoding(d_model, max_len)
        elif positions is None:
            self.positions = None
        else:
            raise ValueError(
                f"positions must be 'learned', 'sinusoidal' or None, not {positions!r}")
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.readout = nn.Linear(d_model, out_features or vocab_size)

    def forward(self, idx, is_causal=False):
        """idx (B, T) int -> logits (B, T, out_features); the per-head attention weights
        stay in ``self_attn.last_attn_weights`` (B, nhead, T, T)."""
        x = self.tok_embed(idx)                                   # (B, T, d_model)
        if self.positions is not None:
            x = self.positions(x)
        attended, _ = self.self_attn(x, x, x, need_weights=False, is_causal=is_causal)
        return self.readout(x + attended)                         # (B, T, out_features)


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

# %% [markdown]
# ## The gradient that shapes attention
# `capture_graph = True` makes the next forward keep the scores S = QK^T/sqrt(d_k) and
# the weights A = softmax(S) in the graph (`last_attn_scores`, `last_attn_weights`), so
# `retain_grad()` gives dL/dS after backward. Descent moves S by -lr * dL/dS, so
# -dL/dS > 0 means "this score goes up: more attention here". (dL/dA cannot say that:
# dL/dS = A * (dL/dA - rowsum(A * dL/dA)), only dL/dA's deviation from the row's
# A-weighted mean moves a score.) Watched on held-out
# sequences (200 of them) at steps 0, 20, 30 and 50 of a short run with 1 head and
# with 2 heads.

# %%
WATCH = (0, 20, 30, 50)


def attention_push(model, tokens):
    """-dL/dS (heads, T, T), L a sequence's summed loss, averaged over the sequences;
    the model's grads are left at zero."""
    model.self_attn.capture_graph = True
    loss, _ = neighbour_loss(model, tokens)
    scores = model.self_attn.last_attn_scores                           # (B, heads, T, T)
    scores.retain_grad()
    loss.backward()
    model.self_attn.capture_graph = False
    model.zero_grad()
    # the loss is a mean over B * T * 2 outputs: * T * 2 makes it a mean over sequences
    return -scores.grad.numpy().sum(0) * LENGTH * 2


def on_diagonal(push, offset):
    """Mean of push[i, (i + offset) mod T]: offset -1 is the left neighbour, +1 the right."""
    return np.diagonal(np.roll(push, -offset, axis=1)).mean()


pushes = {}
watch_rng = np.random.default_rng(1)   # its own batches: the runs below see the same data
for heads in (1, 2):
    ma.manual_seed(0)
    model = OneLayerAttention(VOCAB, D_MODEL, heads, LENGTH, out_features=2 * VOCAB)
    optimizer = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for step in range(WATCH[-1] + 1):
        if step in WATCH:
            pushes[heads, step] = attention_push(model, held_out[:200])
            print(f"{heads} head{'s' * (heads > 1)}, step {step:2d}: -dL/dS on the left / right "
                  "neighbour: " + ", ".join(
                      f"head {h} {on_diagonal(p, -1):+.2f} / {on_diagonal(p, 1):+.2f}"
                      for h, p in enumerate(pushes[heads, step])))
        loss, _ = neighbour_loss(model, watch_rng.integers(0, VOCAB, (32, LENGTH)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

fig, axes = plt.subplots(3, len(WATCH), figsize=(14, 10), layout="constrained")
for row, (heads, head) in enumerate([(1, 0), (2, 0), (2, 1)]):
    # One colour scale for the four steps of a head (a few cells can dwarf the rest).
    limit = max(np.quantile(np.abs(pushes[heads, step][head]), 0.98) for step in WATCH)
    for column, step in enumerate(WATCH):
        plot_matrix(axes[row, column], pushes[heads, step][head], f"{heads} head"
                f"{'s' * (heads > 1)}: head {head}, step {step}", xlabel="key position",
                ylabel="query position", vmin=-limit, vmax=limit, cmap="RdBu_r",
                colorbar=column == len(WATCH) - 1)
    axes[row, -1].images[0].colorbar.set_label("-dL/dS (loss per unit score)")
fig.suptitle("-dL/dS, the push on the scores: red, descent raises the score (more attention "
             "here); blue, lowers it", fontsize=11)
show(fig, out / "gradient.png")

# %% [markdown]
# ## Training with 1, 2 and 4 heads

# %%
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
    correct = logits.detach().numpy().argmax(-1) == neighbours(held_out)             # (B, T, 2)
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
    weights = model.self_attn.last_attn_weights.detach().numpy()[0]                 # (heads, T, T)
    for column in range(4):
        ax = axes[row, column]
        if column >= heads:
            ax.axis("off")
            continue
        image = plot_matrix(ax, weights[column], f"{heads} head{'s' * (heads > 1)}: head {column}",
                        xlabels=labels, ylabels=labels, xlabel="key token",
                        ylabel="query token", vmax=1, colorbar=False)
fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight A (0 to 1)")
show(fig, out / "heads.png")

fig, ax = plt.subplots(figsize=(7, 3.8))
for heads, curve in losses.items():
    ax.plot(running_mean(curve), label=f"{heads} head{'s' * (heads > 1)}")
ax.set_yscale("log")
ax.set_xlabel("AdamW step")
ax.set_ylabel("loss (mean of 20 steps)")
ax.legend()
show(fig, out / "training.png")
