"""report.html: one self-contained page per run that opens offline in any browser.

Pictures are inline (PNG as base64, the graph as SVG); the attention explorer
is a small inline script that draws heatmaps on a canvas from the recorded
snapshots (embedded as JSON), with a slider over the recorded steps and
selectors for attention kind, layer and head. Nothing is fetched: no CDN, no
font, no network.
"""
import base64
import html
import json
import re

import matplotlib
import numpy as np

from .attention import (KIND_TITLES, RULE, choose_head, kinds_in, masked_weights,
                        snapshot_title)

_MAX_STEPS = 60  # snapshots embedded in the page at most (evenly spaced, last kept)


def _lut(name, n=64):
    """A colour map as n '#rrggbb' strings, so the page colours exactly as the PNGs."""
    cmap = matplotlib.colormaps[name]
    return ["#%02x%02x%02x" % tuple(int(round(255 * c)) for c in cmap(i / (n - 1))[:3])
            for i in range(n)]


def _rounded(array, digits=3):
    """A nested list of floats rounded for the page; -inf/nan (masked) become null."""
    a = np.asarray(array, dtype=np.float64)
    rounded = np.round(a, digits).astype(object)
    rounded[~np.isfinite(a)] = None
    return rounded.tolist()


def _attention_data(snapshots, labels, expected):
    picks = np.unique(np.linspace(0, len(snapshots) - 1, min(_MAX_STEPS, len(snapshots)))
                      .round().astype(int))
    chosen = [snapshots[i] for i in picks]
    kinds = kinds_in(chosen[0]["weights"])
    data = {
        "kinds": kinds,
        "kindTitles": {k: KIND_TITLES.get(k, k) for k in kinds},
        "labels": {k: [list(map(str, q)), list(map(str, kk))]
                   for k, (q, kk) in (labels or {}).items() if k in kinds},
        "titles": [snapshot_title(s) for s in chosen],
        "shape": {k: list(np.asarray(chosen[0]["weights"][k]).shape[:2]) for k in kinds},
        "expected": None,
        # Open on the head that ends closest to the expected pattern.
        "start": choose_head({"weights": masked_weights(chosen[-1])}, expected),
        "luts": {"viridis": _lut("viridis"), "magma": _lut("magma"), "RdBu_r": _lut("RdBu_r")},
    }
    if expected is not None:
        data["expected"] = {"kind": expected[0],
                            "mask": np.asarray(expected[1], dtype=int).tolist()}
    for key in ("weights", "scores", "grads", "score_grads"):
        data[key] = {k: [_significant(s[key][k]) if "grads" in key else
                         _rounded(s[key][k], 3 if key == "weights" else 4) for s in chosen]
                     for k in kinds}
    return data


