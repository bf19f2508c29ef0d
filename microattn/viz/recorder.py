"""Training callbacks that record what the pictures need while a model trains.

``AttentionRecorder`` keeps snapshots of a fixed probe example's attention: the
weights A of every attention module, the scores S = Q K^T / sqrt(d) + mask,
and the gradients dL/dA and dL/dS, both computed by the engine's backward and
kept with ``retain_grad`` (``MultiheadAttention.capture_graph``). ``RunPictures`` adds the gradient norm
of each parameter group at every step and, when training ends, draws every
picture and the report into the run folder. Neither changes training: the
probe runs in eval mode, draws nothing from the random generator, and clears
the gradients it made.
"""
import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import microattn as ma

from ..core import no_grad
from ..models import attention_modules
from . import attention as attn
from .curves import group_grad_norms, plot_curves, plot_gradient_flow, read_metrics
from ..files import write_atomic
from .graph import draw_graph, save_graph
from .report import render_report


def capture_attention(model, task, example):
    """Run ``task.loss`` on ``example`` alone and backpropagate, keeping each attention
    module's weights A, scores S and the gradients the engine computes for both.

    Returns {"weights", "scores", "grads", "score_grads"}, each kind -> float32
    (layers, heads, Tq, Tk): A, S = Q K^T / sqrt(d) + mask, dL/dA and dL/dS (both
    retained from backward, never recomputed here), and "grad_norms", the probe's
    gradient norm per parameter group. Masked positions have score -inf (and
    weight and dL/dS 0). The model's mode, its gradients (cleared) and the random
    generator are left as they were.
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
            module.last_attn_scores.retain_grad()
        loss.backward()
        out = {"weights": {}, "scores": {}, "grads": {}, "score_grads": {}}
        for _, kind, _, module in modules:
            tensors = {"weights": module.last_attn_weights, "scores": module.last_attn_scores}
            for key, grad_key in (("weights", "grads"), ("scores", "score_grads")):
                value = np.asarray(tensors[key].detach().numpy()[0], dtype=np.float32)  # (heads, Tq, Tk)
                grad = tensors[key].grad
                grad = (np.zeros_like(value) if grad is None
                        else np.asarray(grad.numpy()[0], dtype=np.float32))
                out[key].setdefault(kind, []).append(value)
                out[grad_key].setdefault(kind, []).append(grad)
        for key in ("weights", "scores", "grads", "score_grads"):
            out[key] = {kind: np.stack(v) for kind, v in out[key].items()}
        out["grad_norms"] = group_grad_norms(model.named_parameters())
        return out
    finally:
        for _, _, _, module in modules:
            module.capture_graph = False
            for name in ("last_attn_weights", "last_attn_scores"):
                if getattr(module, name) is not None:
                    setattr(module, name, getattr(module, name).detach())
        model.zero_grad()
        model.train(was_training)


SNAPSHOT_KEYS = ("weights", "scores", "grads", "score_grads")


class AttentionRecorder:
    """Training callback: snapshots of one probe example's attention over training.

    At the start of training and at every evaluation (and every ``every`` steps
    if given) it stores a snapshot dict: "step", "held_out_exact" (of that
    evaluation, else None), and "weights", "scores", "grads" (dL/dA) and
    "score_grads" (dL/dS), each kind -> (layers, heads, Tq, Tk). ``example`` defaults to the task's first held-out pair.
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
        self.labels = attn.row_labels(run.task.attention_view(self.example), self.example)
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
                    **{k: captured[k] for k in SNAPSHOT_KEYS}}
        if self.snapshots and self.snapshots[-1]["step"] == snapshot["step"]:
            if held_out_exact is None:
                snapshot["held_out_exact"] = self.snapshots[-1]["held_out_exact"]
            self.snapshots[-1] = snapshot
        else:
            self.snapshots.append(snapshot)
        return captured


HISTORY_POINTS = 2000  # gradient-norm points kept: between this and twice this
PICTURES_STATE = "pictures.ma"   # RunPictures' records, in the run folder


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
        self._restore(run)
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

    def on_checkpoint(self, run):
        """Keep the records in the run folder (``pictures.ma``) with each checkpoint, so
        that a resumed run draws its whole history, not just the stretch since."""
        ma.save({"snapshots": self.snapshots, "grad_history": self.grad_history,
                 "probe_norms": self._probe_norms, "stride": self._stride},
                Path(run.dir) / PICTURES_STATE)

    def _restore(self, run):
        """The records of a resumed run up to its checkpoint's step (none: start here)."""
        path = Path(run.dir) / PICTURES_STATE
        if run.step == 0 or not path.is_file():
            return
        try:
            state = ma.load(path)
        except (ValueError, OSError) as error:   # the pictures then start at this step
            print(f"microattn: the pictures' history is unreadable, so they start at step "
                  f"{run.step}: {error}", file=sys.stderr)
            return
        self.snapshots = [s for s in state["snapshots"] if s["step"] <= run.step]
        self.grad_history = [tuple(h) for h in state["grad_history"] if h[0] <= run.step]
        self._probe_norms = [tuple(h) for h in state["probe_norms"] if h[0] <= run.step]
        self._stride = int(state["stride"])


