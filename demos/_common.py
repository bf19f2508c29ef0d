"""What several demos share: the command line (--fast, --out), the output folder,
matplotlib set up to draw into files (the Agg backend: no window, no display), and
the training loop of demos 4 and 6-8, the one-layer attention model of 6-8, and the
run folder of the demos that train with microattn.train (9-11, 14).
"""
import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from microattn import nn, optim  # noqa: E402
from microattn.viz import show  # noqa: E402

DEMOS = Path(__file__).resolve().parent


def setup(name, doc, default_steps, fast_steps):
    """Parse the demo's arguments and make its output folder.

    Returns (args, out): ``args.steps`` is ``fast_steps`` with ``--fast`` (the same
    code path, fewer steps: what CI runs), else ``default_steps``; ``out`` is
    ``demos/out/<name>/`` unless ``--out`` says otherwise. Unknown arguments are
    ignored and a missing docstring is no error, so the script also runs as a
    notebook (Jupyter passes arguments of its own and keeps no module docstring);
    there, the environment variable MICROATTN_DEMO_ARGS gives the arguments.
    """
    title = (doc or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--fast", action="store_true",
                        help=f"fewer steps ({fast_steps} instead of {default_steps}), same code")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    parser.add_argument("--out", type=Path, default=DEMOS / "out" / name,
                        help="folder for the pictures (default: demos/out/<demo>/)")
    # A notebook gets no command line: MICROATTN_DEMO_ARGS="--fast" stands in for one.
    args, _ = parser.parse_known_args(shlex.split(os.environ.get("MICROATTN_DEMO_ARGS", ""))
                                      + sys.argv[1:])
    if args.steps is None:
        args.steps = fast_steps if args.fast else default_steps
    args.out.mkdir(parents=True, exist_ok=True)
    print(title)
    print(f"pictures go to {args.out}")
    return args, args.out


def save(fig, out, name):
    """Write ``fig`` to ``out/name`` atomically (shown inline when run as a notebook),
    close it, and say where it went."""
    return show(fig, Path(out) / name, dpi=110, bbox_inches="tight")


def fresh_run_dir(out):
    """``out/run``, emptied: the run folder of a demo that trains with microattn.train
    (``microattn eval``, ``predict`` and ``attention`` work on it afterwards)."""
    path = Path(out) / "run"
    shutil.rmtree(path, ignore_errors=True)
    return path


def train_task(task, out, steps, callbacks=(), **config):
    """Train ``task`` (a built-in task's name, or a Task from load_task) with
    microattn's own loop for ``steps`` steps (the task's default model, ``config``
    overriding any field) into ``out/run``, printing a line per evaluation. Returns
    the Run (``run.model``, ``run.task``, ``run.metrics``)."""
    from microattn.data import load_task
    from microattn.train import Config, Progress, Run, train as train_run
    task = load_task(task) if isinstance(task, str) else task
    config = Config.for_task(task, **{"steps": steps, "save_every": steps, **config})
    run = Run.create(config, fresh_run_dir(out), task)
    print(f"training {task.name} for {steps} steps (d_model {config.d_model}, "
          f"{config.heads} heads, {config.layers} layers) into {run.dir}")
    return train_run(run, list(callbacks), Progress(steps, mode="lines"))


def heatmap(ax, weights, title=None, xlabels=None, ylabels=None, xlabel="keys",
            ylabel="queries", vmin=0.0, vmax=None, cmap="Reds", colorbar=True):
    """Draw a matrix of attention weights (rows: queries, columns: keys) on ``ax``."""
    image = ax.imshow(weights, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    if title:
        ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for labels, set_ticks, set_labels in ((xlabels, ax.set_xticks, ax.set_xticklabels),
                                          (ylabels, ax.set_yticks, ax.set_yticklabels)):
        if labels is not None:
            set_ticks(range(len(labels)))
            set_labels(labels, fontsize=8)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    return image


def smooth(values, window=20):
    """Running mean over ``window`` steps (shorter at the start), for noisy curves."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)


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
        x = self.tok_embed(idx)
        if self.positions is not None:
            x = self.positions(x)
        attended, _ = self.self_attn(x, x, x, need_weights=False, is_causal=is_causal)
        return self.readout(x + attended)


def train(model, loss_fn, steps, lr=1e-2, on_step=None):
    """AdamW (no weight decay) on ``loss_fn()``, a fresh batch's loss each call, for
    ``steps`` steps; returns the losses as floats. ``on_step(step)``, if given, runs
    before the first step (step 0) and after each optimizer step (1..steps), e.g. to
    look at the attention while it forms."""
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for step in range(steps):
        if on_step is not None and step == 0:
            on_step(0)
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1)
    return losses
