"""Word relations: which words attend to which in a trained translator, and the
adjective swap in its cross-attention, on "the black cat drank the milk".

An encoder-decoder learns the `translate` task (English -> Spanish from a small
grammar) with microattn's own training loop. Spanish puts the colour after the
noun: "the black cat" -> "el gato negro", so the alignment between the two
sentences is not a diagonal. What to look at:
- relations.png and the printed lines: the encoder's self-attention, every layer and
  head, on the English sentence. In a model this small it is diffuse: a few heads
  tie a word to its phrase (an adjective or a noun looking at its article, "black"
  -> "the", "cat" -> "the"), others rest on "<eos>" or on the word itself. The
  relation the task needs, which English word each Spanish word translates, is
  learnt in the cross-attention:
- alignment.png: the cross-attention head closest to the grammar's word alignment
  (red outlines), with its weights written in: writing "gato" it reads "cat",
  writing "negro" it reads "black", one position back: the swap. Beside it the
  same layer with the heads averaged;
- the printed alignment table: for each Spanish word, the English word the head
  reads most, and whether that is the word it translates.
"""
# %%
import shutil

import matplotlib.pyplot as plt

from microattn.data import load_task
from microattn.train import Config, Progress, Run, train as train_run
from microattn.viz import capture_attention, demo_arguments, plot_attention_grid, show
from microattn.viz.attention import choose_head, draw_heatmap, masked_weights, row_labels

args, out = demo_arguments("10_word_relations", __doc__, default_steps=300, fast_steps=30)


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
# The `translate` task's default model with 4 heads instead of its 1.

# %%
run = train_task("translate", out, args.steps, eval_every=max(10, args.steps // 2),
                 warmup=min(100, args.steps // 4), heads=4)
task, model = run.task, run.model
model.eval()
english = "the black cat drank the milk".split()
spanish = "el gato negro bebió la leche".split()
answer = task.predict(model, [english])[0]
print(f"\n{' '.join(english)!r} -> {' '.join(answer)!r} "
      f"({'right' if answer == spanish else 'expected ' + repr(' '.join(spanish))})")

# %% [markdown]
# ## Word relations in the encoder

# %%
example = (english, spanish)
captured = capture_attention(model, task, example)
weights = masked_weights(captured)
labels = row_labels(task.attention_view(example), example)  # rows: "gato ← el"
expected = task.expected_mask(example)          # ("cross", bool (Tq, Tk))
fig = plot_attention_grid({"encoder": weights["encoder"]}, labels,
                          title="\"the black cat drank the milk\", every layer and head")
show(fig, out / "relations.png")
q, k = labels["encoder"]
for layer, heads in enumerate(weights["encoder"]):
    for head, w in enumerate(heads):
        pairs = [f"{q[i]}->{k[j]}" for i, j in enumerate(w.argmax(-1)) if i != j]
        print(f"encoder layer {layer} head {head}: looks elsewhere than itself: "
              f"{', '.join(pairs) or '(nowhere)'}")

# %% [markdown]
# ## The cross-attention alignment, with the adjective swap
# The decoder row that reads word i writes word i + 1, so each row is named by the
# word it writes, the word it reads after the arrow: "el ← <bos>", "gato ← el",
# "negro ← gato".

# %%
kind, layer, head = choose_head({"weights": weights}, expected)
mask = expected[1]
q, k = labels["cross"]
fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
image = draw_heatmap(axes[0], weights["cross"][layer, head], q, k, mask, annotate=True,
                     fontsize=9)
axes[0].set_title(f"cross-attention layer {layer} head {head}\n(closest to the word alignment)",
                  fontsize=9)
draw_heatmap(axes[1], weights["cross"][layer].mean(0), q, k, mask, annotate=True, fontsize=9)
axes[1].set_title(f"cross-attention layer {layer}, heads averaged", fontsize=9)
for ax in axes:
    ax.set_xlabel("English word read (key)", fontsize=8)
axes[0].set_ylabel("Spanish word written ← word read (query)", fontsize=8)
fig.colorbar(image, ax=list(axes), shrink=0.7, label="attention weight")
fig.suptitle("\"the black cat drank the milk\" -> \"el gato negro bebió la leche\"")
show(fig, out / "alignment.png")

written = spanish + ["<eos>"]
print(f"\ncross-attention layer {layer} head {head}: writing -> reads most")
for i, j in enumerate(weights["cross"][layer, head].argmax(-1)):
    verdict = "its English word" if mask[i, j] else (
        "end of sentence" if written[i] == "<eos>" else "not its word")
    print(f"  {written[i]:>8} <- {k[j]:<6} {weights['cross'][layer, head][i, j]:.2f}  {verdict}")
share = float((weights["cross"][layer, head] * mask).sum(-1)[mask.any(-1)].mean())
print(f"mean weight on the aligned English word: {share:.2f}")
