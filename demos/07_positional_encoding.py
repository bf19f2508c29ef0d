"""Positional encoding: attention by itself cannot tell first from last; sinusoids can.

Self-attention treats its input as a set: permute the tokens and the outputs permute
with them. Position has to be added to the tokens. What to look at:
- table.png: the sinusoidal table PE[pos, 2i] = sin(pos / 10000^(2i/d)),
  PE[pos, 2i+1] = cos(...), positions x dimensions: fast waves on the left, slow ones
  on the right;
- dot_products.png: PE[i] . PE[j] for every pair of positions: it depends on i - j
  alone (the same band along every diagonal), peaks at i = j and falls off with
  distance, which is what lets attention find "the token k places back";
- the printed table and task.png: the task "output the previous token" with one
  attention layer: without positions its attention is uniform and it can only guess
  among the tokens it was given (about 1 in 5 right), with the sinusoids it is
  solved; the attention maps show the learned look one step back;
- forming.png: that look one step back forming during training, from uniform
  attention at step 0 to the sub-diagonal.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, nn, optim
from microattn.viz import demo_arguments, plot_matrix, running_mean, show

args, out = demo_arguments("07_positional_encoding", __doc__, default_steps=600, fast_steps=40)


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

# %% [markdown]
# ## The table and its dot products
# `nn.PositionalEncoding(d_model, max_len)` keeps the table in its buffer `pe`.

# %%
D, MAX_LEN = 64, 64
pe = nn.PositionalEncoding(D, MAX_LEN).pe.detach().numpy().astype(np.float64)     # (MAX_LEN, D)
fig, ax = plt.subplots(figsize=(8, 4.5))
plot_matrix(ax, pe, "sinusoidal positional encoding", xlabel="dimension", ylabel="position",
        vmin=-1, vmax=1, cmap="RdBu_r")
show(fig, out / "table.png")

dots = pe @ pe.T
offsets = np.arange(-20, 21)
for i in (20, 30, 40):
    same = [dots[i, i + k] for k in offsets]
    print(f"PE[{i}] . PE[{i}+k] for k = -3..3: "
          + " ".join(f"{dots[i, i + k]:6.2f}" for k in range(-3, 4)))
    assert np.allclose(same, [dots[20, 20 + k] for k in offsets])  # depends on k alone
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
plot_matrix(left, dots, "PE[i] . PE[j]", xlabel="position j", ylabel="position i", vmin=None,
        cmap="viridis")
for i in (20, 30, 40):
    right.plot(offsets, [dots[i, i + k] for k in offsets], label=f"i = {i}", alpha=0.7)
right.set_xlabel("offset k = j - i")
right.set_title("PE[i] . PE[i + k]: the same curve for every i", fontsize=10)
right.legend()
show(fig, out / "dot_products.png")

# %% [markdown]
# ## A task that needs positions: output the previous token
# Inputs: 12 random tokens of 16. Target at position t >= 1: the token at t - 1.
# Without positions the attention layer sees a bag of tokens, the same for every
# position; the best it can do is guess among them.

# %%
VOCAB, LENGTH = 16, 12


def previous_token_loss(model, tokens):
    logits = model(tokens)[:, 1:]                                      # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, :-1].reshape(-1)), logits


held_out = rng.integers(0, VOCAB, (500, LENGTH))
example = held_out[:1]
MOMENTS = sorted({0, 25, 50, 75, 100, args.steps} & set(range(args.steps + 1)))
forming = {}   # step -> attention of the sinusoidal model on the example


def look(model, step):
    if step in MOMENTS:
        with ma.no_grad():
            model(example)
        forming[step] = model.self_attn.last_attn_weights.detach().numpy()[0, 0]


models, losses = {}, {}
for name, positions in (("no positions", None), ("sinusoidal", "sinusoidal")):
    ma.manual_seed(0)
    model = OneLayerAttention(VOCAB, 32, 1, LENGTH, positions=positions)
    losses[name] = train(
        model, lambda: previous_token_loss(model, rng.integers(0, VOCAB, (32, LENGTH)))[0],
        args.steps, lr=1e-2,
        on_step=(lambda step: look(model, step)) if positions else None)
    models[name] = model

print(f"\n{'model':14s} {'train loss':>10s} {'held-out loss':>14s} {'held-out accuracy':>18s}")
print(f"{'(chance)':14s} {'':>10s} {np.log(VOCAB):14.3f} {1 / VOCAB:18.3f}")
for name, model in models.items():
    with ma.no_grad():
        loss, logits = previous_token_loss(model, held_out)
    accuracy = (logits.detach().numpy().argmax(-1) == held_out[:, :-1]).mean()
    print(f"{name:14s} {np.mean(losses[name][-20:]):10.3f} {loss.item():14.3f} "
          f"{accuracy:18.3f}")

labels = [str(t) for t in example[0]]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
for name, curve in losses.items():
    axes[0].plot(running_mean(curve), label=name)
axes[0].axhline(np.log(VOCAB), color="grey", lw=0.8, ls="--")
axes[0].set_xlabel("AdamW step")
axes[0].set_title("loss, mean of 20 steps (dashed: chance, log 16)", fontsize=10)
axes[0].legend()
for ax, (name, model) in zip(axes[1:], models.items()):
    with ma.no_grad():
        model(example)
    plot_matrix(ax, model.self_attn.last_attn_weights.detach().numpy()[0, 0], f"attention, {name}",
            xlabels=labels, ylabels=labels, xlabel="key token", ylabel="query token",
            vmax=1, colorbar=ax is axes[2])
show(fig, out / "task.png")

# %% [markdown]
# ## The look one step back, forming
# The sinusoidal model's attention on the same sequence at a few moments of training.

# %%
fig, axes = plt.subplots(1, len(forming), figsize=(3.3 * len(forming), 3.6),
                         layout="constrained")
for ax, (step, weights) in zip(np.atleast_1d(axes), sorted(forming.items())):
    plot_matrix(ax, weights, f"step {step}, loss {losses['sinusoidal'][max(step - 1, 0)]:.2f}",
            xlabels=labels, ylabels=labels, xlabel="key token", ylabel="query token",
            vmax=1, colorbar=False)
show(fig, out / "forming.png")
