"""F.scaled_dot_product_attention: the fused node and the composed graph.

Masks: none, boolean (True = attend), additive float (with -inf entries, and
as a tensor that takes a gradient), is_causal (also with Tq != Tk, and with a
boolean mask), fully masked rows (zeros, never nan). For each: gradcheck in
float64, values and gradients equal to PyTorch's to 1e-10 relative, fused and
composed agreeing to 1e-12. Then dropout and the attention weights.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from microattn.ops.dropout import dropout_mask
from helpers import FUSED, leaf_pair, assert_same_as_torch, SIDES, assert_close, assert_fused_matches_composed, float16_parity, leaf, shapes, torch_parity, transposed_leaf
import warnings

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MASKS = ["none", "bool", "float", "float_tensor", "causal", "bool_and_causal"]


def make_case(seed, batch, kv_batch, q_len, k_len, d, dv, kind, mask_shape):
    """(q, k, v, mask): random data; a mask of ``mask_shape`` for the kinds
    that take one, with about 40% of the entries masked."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(batch + (q_len, d))
    k = rng.standard_normal(kv_batch + (k_len, d))
    v = rng.standard_normal(kv_batch + (k_len, dv))
    mask = None
    if kind in ("bool", "float", "float_tensor", "bool_and_causal"):
        allowed = rng.random(mask_shape) < 0.6
        mask = (allowed if kind.startswith("bool")
                else np.where(allowed, rng.standard_normal(mask_shape), -np.inf))
    return q, k, v, mask


@st.composite
def attention_case(draw, kind):
    """A case with batch dims that broadcast (key and value may have 1 where
    the query has heads), Tq != Tk allowed, masks of shape (Tq, Tk), (1, Tk)
    or with batch dims, and fully masked rows likely."""
    batch = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    kv_batch = tuple(1 if draw(st.booleans()) else n for n in batch)
    q_len, k_len, d, dv = (draw(st.integers(1, 4)) for _ in range(4))
    mask_shape = draw(st.sampled_from([(q_len, k_len), (1, k_len), batch + (q_len, k_len)]))
    return make_case(draw(st.integers(0, 2**16)), batch, kv_batch, q_len, k_len, d, dv,
                     kind, mask_shape)


def sdpa(kind, mask, **kwargs):
    """F.sdpa(q, k, v[, float mask tensor]) with the case's mask passed as it says."""
    def fn(q, k, v, *mask_tensor):
        attn_mask = mask_tensor[0] if mask_tensor else mask
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                              is_causal=kind.endswith("causal"), **kwargs)
    return fn


def torch_sdpa(kind, mask, q_len, k_len):
    """torch's F.sdpa on the same case; a boolean mask with is_causal is merged
    into one mask on the torch side, since torch refuses both when training."""
    def fn(q, k, v, *mask_tensor):
        if mask_tensor:
            return TF.scaled_dot_product_attention(q, k, v, attn_mask=mask_tensor[0])
        if kind == "bool_and_causal":
            merged = mask & np.tri(q_len, k_len, dtype=bool)
            return TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(merged))
        attn_mask = None if mask is None else torch.tensor(mask)
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                               is_causal=kind == "causal")
    return fn


def case_arrays(kind, q, k, v, mask):
    """The arrays that take gradients: q, k, v and a float mask passed as a tensor."""
    return [q, k, v] + ([mask] if kind == "float_tensor" else [])


@pytest.mark.parametrize("kind", MASKS)
@given(data=st.data())
@settings(max_examples=8)
def test_fused_attention_gradchecks(kind, data):
    q, k, v, mask = data.draw(attention_case(kind))
    inputs = [transposed_leaf(q), leaf(k), leaf(v)] + (
        [leaf(mask)] if kind == "float_tensor" else [])
    assert ma.gradcheck(sdpa(kind, mask), inputs)


@pytest.mark.parametrize("kind", MASKS)
def test_composed_attention_gradchecks(kind):
    q, k, v, mask = make_case(0, (2,), (1,), 3, 4, 2, 3, kind, (2, 3, 4))
    assert ma.gradcheck(sdpa(kind, mask, fused=False),
                        [leaf(a) for a in case_arrays(kind, q, k, v, mask)])


