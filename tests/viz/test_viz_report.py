"""Markup and code from data stay data: hostile tokens, task names, descriptions and
module names in report.html (opened in headless Chromium), in Graphviz labels and
in matplotlib labels."""
import shutil

import numpy as np

import microattn as ma
from microattn import nn
from microattn.viz import attention as attn, draw_graph
from microattn.viz.report import render_report, script_json
from viz_helpers import require

HOSTILE = ["<!--<script>", "</script><script>window.pwned = 1</script>",
           "<img src=x onerror='window.pwned = 2'>", "\u2028'\";window.pwned = 3;//",
           "&lt;b&gt;", "{title}", "$\\notacommand$", " ", "\n"]
KIND = "<script>window.pwned = 4</script>"


class Hostile(nn.Module):
    """A model whose module path looks like an HTML label and a script."""

    def __init__(self):
        super().__init__()
        self.add_module("<x>", nn.Linear(3, 3))
        self.add_module("<script>window['pwned']=5</script>", nn.Linear(3, 1))

    def forward(self, x):
        return getattr(self, "<script>window['pwned']=5</script>")(getattr(self, "<x>")(x))


def hostile_graph():
    model = Hostile()
    loss = model(ma.randn(2, 3)).sum()
    loss.backward()
    return draw_graph(loss, params=model)


def hostile_report():
    rng = np.random.default_rng(0)
    t = len(HOSTILE)

    def snapshot(step):
        scores = rng.normal(size=(1, 1, t, t))
        weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
        grads = rng.normal(size=scores.shape) * 10.0 ** -step
        return {"step": step, "held_out_exact": None,
                **{key: {kind: value for kind in ("decoder", KIND)} for key, value in
                   (("weights", weights), ("scores", scores), ("grads", grads),
                    ("score_grads", weights * (grads - (weights * grads).sum(-1, keepdims=True))))}}
    labels = {kind: ([attn.readable(h) for h in HOSTILE], [attn.readable(h) for h in HOSTILE])
              for kind in ("decoder", KIND)}
    graph = hostile_graph()
    return render_report(
        title="microattn run: <script>window.pwned = 6</script>",
        config={"task": "</td><script>window.pwned = 7</script>",
                "description": "<!-- \u2029 <b onmouseover=window.pwned=8>x</b>"},
        metrics=[{"step": 0, "loss": 1.0}], pngs={}, snapshots=[snapshot(0), snapshot(1)],
        labels=labels, expected=None, graph_svg=graph.pipe(format="svg").decode("utf-8"),
        examples=[{"source": HOSTILE, "target": HOSTILE, "answer": HOSTILE[::-1]}])


def test_script_json_cannot_close_its_element():
    text = script_json({"a": "</script><!--<script>&\u2028\u2029"})
    assert not any(c in text for c in "<>&\u2028\u2029")


def test_hostile_strings_stay_text_in_the_browser(browser, tmp_path):
    require("Graphviz's dot", shutil.which("dot"))
    path = tmp_path / "report.html"
    path.write_text(hostile_report(), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.hover("table.examples")
    assert page.evaluate("window.pwned") is None and errors == [] and dialogs == []
    assert page.title() == "microattn run: <script>window.pwned = 6</script>"
    # The explorer works, and the data reached it unchanged.
    assert page.inner_text("#steptitle") == "step 1"
    assert page.eval_on_selector("#weights", "c => c.width") > 100
    labels = page.evaluate("JSON.parse(document.getElementById('data').textContent).labels")
    assert labels["decoder"][0] == [attn.readable(h) for h in HOSTILE]
    kinds = page.eval_on_selector_all("#kind option", "os => os.map(o => o.textContent)")
    assert KIND in kinds
    page.select_option("#kind", KIND)
    assert page.evaluate("window.pwned") is None and errors == []
    assert "</td><script>" in page.inner_text("table.config")
    assert "<x>" in page.inner_text(".graph")
    page.close()


def test_graphviz_labels_are_text_not_html():
    require("Graphviz's dot", shutil.which("dot"))
    svg = hostile_graph().pipe(format="svg").decode("utf-8")
    assert "&lt;x&gt;" in svg and "<script>" not in svg
    weight = ma.randn(3, requires_grad=True)
    alone = draw_graph((weight * 2).sum(), params={"<x>": weight}, show_shapes=False)
    assert "&lt;x&gt;" in alone.pipe(format="svg").decode("utf-8")  # a label, not HTML


def test_tokens_are_drawn_as_plain_text():
    weights = np.full((len(HOSTILE), len(HOSTILE)), 1 / len(HOSTILE))
    labels = [attn.readable(h) for h in HOSTILE]
    fig = attn.plot_attention(weights, labels, labels, title="$\\notacommand$")
    attn.figure_png(fig)  # mathtext would raise on \notacommand
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[-3:] == ["$\\notacommand$", "\u2423", "\u21b5"]  # space, newline: visible
