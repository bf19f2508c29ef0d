"""Attention, curve and gradient-flow pictures, the RunPictures callback and its
report.html, from models trained a few steps by the real loop (microattn.train) on two
built-in tasks: ``reverse`` (seq2seq) and ``recall`` (lm, a GPT). The report is opened
in a real browser: headless Chromium (Debian's) driven by Playwright, which skips
locally when either is missing and fails in CI (CI set)."""
import functools
import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import microattn as ma
from microattn import optim
from microattn.data import load_task
from microattn.train import Config, Run, build_model, train
from microattn.viz import attention as attn
from microattn.viz.curves import (group_grad_norms, parameter_group, plot_curves,
                                  plot_gradient_flow, read_metrics)
from microattn.models import attention_modules
from microattn.viz.recorder import RunPictures, capture_attention

STEPS, EVAL_EVERY = 12, 4
SNAPSHOTS = 1 + STEPS // EVAL_EVERY  # one at the start, one per evaluation
# A tiny model at a constant learning rate: enough steps to move the weights, no more.
TINY = dict(d_model=16, heads=2, layers=2, ff=32, batch_size=16, lr=3e-3, warmup=0,
            schedule="constant")
PICTURES = ("loss.png", "attention.png", "attention_gradients.png", "attention.gif",
            "attention_strip.png", "gradflow.png", "graph.svg", "report.html")


def pixels(fig):
    """The pixel size a Figure saves at (savefig keeps the figure's size and dpi)."""
    w, h = fig.get_size_inches() * fig.dpi
    return round(w), round(h)


@functools.lru_cache(maxsize=None)
def task_named(name):
    return load_task(name)


def config_for(task, **changes):
    return Config.for_task(task, **{**TINY, **changes})


def tiny_model(name, **changes):
    task = task_named(name)
    return task, build_model(task, config_for(task, **changes))


def train_run(name, run_dir, callbacks, steps=STEPS, eval_every=EVAL_EVERY, model=None,
              **changes):
    """A run of the real loop on the built-in task ``name`` (optionally with another
    ``model``, trained by AdamW at a constant rate)."""
    task = task_named(name)
    run = Run.create(config_for(task, steps=steps, eval_every=eval_every, save_every=steps,
                                **changes), run_dir, task)
    if model is not None:
        run.model = model
        run.optimizer = optim.AdamW(model.parameters(), lr=run.config.lr)
        run.scheduler = optim.lr_scheduler.LambdaLR(run.optimizer, lambda step: 1.0)
    return train(run, callbacks)


@pytest.fixture(scope="module", params=["reverse", "recall"])
def trained(request, tmp_path_factory):
    pictures = RunPictures(quiet=True)
    run = train_run(request.param, tmp_path_factory.mktemp(request.param) / "run", [pictures])
    return run, pictures


def test_every_picture_is_written(trained):
    run, pictures = trained
    for name in PICTURES:
        assert (run.dir / name).stat().st_size > 1000, name
    assert set(pictures.written) == set(PICTURES)


def test_snapshots_record_every_attention_module(trained):
    run, pictures = trained
    snaps = pictures.snapshots
    assert [s["step"] for s in snaps] == [0, 4, 8, 12]
    assert [s["held_out_exact"] for s in snaps] == [None] + [m["held_out_exact"]
                                                            for m in run.metrics]
    kinds = {"seq2seq": {"encoder", "decoder", "cross"}, "lm": {"decoder"}}[run.task.kind]
    for snap in snaps:
        assert set(snap["weights"]) == kinds
        for kind, w in snap["weights"].items():
            q, k = pictures.labels[kind]
            assert w.shape == (2, 2, len(q), len(k))
            assert snap["scores"][kind].shape == snap["grads"][kind].shape == w.shape
            np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    # The weights moved while training, and dL/dA is not zero.
    first, last = snaps[0]["weights"], snaps[-1]["weights"]
    assert any(np.abs(first[k] - last[k]).max() > 1e-3 for k in first)
    assert all(np.abs(snaps[-1]["grads"][k]).max() > 0 for k in first)
    # Causal self-attention: the future is masked (score -inf, weight 0).
    dec = snaps[-1]["scores"]["decoder"]
    upper = np.triu(np.ones(dec.shape[-2:], bool), 1)
    assert np.isneginf(dec[..., upper]).all() and np.isfinite(dec[..., ~upper]).all()


