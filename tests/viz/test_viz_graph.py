"""draw_graph: names, shapes, clusters, gradient norms, folding, depth, budget, rendering."""
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F, nn
from microattn.models import GPT
from microattn.viz import draw_graph, graph as graph_module, save_graph
from viz_helpers import require

V = 11


def gpt_loss(layers, backward=False):
    ma.manual_seed(0)
    model = GPT(V, 16, 2, layers, 12)
    idx = np.random.default_rng(0).integers(0, V, (2, 8))
    loss = F.cross_entropy(model(idx).reshape(-1, V), idx.reshape(-1))
    if backward:
        loss.backward()
    return model, loss


def node_statements(source):
    """Node ids declared in DOT source (lines like `n12 [label=...]`)."""
    return re.findall(r"^\s*([nb]\d+) \[", source, flags=re.M)


def shape_text(shape):
    return "(" + ", ".join(map(str, shape)) + ")"


def test_every_parameter_is_named_with_its_shape():
    model, loss = gpt_loss(2)
    source = draw_graph(loss, params=model, fold_repeats=False).source
    params = list(model.named_parameters())
    assert len(params) == 37
    for name, p in params:
        assert f"{name}\n{shape_text(p.shape)} float32" in source, name


def test_clusters_for_each_block_and_attention_module_labelled_by_class():
    model, loss = gpt_loss(2)
    source = draw_graph(loss, params=model, fold_repeats=False).source
    for i in range(2):
        assert f"subgraph cluster_blocks_{i} {{" in source
        assert f"label=\"blocks.{i}: TransformerEncoderLayer\"" in source
        assert f"subgraph cluster_blocks_{i}_self_attn {{" in source
        assert f"label=\"blocks.{i}.self_attn: MultiheadAttention\"" in source
    assert "cluster_blocks {" not in source  # a ModuleList runs nothing: no cluster
    # Ops sit in the cluster of the module that ran them: the fused attention op is
    # inside each block's self_attn cluster.
    body = source.split("subgraph cluster_blocks_1_self_attn {", 1)[1]
    assert "ScaledDotProductAttention" in body.split("subgraph cluster_blocks_1_norm2", 1)[0]


def test_max_depth_2_cuts_the_node_count_at_least_five_fold():
    model, loss = gpt_loss(2)
    full = draw_graph(loss, params=model, fold_repeats=False)
    cut = draw_graph(loss, params=model, fold_repeats=False, max_depth=2)
    assert len(node_statements(full.source)) == full.node_count == 84
    assert len(node_statements(cut.source)) == cut.node_count
    assert full.node_count >= 5 * cut.node_count
    assert "blocks.0\nTransformerEncoderLayer" in cut.source  # the block is one box
    assert "MatmulBackward" not in cut.source and "Softmax" not in cut.source


def test_gradient_norms_on_parameter_nodes_after_backward():
    model, loss = gpt_loss(2)
    assert "|grad|" not in draw_graph(loss, params=model).source
    loss.backward()
    source = draw_graph(loss, params=model, fold_repeats=False).source
    for name, p in model.named_parameters():
        norm = np.linalg.norm(np.asarray(p.grad, dtype=np.float64))
        assert f"{name}\n{shape_text(p.shape)} float32\n|grad| {norm:.2e}" in source, name
    assert "fill: log10 |grad|" in source  # the legend of the colour scale
    # The key projection's bias gets (almost) no gradient: softmax ignores a constant
    # shift of the scores. It is drawn in the "vanishing" blue, unlike the query's.
    fills = dict(re.findall(r'label="([^"]+)"[^\]]*fillcolor="(#[0-9a-f]{6})"', source))
    kb = next(c for label, c in fills.items() if label.startswith("blocks.0.self_attn.k_proj.bias"))
    assert kb == "#3b4cc0"


