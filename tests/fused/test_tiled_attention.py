"""The tiled (online-softmax) attention and the choice between it and the materialising one.

Cases are drawn by hypothesis: leading dims, Tq != Tk, lengths that are not a
multiple of the (small) tile sides, and masks: none, causal, key padding
(B, 1, 1, Tk), a general (Tq, Tk) one, causal with padding, and rows that
see nothing. The tiled op must agree with the materialising one to float32
rounding, pass gradcheck in float64, compute float16 in float32, and match
PyTorch's F.scaled_dot_product_attention; then the path choice.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from microattn import nn
from microattn.functional import TILED_FROM
from microattn.fused.attention import ScaledDotProductAttention
from microattn.fused.tiled_attention import TiledAttention
from helpers import assert_close

MASKS = ("none", "causal", "padding", "general", "causal_padding", "empty_rows")


@st.composite
def cases(draw):
    """(arrays q, k, v; additive mask or None; causal; tile sides) for one case."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    q_len, k_len = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    d, dv = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(MASKS))
    blocks = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    q = rng.standard_normal(lead + (q_len, d))
    k = rng.standard_normal(lead + (k_len, d))
    v = rng.standard_normal(lead + (k_len, dv))
    blocked = np.zeros((q_len, k_len), bool)
    if kind in ("padding", "causal_padding"):   # the last keys of the first batch row
        batch = lead[0] if lead else 1
        blocked = np.zeros((batch,) + (1,) * max(len(lead) - 1, 0) + (1, k_len), bool)
        blocked[0, ..., rng.integers(0, k_len + 1):] = True
        if not lead:
            blocked = blocked[0]
    elif kind == "general":
        blocked = rng.random((q_len, k_len)) < 0.4
    elif kind == "empty_rows":                  # every third query sees nothing
        blocked[::3] = True
    mask = None if kind in ("none", "causal") else np.where(blocked, -np.inf, 0.0)
    return (q, k, v), mask, kind.startswith("causal"), blocks


def materialised(q, k, v, mask, causal, scale):
    """The reference: the materialising op on the same masks (causal as an additive mask)."""
    if causal:
        mask = F.causal_mask(q.shape[-2], k.shape[-2], np.float64) + (0 if mask is None else mask)
    return ScaledDotProductAttention.apply(q, k, v, mask, None, scale)[0]


def run_both(arrays, mask, causal, blocks, dtype, seed=0):
    """Output and gradients of q, k, v from each op, on ``arrays`` cast to ``dtype``."""
    results = []
    for op in ("tiled", "materialised"):
        leaves = [ma.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        scale = max(leaves[0].shape[-1], 1) ** -0.5
        if op == "tiled":
            out = TiledAttention.apply(*leaves, mask, causal, scale, *blocks)
        else:
            out = materialised(*leaves, mask, causal, scale)
        upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
        out.backward(upstream)
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in leaves])
    return results


@given(cases())
def test_tiled_agrees_with_materialised_to_float32_rounding(case):
    arrays, mask, causal, blocks = case
    tiled, reference = run_both(arrays, mask, causal, blocks, np.float32)
    for name, a, b in zip(("output", "dq", "dk", "dv"), tiled, reference):
        assert a.dtype == np.float32 and not np.isnan(a).any(), name
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


@given(cases())
def test_tiled_gradcheck_float64(case):
    arrays, mask, causal, blocks = case
    leaves = [ma.tensor(a, requires_grad=True) for a in arrays]
    scale = arrays[0].shape[-1] ** -0.5
    assert ma.gradcheck(lambda q, k, v: TiledAttention.apply(q, k, v, mask, causal, scale,
                                                             *blocks), leaves)


def test_leading_dims_broadcast_between_q_k_v_and_the_mask():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in ((2, 1, 5, 3), (1, 3, 7, 3), (3, 7, 2))]
    mask = np.where(rng.random((4, 1, 1, 1, 7)) < 0.3, -np.inf, 0.0)  # adds a leading dim
    tiled, reference = run_both(arrays, mask, True, (2, 3), np.float64)
    for name, a, b in zip(("output", "dq", "dk", "dv"), tiled, reference):
        assert_close(a, b, rtol=1e-12, atol=1e-12, what=name)
    leaves = [ma.tensor(a, requires_grad=True) for a in arrays]
    assert ma.gradcheck(lambda q, k, v: TiledAttention.apply(q, k, v, mask, True, 0.5, 2, 3),
                        leaves)


