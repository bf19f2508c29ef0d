"""nn.MultiheadAttention and nn.AdditiveAttention: gradcheck, PyTorch parity, masks,
and the weights every attention layer keeps."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import nn
from helpers import leaf_pair, assert_same_as_torch, PARITY_RTOL, assert_close, leaf, transposed_leaf
from layer_helpers import (MASK_CASES, as_torch, blocked_mask, causal_blocked,
                           check_layer_gradients,
                           make_masks, module_parity, padding_mask)
import warnings

torch = pytest.importorskip("torch")


def torch_mha(ma_layer, **kwargs):
    return torch.nn.MultiheadAttention(ma_layer.embed_dim, ma_layer.num_heads, batch_first=True,
                                       kdim=ma_layer.kdim, vdim=ma_layer.vdim, **kwargs)


# -- MultiheadAttention vs PyTorch --------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", ["self", "cross"])
@pytest.mark.parametrize("case", MASK_CASES)
def test_mha_matches_torch(case, kind, fused):
    rng = np.random.default_rng(2 * MASK_CASES.index(case) + (kind == "cross"))
    batch, heads, embed = 2, 2, 6
    q_len, k_len = (3, 3) if kind == "self" else (2, 4)
    attn_mask, padding, is_causal, torch_mask = make_masks(case, rng, batch, heads, q_len, k_len)
    layer = nn.MultiheadAttention(embed, heads, fused=fused, batch_first=True)
    for p in layer.parameters():  # PyTorch starts biases at zero; test them non-zero
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    reference = torch_mha(layer)

    def ours(*x):
        q, k, v = (x[0],) * 3 if kind == "self" else x
        return layer(q, k, v, attn_mask=attn_mask, key_padding_mask=padding, is_causal=is_causal,
                     average_attn_weights=False)

    def theirs(*x):
        q, k, v = (x[0],) * 3 if kind == "self" else x
        return reference(q, k, v, attn_mask=as_torch(torch_mask),
                         key_padding_mask=as_torch(padding), need_weights=True,
                         average_attn_weights=False)

    arrays = ([rng.standard_normal((batch, q_len, embed))] if kind == "self" else
              [rng.standard_normal((batch, n, embed)) for n in (q_len, k_len, k_len)])
    assert module_parity(layer, reference, ours, theirs, arrays) < PARITY_RTOL


@settings(max_examples=10)
@given(batch=st.integers(1, 3), q_len=st.integers(1, 4), k_len=st.integers(1, 4),
       heads=st.integers(1, 3), head_dim=st.integers(1, 3), kdim=st.integers(1, 5),
       vdim=st.integers(1, 5), bias=st.booleans(), average=st.booleans())
def test_mha_shapes_kdim_vdim_and_averaged_weights_match_torch(batch, q_len, k_len, heads,
                                                               head_dim, kdim, vdim, bias,
                                                               average):
    rng = np.random.default_rng(batch * 1000 + q_len * 100 + k_len * 10 + heads)
    embed = heads * head_dim
    layer = nn.MultiheadAttention(embed, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    reference = torch_mha(layer, bias=bias)
    arrays = [rng.standard_normal(s) for s in
              ((batch, q_len, embed), (batch, k_len, kdim), (batch, k_len, vdim))]
    module_parity(layer, reference,
                  lambda q, k, v: layer(q, k, v, average_attn_weights=average),
                  lambda q, k, v: reference(q, k, v, average_attn_weights=average), arrays)


# -- MultiheadAttention: gradients, masks, weights ---------------------------------------

@pytest.mark.parametrize("case", ["none", "bool", "float3d", "padding", "float_padding",
                                  "causal", "float+padding", "causal+bool"])
def test_mha_gradcheck_self_attention(case):
    rng = np.random.default_rng(MASK_CASES.index(case))
    attn_mask, padding, is_causal, _ = make_masks(case, rng, 2, 2, 3, 3)
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    check_layer_gradients(
        layer, lambda x: layer(x, x, x, padding, attn_mask=attn_mask, is_causal=is_causal)[0],
        [transposed_leaf(rng.standard_normal((4, 3, 2)).T)])


@settings(max_examples=5)
@given(q_len=st.integers(1, 3), k_len=st.integers(1, 3), fused=st.booleans(),
       case=st.sampled_from(["bool+padding", "causal+padding", "float"]))
def test_mha_gradcheck_cross_attention(q_len, k_len, fused, case):
    rng = np.random.default_rng(q_len * 10 + k_len)
    attn_mask, padding, is_causal, _ = make_masks(case, rng, 2, 2, q_len, k_len)
    layer = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, fused=fused, batch_first=True)
    inputs = [leaf(rng.standard_normal((2, n, d))) for n, d in ((q_len, 4), (k_len, 3), (k_len, 2))]
    check_layer_gradients(
        layer, lambda q, k, v: layer(q, k, v, padding, attn_mask=attn_mask,
                                     is_causal=is_causal)[0], inputs)


@pytest.mark.parametrize("fused", [True, False])
def test_mha_fully_masked_rows_give_zero_attention_and_finite_gradients(fused):
    rng = np.random.default_rng(3)
    layer = nn.MultiheadAttention(4, 2, fused=fused, batch_first=True).double()
    for p in layer.parameters():
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    padding = np.array([[False, True, False], [True, True, True]])  # batch 1: all padding
    attn_mask = np.zeros((2, 3), dtype=bool)
    attn_mask[0] = [False, True, True]  # query 0 sees key 0 only
    attn_mask[1] = True                 # query 1 sees nothing
    x = leaf(rng.standard_normal((2, 2, 4)))
    memory = leaf(rng.standard_normal((2, 3, 4)))
    out, weights = layer(x, memory, memory, attn_mask=attn_mask, key_padding_mask=padding,
                         average_attn_weights=False)
    dead = np.array([[False, True], [True, True]])  # (batch, query) with nothing to see
    dead_rows = np.broadcast_to(dead[:, None, :], (2, 2, 2))  # (batch, head, query)
    assert np.all(np.isfinite(out.detach().numpy())) and np.all(np.isfinite(weights.detach().numpy()))
    assert np.all(weights.detach().numpy()[dead_rows] == 0)
    assert_close(weights.detach().numpy().sum(-1)[~dead_rows], np.ones(2), what="live rows")
    # No attention: the heads are 0, so the output is out_proj(0) = its bias.
    assert_close(out.detach().numpy()[dead],
                 np.broadcast_to(layer.out_proj.bias.detach().numpy(), (3, 4)),
                 what="dead rows")
    check_layer_gradients(
        layer, lambda q, m: layer(q, m, m, attn_mask=attn_mask, key_padding_mask=padding)[0],
        [x, memory])


def test_mha_masks_as_tensors_and_float_mask_gradient():
    """Masks may be tensors; a float mask tensor that requires grad receives its
    gradient (as in PyTorch), also when merged with a boolean padding mask."""
    rng = np.random.default_rng(4)
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    x = leaf(rng.standard_normal((2, 3, 4)))
    attn_mask = leaf(rng.standard_normal((4, 3, 3)))  # (B * heads, Tq, Tk)
    padding = ma.tensor(padding_mask(rng, 2, 3))
    check_layer_gradients(layer, lambda x, m: layer(x, x, x, attn_mask=m,
                                                    key_padding_mask=padding)[0], [x, attn_mask])
    bool_mask = blocked_mask(rng, (3, 3))
    with_arrays = layer(x, x, x, attn_mask=bool_mask, key_padding_mask=padding.detach().numpy())[0]
    with_tensors = layer(x, x, x, attn_mask=ma.tensor(bool_mask), key_padding_mask=padding)[0]
    assert_close(with_tensors.detach().numpy(), with_arrays.detach().numpy(), atol=0,
                 what="tensor masks")


def test_mha_causal_aligns_top_left_when_lengths_differ():
    rng = np.random.default_rng(5)
    layer = nn.MultiheadAttention(4, 2, batch_first=True).double()
    q, kv = leaf(rng.standard_normal((1, 2, 4))), leaf(rng.standard_normal((1, 4, 4)))
    _, weights = layer(q, kv, kv, is_causal=True)
    assert np.all(weights.detach().numpy()[..., causal_blocked(2, 4)] == 0)
    assert np.all(weights.detach().numpy()[..., ~causal_blocked(2, 4)] > 0)


def test_mha_keeps_last_weights_even_without_need_weights():
    rng = np.random.default_rng(6)
    layer = nn.MultiheadAttention(4, 2, batch_first=True).double()
    assert layer.last_attn_weights is None
    x = leaf(rng.standard_normal((2, 3, 4)))
    out, weights = layer(x, x, x, average_attn_weights=False)
    assert isinstance(layer.last_attn_weights, ma.Tensor)
    assert not layer.last_attn_weights.requires_grad
    assert_close(layer.last_attn_weights.detach().numpy(), weights.detach().numpy(), atol=0)
    out2, none = layer(x[:1], x[:1], x[:1], need_weights=False, is_causal=True)
    assert none is None
    assert layer.last_attn_weights.shape == (1, 2, 3, 3)
    assert np.all(layer.last_attn_weights.detach().numpy()[..., causal_blocked(3, 3)] == 0)
    _, averaged = layer(x, x, x)  # PyTorch's default: the mean over heads
    assert averaged.shape == (2, 3, 3) and layer.last_attn_weights.shape == (2, 2, 3, 3)


def test_mha_fused_and_composed_agree_and_composed_weights_carry_gradient():
    rng = np.random.default_rng(7)
    fused = nn.MultiheadAttention(4, 2, batch_first=True).double()
    composed = nn.MultiheadAttention(4, 2, fused=False, batch_first=True).double()
    composed.load_state_dict(fused.state_dict())
    x = rng.standard_normal((2, 3, 4))
    padding = padding_mask(rng, 2, 3)
    results = [layer(leaf(x), leaf(x), leaf(x), key_padding_mask=padding, is_causal=True)
               for layer in (fused, composed)]
    assert_close(results[0][0].detach().numpy(), results[1][0].detach().numpy(), what="output")
    assert_close(results[0][1].detach().numpy(), results[1][1].detach().numpy(), what="weights")
    assert not results[0][1].requires_grad and results[1][1].requires_grad


def test_mha_attention_dropout_is_active_only_in_training():
    rng = np.random.default_rng(8)
    layer = nn.MultiheadAttention(4, 2, dropout=1.0, batch_first=True).double()
    for p in layer.parameters():
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    x = leaf(rng.standard_normal((2, 3, 4)))
    # Every attention weight dropped: the heads are 0 and the output is out_proj's bias.
    out, weights = layer(x, x, x, average_attn_weights=False)
    assert_close(out.detach().numpy(),
                 np.broadcast_to(layer.out_proj.bias.detach().numpy(), out.shape), what="train")
    assert_close(weights.detach().numpy().sum(-1), np.ones((2, 2, 3)),
                 what="weights kept from before dropout")
    layer.eval()
    out, _ = layer(x, x, x)
    assert np.abs(out.detach().numpy() - layer.out_proj.bias.detach().numpy()).max() > 1e-3


def test_mha_initialises_as_torch():
    ma.manual_seed(0)
    layer = nn.MultiheadAttention(64, 4, batch_first=True)
    packed = np.concatenate([layer.q_proj.weight.detach().numpy(), layer.k_proj.weight.detach().numpy(),
                             layer.v_proj.weight.detach().numpy()])
    bound = np.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform over the packed (3E, E) matrix
    assert np.abs(packed).max() <= bound and np.abs(packed).max() > 0.9 * bound
    assert abs(packed.std() - bound / np.sqrt(3)) < 0.05 * bound
    for proj in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj):
        assert np.all(proj.bias.detach().numpy() == 0)
    assert np.abs(layer.out_proj.weight.detach().numpy()).max() <= 1 / 8


@pytest.mark.parametrize("bad, message", [
    (dict(attn_mask=np.zeros((3, 2), dtype=bool)), "attn_mask of shape"),
    (dict(key_padding_mask=np.zeros((3, 3), dtype=bool)), "key_padding_mask of shape"),
    (dict(attn_mask=np.zeros((3, 3), dtype=np.int64)), "boolean .* or floating"),
])
def test_mha_rejects_bad_masks(bad, message):
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    x = ma.randn(2, 3, 4)
    with pytest.raises((ValueError, TypeError), match=message):
        layer(x, x, x, **bad)


def test_mha_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(6, 4, batch_first=True)
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    with pytest.raises(ValueError, match=r"should be \(B, T, features\)"):
        layer(ma.randn(3, 4), ma.randn(3, 4), ma.randn(3, 4))
    with pytest.raises(ValueError, match="should be"):
        layer(ma.randn(2, 3, 4), ma.randn(1, 3, 4), ma.randn(1, 3, 4))


# -- AdditiveAttention -------------------------------------------------------------------

def additive_reference(layer, query, key, value, padding):
    """Bahdanau attention written out in numpy."""
    scores = np.tanh((query @ layer.query_proj.weight.detach().numpy().T)[:, :, None, :]
                     + (key @ layer.key_proj.weight.detach().numpy().T)[:, None, :, :])
    scores = (scores @ layer.score_proj.weight.detach().numpy().T)[..., 0]
    if padding is not None:
        scores = np.where(padding[:, None, :], -np.inf, scores)
    shifted = np.exp(scores - np.max(scores, -1, keepdims=True, initial=-1e300))
    weights = shifted / np.maximum(shifted.sum(-1, keepdims=True), 1e-300)
    return weights @ value, weights


@pytest.mark.parametrize("padded", [False, True])
def test_additive_attention_values(padded):
    rng = np.random.default_rng(9)
    layer = nn.AdditiveAttention(query_dim=3, key_dim=5, hidden_dim=4).double()
    query, key, value = (rng.standard_normal(s) for s in ((2, 3, 3), (2, 4, 5), (2, 4, 2)))
    padding = np.array([[False, False, True, True], [True, True, True, True]]) if padded else None
    context, weights = layer(leaf(query), leaf(key), leaf(value), key_padding_mask=padding)
    expected_context, expected_weights = additive_reference(layer, query, key, value, padding)
    assert_close(context.detach().numpy(), expected_context, what="context")
    assert_close(weights.detach().numpy(), expected_weights, what="weights")
    assert_close(layer.last_attn_weights.detach().numpy(), expected_weights, what="kept weights")
    if padded:
        assert np.all(weights.detach().numpy()[1] == 0) and np.all(context.detach().numpy()[1] == 0)


@pytest.mark.parametrize("padding", [None, [[False, True, False], [True, True, True]]])
def test_additive_attention_gradcheck(padding):
    rng = np.random.default_rng(10)
    layer = nn.AdditiveAttention(3, 2, 4)
    padding = None if padding is None else np.array(padding)
    inputs = [leaf(rng.standard_normal(s)) for s in ((2, 2, 3), (2, 3, 2), (2, 3, 3))]
    check_layer_gradients(layer, lambda q, k, v: layer(q, k, v, key_padding_mask=padding),
                          inputs)


def test_additive_attention_single_query_and_keys_as_values():
    rng = np.random.default_rng(11)
    layer = nn.AdditiveAttention(3, 2, 4).double()
    query, key = rng.standard_normal((2, 3)), rng.standard_normal((2, 5, 2))
    context, weights = layer(leaf(query), leaf(key))
    expected_context, expected_weights = additive_reference(layer, query[:, None], key, key, None)
    assert context.shape == (2, 2) and weights.shape == (2, 5)
    assert_close(context.detach().numpy(), expected_context[:, 0], what="context")
    assert_close(layer.last_attn_weights.detach().numpy(), expected_weights[:, 0],
                 what="kept weights")


def test_mha_sequence_first_by_default_matches_batch_first():
    """PyTorch's default layout is (T, B, E); batch_first=True is (B, T, E)."""
    rng = np.random.default_rng(11)
    seq_first = nn.MultiheadAttention(4, 2).double()
    batch_first = nn.MultiheadAttention(4, 2, batch_first=True).double()
    batch_first.load_state_dict(seq_first.state_dict())
    x = rng.standard_normal((2, 3, 4))                       # (B, T, E)
    out_bf, w_bf = batch_first(leaf(x), leaf(x), leaf(x))
    x_sf = leaf(x.transpose(1, 0, 2))                        # (T, B, E)
    out_sf, w_sf = seq_first(x_sf, x_sf, x_sf)
    assert out_sf.shape == (3, 2, 4)
    assert_close(out_sf.detach().numpy().transpose(1, 0, 2), out_bf.detach().numpy(), what="output")
    assert_close(w_sf.detach().numpy(), w_bf.detach().numpy(), what="weights")
    reference = torch.nn.MultiheadAttention(4, 2, dtype=torch.float64)
    reference.in_proj_weight.data = torch.tensor(np.concatenate(
        [seq_first.q_proj.weight.detach().numpy(), seq_first.k_proj.weight.detach().numpy(),
         seq_first.v_proj.weight.detach().numpy()]))
    reference.in_proj_bias.data = torch.tensor(np.concatenate(
        [seq_first.q_proj.bias.detach().numpy(), seq_first.k_proj.bias.detach().numpy(),
         seq_first.v_proj.bias.detach().numpy()]))
    reference.out_proj.weight.data = torch.tensor(seq_first.out_proj.weight.detach().numpy())
    reference.out_proj.bias.data = torch.tensor(seq_first.out_proj.bias.detach().numpy())
    t = torch.tensor(x_sf.detach().numpy())
    expected, _ = reference(t, t, t)
    assert_close(out_sf.detach().numpy(), expected.detach().numpy(), what="torch sequence-first")