def _draw(name, timings, fn):
    start = time.perf_counter()
    try:
        return fn()
    except OSError:  # a full or read-only disk is the run's fault to report, not a picture's
        raise
    except subprocess.CalledProcessError as error:
        if error.returncode in (-signal.SIGINT, 128 + signal.SIGINT):   # Ctrl-C reached dot
            raise KeyboardInterrupt from error
        print(f"microattn: could not draw {name}: {type(error).__name__}: {error}",
              file=sys.stderr)
        return None
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


def _attention_pictures(out, recorder, png, written, task_name):
    """attention.png, attention_gradients.png, attention_strip.png and attention.gif
    from the recorder's snapshots (``png(name, make)`` draws and writes one PNG)."""
    snaps, labels, expected = recorder.snapshots, recorder.labels, recorder.expected
    shown = [{**s, "weights": attn.masked_weights(s)} for s in snaps]  # masked: grey
    last = shown[-1]
    png("attention.png", lambda: attn.plot_attention_grid(
        last["weights"], labels, expected, title=f"{task_name}: attention at "
        f"{attn.snapshot_title(last)}"))
    kind, layer, head = attn.choose_head(last, expected)
    mask = expected[1] if expected is not None and expected[0] == kind else None
    q, k = labels.get(kind, (None, None))
    png("attention_gradients.png", lambda: attn.plot_attention_gradients(
        *(last[key][kind][layer, head] for key in SNAPSHOT_KEYS), q, k, mask,
        title=f"{attn.KIND_TITLES.get(kind, kind)}, layer {layer} head {head}, "
              f"{attn.snapshot_title(last)}"))
    png("attention_strip.png", lambda: attn.plot_attention_strip(
        shown, labels, expected, kind, layer, head))
    path = _draw("attention.gif", recorder.timings,
                 lambda: attn.save_attention_gif(shown, labels, out / "attention.gif", expected))
    if path:
        written["attention.gif"] = Path(path)


def _report_graph(run, recorder, out, written):
    """graph.svg (every op) into the run folder, and the compact graph's SVG for the
    report (None when Graphviz's dot is missing or drawing failed)."""
    timings = recorder.timings
    graphs = _draw("the graph of a step", timings,
                   lambda: step_graphs(run.model, run.task, recorder.example))
    path = graphs and _draw("graph.svg", timings,
                            lambda: Path(save_graph(graphs[0], out / "graph.svg")))
    if not path:
        return None
    written[path.name] = path
    if path.suffix != ".svg":
        return None
    return _draw("report graph", timings, lambda: graphs[1].pipe(format="svg").decode("utf-8"))


def write_pictures(run, recorder):
    """Draw every picture and report.html into ``run.dir`` from a RunPictures'
    records. Returns {file name: path written}."""
    out = Path(run.dir)
    out.mkdir(parents=True, exist_ok=True)
    written, pngs = {}, {}
    metrics = list(getattr(run, "metrics", None) or [])
    if not metrics and (out / "metrics.jsonl").exists():
        metrics = read_metrics(out / "metrics.jsonl")
    task_name = getattr(run.task, "name", "run")
    history = recorder.grad_history or recorder._probe_norms

    def png(name, make):
        fig = _draw(name, recorder.timings, make)
        if fig is not None:
            pngs[name] = attn.figure_png(fig)
            write_atomic(out / name, pngs[name])
            written[name] = out / name

    if metrics:
        png("loss.png", lambda: plot_curves(metrics, title=f"{task_name}: training"))
    if recorder.snapshots:
        _attention_pictures(out, recorder, png, written, task_name)
    if history:
        png("gradflow.png", lambda: plot_gradient_flow(history, title=f"{task_name}: "
                                                       "gradient flow"))
    graph_svg = None if recorder.example is None else _report_graph(run, recorder, out, written)
    rows = (_draw("examples", recorder.timings, lambda: recorder.examples(run))
            if recorder.examples else None)
    html = _draw("report.html", recorder.timings, lambda: render_report(
        title=f"microattn run: {task_name}", config=_config_dict(getattr(run, "config", None)),
        metrics=metrics, pngs=pngs, snapshots=recorder.snapshots, labels=recorder.labels,
        expected=recorder.expected, graph_svg=graph_svg, examples=rows))
    if html is not None:
        write_atomic(out / "report.html", html)
        written["report.html"] = out / "report.html"
    if not recorder.quiet:
        print(f"pictures: {', '.join(str(p) for p in written.values())}")
    return written
