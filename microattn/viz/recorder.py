"""Training callbacks that record what the pictures need while a model trains.

``AttentionRecorder`` keeps snapshots of a fixed probe example's attention: the
weights A of every attention module, the scores Q K^T / sqrt(d) and dL/dA,
captured with the engine's own ``retain_grad`` on the weights
(``MultiheadAttention.capture_graph``). ``RunPictures`` adds the gradient norm
of each parameter group at every step and, when training ends, draws every
picture and the report into the run folder. Neither changes training: the
probe runs in eval mode, draws nothing from the random generator, and clears
the gradients it made.
"""
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from ..core import no_grad
from ..models import attention_modules
from . import attention as attn
from .curves import group_grad_norms, plot_curves, plot_gradient_flow, read_metrics
from ..files import write_atomic
from .graph import draw_graph, save_graph
from .report import render_report


def capture_attention(model, task, example):
    """Run ``task.loss`` on ``example`` alone and backpropagate, keeping each attention
    module's weights, scores and dL/dA.

    Returns {"weights", "scores", "grads"}, each kind -> float32 (layers, heads, Tq, Tk),
    and "grad_norms", the probe's gradient norm per parameter group. Masked
    positions (weight exactly 0 after a -inf score) have score -inf. The model's
    mode, its gradients (cleared) and the random generator are left as they were.
    """
    modules = attention_modules(model)
    if not modules:
        raise ValueError("capture_attention: the model has no MultiheadAttention")
    was_training = model.training
    model.eval()
    for _, _, _, module in modules:
        module.capture_graph = True
    try:
        loss = task.loss(model, task.batch([example]))
        for _, _, _, module in modules:
            module.last_attn_weights.retain_grad()
        loss.backward()
        out = {"weights": {}, "scores": {}, "grads": {}}
        for _, kind, _, module in modules:
            weights = module.last_attn_weights
            w = np.asarray(weights._data[0], dtype=np.float32)            # (heads, Tq, Tk)
            g = (np.zeros_like(w) if weights.grad is None
                 else np.asarray(weights.grad, dtype=np.float32)[0])
            s = np.asarray(module.last_attn_scores._data[0], dtype=np.float32)
            s = np.where(w == 0, -np.inf, s)  # masked: exp(-inf) made the weight exactly 0
            for key, value in (("weights", w), ("grads", g), ("scores", s)):
                out[key].setdefault(kind, []).append(value)
        for key in ("weights", "scores", "grads"):
            out[key] = {kind: np.stack(v) for kind, v in out[key].items()}
        out["grad_norms"] = group_grad_norms(model.named_parameters())
        return out
    finally:
        for _, _, _, module in modules:
            module.capture_graph = False
            if module.last_attn_weights is not None:
                module.last_attn_weights = module.last_attn_weights.detach()
        model.zero_grad()
        model.train(was_training)


class AttentionRecorder:
    """Training callback: snapshots of one probe example's attention over training.

    At the start of training and at every evaluation (and every ``every`` steps
    if given) it stores a snapshot dict: "step", "held_out_exact" (of that
    evaluation, else None), and "weights", "scores", "grads", each kind ->
    (layers, heads, Tq, Tk). ``example`` defaults to the task's first held-out pair.
    """

    def __init__(self, example=None, every=None):
        self.example = example
        self.every = every
        self.snapshots = []
        self.labels = {}
        self.expected = None

    def on_train_begin(self, run):
        if self.example is None:
            self.example = run.task.held_out[0]
        self.labels = run.task.attention_view(self.example)
        self.expected = run.task.expected_mask(self.example)
        self.record(run, None)

    def on_step(self, run, step, loss):
        if self.every and step % self.every == 0:
            self.record(run, None)

    def on_eval(self, run, metrics):
        self.record(run, metrics.get("held_out_exact"))

    def record(self, run, held_out_exact):
        """Take one snapshot now (a second one at the same step replaces the first)."""
        captured = capture_attention(run.model, run.task, self.example)
        snapshot = {"step": int(run.step), "held_out_exact": held_out_exact,
                    **{k: captured[k] for k in ("weights", "scores", "grads")}}
        if self.snapshots and self.snapshots[-1]["step"] == snapshot["step"]:
            if held_out_exact is None:
                snapshot["held_out_exact"] = self.snapshots[-1]["held_out_exact"]
            self.snapshots[-1] = snapshot
        else:
            self.snapshots.append(snapshot)
        return captured


