"""Watching attention learn: the `reverse` task's anti-diagonal forming, frame by frame.

An encoder-decoder (2 layers each, 4 heads, d_model 64: smaller than the
`reverse` task's default model, and with more heads to compare) learns to write
a digit string backwards, trained by microattn's own loop (`microattn.train`) for a
few hundred steps. A probe string from the held-out
set is run through the model every few steps, keeping the attention weights A and
the gradient dL/dA (the engine's `retain_grad` on the weights). What to look at:
- forming.png: one cross-attention head (the one that ends closest to the expected
  pattern, outlined in red) at eight moments: near-uniform at step 0, the
  anti-diagonal appearing from the ends of the string inwards;
- attention.gif: every cross-attention head, one frame per snapshot;
- alignment_vs_loss.png and the printed table: the training loss falls at once (the
  model learns which digits occur and where the answer ends) while alignment, the
  share of the probe's attention on the mirrored digit, stays low; then alignment
  climbs steeply, and held-out exact match follows it;
- gradients.png and the printed dL/dA lines, at three moments (the start, when the
  probe's alignment is half-way, the end): from step 0, while the weights are still
  uniform, dL/dA is on average negative on the mirrored digit (descent raises those
  weights) and larger elsewhere: backprop points at the answer before attention shows
  it; half-way it is strongest where the pattern is still wrong; at the end it is
  about a thousand times smaller everywhere.
"""
# %%
import numpy as np

from microattn.data import load_task
from microattn.train import Config, Run, train
from microattn.viz import AttentionRecorder, plot_attention_strip, save_attention_gif
from microattn.viz.attention import draw_heatmap, masked_weights
from _common import fresh_run_dir, plt, save, setup, smooth

args, out = setup("11_watching_attention_learn", __doc__, default_steps=700, fast_steps=30)

# %% [markdown]
# ## Train `reverse` with the library's loop, recording the probe's attention
# `AttentionRecorder` is a training callback: at the start, at every evaluation and
# every `every` steps it runs the probe (the first held-out example) in eval mode and
# keeps the weights, the scores and dL/dA of every attention module.

# %%
task = load_task("reverse")
eval_every = max(20, args.steps // 7)
config = Config.for_task(task, steps=args.steps, eval_every=eval_every, save_every=args.steps,
                         warmup=min(100, args.steps // 5), d_model=64, ff=128,
                         heads=4)
run = Run.create(config, fresh_run_dir(out), task)   # out/run: a run folder like any other


class TrainingLoss:
    """Callback: the training loss of every step."""

    def __init__(self):
        self.steps, self.losses = [], []

    def on_step(self, run, step, loss):
        self.steps.append(step)
        self.losses.append(loss)


recorder = AttentionRecorder(every=max(1, args.steps // 28))
losses = TrainingLoss()
train(run, [recorder, losses])
snapshots = recorder.snapshots
source, target = recorder.example
print(f"probe: {' '.join(source)} -> {' '.join(target)}; {len(snapshots)} snapshots")

# %% [markdown]
# ## Alignment against loss
# Alignment of the probe at each snapshot: the mean attention weight, over the
# decoder positions, that the followed head puts on the mirrored source digit.

# %%
kind, mask = recorder.expected                                  # "cross", (Tq, Tk) bool
final = snapshots[-1]["weights"][kind]                          # (layers, heads, Tq, Tk)
mass = (final * mask).sum(-1)[..., mask.any(-1)].mean(-1)       # (layers, heads)
layer, head = np.unravel_index(int(np.argmax(mass)), mass.shape)
q_labels, k_labels = recorder.labels[kind]


def alignment(snapshot):
    w = snapshot["weights"][kind][layer, head]                  # (Tq, Tk)
    return float((w * mask).sum(-1)[mask.any(-1)].mean())


probe_steps = [s["step"] for s in snapshots]
probe_alignment = [alignment(s) for s in snapshots]
print(f"followed head: cross-attention layer {layer} head {head}")
print(f"{'step':>6} {'train loss':>11} {'held-out loss':>14} {'exact':>7} {'alignment':>10}")
for m in run.metrics:
    print(f"{m['step']:>6} {m['loss']:>11.4f} {m['held_out_loss']:>14.4f} "
          f"{m['held_out_exact']:>7.3f} {m['alignment']:>10.3f}")

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.semilogy(losses.steps, smooth(losses.losses), color="tab:blue", label="training loss")
ax.set_xlabel("step")
ax.set_ylabel("training loss (log)", color="tab:blue")
right = ax.twinx()
right.plot(probe_steps, probe_alignment, "o-", color="tab:red", ms=3,
           label=f"alignment of the probe (layer {layer} head {head})")
right.plot([m["step"] for m in run.metrics], [m["held_out_exact"] for m in run.metrics], "s--",
           color="tab:green", ms=4, label="held-out exact match")
right.set_ylim(0, 1.02)
right.set_ylabel("alignment, exact match")
lines = ax.get_lines() + right.get_lines()
ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize=8)
ax.set_title("reverse: the loss falls first; attention aligns, then answers come right")
save(fig, out, "alignment_vs_loss.png")

# %% [markdown]
# ## Frame by frame

# %%
shown = [{**s, "weights": masked_weights(s)} for s in snapshots]
fig = plot_attention_strip(shown, recorder.labels, recorder.expected, kind, layer, head)
save(fig, out, "forming.png")
cross_only = [{**s, "weights": {kind: s["weights"][kind]}} for s in shown]
save_attention_gif(cross_only, recorder.labels, out / "attention.gif", recorder.expected)
print(f"wrote {out / 'attention.gif'} ({len(cross_only)} frames)")

# %% [markdown]
# ## dL/dA at three moments
# Start, the snapshot where the probe's alignment first passes half its final value,
# and the end. Blue: dL/dA < 0, gradient descent raises that weight.

# %%
halfway = next(i for i, a in enumerate(probe_alignment)
               if a >= (probe_alignment[0] + probe_alignment[-1]) / 2)
moments = sorted({0, halfway, len(snapshots) - 1})
fig, axes = plt.subplots(2, len(moments), figsize=(4.2 * len(moments), 7.5), squeeze=False,
                         layout="constrained")
print("dL/dA of the followed head:")
for col, i in enumerate(moments):
    snap = snapshots[i]
    w, g = snap["weights"][kind][layer, head], snap["grads"][kind][layer, head]
    image = draw_heatmap(axes[0, col], w, q_labels, k_labels, mask, annotate=False, fontsize=8)
    axes[0, col].set_title(f"A at step {snap['step']}", fontsize=9)
    fig.colorbar(image, ax=axes[0, col], shrink=0.7)
    limit = float(np.abs(g).max()) or 1.0
    image = draw_heatmap(axes[1, col], g, q_labels, k_labels, mask, annotate=False,
                         cmap="RdBu_r", vmin=-limit, vmax=limit, fontsize=8)
    axes[1, col].set_title(f"dL/dA at step {snap['step']}", fontsize=9)
    fig.colorbar(image, ax=axes[1, col], shrink=0.7)
    on = g[mask].mean()
    off = g[~mask & mask.any(-1, keepdims=True)].mean()
    print(f"  step {snap['step']:>4}: alignment {probe_alignment[i]:.2f}, max |dL/dA| "
          f"{limit:.3g}, mean dL/dA on the expected cells {on:+.3g}, elsewhere {off:+.3g}")
fig.suptitle(f"reverse, cross-attention layer {layer} head {head}: weights A (top) and dL/dA "
             f"(bottom; blue: descent raises the weight; red outline: the mirrored digit)")
save(fig, out, "gradients.png")
