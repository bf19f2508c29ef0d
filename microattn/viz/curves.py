"""Training curves from ``metrics.jsonl``, and the gradient flow per parameter group."""
import functools
import json
import re
import warnings

import numpy as np
from matplotlib.figure import Figure

_PROJECTION = re.compile(r"^(?P<layer>.+)\.(?P<attn>self_attn|multihead_attn)\."
                         r"(?P<proj>q|k|v|out)_proj\.")
_FEED_FORWARD = re.compile(r"^(?P<layer>.+)\.linear[12]\.")
_LAYER = re.compile(r"^(?:(?P<stack>encoder|decoder)\.layers|blocks|layers)\.(?P<i>\d+)$")


def running_mean(values, window=20):
    """The mean of the last ``window`` values at each step (fewer at the start): a
    readable line through a noisy per-step curve."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)


def read_metrics(path):
    """The list of metrics dicts in a ``metrics.jsonl`` file (blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _series(metrics, key):
    points = [(m["step"], m[key]) for m in metrics if m.get(key) is not None]
    return (np.array([p[0] for p in points]), np.array([p[1] for p in points], float))


def plot_curves(metrics, title=None):
    """Loss (training, and held-out when recorded), held-out exact match (and token
    accuracy) and alignment over training, on one figure with a shared step axis
    -> Figure."""
    if not metrics:
        raise ValueError("plot_curves: no metrics (metrics.jsonl is empty)")
    panels = [("loss", "loss")]
    if any(m.get("held_out_exact") is not None for m in metrics):
        panels.append(("held_out_exact", "held-out accuracy"))
    if any(m.get("alignment") is not None for m in metrics):
        panels.append(("alignment", "alignment"))
    fig = Figure(figsize=(7, 1.9 * len(panels) + 0.7), dpi=110, layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (key, name) in zip(axes, panels):
        steps, values = _series(metrics, key)
        ax.plot(steps, values, marker="o", ms=3, lw=1.5, color="#1f77b4",
                label={"held_out_exact": "exact match", "loss": "training loss"}.get(key, name))
        if key == "loss":
            s2, v2 = _series(metrics, "held_out_loss")
            if len(s2):
                ax.plot(s2, v2, marker="s", ms=3, ls="--", lw=1.2, color="#d62728",
                        label="held-out loss")
                values = np.concatenate([values, v2])
            ax.legend(fontsize=7, loc="upper right")
        if key == "held_out_exact":
            s2, v2 = _series(metrics, "held_out_token_acc")
            if len(s2):
                ax.plot(s2, v2, ls="--", lw=1.2, color="#ff7f0e", label="token accuracy")
            ax.legend(fontsize=7, loc="lower right")
        if key == "loss" and len(values) and (values > 0).all() and \
                values.max() > 10 * values.min():
            ax.set_yscale("log")  # only when the loss falls by more than 10x
        if key != "loss":
            ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("step", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _layer_label(path):
    """blocks.0 -> L0, encoder.layers.1 -> enc1, decoder.layers.0 -> dec0."""
    match = _LAYER.match(path)
    if not match:
        return path
    stack = {"encoder": "enc", "decoder": "dec"}.get(match["stack"], "L")
    return f"{stack}{match['i']}"


@functools.lru_cache(maxsize=4096)  # called for every parameter after every step
def parameter_group(name):
    """The gradient-flow group of a parameter name: 'embeddings', 'norms', 'output',
    '<layer> q' / k / v / out (cross-attention: 'x-q'...), '<layer> ff', or 'other'."""
    match = _PROJECTION.match(name)
    if match:
        cross = "x-" if match["attn"] == "multihead_attn" else ""
        return f"{_layer_label(match['layer'])} {cross}{match['proj']}"
    match = _FEED_FORWARD.match(name)
    if match:
        return f"{_layer_label(match['layer'])} ff"
    last_module = name.rpartition(".")[0].rpartition(".")[2]
    if "embed" in name:
        return "embeddings"
    if "norm" in last_module or last_module.startswith("ln"):
        return "norms"
    if last_module in ("lm_head", "output_proj", "head"):
        return "output"
    return "other"


def group_grad_norms(named_parameters):
    """{group: L2 norm of the gradients of its parameters} for parameters with a grad."""
    squares = {}
    for name, param in named_parameters:
        if param.grad is None:
            continue
        grad = np.asarray(param.grad).ravel()  # no copy: this runs after every step
        group = parameter_group(name)
        squares[group] = squares.get(group, 0.0) + float(np.dot(grad, grad))
    return {group: float(np.sqrt(total)) for group, total in squares.items()}


def _group_order(groups):
    def key(group):
        if group == "embeddings":
            return (0, "")
        if group in ("norms", "output", "other"):
            return (2, group)
        layer, _, part = group.partition(" ")
        parts = ["q", "k", "v", "out", "x-q", "x-k", "x-v", "x-out", "ff"]
        stack = layer.rstrip("0123456789")
        number = int(layer[len(stack):] or 0)
        return (1, {"enc": 0, "L": 1, "dec": 2}.get(stack, 3), stack, number,
                parts.index(part) if part in parts else 99, part)
    return sorted(groups, key=key)


def plot_gradient_flow(history, title=None):
    """Gradient norm of each parameter group over training -> Figure.

    history: [(step, {group: norm}), ...]. Left, one line per kind of group
    (embeddings, attention projections, feed-forward, norms, output) summed over
    layers; right, every group over time as a log-scale heatmap, so one vanishing
    or exploding group stands out.
    """
    if not history:
        raise ValueError("plot_gradient_flow: no gradient norms were recorded")
    steps = np.array([s for s, _ in history])
    groups = _group_order({g for _, norms in history for g in norms})
    table = np.array([[norms.get(g, np.nan) for _, norms in history] for g in groups])
    fig = Figure(figsize=(11, max(3.2, 0.2 * len(groups) + 1.4)), dpi=110,
                 layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])

    def family(group):
        if " " not in group:
            return group
        part = group.split(" ", 1)[1]
        return "feed-forward" if part == "ff" else (
            "cross-attn q/k/v/out" if part.startswith("x-") else "self-attn q/k/v/out")

    squares = {}
    for g, row in zip(groups, table):
        fam = family(g)
        squares[fam] = squares.get(fam, 0.0) + np.nan_to_num(row ** 2)
    window = max(1, len(steps) // 40)  # per-step norms are noisy: show a running mean too
    for i, (fam, total) in enumerate(squares.items()):
        values = np.sqrt(total)
        colour = f"C{i}"
        if window > 1:
            left.plot(steps, values, lw=0.6, alpha=0.25, color=colour)
            values = np.convolve(values, np.ones(window) / window, mode="valid")
            left.plot(steps[window - 1:], values, lw=1.6, color=colour, label=fam)
        else:
            left.plot(steps, values, lw=1.5, color=colour, label=fam)
    left.set_yscale("log")
    left.set_xlabel("step", fontsize=8)
    left.set_ylabel("gradient norm", fontsize=8)
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    left.tick_params(labelsize=7)
    left.set_title("by kind (summed over layers)" +
                   (f", running mean of {window} steps" if window > 1 else ""), fontsize=9)

    logs = np.log10(np.where(table > 0, table, np.nan))
    if logs.shape[1] > 200:  # at most 200 columns: the mean log norm of each bin of steps
        edges = np.linspace(0, logs.shape[1], 201).astype(int)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan bin stays nan
            logs = np.stack([np.nanmean(logs[:, a:b], axis=1)
                             for a, b in zip(edges[:-1], edges[1:])], axis=1)
    image = right.imshow(logs, aspect="auto", cmap="coolwarm", interpolation="nearest",
                         extent=(steps[0] - 0.5, steps[-1] + 0.5, len(groups) - 0.5, -0.5))
    right.set_yticks(np.arange(len(groups)), labels=groups, fontsize=7)
    right.set_xlabel("step", fontsize=8)
    right.tick_params(labelsize=7)
    right.set_title("every group (log10 norm)", fontsize=9)
    fig.colorbar(image, ax=right, label="log10 gradient norm")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