HISTORY_POINTS = 2000  # gradient-norm points kept: between this and twice this


def held_out_examples(run, n=8):
    """Rows for the report's table: the first ``n`` held-out pairs and the model's
    greedy answers (``task.predict(model, sources) -> [tokens]``, one batch), or no
    answers when the task has none to give (an open-ended one such as ``charlm``)."""
    task = run.task
    examples = [(list(s), list(t)) for s, t in task.held_out[:n]]
    answers = [None] * len(examples)
    if examples and hasattr(task, "predict") and not getattr(task, "open_ended", False):
        was_training = run.model.training
        run.model.eval()
        try:
            with no_grad():
                answers = [list(a) for a in task.predict(run.model, [s for s, _ in examples])]
        finally:
            run.model.train(was_training)
    return [{"source": s, "target": t, "answer": a} for (s, t), a in zip(examples, answers)]


def _config_dict(config):
    if config is None:
        return {}
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    return {k: v for k, v in vars(config).items() if not k.startswith("_")}


class RunPictures(AttentionRecorder):
    """Training callback that draws a run's pictures and report into ``run.dir``.

    While training: attention snapshots of the probe (see AttentionRecorder) and
    the gradient norm of every parameter group after each step. When training
    ends: loss.png, attention.png, attention_gradients.png, attention.gif,
    attention_strip.png, gradflow.png, graph.svg (graph.dot without Graphviz)
    and report.html. ``examples(run) -> rows`` fills the report's table of
    held-out answers (default :func:`held_out_examples`). A picture that fails
    is reported on stderr and the others are still drawn.
    """

    def __init__(self, example=None, every=None, examples=held_out_examples, quiet=False):
        super().__init__(example, every)
        self.examples = examples
        self.quiet = quiet
        self.grad_history = []      # [(step, {group: norm})]
        self._probe_norms = []      # from the probe, when steps leave no gradients
        self.written = {}
        self.timings = {}
        self._recording = True
        self._stride = 1            # gradient norms are recorded every _stride steps

    def on_step(self, run, step, loss):
        if step % self._stride == 0:
            norms = group_grad_norms(run.model.named_parameters())
            if norms:
                self.grad_history.append((int(step), norms))
            if len(self.grad_history) >= 2 * HISTORY_POINTS:
                # A long run keeps every other point, and records half as often from now
                # on: memory stays bounded and the points stay evenly spaced.
                self.grad_history = self.grad_history[1::2]
                self._stride *= 2
        super().on_step(run, step, loss)

    def on_train_begin(self, run):
        self._recording = True
        try:
            super().on_train_begin(run)
        except Exception as error:  # the task's views of the probe: as record() below
            self._recording = False
            print(f"microattn: attention snapshots stopped: {type(error).__name__}: {error}",
                  file=sys.stderr)

    def record(self, run, held_out_exact):
        """As AttentionRecorder.record, but a failure (a model without
        MultiheadAttention, a probe the task cannot batch) stops the snapshots with
        one line on stderr instead of stopping training."""
        if not self._recording:
            return None
        try:
            captured = super().record(run, held_out_exact)
        except Exception as error:
            self._recording = False
            print(f"microattn: attention snapshots stopped: {type(error).__name__}: {error}",
                  file=sys.stderr)
            return None
        self._probe_norms.append((int(run.step), captured["grad_norms"]))
        return captured

    def on_train_end(self, run):
        self.written = write_pictures(run, self)
        return self.written


def _draw(name, timings, fn):
    start = time.perf_counter()
    try:
        return fn()
    except Exception as error:  # one picture failing must not lose the others
        print(f"microattn: could not draw {name}: {type(error).__name__}: {error}",
              file=sys.stderr)
        return None
    finally:
        timings[name] = time.perf_counter() - start


