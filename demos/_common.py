"""What several demos share: the command line (--fast, --out), the output folder,
and matplotlib set up to draw into files (the Agg backend: no window, no display).

Nothing here trains or computes attention: each demo does that in the open.
"""
import argparse
import os
import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

DEMOS = Path(__file__).resolve().parent


def setup(doc, default_steps, fast_steps):
    """Parse the demo's arguments and make its output folder.

    Returns (args, out): ``args.steps`` is ``fast_steps`` with ``--fast`` (the same
    code path, fewer steps: what CI runs), else ``default_steps``; ``out`` is
    ``demos/out/<demo>/`` unless ``--out`` says otherwise. Unknown arguments are
    ignored, so the script also runs as a notebook cell (Jupyter passes its own).
    """
    import __main__
    name = Path(getattr(__main__, "__file__", "demo")).stem
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--fast", action="store_true",
                        help=f"fewer steps ({fast_steps} instead of {default_steps}), same code")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    parser.add_argument("--out", type=Path, default=DEMOS / "out" / name,
                        help="folder for the pictures (default: demos/out/<demo>/)")
    args, _ = parser.parse_known_args()
    if args.steps is None:
        args.steps = fast_steps if args.fast else default_steps
    args.out.mkdir(parents=True, exist_ok=True)
    print(doc.strip().splitlines()[0])
    print(f"pictures go to {args.out}")
    return args, args.out


def save(fig, out, name):
    """Write ``fig`` to ``out/name`` atomically, close it, and say where it went."""
    path = Path(out) / name
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    plt.close(fig)
    print(f"wrote {path}")
    return path


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


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def smooth(values, window=20):
    """Running mean over ``window`` steps (shorter at the start), for noisy curves."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)
