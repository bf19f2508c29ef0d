"""Pictures of attention with matplotlib: one head, the grid of every layer x head,
the weights beside their scores and gradient, and the evolution over training.

Everything draws on ``matplotlib.figure.Figure`` objects (no pyplot), so it
works without a display (the Agg canvas) and never changes a notebook's
backend. Shapes: one matrix is (Tq, Tk) with query rows and key columns; a
kind's stack is (layers, heads, Tq, Tk). ``labels`` maps an attention kind
("encoder", "decoder", "cross") to (query_labels, key_labels), as
``task.attention_view(example)`` gives them.
"""
import io
import os

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..files import atomic_path

KIND_TITLES = {"encoder": "encoder self-attention", "decoder": "decoder causal self-attention",
               "cross": "cross-attention (decoder -> encoder)"}
KIND_ORDER = ("encoder", "decoder", "cross")
ANNOTATE_UP_TO = 10      # matrices at most this many rows and columns get their numbers
_EXPECTED_COLOUR = "#ff3b30"


def kinds_in(mapping):
    """The attention kinds of ``mapping`` in reading order (encoder, decoder, cross)."""
    known = [k for k in KIND_ORDER if k in mapping]
    return known + sorted(k for k in mapping if k not in KIND_ORDER)


def _panel_size(tq, tk):
    """Inches for one heatmap: about 0.24 in a token, never too small to read."""
    return max(1.7, 0.24 * tk + 0.5), max(1.5, 0.24 * tq + 0.4)


def _outline(ax, mask):
    """Outline the True cells of ``mask`` (Tq, Tk): the attention the task expects."""
    for i, j in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.6,
                               ec=_EXPECTED_COLOUR))


def draw_heatmap(ax, matrix, query_labels=None, key_labels=None, expected=None, annotate=None,
                 cmap="viridis", vmin=0.0, vmax=1.0, show_query=True, show_key=True,
                 fontsize=7):
    """Draw one (Tq, Tk) matrix on ``ax``: query rows, key columns, labelled by token.
    Masked entries (nan or -inf) are drawn grey. Returns the image (for a colour bar)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"draw_heatmap: expected a (Tq, Tk) matrix, got shape {matrix.shape}")
    tq, tk = matrix.shape
    shown = np.ma.masked_invalid(matrix)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#d0d0d0")
    image = ax.imshow(shown, cmap=colours, vmin=vmin, vmax=vmax, aspect="equal",
                      interpolation="nearest")
    for labels, count, axis, show in ((query_labels, tq, "y", show_query),
                                      (key_labels, tk, "x", show_key)):
        ticks = np.arange(count)
        if axis == "y":
            ax.set_yticks(ticks, labels=list(labels) if labels is not None and show else [],
                          fontsize=fontsize)
        else:
            ax.set_xticks(ticks, labels=list(labels) if labels is not None and show else [],
                          fontsize=fontsize, rotation=90)
    ax.tick_params(length=0, pad=1.5)
    if annotate is None:
        annotate = max(tq, tk) <= ANNOTATE_UP_TO
    if annotate:
        mid = (vmin + vmax) / 2
        for i in range(tq):
            for j in range(tk):
                v = matrix[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}".lstrip("0") if 0 <= v < 1 else f"{v:.1f}",
                            ha="center", va="center", fontsize=max(fontsize - 2, 4.5),
                            color="black" if v > mid else "white")
    if expected is not None:
        _outline(ax, np.asarray(expected, dtype=bool))
    return image


def plot_attention(weights, query_labels=None, key_labels=None, title=None, expected=None,
                   annotate=None):
    """One head's weights (Tq, Tk) as a heatmap with token labels -> Figure.
    ``expected`` (bool (Tq, Tk)) outlines where the task says the answer lives."""
    weights = np.asarray(weights)
    w, h = _panel_size(*weights.shape)
    fig = Figure(figsize=(max(w + 1.4, 4.8), h + 1.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    image = draw_heatmap(ax, weights, query_labels, key_labels, expected, annotate, fontsize=8)
    ax.set_xlabel("key", fontsize=8)
    ax.set_ylabel("query", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    return fig


def _kind_figure_layout(weights):
    """(width, height) in inches of each kind's block of layers x heads panels."""
    sizes = {}
    for kind in kinds_in(weights):
        layers, heads, tq, tk = np.asarray(weights[kind]).shape
        pw, ph = _panel_size(tq, tk)
        sizes[kind] = (heads * pw + 0.9, layers * ph + 0.9)
    return sizes


