"""A character-level GPT on Python's own documentation: samples before and after training.

The `charlm` task reads the documentation text that ships with Python
(`pydoc_data.topics`, about 465,000 characters: no download), trains a small
decoder-only GPT to predict every character from the 64 before it on the first
90%, and measures the loss on the last 10%. It is trained here with microattn's
own loop for 1,000 steps, half a minute on a laptop. What to look at:
- the samples from the prompt "The ": before training, characters drawn
  almost uniformly from the ~100 in the text; after, English words and
  documentation phrases ("built-in", "instance", "exception"), spaces, line
  breaks and punctuation where they belong, not yet sense;
- loss.png and the printed losses: the held-out loss in nats per character
  against the unigram baseline (a model that knows only how often each character
  occurs, reading no context): at the start the GPT is worse than the baseline,
  ln(vocabulary) nats; after training it is well below it (about half of it):
  it has learnt to use the characters before;
- attention.png: the heads of the last layer on a snippet of held-out text: the
  upper triangle is masked (a character may only look back). After half a minute
  of training the heads are still broad: some rest on "<bos>", some pick out spaces,
  punctuation or a line break before the current word, the places where the
  next character is easiest to guess from.
"""
# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn.data import load_task
from microattn.train import Config, evaluate, Progress, Run, train as train_run
from microattn.viz import capture_attention, demo_arguments, running_mean, show
from microattn.viz.attention import draw_heatmap, masked_weights, readable

args, out = demo_arguments("14_char_gpt_on_python_docs", __doc__, default_steps=1000,
                           fast_steps=20)


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
PROMPT = "The "
# The model was trained on windows of 64 characters after <bos>: positions past that
# were never trained, so a sample stays within one window.
TOKENS = 64 - len(PROMPT)

# %% [markdown]
# ## Before training
# `train_task` builds the task's default model family, here a smaller one (d_model
# 64, 2 blocks, 4 heads) so that a minute of training shows something.

# %%
task = load_task("charlm")
tok = task.tokenizer
print(f"text: Python's pydoc topics, {len(tok)} distinct characters (with <pad>, <bos>, "
      f"<eos>); unigram baseline {task.baseline_loss:.3f} nats/char, uniform "
      f"{np.log(len(tok)):.3f}")


def sample(model, seed=0):
    """TOKENS characters after PROMPT at temperature 0.8, twice (seeds ``seed`` and
    ``seed + 1``: draws come from ma.manual_seed's generator)."""
    ids = [tok.bos_id] + tok.encode(list(PROMPT))
    model.eval()
    texts = []
    for s in (seed, seed + 1):
        ma.manual_seed(s)
        tokens = model.generate(np.array([ids], dtype=np.int64), TOKENS, temperature=0.8)
        texts.append(PROMPT + "".join(tok.decode(tokens.numpy()[0, len(ids):])))
    return "\n".join(texts)


class Before:
    """Callback: the untrained model's sample and held-out loss, before the first step."""

    def on_train_begin(self, run):
        self.sample = sample(run.model)
        self.loss = evaluate(run.task, run.model, run.task.held_out[:200])["loss"]
        run.model.train()


class TrainingLoss:
    def __init__(self):
        self.losses = []

    def on_step(self, run, step, loss):
        self.losses.append(loss)


# %% [markdown]
# ## Train, then sample again

# %%
before, losses = Before(), TrainingLoss()
run = train_task(task, out, args.steps, [before, losses], d_model=64, heads=4, layers=2,
                 ff=256, batch_size=32, lr=3e-3, warmup=min(50, args.steps // 4),
                 eval_every=args.steps)
after_loss = run.metrics[-1]["held_out_loss"]
print(f"\nheld-out loss before training {before.loss:.3f} nats/char, after {after_loss:.3f}; "
      f"unigram baseline {task.baseline_loss:.3f} (ratio {after_loss / task.baseline_loss:.2f})")
print(f"\n--- sample before training ---\n{before.sample}")
print(f"\n--- sample after {args.steps} steps ---\n{sample(run.model)}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(np.arange(1, len(losses.losses) + 1), running_mean(losses.losses), label="training loss")
ax.plot([0, run.step], [before.loss, after_loss], "o", ms=8, label="held-out loss")
ax.axhline(task.baseline_loss, color="grey", ls=":", label="unigram baseline")
ax.axhline(np.log(len(tok)), color="black", lw=0.6, ls="-.", label="uniform guess")
ax.set_xlabel("step")
ax.set_ylabel("nats per character")
ax.legend()
ax.set_title("charlm on Python's documentation")
show(fig, out / "loss.png")

# %% [markdown]
# ## What the last layer's heads look at
# A 24-character snippet of held-out text (the wordiest of 50): every row is a
# character predicting the next one; the columns are the characters it may read.

# %%
snippet = max((t[:24] for _, t in task.held_out[:50]),
              key=lambda text: sum(c.isalpha() for c in text))
captured = capture_attention(run.model, task, ([], snippet))
weights = masked_weights(captured)["decoder"][-1]          # (heads, T, T)
# a space drawn as ␣, a line break as ↵: a blank tick would hide them
labels = [readable(c) for c in task.attention_view(([], snippet))["decoder"][0]]
fig, axes = plt.subplots(1, len(weights), figsize=(4.2 * len(weights), 4.6),
                         layout="constrained")
for head, (ax, w) in enumerate(zip(axes, weights)):
    image = draw_heatmap(ax, w, labels, labels, annotate=False, fontsize=7,
                         show_query=head == 0)
    ax.set_title(f"last layer, head {head}", fontsize=9)
fig.colorbar(image, ax=list(axes), shrink=0.7, label="attention weight")
fig.suptitle(f"charlm: causal self-attention on {''.join(snippet)!r}")
show(fig, out / "attention.png")