def test_pixel_sizes_and_frames(trained):
    run, pictures = trained
    snaps, labels, expected = pictures.snapshots, pictures.labels, pictures.expected
    last = snaps[-1]
    sizes = {
        "attention.png": pixels(attn.plot_attention_grid(last["weights"], labels, expected,
                                                         title="a title")),
        "attention_strip.png": pixels(attn.plot_attention_strip(snaps, labels, expected)),
        "loss.png": pixels(plot_curves(run.metrics, title="a title")),
        "gradflow.png": pixels(plot_gradient_flow(pictures.grad_history)),
    }
    for name, (width, height) in sizes.items():
        with Image.open(run.dir / name) as image:
            assert abs(image.size[0] - width) <= 1 and abs(image.size[1] - height) <= 1, name
            assert image.size[0] >= 500 and image.size[1] >= 300, name  # readable
    with Image.open(run.dir / "attention.gif") as gif:
        assert gif.n_frames == len(snaps) == SNAPSHOTS
        width, height = gif.size
        assert width >= 500 and height >= 400
    # The grid: the kinds stacked, each layers x heads panels; at most 1,600 px wide.
    kinds = len(last["weights"])
    with Image.open(run.dir / "attention.png") as image:
        assert image.size[0] <= 1600 and image.size[1] > kinds * 2 * 1.5 * 110


def test_heatmap_with_labels_annotations_and_expected_outline():
    weights = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    fig = attn.plot_attention(weights, ["a", "b"], ["x", "y", "z"], title="one head",
                              expected=np.array([[1, 0, 0], [0, 1, 0]], bool))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        [".70", ".20", ".10", ".10", ".80", ".10"])
    assert len(ax.patches) == 2  # the outlined cells
    assert pixels(fig) == (round(fig.get_size_inches()[0] * 110),
                           round(fig.get_size_inches()[1] * 110))
    big = attn.plot_attention(np.full((12, 12), 1 / 12))
    assert len(big.axes[0].texts) == 0  # too many cells to annotate


def test_grid_has_one_titled_block_per_kind(trained):
    run, pictures = trained
    weights = pictures.snapshots[-1]["weights"]
    fig = attn.plot_attention_grid(weights, pictures.labels, pictures.expected, title="t")
    titles = [sub._suptitle.get_text() for sub in fig.subfigs]
    assert titles == [attn.KIND_TITLES[k] for k in attn.kinds_in(weights)]
    assert len(fig.get_axes()) == 5 * len(weights)  # 2 layers x 2 heads and a colour bar each
    for sub in fig.subfigs:
        assert sub.axes[-1].get_ylabel() == attn.UNITS["weights"]
    with pytest.raises(ValueError, match="no attention weights"):
        attn.plot_attention_grid({})