@pytest.mark.parametrize("shapes", [((0, 3, 4), (0, 5, 4), (0, 5, 3)),   # no batch rows
                                    ((2, 0, 4), (2, 5, 4), (2, 5, 3)),   # no queries
                                    ((2, 3, 4), (2, 0, 4), (2, 0, 3)),   # no keys
                                    ((2, 3, 0), (2, 5, 0), (2, 5, 3))])  # d = 0
def test_empty_sides_give_what_the_materialising_path_gives(shapes):
    arrays = [np.random.default_rng(6).standard_normal(s) for s in shapes]
    tiled, reference = run_both(arrays, None, True, (2, 2), np.float64)
    for name, a, b in zip(("output", "dq", "dk", "dv"), tiled, reference):
        assert_close(a, b, rtol=1e-12, atol=1e-12, what=name)


def test_rows_that_see_nothing_give_zeros_and_no_gradient():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 5, 3)) for _ in range(3)]
    mask = np.zeros((5, 5))
    mask[[1, 4]] = -np.inf
    out, dq, dk, dv = run_both(arrays, mask, False, (2, 2), np.float64)[0]
    assert np.all(out[:, [1, 4]] == 0) and np.all(dq[:, [1, 4]] == 0)
    assert np.isfinite(out).all() and np.isfinite(dk).all() and np.isfinite(dv).all()


def test_rows_far_below_the_blocks_max_keep_full_precision():
    """One row's scores sit 200 below another's: the block's shared shift would
    underflow it, so the tile is redone with each row's own max."""
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 4, 2)) for _ in range(3))
    mask = np.zeros((4, 4))
    mask[2] = -200.0        # a finite mask: row 2 is uniform over its scores - 200
    tiled, reference = run_both([q, k, v], mask, False, (4, 4), np.float32)
    for name, a, b in zip(("output", "dq", "dk", "dv"), tiled, reference):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


def test_float16_is_computed_in_float32():
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 3, 37, 8)) for _ in range(3)]
    half = run_both(arrays, None, True, (16, 8), np.float16)[0]
    single = run_both([a.astype(np.float16).astype(np.float32) for a in arrays], None, True,
                      (16, 8), np.float32)[0]
    for name, a, b in zip(("output", "dq", "dk", "dv"), half, single):
        assert a.dtype == np.float16, name
        # the float32 result rounded once to float16 (the upstream gradient is rounded too)
        assert_close(a, b, rtol=1e-2, atol=2e-3, what=name)


# -- against PyTorch ----------------------------------------------------------------

@given(cases())
def test_values_and_gradients_match_pytorch(case):
    torch = pytest.importorskip("torch")
    arrays, mask, causal, blocks = case
    q_len, k_len = arrays[0].shape[-2], arrays[1].shape[-2]
    allowed = np.ones((q_len, k_len), bool) if mask is None else ~np.isneginf(mask)
    allowed[..., 0] = True  # no row sees nothing: PyTorch gives those nan
    leaves = [ma.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    with F.attention_path("tiled"):
        out = F.scaled_dot_product_attention(*leaves, attn_mask=allowed, is_causal=causal)
    assert out.grad_fn.name() == "TiledAttentionBackward"
    if causal:  # PyTorch takes a mask or is_causal, not both
        allowed = allowed & np.tri(q_len, k_len, dtype=bool)
    expected = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=torch.tensor(allowed))
    upstream = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert_close(out.detach().numpy(), expected.detach().numpy(), 1e-10, 1e-12, "output")
    for name, ours, t in zip("qkv", leaves, theirs):
        assert_close(ours.grad.numpy(), t.grad.numpy(), 1e-9, 1e-11, f"d{name}")


def test_the_default_tiles_match_pytorch_at_a_length_not_a_multiple_of_them():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 2, 300, 8)) for _ in range(3)]
    leaves = [ma.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    with F.attention_path("tiled"):
        out = F.scaled_dot_product_attention(*leaves, is_causal=True)
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True)
    out.sum().backward()
    expected.sum().backward()
    assert_close(out.detach().numpy(), expected.detach().numpy(), 1e-10, 1e-12, "output")
    for name, ours, t in zip("qkv", leaves, theirs):
        assert_close(ours.grad.numpy(), t.grad.numpy(), 1e-9, 1e-11, f"d{name}")