def test_mha_capture_graph_keeps_differentiable_weights_and_scores():
    rng = np.random.default_rng(12)
    layer = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = leaf(rng.standard_normal((2, 3, 4)))
    layer.capture_graph = True
    out, _ = layer(x, x, x, is_causal=True)
    weights = layer.last_attn_weights
    assert weights.requires_grad and weights.shape == (2, 2, 3, 3)
    assert layer.last_attn_scores.shape == (2, 2, 3, 3)
    assert layer.last_attn_scores.requires_grad  # dL/dS can be retained (pictures)
    weights.retain_grad()
    (out * out).sum().backward()
    assert np.asarray(weights.grad).shape == (2, 2, 3, 3)
    q = layer.q_proj(x).detach().numpy().reshape(2, 3, 2, 2).transpose(0, 2, 1, 3)
    k = layer.k_proj(x).detach().numpy().reshape(2, 3, 2, 2).transpose(0, 2, 1, 3)
    causal = np.where(np.triu(np.ones((3, 3), bool), 1), -np.inf, 0.0)  # the mask is added
    assert_close(layer.last_attn_scores.detach().numpy(), q @ k.swapaxes(-1, -2) / np.sqrt(2) + causal,
                 what="scores")
    layer.capture_graph = False
    layer(x, x, x)
    assert not layer.last_attn_weights.requires_grad


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("q_len, k_len", [(3, 0), (0, 3), (0, 0)],
                         ids=["no keys", "no queries", "neither"])