REPORT_COLLAPSE = ("Linear", "LayerNorm", "Embedding", "LearnedPositionalEmbedding")


def step_graphs(model, task, example):
    """Graphs of one training step (forward, loss, backward) on ``example``: folded,
    and folded with Linear, LayerNorm and embeddings as boxes (compact, for the report)."""
    was_training = model.training
    model.eval()
    try:
        loss = task.loss(model, task.batch([example]))
        loss.backward()
        return (draw_graph(loss, params=model),
                draw_graph(loss, params=model, collapse=REPORT_COLLAPSE))
    finally:
        model.zero_grad()
        model.train(was_training)


def write_pictures(run, recorder):
    """Draw every picture and report.html into ``run.dir`` from a RunPictures'
    records. Returns {file name: path written}."""
    out = Path(run.dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = recorder.timings
    written = {}
    metrics = list(getattr(run, "metrics", None) or [])
    if not metrics and (out / "metrics.jsonl").exists():
        metrics = read_metrics(out / "metrics.jsonl")
    snaps, labels, expected = recorder.snapshots, recorder.labels, recorder.expected
    history = recorder.grad_history or recorder._probe_norms
    task_name = getattr(run.task, "name", "run")
    pngs = {}

    def png(name, make):
        fig = _draw(name, timings, make)
        if fig is not None:
            pngs[name] = attn.figure_png(fig)
            path = out / name
            write_atomic(path, pngs[name])
            written[name] = path

    if metrics:
        png("loss.png", lambda: plot_curves(metrics, title=f"{task_name}: training"))
    if snaps:
        shown = [{**s, "weights": attn.masked_weights(s)} for s in snaps]  # masked: grey
        last = shown[-1]
        png("attention.png", lambda: attn.plot_attention_grid(
            last["weights"], labels, expected, title=f"{task_name}: attention at "
            f"{attn.snapshot_title(last)}"))
        kind, layer, head = attn.choose_head(last, expected)
        mask = expected[1] if expected is not None and expected[0] == kind else None
        q, k = labels.get(kind, (None, None))
        png("attention_gradients.png", lambda: attn.plot_attention_gradients(
            last["weights"][kind][layer, head], last["scores"][kind][layer, head],
            last["grads"][kind][layer, head], q, k, mask,
            title=f"{attn.KIND_TITLES.get(kind, kind)}, layer {layer} head {head}, "
                  f"{attn.snapshot_title(last)}"))
        png("attention_strip.png", lambda: attn.plot_attention_strip(
            shown, labels, expected, kind, layer, head))
        path = _draw("attention.gif", timings,
                     lambda: attn.save_attention_gif(shown, labels, out / "attention.gif",
                                                     expected))
        if path:
            written["attention.gif"] = Path(path)
    if history:
        png("gradflow.png", lambda: plot_gradient_flow(history, title=f"{task_name}: "
                                                       "gradient flow"))
    graph_svg = None
    if recorder.example is not None:
        graphs = _draw("the graph of a step", timings,
                       lambda: step_graphs(run.model, run.task, recorder.example))
        path = graphs and _draw("graph.svg", timings,
                                lambda: Path(save_graph(graphs[0], out / "graph.svg")))
        if path:
            written[path.name] = path
            if path.suffix == ".svg":
                graph_svg = _draw("report graph", timings,
                                  lambda: graphs[1].pipe(format="svg").decode("utf-8"))
    rows = _draw("examples", timings, lambda: recorder.examples(run)) if recorder.examples \
        else None
    html = _draw("report.html", timings, lambda: render_report(
        title=f"microattn run: {task_name}", config=_config_dict(getattr(run, "config", None)),
        metrics=metrics, pngs=pngs, snapshots=snaps, labels=labels, expected=expected,
        graph_svg=graph_svg, examples=rows))
    if html is not None:
        write_atomic(out / "report.html", html)
        written["report.html"] = out / "report.html"
    if not recorder.quiet:
        print(f"pictures: {', '.join(str(p) for p in written.values())}")
    return written