def test_weights_scores_and_both_gradients_share_axes(trained):
    run, pictures = trained
    last = pictures.snapshots[-1]
    kind = "cross" if "cross" in last["weights"] else "decoder"
    q, k = pictures.labels[kind]
    matrices = [last[key][kind][0, 0] for key in ("weights", "scores", "grads", "score_grads")]
    fig = attn.plot_attention_gradients(*matrices, q, k)
    panels, bars = fig.axes[:4], fig.axes[4:]  # the panels, then their colour bars
    titles = [a.get_title() for a in panels]
    assert titles[:2] == ["weights A = softmax(S)", "scores S = Q K^T / \u221ad_k"]
    for title, matrix, name in zip(titles[2:], matrices[2:], ("dL/dA", "dL/dS")):
        assert title == f"{name} (largest |value| {np.abs(matrix).max():.2g})"
    assert [bar.get_ylabel() for bar in bars] == [
        attn.UNITS[key] for key in ("weights", "scores", "grads", "score_grads")]
    for a in panels:
        assert [t.get_text() for t in a.get_xticklabels()] == list(k)
    for a in panels[2:]:
        lo, hi = a.images[0].get_clim()
        assert hi > 0 and lo == -hi  # a symmetric scale: white is zero
    shared = attn.gradient_limits(pictures.snapshots, kind, 0, 0)
    assert shared["score_grads"] == max(np.abs(s["score_grads"][kind][0, 0]).max()
                                        for s in pictures.snapshots)
    fig = attn.plot_attention_gradients(*matrices, q, k, limits=shared, symlog=True)
    assert fig.axes[3].images[0].get_clim() == (-shared["score_grads"], shared["score_grads"])
    assert type(fig.axes[3].images[0].norm).__name__ == "SymLogNorm"


def test_curves_share_the_step_axis(trained):
    run, _ = trained
    metrics = read_metrics(run.dir / "metrics.jsonl")
    assert metrics == run.metrics
    fig = plot_curves(metrics)
    loss_ax, acc_ax, align_ax = fig.axes
    assert loss_ax.get_shared_x_axes().joined(loss_ax, align_ax)
    assert [len(line.get_xdata()) for line in acc_ax.lines] == [3, 3]


def test_parameter_groups():
    assert parameter_group("blocks.0.self_attn.q_proj.weight") == "L0 q"
    assert parameter_group("decoder.layers.1.multihead_attn.out_proj.bias") == "dec1 x-out"
    assert parameter_group("encoder.layers.0.linear2.weight") == "enc0 ff"
    assert parameter_group("tok_embed.weight") == "embeddings"
    assert parameter_group("blocks.1.norm2.weight") == "norms"
    assert parameter_group("ln_f.bias") == "norms"
    assert parameter_group("lm_head.weight") == "output"
    p = ma.nn.Parameter(np.zeros(2, np.float32))
    p.grad = np.array([3.0, 4.0], np.float32)
    q = ma.nn.Parameter(np.zeros(1, np.float32))
    q.grad = np.array([12.0], np.float32)
    norms = group_grad_norms([("blocks.0.norm1.weight", p), ("ln_f.weight", q)])
    assert norms == {"norms": pytest.approx(13.0)}


def test_gradient_flow_lists_every_group(trained):
    run, pictures = trained
    steps = [s for s, _ in pictures.grad_history]
    assert steps == list(range(1, STEPS + 1))
    fig = plot_gradient_flow(pictures.grad_history)
    groups = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert groups[0] == "embeddings" and groups[-2:] == ["norms", "output"]
    prefix = "enc0" if run.task.kind == "seq2seq" else "L0"
    assert [g for g in groups if g.startswith(prefix)] == [f"{prefix} {p}" for p in
                                                          ("q", "k", "v", "out", "ff")]


def test_capture_leaves_the_model_as_it_was():
    ma.manual_seed(1)
    task, model = tiny_model("reverse")
    model.train()
    ma.manual_seed(5)
    expected_draw = ma.rand(4).detach().numpy()
    ma.manual_seed(5)
    captured = capture_attention(model, task, task.held_out[0])
    np.testing.assert_array_equal(ma.rand(4).detach().numpy(), expected_draw)  # the RNG was not used
    assert model.training
    assert all(p.grad is None or not np.asarray(p.grad).any() for p in model.parameters())
    for *_, module in attention_modules(model):
        assert module.capture_graph is False
        assert module.last_attn_weights.grad_fn is None
    assert set(captured["grad_norms"]) >= {"embeddings", "enc0 q", "dec1 x-v", "output"}