def test_multihead_attention_with_length_zero(q_len, k_len, fused, no_numpy_warnings):
    ma.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True, fused=fused)
    reference = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # the same weights: PyTorch packs q, k, v into one matrix
        reference.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [np.asarray(m.weight.detach().numpy(), np.float64) for m in (mha.q_proj, mha.k_proj,
                                                             mha.v_proj)])))
        reference.in_proj_bias.fill_(0.25)
        reference.out_proj.weight.copy_(torch.tensor(np.asarray(mha.out_proj.weight.detach().numpy(),
                                                                np.float64)))
        reference.out_proj.bias.fill_(0.5)
    mha.double()
    with ma.no_grad():
        for m in (mha.q_proj, mha.k_proj, mha.v_proj):
            m.bias.detach().numpy()[...] = 0.25
        mha.out_proj.bias.detach().numpy()[...] = 0.5
    query, query_t = leaf_pair((2, q_len, 4), 5)
    key, key_t = leaf_pair((2, k_len, 4), 6)
    out, weights = mha(query, key, key)
    out_t, weights_t = reference(query_t, key_t, key_t)
    assert_same_as_torch(out, out_t, "output")    # no keys: out_proj.bias, as PyTorch
    assert_same_as_torch(weights, weights_t, "weights")
    out.sum().backward()
    out_t.sum().backward()
    assert_same_as_torch(query.grad, query_t.grad, "d query")
    assert_same_as_torch(key.grad, key_t.grad, "d key")
    assert_same_as_torch(mha.out_proj.bias.grad, reference.out_proj.bias.grad, "d out_proj.bias")


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


def test_key_padding_mask_as_a_list_is_a_type_error():
    query = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    mask = [[False, False, True], [False, True, True]]
    ours = nn.MultiheadAttention(4, 2, batch_first=True)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    q, qt = ma.tensor(query), torch.tensor(query)
    raises_like_torch(lambda: ours(q, q, q, key_padding_mask=mask),
                      lambda: theirs(qt, qt, qt, key_padding_mask=mask),
                      r"MultiheadAttention: key_padding_mask must be a tensor or an ndarray, "
                      r"not list")


@pytest.mark.parametrize("name", ["attn_mask", "key_padding_mask"])
def test_masks_as_tensors_or_arrays_still_work(name):
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    q = ma.randn(2, 3, 4)
    shape = (3, 3) if name == "attn_mask" else (2, 3)
    mask = np.zeros(shape, dtype=bool)
    mask[..., -1] = True
    out_array, _ = mha(q, q, q, **{name: mask})
    out_tensor, _ = mha(q, q, q, **{name: ma.tensor(mask)})
    np.testing.assert_array_equal(np.asarray(out_array), np.asarray(out_tensor))
