"""Masks: causal and padding masks, and what a language model learns without the causal one.

Task: sequences that climb by 1, 2 or 3 each step (mod 16), chosen at random, e.g.
3 5 6 9 11 12 ... Predicting the next token, an honest model can do no better than
1/3 (loss log 3 = 1.10). What to look at:
- masks.png: the causal mask, a padding mask for a batch of lengths 8, 5 and 3, and
  both combined (dark: attention allowed);
- the printed table and training.png: trained WITHOUT the causal mask, the model
  "solves" next-token prediction (loss near 0, accuracy near 1 on held-out sequences):
  it reads the answer, the next token, which sits in its input. Scored on what it
  really has when it generates, the tokens before the one to predict, its loss is about
  twice the honest log 3, and its generated sequences break the rule about one step in
  four; WITH the mask it learns the honest 1/3 and generates sequences that keep it;
- attention.png: where each model looks: the cheat's weights sit one above the diagonal
  (position t reads t+1); the honest model's stay on or below it.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, nn, optim
from microattn.viz import demo_arguments, plot_matrix, running_mean, show
from microattn.viz.attention import draw_heatmap

args, out = demo_arguments("06_masks", __doc__, default_steps=600, fast_steps=40)


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


VOCAB, LENGTH = 16, 16
rng = np.random.default_rng(0)

# %% [markdown]
# ## The masks, as `nn.MultiheadAttention` takes them
# `attn_mask` (Tq, Tk) and `key_padding_mask` (B, Tk) are True where attention is NOT
# allowed; `is_causal=True` builds the causal one. Drawn here: allowed = not masked.

# %%
T = 8
causal_blocked = np.triu(np.ones((T, T), dtype=bool), k=1)      # key j > query i
lengths = np.array([8, 5, 3])
padding_blocked = np.arange(T)[None, :] >= lengths[:, None]     # (B, Tk)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), layout="constrained")
plot_matrix(axes[0], ~causal_blocked, "causal: query i sees keys 0..i", vmax=1, cmap="Blues",
        colorbar=False)
plot_matrix(axes[1], ~padding_blocked, "key padding, lengths 8, 5, 3", xlabel="keys",
        ylabel="sequence in the batch", ylabels=[f"{n} tokens" for n in lengths], vmax=1,
        cmap="Blues", colorbar=False)
for ax, b in zip(axes[2:], (1, 2)):
    combined = causal_blocked | padding_blocked[b][None, :]
    plot_matrix(ax, ~combined, f"causal + padding, sequence {b} (length {lengths[b]})",
            vmax=1, cmap="Blues", colorbar=False)
fig.suptitle("dark: attention allowed; light: masked (True in attn_mask / key_padding_mask)",
             fontsize=10)
show(fig, out / "masks.png")

# %% [markdown]
# ## The task and two models
# Inputs are tokens 0..T-2, targets tokens 1..T-1 (the next token at every position).

# %%
def sequences(count):
    steps = rng.integers(1, 4, (count, LENGTH - 1))
    start = rng.integers(0, VOCAB, (count, 1))
    return np.concatenate([start, start + np.cumsum(steps, axis=1)], axis=1) % VOCAB


def next_token_loss(model, causal, seqs):
    logits = model(seqs[:, :-1], is_causal=causal)                  # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, VOCAB), seqs[:, 1:].reshape(-1)), logits


def keeps_rule(seqs):
    """Share of consecutive pairs that climb by 1, 2 or 3."""
    return np.isin((seqs[:, 1:] - seqs[:, :-1]) % VOCAB, [1, 2, 3]).mean()


held_out = sequences(500)
models, losses = {}, {}
for name, causal in (("no mask (cheats)", False), ("causal mask", True)):
    ma.manual_seed(0)
    model = OneLayerAttention(VOCAB, 32, 1, LENGTH)
    losses[name] = train(model, lambda: next_token_loss(model, causal, sequences(32))[0],
                         args.steps, lr=1e-2)
    models[name] = (model, causal)

# %% [markdown]
# ## Held-out: teacher forcing against generation
# Teacher forcing scores every position at once given the whole true sequence, as
# training does. "Prefix only" scores each next token from the tokens before it alone,
# which is all a model has when it generates. Generation starts from 4 true tokens and
# samples 12 more, one at a time, each from the model run on what it has generated so
# far; each model runs exactly as it trained (with or without the mask).

# %%
def prefix_only_loss(model, causal, seqs):
    """Mean -log p(token t | tokens before t) for t = 1..T-1, one forward per prefix."""
    total = 0.0
    for t in range(1, seqs.shape[1]):
        with ma.no_grad():
            logits = model(seqs[:, :t], is_causal=causal)[:, -1]         # (B, V)
            total += F.cross_entropy(logits, seqs[:, t]).item()
    return total / (seqs.shape[1] - 1)


def generate(model, causal, prompt, count):
    tokens = prompt.copy()
    for _ in range(count):
        with ma.no_grad():
            logits = model(tokens, is_causal=causal).detach().numpy()[:, -1].astype(np.float64)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        token = (p.cumsum(-1) > rng.random((len(p), 1))).argmax(-1)   # sample from p
        tokens = np.concatenate([tokens, token[:, None]], axis=1)
    return tokens


print("\nheld-out sequences:")
print(f"{'model':18s} {'train loss':>10s} {'teacher-forced loss':>20s} {'accuracy':>9s} "
      f"{'prefix-only loss':>17s} {'generated steps keeping the rule':>33s}")
print(f"{'(best honest)':18s} {'':>10s} {np.log(3):20.3f} {1 / 3:9.3f} {np.log(3):17.3f} "
      f"{1:33.3f}")
results = {}
for name, (model, causal) in models.items():
    with ma.no_grad():
        loss, logits = next_token_loss(model, causal, held_out)
    accuracy = (logits.detach().numpy().argmax(-1) == held_out[:, 1:]).mean()
    generated = generate(model, causal, held_out[:100, :4], LENGTH - 4)
    results[name] = generated
    print(f"{name:18s} {np.mean(losses[name][-20:]):10.3f} {loss.item():20.3f} "
          f"{accuracy:9.3f} {prefix_only_loss(model, causal, held_out):17.3f} "
          f"{keeps_rule(generated[:, 3:]):33.3f}")
for name, generated in results.items():
    print(f"{name:18s} generates: {' '.join(map(str, generated[0]))}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for name, curve in losses.items():
    ax.plot(running_mean(curve), label=name)
ax.axhline(np.log(3), color="grey", lw=0.8, ls="--")
ax.text(0.5 * args.steps, np.log(3) + 0.08, "honest best: log 3", color="grey", fontsize=8)
ax.set_xlabel("AdamW step")
ax.set_ylabel("next-token loss (mean of 20 steps)")
ax.set_title("Without the mask the training loss looks better: it is reading the answer",
             fontsize=10)
ax.legend()
show(fig, out / "training.png")

# %%
example = held_out[:1]
labels = [str(t) for t in example[0, :-1]]
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
for ax, (name, (model, causal)) in zip(axes, models.items()):
    with ma.no_grad():
        model(example[:, :-1], is_causal=causal)
    weights = np.asarray(model.self_attn.last_attn_weights.numpy()[0, 0], dtype=float)
    if causal:  # masked keys (the future): grey and hatched, never read as a weight of 0
        weights[np.triu(np.ones(weights.shape, bool), 1)] = np.nan
    image = draw_heatmap(ax, weights, labels, labels, annotate=False, cmap="Reds", vmax=1)
    ax.set(title=name, xlabel="key token", ylabel="query token")
fig.colorbar(image, ax=list(axes), shrink=0.8, label="attention weight A (0 to 1)")
fig.suptitle("grey, hatched: masked (the future); white: allowed but given weight 0")
show(fig, out / "attention.png")