def test_recording_does_not_change_training(tmp_path):
    pictures = RunPictures(quiet=True, every=1)  # a snapshot after every step, too
    recording = SimpleNamespace(on_train_begin=pictures.on_train_begin,  # not the drawing
                                on_step=pictures.on_step, on_eval=pictures.on_eval)
    # Dropout on: a callback drawing from the random generator would change the masks.
    plain = train_run("recall", tmp_path / "a", [], steps=4, eval_every=2, dropout=0.1)
    recorded = train_run("recall", tmp_path / "b", [recording], steps=4, eval_every=2,
                         dropout=0.1)
    exact = [m["held_out_exact"] for m in recorded.metrics]
    assert len(exact) == 2 and all(e is not None for e in exact)
    assert [(s["step"], s["held_out_exact"]) for s in pictures.snapshots] == [
        (0, None), (1, None), (2, exact[0]), (3, None), (4, exact[1])]
    model, twin = plain.model, recorded.model
    assert [step for step, _ in pictures.grad_history] == [1, 2, 3, 4]
    # Masked positions (the causal future) are nan in the weights drawn: grey.
    shown = attn.masked_weights(pictures.snapshots[-1])["decoder"]
    upper = np.triu(np.ones(shown.shape[-2:], bool), 1)
    assert np.isnan(shown[..., upper]).all() and not np.isnan(shown[..., ~upper]).any()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)


# -- report.html in a browser ------------------------------------------------------------

@pytest.fixture(scope="module")
def report(trained):
    run, pictures = trained
    return run.dir / "report.html", pictures


def test_the_file_names_nothing_outside_itself(report):
    page = report[0].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(http" not in page and "@import" not in page
    assert page.count("data:image/png;base64,") == 4  # curves, grid, strip, gradient flow
    assert "<svg" in page and "<!DOCTYPE svg" not in page  # the graph, inline


def test_report_opens_offline_and_the_slider_changes_the_heatmap(report, browser):
    report, pictures = report
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests

    heatmap = lambda: page.eval_on_selector("#weights", "c => c.toDataURL()")  # noqa: E731
    title = lambda: page.inner_text("#steptitle")  # noqa: E731
    exact = pictures.snapshots[-1]["held_out_exact"]
    assert title() == f"step 12 · held-out exact {exact:.2f}"  # opens on the last step
    last = heatmap()
    scale = lambda: page.inner_text("#score_grads-range").split("scale \u00b1")[1]  # noqa: E731
    last_scale = scale()
    page.focus("#step")
    page.keyboard.press("Home")  # move the slider to the first snapshot
    assert page.input_value("#step") == "0"
    assert title() == "step 0"
    first = heatmap()
    assert first != last
    assert scale() == last_scale  # one colour scale for every step of the slider
    kind0, layer0, head0 = attn.choose_head(
        {"weights": attn.masked_weights(pictures.snapshots[-1])}, pictures.expected)
    largest = max(np.abs(s["score_grads"][kind0][layer0, head0]).max()
                  for s in pictures.snapshots)
    assert float(last_scale.split()[0].rstrip(",")) == pytest.approx(largest, rel=2e-3)
    page.keyboard.press("End")
    assert heatmap() == last

    # The kind, layer and head selectors and the overlay toggle redraw too.
    kinds = page.eval_on_selector_all("#kind option", "os => os.map(o => o.value)")
    expected_kind = "cross" if kinds == ["encoder", "decoder", "cross"] else "decoder"
    assert kinds in (["encoder", "decoder", "cross"], ["decoder"])
    assert page.input_value("#kind") == expected_kind  # where the expected pattern lives
    kind, layer, head = attn.choose_head({"weights": attn.masked_weights(pictures.snapshots[-1])},
                                         pictures.expected)
    assert (page.input_value("#layer"), page.input_value("#head")) == (str(layer), str(head))
    page.select_option("#layer", "0")
    page.select_option("#head", "1")
    assert heatmap() != last or (layer, head) == (0, 1)
    with_overlay = heatmap()
    page.uncheck("#overlay")
    assert heatmap() != with_overlay
    # Hovering a cell reads out its weight, score and gradient.
    box = page.locator("#weights").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 10)
    found = re.fullmatch(r'query (\d+) ".+" -> key (\d+) ".+":\s+A = (\S+),\s+S = (\S+),'
                         r'\s+dL/dA = (\S+),\s+dL/dS = (\S+)', page.inner_text("#readout"))
    assert found, page.inner_text("#readout")
    i, j = int(found[1]), int(found[2])
    last = pictures.snapshots[-1]
    for key, text in (("weights", found[3]), ("scores", found[4]), ("grads", found[5]),
                      ("score_grads", found[6])):
        value = last[key][expected_kind][0, 1, i, j]  # layer 0, head 1, as selected
        # the readout shows 3 significant digits: half a unit of the third is 5e-3 of 1.00
        assert float(text) == pytest.approx(value, rel=5e-3, abs=2e-5), key
    page.select_option("#kind", kinds[0])
    assert page.eval_on_selector("#weights", "c => c.width") > 100
    assert errors == [] and all(u.startswith(("file://", "data:")) for u in requests)
    page.close()