def test_six_blocks_fold_into_one_labelled_x6():
    model, loss = gpt_loss(6, backward=True)
    g = draw_graph(loss, params=model)
    source = g.source
    assert source.count(" x 6") == 1
    assert 'label="blocks.[0-5]: TransformerEncoderLayer x 6"' in source
    assert "cluster_blocks_0 {" in source
    assert not any(f"cluster_blocks_{i} " in source for i in range(1, 6))
    assert "blocks.[0-5].self_attn.q_proj.weight\n(16, 16) float32" in source
    # Folded, six blocks draw as many nodes as two, and two as many as one block once.
    assert g.full_count == 228
    model2, loss2 = gpt_loss(2, backward=True)
    assert g.node_count == draw_graph(loss2, params=model2).node_count == 48
    # Edges in: the embedding sum feeds the first LayerNorm and residual; out: the last
    # residual Add feeds ln_f. No edge runs from the folded block back into itself.
    unfolded = draw_graph(loss, params=model, fold_repeats=False)
    assert unfolded.node_count == 228


def test_collapse_by_class_and_without_folding():
    model, loss = gpt_loss(2)
    g = draw_graph(loss, params=model, collapse=("MultiheadAttention",), fold_repeats=False)
    assert g.source.count("\nMultiheadAttention\n") == 2
    assert "ScaledDotProductAttention" not in g.source
    assert "LayerNorm\n(2, 8, 16)" in g.source  # the rest stays open
    with pytest.raises(ValueError, match="needs the classes"):
        draw_graph(loss, params=dict(model.named_parameters()), collapse=("Linear",))


@pytest.mark.parametrize("fused", [True, False])
def test_composed_and_fused_attention_both_draw(fused):
    ma.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, fused=fused)
    x = ma.randn(1, 4, 8, requires_grad=True)
    out, _ = mha(x, x, x, is_causal=True)
    out.sum().backward()
    g = draw_graph(out, params=mha)
    ops = set(re.findall(r'label="(?:[^"\n]+ = )?([A-Za-z]+)\n\(', g.source))
    if fused:
        assert "ScaledDotProductAttention" in ops and "Softmax" not in ops
    else:
        assert {"Softmax", "Matmul", "Add"} <= ops  # the causal mask is added to the scores
        assert "ScaledDotProductAttention" not in ops
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert f"{proj}.weight\n(8, 8) float32\n|grad|" in g.source
    assert 'label="input\n(1, 4, 8) float32' in g.source


def test_a_layer_drawn_on_its_own_keeps_its_model_names():
    ma.manual_seed(0)
    model = GPT(V, 16, 2, 2, 12)
    layer = model.blocks[1]
    out = layer(ma.randn(1, 5, 16, requires_grad=True), is_causal=True)
    source = draw_graph(out, params=layer).source
    assert "blocks.1.self_attn.q_proj.weight\n(16, 16)" in source
    assert 'label="blocks.1: TransformerEncoderLayer"' in source


def test_scalar_graph_shows_values_and_grads():
    a = ma.tensor(2.0, requires_grad=True)
    b = ma.tensor(-3.0, requires_grad=True)
    c = a * b
    c.retain_grad()
    d = (c + 1.0).tanh()
    d.backward()
    source = draw_graph(d, params={"a": a, "b": b, "c": c}).source
    grad_a = (1 - np.tanh(-5.0) ** 2) * -3.0
    assert f'label="a\ndata 2\ngrad {grad_a:.4g}"' in source
    assert f'"c = Mul\ndata -6\ngrad {1 - np.tanh(-5.0) ** 2:.4g}"' in source
    assert "Tanh\ndata" in source and "(" not in source.split("Tanh", 1)[1].split('"')[0]


def test_node_budget_collapses_further_and_says_so(monkeypatch):
    model, loss = gpt_loss(2)
    monkeypatch.setattr(graph_module, "NODE_BUDGET", 20)
    with pytest.warns(UserWarning, match="84 nodes is above the budget of 20: drawn with "
                                         "max_depth=2"):
        g = draw_graph(loss, params=model, fold_repeats=False)
    assert g.node_count == 14
    assert "above the budget of 20" in g.source