def _grid_matrices(weights):
    """Every (Tq, Tk) matrix of a kind -> stack mapping, in the grid's order."""
    for kind in kinds_in(weights):
        stack = np.asarray(weights[kind])
        for layer in range(stack.shape[0]):
            for head in range(stack.shape[1]):
                yield stack[layer, head]


def draw_grid(fig, weights, labels, expected=None, title=None, vmax=1.0):
    """Fill ``fig`` with every layer x head of every kind: one titled block per kind,
    layers in rows, heads in columns. Returns the images, in the order of
    ``_grid_matrices``, and the title, so that an animation can update them in place."""
    kinds = kinds_in(weights)
    sizes = _kind_figure_layout(weights)
    widths = [sizes[k][0] for k in kinds]
    subfigs = fig.subfigures(1, len(kinds), width_ratios=widths, squeeze=False)[0]
    images = []
    for sub, kind in zip(subfigs, kinds):
        stack = np.asarray(weights[kind])
        layers, heads = stack.shape[:2]
        query, key = labels.get(kind, (None, None)) if labels else (None, None)
        mask = None
        if expected is not None and expected[0] == kind:
            mask = expected[1]
        axes = sub.subplots(layers, heads, squeeze=False)
        for layer in range(layers):
            for head in range(heads):
                ax = axes[layer, head]
                images.append(draw_heatmap(ax, stack[layer, head], query, key, mask,
                                           annotate=False, vmax=vmax, show_query=head == 0,
                                           show_key=layer == layers - 1))
                ax.set_title(f"layer {layer} head {head}", fontsize=7, pad=2)
        sub.suptitle(KIND_TITLES.get(kind, kind), fontsize=9, fontweight="bold")
    return images, (fig.suptitle(title, fontsize=10) if title else None)


def plot_attention_grid(weights, labels=None, expected=None, title=None):
    """Every layer x head for one input, one titled block per attention kind -> Figure.

    weights: kind -> (layers, heads, Tq, Tk); labels: kind -> (query_labels,
    key_labels); expected: (kind, bool (Tq, Tk)) outlined on that kind's panels.
    """
    if not weights:
        raise ValueError("plot_attention_grid: no attention weights to draw")
    sizes = _kind_figure_layout(weights)
    width = sum(w for w, _ in sizes.values())
    height = max(h for _, h in sizes.values()) + (0.4 if title else 0.1)
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    draw_grid(fig, weights, labels, expected, title)
    return fig


def plot_attention_gradients(weights, scores, grads, query_labels=None, key_labels=None,
                             expected=None, title=None):
    """Three panels on the same token axes: the weights A, the pre-softmax scores
    Q K^T / sqrt(d) (masked positions grey) and dL/dA, what backprop pushes each
    weight towards (red: increasing the weight raises the loss) -> Figure."""
    weights, scores = np.asarray(weights, np.float64), np.asarray(scores, np.float64)
    grads = np.asarray(grads, np.float64)
    w, h = _panel_size(*weights.shape)
    fig = Figure(figsize=(3 * (w + 0.9) + 0.4, h + 1.2), dpi=110, layout="constrained")
    axes = fig.subplots(1, 3)
    finite = scores[np.isfinite(scores)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    limit = float(np.abs(grads[np.isfinite(grads)]).max()) if np.isfinite(grads).any() else 0.0
    limit = limit or 1.0
    panels = ((weights, "weights A", "viridis", 0.0, 1.0, expected),
              (np.where(np.isfinite(scores), scores, np.nan), r"scores $QK^T/\sqrt{d}$",
               "magma", lo, hi, None),
              (grads, "dL/dA", "RdBu_r", -limit, limit, None))
    for i, (ax, (matrix, name, cmap, vmin, vmax, mask)) in enumerate(zip(axes, panels)):
        image = draw_heatmap(ax, matrix, query_labels, key_labels, mask, annotate=False,
                             cmap=cmap, vmin=vmin, vmax=vmax, show_query=i == 0, fontsize=7)
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8, format="%.2g")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def snapshot_title(snapshot):
    """'step 300 · held-out exact 0.42' for a snapshot dict."""
    text = f"step {snapshot['step']}"
    if snapshot.get("held_out_exact") is not None:
        text += f" · held-out exact {snapshot['held_out_exact']:.2f}"
    return text


def figure_png(fig, dpi=None):
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig, path, dpi=None):
    """Save ``fig`` to ``path`` atomically (the suffix picks the format)."""
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format=os.path.splitext(path)[1].lstrip(".") or "png")
    return path


