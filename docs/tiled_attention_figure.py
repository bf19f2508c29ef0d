"""Draw docs/img/tiled/tiles.png, the picture of docs/tiled_attention.md.

    PYTHONPATH=. python docs/tiled_attention_figure.py [--out docs/img/tiled/tiles.png]

Left: the causal scores of one head (12 queries, 12 keys) in tiles of 4 x 4,
numbered in the order the tiled forward visits them; tiles above the diagonal
are skipped, the diagonal ones masked inside. Middle and right: for the last
query tile, each row's running max m and running sum l after each key tile,
from the library's own loop (microattn.fused.tiled_attention._online_softmax),
against the row's true max and its true sum of exp(S - max) (dashed): m only
grows, and l, rescaled by exp(m_old - m_new) whenever m grows, ends at the
true sum.
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from microattn.fused.tiled_attention import _online_softmax, key_tiles  # noqa: E402

T, TILE = 12, 4


def running_state(q, k, v, rows):
    """[(m, l)] per row of ``rows`` after each visited key tile (each row's own max)."""
    tiles = key_tiles(None, True, rows, T, TILE)
    states = []
    for n in range(1, len(tiles) + 1):
        _, total, m = _online_softmax(q[rows[0]:rows[1]], k, v, None, True, rows, tiles[:n],
                                      per_row=True)
        states.append((m[:, 0], total[:, 0]))
    return tiles, states


def draw(path):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((T, 4)) * 1.2 for _ in range(3))
    scores = np.where(np.tri(T, dtype=bool), q @ k.T, np.nan)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    ax = axes[0]
    ax.imshow(scores, cmap="viridis")
    order = 0
    for r0 in range(0, T, TILE):
        for c0 in range(0, T, TILE):
            skipped = c0 > r0 + TILE - 1
            if not skipped:
                order += 1
            ax.add_patch(plt.Rectangle((c0 - .5, r0 - .5), TILE, TILE, fill=skipped,
                                       color="lightgrey" if skipped else "white",
                                       lw=2, hatch="//" if skipped else None))
            ax.text(c0 + TILE / 2 - .5, r0 + TILE / 2 - .5, "skipped" if skipped else order,
                    ha="center", va="center", fontsize=10 if skipped else 16,
                    color="black" if skipped else "white", weight="bold")
    ax.set_xlabel("key j (tiles of 4)")
    ax.set_ylabel("query i (tiles of 4)")
    ax.set_title("causal scores S, tiles in visiting order")
    rows = (8, 12)
    tiles, states = running_state(q, k, v, rows)
    steps = np.arange(1, len(tiles) + 1)
    row_scores = scores[rows[0]:rows[1]]
    true_max = np.nanmax(row_scores, axis=1)
    true_sum = np.nansum(np.exp(row_scores - true_max[:, None]), axis=1)
    colours = plt.cm.tab10(np.arange(rows[1] - rows[0]))
    for i, c in enumerate(colours):
        m = [s[0][i] for s in states]
        axes[1].plot(steps, m, "o-", color=c, label=f"row {rows[0] + i}")
        axes[1].axhline(true_max[i], color=c, ls="--", lw=1)
        axes[2].plot(steps, [s[1][i] for s in states], "o-", color=c, label=f"row {rows[0] + i}")
        axes[2].axhline(true_sum[i], color=c, ls="--", lw=1)
    first = 1 + sum(len(key_tiles(None, True, (r0, r0 + TILE), T, TILE))
                    for r0 in range(0, rows[0], TILE))   # the number of the first tile shown
    labels = [f"tile {n}\nkeys {a}-{b - 1}" for n, (a, b) in enumerate(tiles, start=first)]
    for ax, title in ((axes[1], "running max m (dashed: the row's max)"),
                      (axes[2], "running sum l (dashed: the row's sum of exp(S - max))")):
        ax.set_xticks(steps, labels)
        ax.set_title(title)
        ax.legend(fontsize=8)
    axes[1].set_ylabel("m")
    axes[2].set_ylabel("l")
    fig.suptitle("tiled forward of queries 8-11: each key tile raises m or not; l is "
                 "rescaled by exp(m_old - m_new) and ends at the true sum", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "img" / "tiled"
                        / "tiles.png")
    print(f"wrote {draw(parser.parse_args().out)}")