@pytest.mark.parametrize("kind", MASKS)
@given(data=st.data())
@settings(max_examples=8)
def test_attention_matches_torch(kind, data):
    q, k, v, mask = data.draw(attention_case(kind))
    torch_parity(sdpa(kind, mask), torch_sdpa(kind, mask, q.shape[-2], k.shape[-2]),
                 case_arrays(kind, q, k, v, mask))


@pytest.mark.parametrize("kind", MASKS)
@given(data=st.data())
@settings(max_examples=8)
def test_fused_and_composed_attention_agree(kind, data):
    q, k, v, mask = data.draw(attention_case(kind))
    assert_fused_matches_composed(lambda *a, fused: sdpa(kind, mask, fused=fused)(*a),
                                  case_arrays(kind, q, k, v, mask))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("mask", [np.array([[True, False], [False, False], [True, True]]),
                                  np.array([[0.0, -np.inf], [-np.inf, -np.inf], [1.0, 2.0]])],
                         ids=["bool", "float"])
def test_fully_masked_row_gives_zeros_not_nan(fused, mask, rng):
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(2, 3, 4), (2, 2, 4), (2, 2, 5)])
    out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, fused=fused,
                                                  need_weights=True)
    out.backward(np.ones(out.shape))
    assert np.array_equal(out.detach().numpy()[:, 1], np.zeros((2, 5)))
    assert np.array_equal(weights.detach().numpy()[:, 1], np.zeros((2, 2)))
    assert np.array_equal(q.grad[:, 1], np.zeros((2, 4)))
    assert all(np.all(np.isfinite(t.grad)) for t in (q, k, v))


@pytest.mark.parametrize("q_len,k_len", [(2, 5), (5, 2)])
def test_is_causal_aligns_top_left_when_lengths_differ(q_len, k_len, rng):
    q, k, v = (rng.standard_normal(s) for s in [(q_len, 3), (k_len, 3), (k_len, 2)])
    _, weights = F.scaled_dot_product_attention(leaf(q), leaf(k), leaf(v), is_causal=True,
                                                need_weights=True)
    assert np.array_equal(weights.detach().numpy() > 0, np.tri(q_len, k_len, dtype=bool))


def test_custom_scale_matches_torch(rng):
    arrays = [rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)]]
    torch_parity(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
                 lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.3), arrays)
    assert_fused_matches_composed(
        lambda q, k, v, fused: F.scaled_dot_product_attention(q, k, v, scale=0.3, fused=fused),
        arrays)


# -- attention weights ---------------------------------------------------------------

def test_need_weights_returns_softmax_weights_from_both_forms(rng):
    q, k, v = (rng.standard_normal(s) for s in [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6)])
    mask = rng.random((3, 5)) < 0.7
    mask[:, 0] = True
    expected = TF.softmax(torch.tensor(q) @ torch.tensor(k).transpose(-2, -1) / 2.0
                          + torch.tensor(np.where(mask, 0.0, -np.inf)), -1).numpy()
    for fused in (True, False):
        out, weights = F.scaled_dot_product_attention(leaf(q), leaf(k), leaf(v), mask,
                                                      need_weights=True, fused=fused)
        assert weights.shape == (2, 2, 3, 5)
        assert_close(weights.detach().numpy(), expected, what="weights")
        assert_close(out.detach().numpy(), weights.detach().numpy() @ v,
                     what="output = weights @ v")
    fused_weights = F.scaled_dot_product_attention(leaf(q), leaf(k), leaf(v),
                                                   need_weights=True)[1]
    composed_weights = F.scaled_dot_product_attention(leaf(q), leaf(k), leaf(v),
                                                      need_weights=True, fused=False)[1]
    assert not fused_weights.requires_grad  # for inspection only
    assert composed_weights.requires_grad  # part of the graph


# -- dropout ---------------------------------------------------------------------------

def test_dropout_drops_attention_weights_with_the_seeded_mask(rng):
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 6)])
    for fused in (True, False):
        ma.manual_seed(11)
        out, weights = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4,
                                                      need_weights=True, fused=fused)
        ma.manual_seed(11)
        mask = dropout_mask((2, 3, 5), 0.4, np.float64)
        assert 0 < np.count_nonzero(mask) < mask.size
        assert_close(out.detach().numpy(), (weights.detach().numpy() * mask) @ v.detach().numpy(),
                     what="dropped output")


