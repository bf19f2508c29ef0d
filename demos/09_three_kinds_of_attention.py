"""Self, cross and masked decoder attention in one encoder-decoder, on "the ball is blue".

An encoder-decoder learns the `translate` task (English -> Spanish from a small
grammar) with microattn's own training loop, then translates "the ball is blue".
It has three kinds of attention, all the same `nn.MultiheadAttention` with
different inputs and masks. What to look at:
- three_kinds.png, one column per kind, one row per layer (the heads averaged):
  * encoder self-attention: English x English, every word may look at every word
    (rows sum to 1; nothing masked);
  * decoder causal self-attention: Spanish so far x Spanish so far; the upper
    triangle is grey: a position may not look at the words it has yet to write
    (the causal mask: those weights are exactly 0);
  * cross-attention: Spanish x English, the decoder reading the encoder's output:
    "bola" reads "ball", "azul" reads "blue" (red outlines: the task's word
    alignment);
- cross_heads.png: every cross-attention head of every layer: several heads in
  both layers follow the alignment, some sharply (one yellow cell per row on the
  outline), others only partly, sharing their weight with "the" or "<eos>";
- the printed translation, and for each kind and each query word the word it
  looks at most.
"""
# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np

from microattn.data import load_task
from microattn.train import Config, Progress, Run, train as train_run
from microattn.viz import capture_attention, demo_arguments, plot_attention_grid, show
from microattn.viz.attention import draw_heatmap, KIND_TITLES, masked_weights, row_labels

args, out = demo_arguments("09_three_kinds_of_attention", __doc__, default_steps=300,
                           fast_steps=30)


def train_task(task, out, steps, callbacks=(), **config):
    """Train ``task`` (a built-in task's name, or a Task) with microattn's own loop for
    ``steps`` steps (the task's default model, ``config`` overriding any field) into
    out/run, emptied first, printing a line per evaluation. Returns the Run."""
    task = load_task(task) if isinstance(task, str) else task
    config = Config.for_task(task, **{"steps": steps, "save_every": steps, **config})
    shutil.rmtree(out / "run", ignore_errors=True)
    run = Run.create(config, out / "run", task)
    print(f"training {task.name} for {steps} steps (d_model {config.d_model}, "
          f"{config.heads} heads, {config.layers} layers) into {run.dir}")
    return train_run(run, list(callbacks), Progress(steps, mode="lines"))

# %% [markdown]
# ## Train a small translator
# The `translate` task's default model (2 encoder and 2 decoder layers, d_model 64)
# with 4 heads instead of its 1, to see what different heads do; a few hundred
# steps are enough for the seed sentences.

# %%
run = train_task("translate", out, args.steps, eval_every=max(10, args.steps // 2),
                 warmup=min(100, args.steps // 4), heads=4)
task, model = run.task, run.model
model.eval()

english, spanish = "the ball is blue".split(), "la bola es azul".split()
answer = task.predict(model, [english])[0]
print(f"\n{' '.join(english)!r} -> {' '.join(answer)!r} "
      f"({'right' if answer == spanish else 'expected ' + repr(' '.join(spanish))})")

# %% [markdown]
# ## The three kinds on one sentence
# The model reads the right translation (teacher forcing), so every row is the
# attention that writes the next word. `capture_attention` runs it once and keeps
# each attention module's weights (B=1, per layer and head).

# %%
example = (english, spanish)
captured = capture_attention(model, task, example)
weights = masked_weights(captured)                  # kind -> (layers, heads, Tq, Tk), nan: masked
# kind -> (query labels, key labels); decoder rows named by the word they write
labels = row_labels(task.attention_view(example), example)
kind_expected, mask = task.expected_mask(example)   # "cross", bool (Tq, Tk)
kinds = ["encoder", "decoder", "cross"]
layers = weights["cross"].shape[0]

fig, axes = plt.subplots(layers, 3, figsize=(13, 4.3 * layers), squeeze=False,
                         layout="constrained")
for col, kind in enumerate(kinds):
    q, k = labels[kind]
    for layer in range(layers):
        mean = np.mean(weights[kind][layer], axis=0)        # heads averaged, nan stays nan
        ax = axes[layer, col]
        image = draw_heatmap(ax, mean, q, k, mask if kind == kind_expected else None,
                             annotate=True, fontsize=9)
        ax.set_title(f"{KIND_TITLES[kind]}\nlayer {layer}, heads averaged", fontsize=9)
        if layer == layers - 1:
            ax.set_xlabel("key (looked at)", fontsize=8)
        if col == 0:
            ax.set_ylabel("query (looking)", fontsize=8)
fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="attention weight")
fig.suptitle("\"the ball is blue\" -> \"la bola es azul\": three kinds of attention")
show(fig, out / "three_kinds.png")

fig = plot_attention_grid({"cross": weights["cross"]}, labels, (kind_expected, mask),
                          title="\"the ball is blue\", every layer and head")
show(fig, out / "cross_heads.png")

# %% [markdown]
# ## Who looks at whom
# For each kind, the last layer with its heads averaged: each query's strongest key.
# A decoder row reads the word before the one it writes: its label names both
# ("la ← <bos>").

# %%
for kind in kinds:
    q, k = labels[kind]
    mean = np.nan_to_num(np.mean(weights[kind][-1], axis=0))
    if kind == "encoder":
        looks = [f"{qi} -> {k[j]} ({mean[i, j]:.2f})" for i, (qi, j) in
                 enumerate(zip(q, mean.argmax(-1)))]
    else:  # name the decoder rows by the word they write
        written = spanish + ["<eos>"]
        looks = [f"writing {written[i]}: {k[j]} ({mean[i, j]:.2f})" for i, j in
                 enumerate(mean.argmax(-1))]
    print(f"{KIND_TITLES[kind]}:\n    " + ", ".join(looks))
future = np.triu(np.ones(captured["weights"]["decoder"].shape[-2:], bool), 1)
print(f"weight on future positions in the decoder's self-attention: "
      f"{np.abs(captured['weights']['decoder'][..., future]).max():.1f} (the causal mask)")