def _significant(array, digits=3):
    """Gradients rounded to ``digits`` significant figures (they span orders of
    magnitude, so fixed decimals would round the late ones to 0)."""
    a = np.asarray(array, dtype=np.float64)
    rounded = np.array([float(f"{v:.{digits}g}") if np.isfinite(v) else 0.0 for v in a.ravel()])
    out = rounded.reshape(a.shape).astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def script_json(value):
    """``value`` as JSON that is safe inside a <script> element: <, >, & and the
    line separators U+2028/9 escaped, so no data can close the element, open a
    comment or end a JavaScript string."""
    text = json.dumps(value, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _png_tag(pngs, name, alt):
    if name not in pngs:
        return f"<p class='missing'>{html.escape(name)} was not drawn.</p>"
    data = base64.b64encode(pngs[name]).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _inline_svg(svg):
    """Graphviz's SVG without the XML prolog and DOCTYPE (whose DTD URL a browser
    could try to fetch), ready to sit inside the page."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S).strip()


def _config_table(config):
    if not config:
        return "<p class='missing'>No config recorded.</p>"
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in config.items())
    return f"<table class='config'>{rows}</table>"


def _examples_table(rows):
    if not rows:
        return "<p class='missing'>No held-out examples were given.</p>"
    has_answers = any(r.get("answer") is not None for r in rows)
    head = "<tr><th>input</th><th>expected</th>" + (
        "<th>model's answer</th><th></th>" if has_answers else "") + "</tr>"
    body = []
    for r in rows:
        cells = [" ".join(map(str, r["source"])), " ".join(map(str, r["target"]))]
        line = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        if has_answers:
            answer = r.get("answer")
            right = answer is not None and list(answer) == list(r["target"])
            line += (f"<td>{html.escape(' '.join(map(str, answer or [])))}</td>"
                     f"<td class='{'ok' if right else 'bad'}'>{'right' if right else 'wrong'}"
                     "</td>")
        body.append(f"<tr>{line}</tr>")
    note = "" if has_answers else (
        "<p class='missing'>The task gives no predictions (task.predict), so only inputs "
        "and expected outputs are listed.</p>")
    return f"<table class='examples'>{head}{''.join(body)}</table>{note}"


def _final_metrics(metrics):
    if not metrics:
        return ""
    last = metrics[-1]
    parts = [f"step {last.get('step')}"]
    for key, name in (("loss", "loss"), ("held_out_exact", "held-out exact match"),
                      ("held_out_token_acc", "token accuracy"), ("alignment", "alignment")):
        if last.get(key) is not None:
            parts.append(f"{name} {last[key]:.4g}")
    return "<p class='final'>Last evaluation: " + html.escape(" · ".join(parts)) + "</p>"


def render_report(title, config, metrics, pngs, snapshots, labels, expected, graph_svg,
                  examples):
    """The report page as one HTML string (see the module docstring)."""
    data = _attention_data(snapshots, labels, expected) if snapshots else None
    explorer = ("<p class='missing'>No attention snapshots were recorded.</p>" if data is None
                else _EXPLORER.format(rule=html.escape(RULE)))
    graph = (f"<div class='graph'>{_inline_svg(graph_svg)}</div>" if graph_svg else
             "<p class='missing'>No graph.svg: Graphviz's dot was missing (graph.dot is in "
             "the run folder).</p>")
    page = _PAGE.format(
        title=html.escape(title), style=_STYLE, final=_final_metrics(metrics),
        config=_config_table(config), curves=_png_tag(pngs, "loss.png", "training curves"),
        explorer=explorer, grid=_png_tag(pngs, "attention.png", "final attention grid"),
        strip=_png_tag(pngs, "attention_strip.png", "attention over training"),
        gradflow=_png_tag(pngs, "gradflow.png", "gradient flow"), graph=graph,
        examples=_examples_table(examples),
        data=script_json(data), script=_SCRIPT)
    return page


_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 0 18px 40px; color: #222; }
h1 { font-size: 22px; margin: 18px 0 4px; } h2 { font-size: 17px; margin: 26px 0 8px;
     border-bottom: 1px solid #ddd; padding-bottom: 3px; }
img { max-width: 100%; height: auto; } .missing { color: #888; font-style: italic; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.config th { background: #f6f6f6; font-weight: 600; }
td.ok { color: #1a7f37; } td.bad { color: #cf222e; }
.controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin: 6px 0 10px; }
.controls label { display: flex; gap: 6px; align-items: center; }
#step { width: 320px; } canvas { background: #fff; } #steptitle { font-weight: 600; min-width: 240px; }
.panels { display: flex; flex-wrap: wrap; gap: 18px; }
.panel { margin: 0; } .panel figcaption { text-align: center; font-size: 13px; color: #444;
                                        max-width: 260px; margin: 0 auto; }
.graph { overflow: auto; max-height: 900px; border: 1px solid #eee; }
.wide { overflow-x: auto; } .wide img { max-width: none; }  /* every head at full size */
.hint { color: #555; font-size: 13px; max-width: 900px; }
.readout { font: 13px ui-monospace, monospace; min-height: 1.4em; margin: 2px 0; }
"""

_EXPLORER = """
<div class="controls">
  <label>step <input type="range" id="step" min="0" value="0"></label>
  <span id="steptitle"></span>
  <label>attention <select id="kind"></select></label>
  <label>layer <select id="layer"></select></label>
  <label>head <select id="head"></select></label>
  <label><input type="checkbox" id="overlay" checked> expected pattern</label>
  <label><input type="checkbox" id="symlog"> symmetric-log gradient scale</label>
</div>
<div class="panels">
  <figure class="panel"><canvas id="weights"></canvas><figcaption>weights A = softmax(S)
    (dark 0, yellow 1; grey hatched: masked)</figcaption></figure>
  <figure class="panel"><canvas id="scores"></canvas><figcaption>scores S = Q K<sup>T</sup> /
    &radic;d<sub>k</sub> (logits)<br><span id="scores-range"></span></figcaption></figure>
  <figure class="panel"><canvas id="grads"></canvas><figcaption>dL/dA (loss per unit
    weight)<br><span id="grads-range"></span></figcaption></figure>
  <figure class="panel"><canvas id="score_grads"></canvas><figcaption>dL/dS, what the
    scores receive (loss per unit score)<br><span id="score_grads-range"></span>
    </figcaption></figure>
</div>
<p id="readout" class="readout"></p>
<p class="hint">Rows are queries (the position doing the looking; a decoder row is named by
the token it writes, the token it reads after the arrow), columns are keys (the positions
looked at). The red outline is where the task says the answer lives. {rule} Each panel keeps
one colour scale for every step of the slider (white is 0 for the gradients), so gradients
that shrink as training goes on fade.</p>
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
<h1>{title}</h1>
{final}
<h2>Attention as it formed</h2>
{explorer}
<h2>Training curves</h2>
{curves}
<h2>Attention at the end of training (every layer and head)</h2>
<div class='wide'>{grid}</div>
<h2>One head over training</h2>
{strip}
<h2>Gradient flow</h2>
{gradflow}
<h2>Computation graph of one training step</h2>
<p class="hint">Repeated blocks are drawn once ("x N"); Linear, LayerNorm and embedding
layers are drawn as boxes (graph.svg in the run folder has every op); parameters are coloured
by the log of their gradient norm (blue small, red large).</p>
{graph}
<h2>Held-out examples</h2>
{examples}
<h2>Config</h2>
{config}
<script id="data" type="application/json">{data}</script>
<script>{script}</script>
</body></html>
"""

_SCRIPT = r"""
(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  if (!D) return;
  var $ = function (id) { return document.getElementById(id); };
  var step = $('step'), kind = $('kind'), layer = $('layer'), head = $('head');
  function options(select, values, names) {
    var keep = select.value; select.innerHTML = '';
    values.forEach(function (v, i) {
      var o = document.createElement('option'); o.value = v; o.textContent = names ? names[i] : v;
      select.appendChild(o);
    });
    if (values.map(String).indexOf(keep) >= 0) select.value = keep;
  }
  options(kind, D.kinds, D.kinds.map(function (k) { return D.kindTitles[k]; }));
  kind.value = D.start[0];
  step.max = D.titles.length - 1; step.value = D.titles.length - 1;
  function range(n) { var r = []; for (var i = 0; i < n; i++) r.push(i); return r; }
  options(layer, range(D.shape[D.start[0]][0])); layer.value = D.start[1];
  options(head, range(D.shape[D.start[0]][1])); head.value = D.start[2];
  function colour(lut, t) {
    t = Math.max(0, Math.min(1, t)); return lut[Math.round(t * (lut.length - 1))];
  }
  // scale(v) -> 0..1: linear between lo and hi, or for gradients symmetric about 0,
  // optionally symmetric-log (linear within big / 1000 of zero).
  function linear(lo, hi) { return function (v) { return (v - lo) / ((hi - lo) || 1); }; }
  function symmetric(big, log) {
    if (!log) return linear(-big, big);
    var lin = big / 1000, f = function (x) { return Math.sign(x) * Math.log10(1 + Math.abs(x) / lin); };
    return function (v) { return 0.5 + 0.5 * f(v) / f(big); };
  }
  // m: the matrix; blocked: a matrix whose null entries are masked (grey, hatched)
  function draw(canvas, m, lut, scale, qLabels, kLabels, mask, blocked) {
    var tq = m.length, tk = m[0].length;
    var cell = Math.max(10, Math.min(26, Math.floor(240 / Math.max(tq, tk))));
    var longest = function (a) { return Math.max.apply(null, a.map(function (s) { return s.length; })); };
    var left = 8 + 7 * longest(qLabels), top = 8 + 7 * longest(kLabels);
    canvas.width = left + tk * cell + 4; canvas.height = top + tq * cell + 4;
    canvas.geometry = {left: left, top: top, cell: cell, tq: tq, tk: tk};  // for the readout
    var c = canvas.getContext('2d');
    c.fillStyle = '#fff'; c.fillRect(0, 0, canvas.width, canvas.height);
    c.font = '11px sans-serif';
    for (var i = 0; i < tq; i++) {
      c.fillStyle = '#222'; c.textAlign = 'right'; c.textBaseline = 'middle';
      c.fillText(qLabels[i], left - 4, top + (i + 0.5) * cell);
      for (var j = 0; j < tk; j++) {
        var x = left + j * cell, y = top + i * cell;
        if (blocked[i][j] === null || m[i][j] === null) {
          c.fillStyle = '#d0d0d0'; c.fillRect(x, y, cell, cell);
          c.strokeStyle = '#9a9a9a'; c.lineWidth = 1; c.beginPath();
          c.moveTo(x, y + cell); c.lineTo(x + cell, y); c.stroke();
        } else {
          c.fillStyle = colour(lut, scale(m[i][j])); c.fillRect(x, y, cell, cell);
        }
      }
    }
    c.fillStyle = '#222';
    for (var j2 = 0; j2 < tk; j2++) {
      c.save(); c.translate(left + (j2 + 0.5) * cell, top - 4); c.rotate(-Math.PI / 2);
      c.textAlign = 'left'; c.textBaseline = 'middle'; c.fillText(kLabels[j2], 0, 0); c.restore();
    }
    if (mask) {
      c.strokeStyle = '#ff3b30'; c.lineWidth = 2;
      for (var a = 0; a < tq; a++) for (var b = 0; b < tk; b++)
        if (mask[a] && mask[a][b])
          c.strokeRect(left + b * cell + 1, top + a * cell + 1, cell - 2, cell - 2);
    }
  }
  // The extent of one head's matrices over every step: one colour scale per series.
  function extent(series, l, h) {
    var lo = Infinity, hi = -Infinity, big = 0;
    series.forEach(function (snap) { snap[l][h].forEach(function (row) { row.forEach(function (v) {
      if (v === null) return;
      lo = Math.min(lo, v); hi = Math.max(hi, v); big = Math.max(big, Math.abs(v));
    }); }); });
    return {lo: lo, hi: hi, big: big || 1};
  }
  function largest(m) {
    var big = 0;
    m.forEach(function (row) { row.forEach(function (v) { if (v !== null) big = Math.max(big, Math.abs(v)); }); });
    return big;
  }
  var shown = null;
  function render() {
    var k = kind.value, shape = D.shape[k];
    options(layer, range(shape[0])); options(head, range(shape[1]));
    var s = +step.value, l = +layer.value, h = +head.value, log = $('symlog').checked;
    $('steptitle').textContent = D.titles[s];
    var labels = D.labels[k] || [[], []];
    var w = D.weights[k][s][l][h], sc = D.scores[k][s][l][h];
    var g = D.grads[k][s][l][h], gs = D.score_grads[k][s][l][h];
    var q = labels[0].length ? labels[0] : range(w.length).map(String);
    var kk = labels[1].length ? labels[1] : range(w[0].length).map(String);
    var overlay = $('overlay').checked && D.expected && D.expected.kind === k;
    var mask = overlay ? D.expected.mask : null;
    draw($('weights'), w, D.luts.viridis, linear(0, 1), q, kk, mask, sc);
    var e = extent(D.scores[k], l, h);
    draw($('scores'), sc, D.luts.magma, linear(e.lo, e.hi), q, kk, null, sc);
    $('scores-range').textContent = 'black ' + e.lo.toPrecision(3) + ' to yellow ' +
      e.hi.toPrecision(3) + ' (every step)';
    [['grads', g, 'dL/dA'], ['score_grads', gs, 'dL/dS']].forEach(function (p) {
      var eg = extent(D[p[0]][k], l, h);
      draw($(p[0]), p[1], D.luts.RdBu_r, symmetric(eg.big, log), q, kk, mask, sc);
      $(p[0] + '-range').textContent = 'largest |' + p[2] + '| here ' +
        largest(p[1]).toPrecision(3) + '; scale \u00b1' + eg.big.toPrecision(3) +
        (log ? ' (symmetric-log)' : '') + ', blue to red, every step';
    });
    shown = {w: w, sc: sc, g: g, gs: gs, q: q, k: kk};
  }
  function readout(event) {
    var geo = event.target.geometry, r = event.target.getBoundingClientRect();
    var i = Math.floor((event.clientY - r.top - geo.top) / geo.cell);
    var j = Math.floor((event.clientX - r.left - geo.left) / geo.cell);
    if (!shown || i < 0 || j < 0 || i >= geo.tq || j >= geo.tk) {
      $('readout').textContent = ''; return;
    }
    var masked = shown.sc[i][j] === null;
    var f = function (v) { return masked || v === null ? 'masked' : (+v).toPrecision(3); };
    $('readout').textContent = 'query ' + i + ' "' + shown.q[i] + '" -> key ' + j + ' "' +
      shown.k[j] + '":  A = ' + f(shown.w[i][j]) + ',  S = ' + f(shown.sc[i][j]) +
      ',  dL/dA = ' + f(shown.g[i][j]) + ',  dL/dS = ' + f(shown.gs[i][j]);
  }
  ['weights', 'scores', 'grads', 'score_grads'].forEach(function (id) {
    $(id).addEventListener('mousemove', readout);
  });
  [step, kind, layer, head, $('overlay'), $('symlog')].forEach(function (el) {
    el.addEventListener('input', render); el.addEventListener('change', render);
  });
  render();
})();
"""