def save_attention_gif(snapshots, labels, path, expected=None, seconds_per_frame=0.8):
    """The grid of every snapshot, one GIF frame each (titled with its step and
    held-out exact match), looping. Frames share one size. Returns the path."""
    from PIL import Image
    if not snapshots:
        raise ValueError("save_attention_gif: no snapshots were recorded")
    sizes = _kind_figure_layout(snapshots[0]["weights"])
    width = sum(w for w, _ in sizes.values())
    height = max(h for _, h in sizes.values()) + 0.4
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    images, title = draw_grid(fig, snapshots[0]["weights"], labels, expected,
                              title=snapshot_title(snapshots[-1]))
    # Lay out and draw everything once; each frame then redraws only what changes
    # (the heatmaps, the outlines over them, the title) onto the same canvas.
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    fig.set_layout_engine("none")
    band = title.get_window_extent()
    title.set_text("")
    canvas.draw()
    title_background = canvas.copy_from_bbox(
        band.from_extents(0, band.y0 - 2, canvas.get_width_height()[0], band.y1 + 2))
    frames = []
    for snap in snapshots:
        for image, matrix in zip(images, _grid_matrices(snap["weights"])):
            image.set_data(matrix)
            image.axes.draw_artist(image)
            for patch in image.axes.patches:
                image.axes.draw_artist(patch)
        canvas.restore_region(title_background)
        title.set_text(snapshot_title(snap))
        fig.draw_artist(title)
        frame = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        frames.append(frame.quantize(colors=255, method=Image.Quantize.FASTOCTREE, dither=0))
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        # disposal=1 and optimize=False keep every frame, even two identical ones.
        frames[0].save(temporary, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                       optimize=False, duration=int(seconds_per_frame * 1000), disposal=1)
    return path


def masked_weights(captured):
    """The weights of a snapshot (or of ``capture_attention``) with the masked positions
    (score -inf: causal future, padding) set to nan, which the heatmaps draw grey."""
    return {kind: np.where(np.isneginf(captured["scores"][kind]), np.nan, w)
            for kind, w in captured["weights"].items()}


def choose_head(snapshot, expected=None):
    """(kind, layer, head) to follow over training: the head that ends up closest to
    the expected pattern, else cross-attention's (or the decoder's) last layer, head 0."""
    weights = snapshot["weights"]
    if expected is not None and expected[0] in weights:
        kind, mask = expected
        stack = np.nan_to_num(np.asarray(weights[kind]))
        mass = (stack * np.asarray(mask, bool)).sum(-1).mean(-1)  # (layers, heads)
        layer, head = np.unravel_index(int(np.argmax(mass)), mass.shape)
        return kind, int(layer), int(head)
    kind = "cross" if "cross" in weights else kinds_in(weights)[0]
    return kind, np.asarray(weights[kind]).shape[0] - 1, 0


def plot_attention_strip(snapshots, labels, expected=None, kind=None, layer=None, head=None,
                         max_frames=8):
    """One head's weights at up to ``max_frames`` recorded steps, side by side, each
    titled with its step and held-out exact match -> Figure."""
    if not snapshots:
        raise ValueError("plot_attention_strip: no snapshots were recorded")
    if kind is None or layer is None or head is None:
        kind, layer, head = choose_head(snapshots[-1], expected)
    picks = np.unique(np.linspace(0, len(snapshots) - 1, min(max_frames, len(snapshots)))
                      .round().astype(int))
    chosen = [snapshots[i] for i in picks]
    first = np.asarray(chosen[0]["weights"][kind])[layer, head]
    pw, ph = _panel_size(*first.shape)
    # One row while it stays under ~16 inches wide, else two (long sequences).
    cols = len(chosen) if len(chosen) * (pw + 0.25) <= 16 else -(-len(chosen) // 2)
    rows = -(-len(chosen) // cols)
    fig = Figure(figsize=(cols * (pw + 0.25) + 1.2, rows * (ph + 0.5) + 0.8), dpi=110,
                 layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(chosen):]:
        ax.set_visible(False)
    query, key = labels.get(kind, (None, None)) if labels else (None, None)
    mask = expected[1] if expected is not None and expected[0] == kind else None
    image = None
    for i, (ax, snap) in enumerate(zip(axes.flat, chosen)):
        image = draw_heatmap(ax, np.asarray(snap["weights"][kind])[layer, head], query, key,
                             mask, annotate=False, show_query=i % cols == 0)
        ax.set_title(snapshot_title(snap).replace(" · ", "\n"), fontsize=7)
    fig.colorbar(image, ax=list(axes.flat), shrink=0.8, label="weight")
    fig.suptitle(f"{KIND_TITLES.get(kind, kind)}, layer {layer} head {head}", fontsize=9)
    return fig