def test_dropout_fused_and_composed_agree_and_gradcheck(rng):
    arrays = [rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)]]
    mask = rng.random((3, 5)) < 0.7

    def seeded(q, k, v, fused=True):
        ma.manual_seed(5)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3,
                                              fused=fused)
    assert_fused_matches_composed(seeded, arrays)
    for fused in (True, False):
        assert ma.gradcheck(lambda *a: seeded(*a, fused=fused), [leaf(a) for a in arrays])


def test_dropout_p_one_gives_zeros(rng):
    q, k, v = (leaf(rng.standard_normal(s)) for s in [(3, 4), (5, 4), (5, 2)])
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert np.array_equal(out.detach().numpy(), np.zeros((3, 2)))


# -- dtypes and errors --------------------------------------------------------------------

@pytest.mark.parametrize("fused", [True, False])
def test_float32_stays_float32_with_a_float64_mask(fused):
    q, k, v = (ma.randn(2, 3, 4, requires_grad=True) for _ in range(3))
    mask = np.zeros((3, 3))  # float64
    out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=True,
                                                  dropout_p=0.2, need_weights=True,
                                                  fused=fused)
    out.sum().backward()
    assert out.dtype == weights.dtype == q.grad.dtype == k.grad.dtype == np.float32


def test_attention_errors_name_the_shapes():
    q, k, v = ma.ones(2, 3, 4), ma.ones(2, 5, 4), ma.ones(2, 5, 6)
    with pytest.raises(ValueError, match=r"query of shape \(2, 3, 4\) and key of shape \(2, 5, 3"):
        F.scaled_dot_product_attention(q, ma.ones(2, 5, 3), v)
    with pytest.raises(ValueError, match=r"key of shape \(2, 5, 4\) and value of shape \(2, 4, 6"):
        F.scaled_dot_product_attention(q, k, ma.ones(2, 4, 6))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\).*\(\.\.\., 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), dtype=bool))
    with pytest.raises(TypeError, match="boolean .* or floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), dtype=np.int64))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=2.0)


def test_mask_with_more_leading_dims_than_the_scores(rng):
    """A (2, Tq, Tk) mask on (Tq, d) inputs broadcasts the output to (2, Tq, dv),
    whether the scores take the shared-shift path (small) or the row-max path (large)."""
    mask = rng.random((2, 3, 3)) < 0.7
    mask[..., 0] = True
    for scale in (1.0, 100.0):
        arrays = [scale * rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                  rng.standard_normal((3, 4))]
        out = F.scaled_dot_product_attention(*[leaf(a) for a in arrays], attn_mask=mask)
        assert out.shape == (2, 3, 4)
        assert_fused_matches_composed(
            lambda q, k, v, fused: F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                                  fused=fused), arrays)


def test_returned_weights_are_read_only(rng):
    """The fused weights share memory with what backward reads, so they cannot be edited."""
    q, k, v = (leaf(rng.standard_normal((2, 3, 4))) for _ in range(3))
    _, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True)
    with pytest.raises(ValueError, match="read-only"):
        weights.detach().numpy()[0, 0, 0] = 1.0


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float16, 3e-3), (np.float32, 1e-5)])
def test_float16_and_float32_match_torch_on_scores_far_apart(fused, dtype, tol, rng):
    """Scores spread over hundreds between query rows (one row near 20 x the others):
    each row of the softmax takes its own max, in float16 too."""
    q = rng.standard_normal((2, 3, 4, 8))
    q[:, :, 0] *= 12  # one query row with scores far above the rest
    k, v = rng.standard_normal((2, 3, 5, 8)), rng.standard_normal((2, 3, 5, 8))
    mask = np.tri(4, 5, dtype=bool)
    grad = rng.standard_normal((2, 3, 4, 8))
    ours = [ma.tensor(a.astype(dtype), requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask, fused=fused)
    out.backward(grad.astype(dtype))
    theirs = [torch.tensor(a.astype(dtype).astype(np.float32), requires_grad=True)
              for a in (q, k, v)]
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs,
                                                                attn_mask=torch.tensor(mask))
    expected.backward(torch.tensor(grad.astype(dtype).astype(np.float32)))
    assert out.dtype == dtype
    scale = 1 + np.abs(expected.detach().numpy()).max()
    np.testing.assert_allclose(out.detach().numpy().astype(np.float64), expected.detach().numpy(),
                               rtol=tol, atol=tol * scale)
    for t, tt in zip(ours, theirs):
        g = np.asarray(t.grad).astype(np.float64)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, tt.grad.numpy(), rtol=tol,
                                   atol=tol * (1 + np.abs(tt.grad.numpy()).max()))


