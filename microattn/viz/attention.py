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
from matplotlib.colors import Normalize, SymLogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..data.tokenizer import EOS
from ..files import atomic_path

KIND_TITLES = {"encoder": "encoder self-attention", "decoder": "decoder causal self-attention",
               "cross": "cross-attention (decoder -> encoder)"}
KIND_ORDER = ("encoder", "decoder", "cross")
ANNOTATE_UP_TO = 10      # matrices at most this many rows and columns get their numbers
_EXPECTED_COLOUR = "#ff3b30"
_MASKED_COLOUR = "#d0d0d0"   # masked cells (the causal future, padding): never a colour of 0
_MASKED_HATCH = "////"
LABEL_PT = 8                # tick labels: readable at the docs page's width
MAX_WIDTH_IN = 14.5         # 1,600 px at the 110 dpi the figures are drawn at
_VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}

# Units of each quantity, for colour bars: what a step of colour means.
UNITS = {"weights": "attention weight A (0 to 1)",
         "scores": "score S (logit)",
         "grads": "dL/dA (loss per unit weight)",
         "score_grads": "dL/dS (loss per unit score)"}
RULE = ("Descent pushes a score up where dL/dS < 0 (blue) and down where dL/dS > 0 (red); "
        "the sign of dL/dA alone says nothing, because a row of A sums to 1.")


def readable(token):
    """A token as a label shows it: spaces, newlines and tabs as visible symbols
    (so a character task's blank is not a blank tick), nothing as the empty set."""
    text = str(token)
    return "".join(_VISIBLE.get(c, c) for c in text) if text else "\u2205"


def row_labels(view, example):
    """``task.attention_view(example)`` as the pictures label it: tokens made
    readable, and the rows of decoder and cross-attention named by the token they
    write, the token they read beside it (``bola <- la``): row i of a decoder reads
    input i and predicts token i + 1."""
    source, target = list(example[0]), list(example[1])
    written = (target if "encoder" in view else source + target) + [EOS]
    labels = {}
    for kind, (query, key) in view.items():
        query = [readable(t) for t in query]
        if kind in ("decoder", "cross"):
            query = [f"{readable(w)} \u2190 {q}" for w, q in zip(written, query)]
        labels[kind] = (query, [readable(t) for t in key])
    return labels


def series_limit(matrices):
    """The largest |value| over a time series of matrices (finite entries only):
    the one colour scale every frame of the series shares (1.0 when all are 0)."""
    largest = 0.0
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        finite = m[np.isfinite(m)]
        if finite.size:
            largest = max(largest, float(np.abs(finite).max()))
    return largest or 1.0


def symlog_ticks(limit):
    """Colour-bar ticks for a symmetric-log scale: 0, and two decades each way."""
    return [-limit, -limit / 100, 0.0, limit / 100, limit]


def gradient_norm(limit, symlog=False):
    """A symmetric colour scale -limit..limit (white at 0); ``symlog=True`` makes it
    logarithmic beyond limit / 1000, since gradients span orders of magnitude."""
    if symlog:
        return SymLogNorm(linthresh=limit * 1e-3, linscale=1.0, vmin=-limit, vmax=limit)
    return Normalize(-limit, limit)


def kinds_in(mapping):
    """The attention kinds of ``mapping`` in reading order (encoder, decoder, cross)."""
    known = [k for k in KIND_ORDER if k in mapping]
    return known + sorted(k for k in mapping if k not in KIND_ORDER)


def _panel_size(tq, tk):
    """Inches for one heatmap: about 0.2 in a token (an 8 pt label), never too small."""
    return max(1.7, 0.2 * tk + 0.6), max(1.5, 0.2 * tq + 0.45)


def _outline(ax, mask):
    """Outline the True cells of ``mask`` (Tq, Tk): the attention the task expects."""
    for i, j in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.6,
                               ec=_EXPECTED_COLOUR))


