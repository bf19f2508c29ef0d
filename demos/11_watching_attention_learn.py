"""Watching attention learn: the `reverse` task's anti-diagonal forming, frame by frame.

An encoder-decoder (2 layers each, 4 heads, d_model 64: smaller than the
`reverse` task's default model, and with more heads to compare) learns to write
a digit string backwards, trained by microattn's own loop (`microattn.train`) for a
few hundred steps. A probe string from the held-out
set is run through the model every few steps, keeping the attention weights A, the
scores S and the gradients dL/dA and dL/dS (the engine's `retain_grad` on the weights
and on the scores). What to look at:
- forming.png: one cross-attention head (the one that ends closest to the expected
  pattern, outlined in red) at eight moments: near-uniform at step 0, the
  anti-diagonal appearing from the ends of the string inwards;
- attention.gif: every cross-attention head, one frame per snapshot;
- alignment_vs_loss.png and the printed table: the training loss falls at once (the
  model learns which digits occur and where the answer ends) while alignment, the
  share of the probe's attention on the mirrored digit, stays low; then alignment
  climbs steeply, and held-out exact match follows it;
- gradients.png and the printed lines, at three moments (the start, when the probe's
  alignment is half-way, the end), on one colour scale per row: dL/dS, what the scores
  receive, is negative on the mirrored digit from step 0 (descent raises those
  scores) while the weights are still uniform: backprop points at the answer before
  attention shows it; at the end both gradients are orders of magnitude smaller.
"""
# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize

from microattn.data import load_task
from microattn.train import Config, Run, train
from microattn.viz import (AttentionRecorder, demo_arguments, plot_attention_strip,
                           running_mean, save_attention_gif, show)
from microattn.viz.attention import (draw_heatmap, gradient_limits, gradient_norm,
                                     masked_weights, symlog_ticks, UNITS)

args, out = demo_arguments("11_watching_attention_learn", __doc__, default_steps=700,
                           fast_steps=30)

# %% [markdown]
# ## Train `reverse` with the library's loop, recording the probe's attention
# `AttentionRecorder` is a training callback: at the start, at every evaluation and
# every `every` steps it runs the probe (the first held-out example) in eval mode and
# keeps the weights, the scores, dL/dA and dL/dS of every attention module.

# %%
task = load_task("reverse")
eval_every = max(20, args.steps // 7)
config = Config.for_task(task, steps=args.steps, eval_every=eval_every, save_every=args.steps,
                         warmup=min(100, args.steps // 5), d_model=64, ff=128,
                         heads=4)
shutil.rmtree(out / "run", ignore_errors=True)            # a fresh run folder each time
run = Run.create(config, out / "run", task)   # out/run: a run folder like any other


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
ax.semilogy(losses.steps, running_mean(losses.losses), color="tab:blue", label="training loss")
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
show(fig, out / "alignment_vs_loss.png")

# %% [markdown]
# ## Frame by frame

# %%
shown = [{**s, "weights": masked_weights(s)} for s in snapshots]
fig = plot_attention_strip(shown, recorder.labels, recorder.expected, kind, layer, head)
show(fig, out / "forming.png")
cross_only = [{**s, "weights": {kind: s["weights"][kind]}} for s in shown]
save_attention_gif(cross_only, recorder.labels, out / "attention.gif", recorder.expected)
print(f"wrote {out / 'attention.gif'} ({len(cross_only)} frames)")

# %% [markdown]
# ## A, dL/dA and dL/dS at three moments
# Start, the snapshot where the probe's alignment first passes half its final value,
# and the end. Gradient descent moves the scores S, not the weights: a score goes up
# where dL/dS < 0 (blue) and down where dL/dS > 0 (red). The sign of dL/dA alone says
# nothing, because a row of weights sums to one: dL/dS = A * (dL/dA - rowsum(A * dL/dA)).
# Each row of panels keeps one colour scale for the three moments (symmetric-log for
# the gradients, which shrink by orders of magnitude), so the late gradients fade.

# %%
halfway = next(i for i, a in enumerate(probe_alignment)
               if a >= (probe_alignment[0] + probe_alignment[-1]) / 2)
moments = sorted({0, halfway, len(snapshots) - 1})
chosen = [snapshots[i] for i in moments]
limits = gradient_limits(chosen, kind, layer, head)
fig, axes = plt.subplots(3, len(moments), figsize=(4.0 * len(moments) + 1.5, 10.5),
                         squeeze=False, layout="constrained")
rows = (("weights", "A", "viridis", Normalize(0, 1)),
        ("grads", "dL/dA", "RdBu_r", gradient_norm(limits["grads"], symlog=True)),
        ("score_grads", "dL/dS", "RdBu_r", gradient_norm(limits["score_grads"], symlog=True)))
print("gradients of the followed head:")
for col, snap in enumerate(chosen):
    for row, (key, name, cmap, norm) in enumerate(rows):
        matrix = snap[key][kind][layer, head]
        image = draw_heatmap(axes[row, col], matrix, q_labels, k_labels, mask, annotate=False,
                             cmap=cmap, norm=norm, show_query=col == 0)
        axes[row, col].set_title(f"{name} at step {snap['step']}" + (
            f" (largest |value| {np.abs(matrix).max():.2g})" if row else ""), fontsize=9)
        if col == len(chosen) - 1:
            fig.colorbar(image, ax=axes[row, :].tolist(), shrink=0.8, label=UNITS[key],
                         format="%.1g", ticks=symlog_ticks(norm.vmax) if row else None)
    g, gs = snap["grads"][kind][layer, head], snap["score_grads"][kind][layer, head]
    rows_with_answer = mask.any(-1, keepdims=True)
    print(f"  step {snap['step']:>4}: alignment {probe_alignment[moments[col]]:.2f}, "
          f"max |dL/dA| {np.abs(g).max():.3g}, max |dL/dS| {np.abs(gs).max():.3g}, "
          f"mean dL/dS on the expected cells {gs[mask].mean():+.3g}, "
          f"elsewhere {gs[~mask & rows_with_answer].mean():+.3g}")
fig.suptitle(f"reverse, cross-attention layer {layer} head {head}: weights A, dL/dA and dL/dS "
             "(blue: descent raises the score; red outline: the mirrored digit)")
show(fig, out / "gradients.png")