def test_a_model_without_attention_trains_on_with_curves_only(tmp_path, capsys):
    class Plain(ma.nn.Module):  # a bigram language model: no attention to record
        def __init__(self, vocab, max_len):
            super().__init__()
            self.max_len = max_len
            self.embed = ma.nn.Embedding(vocab, 8)
            self.head = ma.nn.Linear(8, vocab)

        def forward(self, idx):
            return self.head(self.embed(idx))

        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):  # greedy
            idx = np.asarray(idx)
            for _ in range(max_new_tokens):
                next_id = np.asarray(self(idx).detach().numpy())[:, -1].argmax(-1)
                idx = np.concatenate([idx, next_id[:, None]], axis=1)
            return ma.tensor(idx)

    task = task_named("recall")
    ma.manual_seed(0)
    pictures = RunPictures(quiet=True)
    run = train_run("recall", tmp_path / "run", [pictures], steps=4, eval_every=2,
                    model=Plain(len(task.tokenizer), task.model_max_len))
    err = capsys.readouterr().err
    assert err.count("attention snapshots stopped: ValueError") == 1
    assert pictures.snapshots == []
    assert {"loss.png", "gradflow.png", "graph.svg", "report.html"} <= set(pictures.written)
    assert "No attention snapshots were recorded." in (run.dir / "report.html").read_text()


def test_gradient_history_stays_bounded(monkeypatch):
    from microattn.viz import recorder
    monkeypatch.setattr(recorder, "HISTORY_POINTS", 4)
    pictures = RunPictures(quiet=True)
    _, model = tiny_model("recall", layers=1)
    for p in model.parameters():
        p.grad = np.ones_like(p.detach().numpy())
    run = SimpleNamespace(model=model)
    for step in range(1, 41):
        pictures.on_step(run, step, 0.0)
    steps = [s for s, _ in pictures.grad_history]
    assert 4 <= len(steps) < 8
    assert np.ptp(np.diff(steps)) == 0 and steps[-1] >= 32  # evenly spaced, up to the end


def test_captured_weights_are_each_modules_own_in_order():
    ma.manual_seed(2)
    task, model = tiny_model("reverse")
    model.eval()
    example = task.held_out[3]
    captured = capture_attention(model, task, example)
    with ma.no_grad():
        task.loss(model, task.batch([example]))  # a plain (fused) forward
    seen = {}
    for name, kind, _, module in attention_modules(model):
        layer = seen.get(kind, 0)
        seen[kind] = layer + 1
        np.testing.assert_allclose(captured["weights"][kind][layer],
                                   module.last_attn_weights.detach().numpy()[0], atol=1e-5, err_msg=name)
    assert seen == {"encoder": 2, "decoder": 2, "cross": 2}
    q, k = task.attention_view(example)["cross"]
    assert captured["weights"]["cross"].shape == (2, 2, len(q), len(k))