# -- which path runs --------------------------------------------------------------------

def _path(out):
    return {"TiledAttentionBackward": "tiled",
            "ScaledDotProductAttentionBackward": "materialized"}[out.grad_fn.name()]


def _qkv(length, d=4):
    return [ma.randn(1, 1, length, d, requires_grad=True) for _ in range(3)]


def test_auto_takes_the_tiled_path_for_long_sequences_only():
    assert _path(F.scaled_dot_product_attention(*_qkv(TILED_FROM - 1))) == "materialized"
    assert _path(F.scaled_dot_product_attention(*_qkv(TILED_FROM))) == "tiled"


def test_the_switch_forces_either_path_and_restores_the_one_before():
    short, long = _qkv(8), _qkv(TILED_FROM)
    with F.attention_path("tiled"):
        assert _path(F.scaled_dot_product_attention(*short)) == "tiled"
        with F.attention_path("materialized"):
            assert _path(F.scaled_dot_product_attention(*long)) == "materialized"
        assert _path(F.scaled_dot_product_attention(*short)) == "tiled"
    assert _path(F.scaled_dot_product_attention(*short)) == "materialized"
    F.attention_path("tiled")  # a setting, until changed
    try:
        assert _path(F.scaled_dot_product_attention(*short)) == "tiled"
    finally:
        F.attention_path("auto")
    with pytest.raises(ValueError, match="attention_path: path must be one of"):
        F.attention_path("flash")


def test_what_needs_the_weights_keeps_the_materialising_path():
    q, k, v = _qkv(TILED_FROM)
    with F.attention_path("tiled"):
        out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True)
        assert _path(out) == "materialized" and weights.shape == (1, 1, TILED_FROM, TILED_FROM)
        assert _path(F.scaled_dot_product_attention(q, k, v, dropout_p=0.1)) == "materialized"
        bias = ma.zeros(TILED_FROM, TILED_FROM, requires_grad=True)  # a mask taking a gradient
        assert _path(F.scaled_dot_product_attention(q, k, v, attn_mask=bias)) == "materialized"
        composed = F.scaled_dot_product_attention(q, k, v, fused=False)
        assert composed.grad_fn.name() == "MatmulBackward"


def test_multihead_attention_keeps_weights_unless_the_tiled_path_ran():
    layer = nn.MultiheadAttention(8, 2, batch_first=True)
    x = ma.randn(2, 6, 8)
    with F.attention_path("tiled"):
        out, weights = layer(x, x, x, need_weights=False, is_causal=True)
        assert weights is None and layer.last_attn_weights is None
        tiled = out.detach().numpy()
        out, weights = layer(x, x, x, need_weights=True, is_causal=True)
        assert weights.shape == (2, 6, 6) and layer.last_attn_weights.shape == (2, 2, 6, 6)
    assert_close(tiled, out.detach().numpy(), rtol=1e-5, atol=1e-6, what="the two paths")


def test_recording_attention_forces_the_materialising_path():
    from microattn.data import load_task
    from microattn.train import Config, build_model
    from microattn.viz.recorder import capture_attention

    ma.manual_seed(0)
    task = load_task("reverse")
    model = build_model(task, Config.for_task(task, d_model=16, heads=2, layers=1, ff=32))
    example = task.held_out[0]
    with F.attention_path("tiled"):
        captured = capture_attention(model, task, example)
    for kind, weights in captured["weights"].items():
        np.testing.assert_allclose(weights.sum(-1)[weights.sum(-1) > 0], 1, rtol=1e-5)
        assert np.abs(captured["grads"][kind]).max() > 0, kind  # dL/dA reached the weights
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention):
            assert module.last_attn_weights is not None


def test_evaluation_measures_no_alignment_where_the_tiled_path_kept_no_weights():
    from microattn.data import load_task
    from microattn.train import Config, build_model
    from microattn.train.evaluate import evaluate

    ma.manual_seed(0)
    task = load_task("reverse")
    model = build_model(task, Config.for_task(task, d_model=16, heads=2, layers=1, ff=32))
    examples = task.held_out[:8]
    assert evaluate(task, model, examples, predictions=False)["alignment"] is not None
    with F.attention_path("tiled"):
        result = evaluate(task, model, examples, predictions=False)
    assert result["alignment"] is None and np.isfinite(result["loss"])