@pytest.mark.parametrize("causal", [False, True])
def test_float16_long_rows_with_a_large_offset_are_computed_in_float32(causal, rng):
    q, k, v = (3 + rng.standard_normal((2, 256, 16)) for _ in range(3))
    float16_parity(lambda *t: F.scaled_dot_product_attention(*t, is_causal=causal),
                   lambda *t: torch.nn.functional.scaled_dot_product_attention(
                       *t, is_causal=causal), [q, k, v], grad_tol=2e-2)


@FUSED
@pytest.mark.parametrize("q_len, k_len", [(3, 0), (0, 3), (0, 0)],
                         ids=["no keys", "no queries", "neither"])
def test_sdpa_with_no_keys_or_no_queries(q_len, k_len, fused, no_numpy_warnings):
    q, qt = leaf_pair((2, q_len, 4), 1)
    k, kt = leaf_pair((2, k_len, 4), 2)
    v, vt = leaf_pair((2, k_len, 5), 3)
    out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True, fused=fused)
    expected = TF.scaled_dot_product_attention(qt, kt, vt)
    assert_same_as_torch(out, expected, "output")
    assert weights.shape == (2, q_len, k_len)
    g = np.random.default_rng(4).standard_normal((2, q_len, 5))
    out.backward(g)
    expected.backward(torch.tensor(g))
    for ours, theirs, name in ((q, qt, "dq"), (k, kt, "dk"), (v, vt, "dv")):
        assert_same_as_torch(ours.grad, theirs.grad, name)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_with_no_keys_and_a_mask(causal, no_numpy_warnings):
    q, k, v = ma.randn(2, 3, 4), ma.randn(2, 0, 4), ma.randn(2, 0, 4)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ma.ones((3, 0), dtype=bool),
                                         is_causal=causal)
    np.testing.assert_array_equal(np.asarray(out), np.zeros((2, 3, 4)))


@pytest.mark.parametrize("fused", [True, False])
def test_attention_with_zero_features_is_uniform_as_pytorch(fused):
    """d = 0: every score is 0 (an empty dot product), so 1/sqrt(d) must not divide by 0."""
    value = np.random.default_rng(0).standard_normal((1, 3, 2))
    q = ma.tensor(np.zeros((1, 2, 0)), requires_grad=True)
    k = ma.tensor(np.zeros((1, 3, 0)))
    v, vt = ma.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, fused=fused)
    expected = TF.scaled_dot_product_attention(torch.zeros(1, 2, 0, dtype=torch.float64),
                                               torch.zeros(1, 3, 0, dtype=torch.float64), vt)
    np.testing.assert_allclose(np.asarray(out.detach().numpy()), expected.detach().numpy(),
                               rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(v.grad), vt.grad.numpy(), rtol=1e-12)
    assert np.asarray(q.grad).shape == (1, 2, 0)


@st.composite
def edge_attention_case(draw):
    """q, k, v with batch, Tq, Tk and d drawn from {0, 1, 2, 3} (any may be 0), and
    a boolean mask broadcasting from (Tq or 1, Tk or 1), or is_causal, or neither
    (PyTorch takes one or the other)."""
    batch, q_len, k_len, d, dv = (draw(SIDES) for _ in range(5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arrays = [rng.standard_normal(shape) for shape in ((batch, q_len, d), (batch, k_len, d),
                                                       (batch, k_len, dv))]
    mask = None
    if draw(st.booleans()):
        shape = (draw(st.sampled_from([1, q_len])), draw(st.sampled_from([1, k_len])))
        mask = rng.random(shape) < 0.6
    return arrays, mask, mask is None and draw(st.booleans())


@given(edge_attention_case(), st.booleans())
def test_attention_with_any_side_empty_or_one(case, fused):
    (q, k, v), mask, causal = case
    ours = [ma.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask, is_causal=causal, fused=fused)
    expected = TF.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    np.testing.assert_allclose(np.asarray(out.detach().numpy()), expected.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-12)