def test_flat_graph_over_budget_keeps_the_part_nearest_the_output():
    x = ma.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(1600):
        y = y * 1.0001
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = draw_graph(y)
    assert g.node_count == graph_module.NODE_BUDGET
    assert any("nearest the output" in str(w.message) for w in caught)


def test_bad_arguments_raise_clear_errors():
    model, loss = gpt_loss(1)
    with pytest.raises(ValueError, match="no grad_fn"):
        draw_graph(ma.tensor([1.0]))
    with pytest.raises(ValueError, match="max_depth should be >= 1"):
        draw_graph(loss, max_depth=0)
    with pytest.raises(TypeError, match="params should be a Module or a dict"):
        draw_graph(loss, params=[1, 2])
    with pytest.raises(ValueError, match="direction"):
        draw_graph(loss, direction="up")


def test_renders_svg_and_png(tmp_path):
    require("Graphviz's dot", shutil.which("dot"))
    model, loss = gpt_loss(2, backward=True)
    g = draw_graph(loss, params=model)
    svg = save_graph(g, tmp_path / "g.svg")
    text = open(svg, encoding="utf-8").read()
    assert "<svg" in text and "blocks.[0&#45;1].self_attn.q_proj.weight" in text
    png = g.render(str(tmp_path / "g"), format="png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert g._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")


def test_without_dot_writes_the_dot_file_and_one_line(tmp_path):
    script = (
        "import microattn as ma\n"
        "from microattn.viz import draw_graph, save_graph\n"
        "x = ma.tensor([1.0, 2.0], requires_grad=True)\n"
        "g = draw_graph((x * x).sum())\n"
        f"print(g.render({str(tmp_path / 'a')!r}, format='svg'))\n"
        f"print(save_graph(g, {str(tmp_path / 'b.png')!r}))\n")
    env = {**__import__("os").environ, "PATH": str(tmp_path)}  # no dot on this PATH
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "a.dot"), str(tmp_path / "b.dot")]
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and all("install Graphviz" in line for line in lines)
    assert "Traceback" not in done.stderr
    for name in ("a.dot", "b.dot"):
        assert (tmp_path / name).read_text().startswith("digraph {")


def test_show_values_gives_min_mean_max_of_parameters():
    ma.manual_seed(0)
    lin = nn.Linear(3, 2)
    out = lin(ma.randn(4, 3))
    source = draw_graph(out, params=lin, show_values=True, show_shapes=False).source
    w = np.asarray(lin.weight.detach().numpy(), np.float64)
    assert (f'"weight\nmin {w.min():.4g} mean {w.mean():.4g} max {w.max():.4g}"' in source)
    assert "(2, 3)" not in source  # show_shapes=False


def test_flat_layout_left_to_right():
    model, loss = gpt_loss(2)
    g = draw_graph(loss, params=model, group_modules=False, direction="LR")
    assert "subgraph" not in g.source and "rankdir=LR" in g.source
    assert g.node_count == 48  # still folded, just not clustered


def test_only_identical_neighbours_fold():
    ma.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2))
    out = net(ma.randn(3, 4, requires_grad=True)).sum()
    out.backward()
    g = draw_graph(out, params=net)
    assert (g.full_count, g.node_count) == (14, 8)
    assert 'label="[0-2]: Linear x 3"' in g.source and 'label="3: Linear"' in g.source
    norms = [np.linalg.norm(np.asarray(net[i].weight.grad, np.float64)) for i in range(3)]
    assert f"[0-2].weight\n(4, 4) float32\n|grad| {min(norms):.1e}..{max(norms):.1e}" in g.source


def test_missing_tools_skip_locally_and_fail_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require("a tool", False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        require("a tool", False)
    require("a tool", True)  # present: nothing happens