def draw_heatmap(ax, matrix, query_labels=None, key_labels=None, expected=None, annotate=None,
                 cmap="viridis", vmin=0.0, vmax=1.0, show_query=True, show_key=True,
                 fontsize=LABEL_PT, norm=None):
    """Draw one (Tq, Tk) matrix on ``ax``: query rows, key columns, labelled by token
    (plain text: no mathtext). Masked entries (nan or -inf) are grey and hatched, so
    they never look like a value. ``norm`` (a matplotlib Normalize) replaces
    vmin/vmax: one shared scale for a time series. Returns the image (for a colour bar)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"draw_heatmap: expected a (Tq, Tk) matrix, got shape {matrix.shape}")
    tq, tk = matrix.shape
    norm = norm or Normalize(vmin, vmax)
    shown = np.ma.masked_invalid(matrix)
    colours = matplotlib.colormaps[cmap].with_extremes(bad=_MASKED_COLOUR)
    image = ax.imshow(shown, cmap=colours, norm=norm, aspect="equal", interpolation="nearest")
    _hatch_masked(ax, ~np.isfinite(matrix))
    for labels, count, axis, show in ((query_labels, tq, "y", show_query),
                                      (key_labels, tk, "x", show_key)):
        names = list(labels) if labels is not None and show else []
        if axis == "y":
            ax.set_yticks(np.arange(count), labels=names, fontsize=fontsize, parse_math=False)
        else:
            ax.set_xticks(np.arange(count), labels=names, fontsize=fontsize, rotation=90,
                          parse_math=False)
    ax.tick_params(length=0, pad=1.5)
    if annotate is None:
        annotate = max(tq, tk) <= ANNOTATE_UP_TO
    if annotate:
        _annotate(ax, image, matrix, fontsize)
    if expected is not None:
        _outline(ax, np.asarray(expected, dtype=bool))
    return image


def _hatch_masked(ax, masked):
    """Hatch the masked cells: grey alone could be read as a colour of the map."""
    for i, j in zip(*np.nonzero(masked)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=0, hatch=_MASKED_HATCH,
                               ec="#9a9a9a"))


def _annotate(ax, image, matrix, fontsize):
    """Each finite cell's value, in black or white, whichever reads on its colour."""
    for i, j in zip(*np.nonzero(np.isfinite(matrix))):
        v = matrix[i, j]
        r, g, b, _ = image.cmap(image.norm(v))
        text = f"{v:.2f}".replace("0.", ".", 1) if abs(v) < 1 else f"{v:.1f}"
        ax.text(j, i, text, ha="center",
                va="center", fontsize=max(fontsize - 2, 6), parse_math=False,
                color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")


def plot_matrix(ax, matrix, title=None, xlabels=None, ylabels=None, xlabel="keys",
                ylabel="queries", vmin=0.0, vmax=None, cmap="Reds", colorbar=True):
    """Any matrix (rows: queries, columns: keys, or whatever the axis labels say) on
    ``ax``, stretched to the axes, with its numbered or labelled ticks and a colour
    bar. Returns the image."""
    image = ax.imshow(np.asarray(matrix, dtype=float), cmap=cmap, vmin=vmin, vmax=vmax,
                      aspect="auto", interpolation="nearest")
    if title:
        ax.set_title(title, fontsize=10, parse_math=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for labels, set_ticks in ((xlabels, ax.set_xticks), (ylabels, ax.set_yticks)):
        if labels is not None:
            set_ticks(range(len(labels)), labels=[readable(t) for t in labels], fontsize=8,
                      parse_math=False)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    return image


def plot_attention(weights, query_labels=None, key_labels=None, title=None, expected=None,
                   annotate=None):
    """One head's weights (Tq, Tk) as a heatmap with token labels -> Figure.
    ``expected`` (bool (Tq, Tk)) outlines where the task says the answer lives."""
    weights = np.asarray(weights)
    w, h = _panel_size(*weights.shape)
    fig = Figure(figsize=(max(w + 1.4, 4.8), h + 1.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    image = draw_heatmap(ax, weights, query_labels, key_labels, expected, annotate)
    ax.set_xlabel("key", fontsize=8)
    ax.set_ylabel("query", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9, parse_math=False)
    fig.colorbar(image, ax=ax, shrink=0.8, label=UNITS["weights"])
    return fig


def _kind_figure_layout(weights):
    """(width, height) in inches of each kind's block of layers x heads panels."""
    sizes = {}
    for kind in kinds_in(weights):
        layers, heads, tq, tk = np.asarray(weights[kind]).shape
        pw, ph = _panel_size(tq, tk)
        sizes[kind] = (heads * pw + 1.6, layers * ph + 0.9)
    return sizes


def _grid_size(weights, title):
    """The grid figure's (width, height): kinds stacked, at most MAX_WIDTH_IN wide
    (a wider grid is scaled down, its labels staying at LABEL_PT)."""
    sizes = _kind_figure_layout(weights)
    width = max(w for w, _ in sizes.values())
    height = sum(h for _, h in sizes.values()) + (0.4 if title else 0.1)
    shrink = min(1.0, MAX_WIDTH_IN / width)
    return width * shrink, height * max(shrink, 0.6)


def _grid_matrices(weights):
    """Every (Tq, Tk) matrix of a kind -> stack mapping, in the grid's order."""
    for kind in kinds_in(weights):
        stack = np.asarray(weights[kind])
        for layer in range(stack.shape[0]):
            for head in range(stack.shape[1]):
                yield stack[layer, head]


def draw_grid(fig, weights, labels, expected=None, title=None, vmax=1.0):
    """Fill ``fig`` with every layer x head of every kind: one titled block per kind,
    stacked, layers in rows, heads in columns, each block with its colour bar.
    Returns the images, in the order of ``_grid_matrices``, and the title, so that
    an animation can update them in place."""
    kinds = kinds_in(weights)
    sizes = _kind_figure_layout(weights)
    heights = [sizes[k][1] for k in kinds]
    subfigs = fig.subfigures(len(kinds), 1, height_ratios=heights, squeeze=False)[:, 0]
    images = []
    for sub, kind in zip(subfigs, kinds):
        stack = np.asarray(weights[kind])
        layers, heads = stack.shape[:2]
        query, key = labels.get(kind, (None, None)) if labels else (None, None)
        mask = expected[1] if expected is not None and expected[0] == kind else None
        axes = sub.subplots(layers, heads, squeeze=False)
        for layer in range(layers):
            for head in range(heads):
                ax = axes[layer, head]
                images.append(draw_heatmap(ax, stack[layer, head], query, key, mask,
                                           annotate=False, vmax=vmax, show_query=head == 0,
                                           show_key=layer == layers - 1))
                ax.set_title(f"layer {layer} head {head}", fontsize=LABEL_PT, pad=2)
        sub.colorbar(images[-1], ax=axes.ravel().tolist(), shrink=0.8, label=UNITS["weights"])
        sub.suptitle(KIND_TITLES.get(kind, kind), fontsize=9, fontweight="bold")
    return images, (fig.suptitle(title, fontsize=10, parse_math=False) if title else None)


def plot_attention_grid(weights, labels=None, expected=None, title=None):
    """Every layer x head for one input, one titled block per attention kind, the
    kinds stacked so the figure stays at most about 1,600 px wide -> Figure.

    weights: kind -> (layers, heads, Tq, Tk); labels: kind -> (query_labels,
    key_labels); expected: (kind, bool (Tq, Tk)) outlined on that kind's panels.
    """
    if not weights:
        raise ValueError("plot_attention_grid: no attention weights to draw")
    fig = Figure(figsize=_grid_size(weights, title), dpi=110, layout="constrained")
    draw_grid(fig, weights, labels, expected, title)
    return fig


def gradient_limits(snapshots, kind, layer, head):
    """One colour scale per quantity for one head's time series: {"scores": (lo, hi),
    "grads": largest |dL/dA|, "score_grads": largest |dL/dS|} over ``snapshots``."""
    pick = {key: [np.asarray(s[key][kind])[layer, head] for s in snapshots]
            for key in ("scores", "grads", "score_grads") if key in snapshots[0]}
    finite = [m[np.isfinite(m)] for m in pick["scores"]]
    finite = np.concatenate(finite) if finite else np.zeros(1)
    limits = {"scores": (float(finite.min()), float(finite.max())) if finite.size
              else (0.0, 1.0)}
    for key in ("grads", "score_grads"):
        if key in pick:
            limits[key] = series_limit(pick[key])
    return limits


def plot_attention_gradients(weights, scores, grads, score_grads, query_labels=None,
                             key_labels=None, expected=None, title=None, limits=None,
                             symlog=False):
    """Four panels on the same token axes -> Figure: the weights A, the scores
    S = Q K^T / sqrt(d_k) (+ mask: masked cells grey), dL/dA and dL/dS, the gradient
    the scores receive: dL/dS = A * (dL/dA - rowsum(A * dL/dA)). Gradient descent
    moves S, so a score goes up where dL/dS < 0 (blue) whatever the sign of dL/dA.

    ``limits`` ({"scores": (lo, hi), "grads": g, "score_grads": s}, see
    :func:`gradient_limits`) shares a colour scale across a time series; by
    default each panel spans its own values. ``symlog`` makes the gradient scales
    symmetric-logarithmic. Each gradient panel's title gives its largest |value|.
    """
    weights, scores = np.asarray(weights, np.float64), np.asarray(scores, np.float64)
    grads, score_grads = np.asarray(grads, np.float64), np.asarray(score_grads, np.float64)
    limits = limits or gradient_limits(
        [{"scores": {0: scores[None, None]}, "grads": {0: grads[None, None]},
          "score_grads": {0: score_grads[None, None]}}], 0, 0, 0)
    w, h = _panel_size(*weights.shape)
    fig = Figure(figsize=(2 * (w + 1.3) + 0.3, 2 * (h + 0.6) + 0.9), dpi=110,
                 layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    lo, hi = limits["scores"]
    panels = (
        (weights, "weights A = softmax(S)", "viridis", Normalize(0.0, 1.0), "weights"),
        (np.where(np.isfinite(scores), scores, np.nan), "scores S = Q K^T / \u221ad_k",
         "magma", Normalize(lo, hi), "scores"),
        (grads, f"dL/dA (largest |value| {np.abs(grads).max():.2g})", "RdBu_r",
         gradient_norm(limits["grads"], symlog), "grads"),
        (score_grads, f"dL/dS (largest |value| {np.abs(score_grads).max():.2g})", "RdBu_r",
         gradient_norm(limits["score_grads"], symlog), "score_grads"))
    for i, (ax, (matrix, name, cmap, norm, key)) in enumerate(zip(axes, panels)):
        matrix = np.where(np.isfinite(scores), matrix, np.nan)  # masked: grey everywhere
        image = draw_heatmap(ax, matrix, query_labels, key_labels,
                             expected if key == "weights" else None, annotate=False,
                             cmap=cmap, norm=norm, show_query=i % 2 == 0)
        ax.set_title(name, fontsize=9, parse_math=False)
        ticks = symlog_ticks(norm.vmax) if symlog and key in ("grads", "score_grads") else None
        fig.colorbar(image, ax=ax, shrink=0.8, format="%.2g" if key != "weights" else None,
                     label=UNITS[key], ticks=ticks)
    fig.supxlabel(RULE, fontsize=8, wrap=True)
    if title:
        fig.suptitle(title, fontsize=10, parse_math=False)
    return fig


def snapshot_title(snapshot):
    """'step 300 · held-out exact 0.42' for a snapshot dict."""
    text = f"step {snapshot['step']}"
    if snapshot.get("held_out_exact") is not None:
        text += f" · held-out exact {snapshot['held_out_exact']:.2f}"
    return text


def figure_png(fig, dpi=None, **options):
    """The figure as PNG bytes (``options`` go to ``savefig``, e.g. bbox_inches)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, **options)
    return buffer.getvalue()


def save_figure(fig, path, dpi=None, **options):
    """Save ``fig`` to ``path`` atomically (the suffix picks the format; ``options``
    go to ``savefig``)."""
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format=os.path.splitext(path)[1].lstrip(".") or "png",
                    **options)
    return path


def save_attention_gif(snapshots, labels, path, expected=None, seconds_per_frame=0.8):
    """The grid of every snapshot, one GIF frame each (titled with its step and
    held-out exact match), looping. Frames share one size. Returns the path."""
    from PIL import Image
    if not snapshots:
        raise ValueError("save_attention_gif: no snapshots were recorded")
    fig = Figure(figsize=_grid_size(snapshots[0]["weights"], True), dpi=100,
                 layout="constrained")
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
    # One row while it stays under MAX_WIDTH_IN, else as many rows as that needs.
    cols = max(1, min(len(chosen), int((MAX_WIDTH_IN - 1.2) // (pw + 0.25))))
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
        ax.set_title(snapshot_title(snap).replace(" · ", "\n"), fontsize=LABEL_PT)
    fig.colorbar(image, ax=list(axes.flat), shrink=0.8, label=UNITS["weights"])
    fig.suptitle(f"{KIND_TITLES.get(kind, kind)}, layer {layer} head {head}: one colour "
                 "scale for every step", fontsize=9)
    return fig
