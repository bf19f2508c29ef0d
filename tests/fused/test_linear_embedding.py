"""Fused ops against their composed forms and against the textbook: Linear, Embedding's
backward (sort and reduce), the one mask conversion, attention's second output."""
import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from helpers import check, assert_close, float16_parity, leaf, transposed_leaf
from microattn import nn
import warnings
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5), (2, 1, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_composed_and_gradchecks(shape, bias, rng):
    x, w = leaf(rng.standard_normal(shape)), transposed_leaf(rng.standard_normal((5, 4)).T)
    b = leaf(rng.standard_normal(4)) if bias else None
    fused = F.linear(x, w, b)
    composed = x @ w.T + b if bias else x @ w.T
    assert fused.grad_fn.name() == "LinearBackward" and fused.shape == composed.shape
    assert_close(fused.detach().numpy(), composed.detach().numpy(), 1e-12, 1e-12)
    assert ma.gradcheck(lambda x, w, *b: F.linear(x, w, *b), [x, w] + ([b] if bias else []))


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_backward_equals_add_at(padding_idx, rng):
    weight = ma.tensor(rng.standard_normal((7, 3)).astype(np.float32), requires_grad=True)
    ids = rng.integers(0, 7, size=(4, 9))
    grad = rng.standard_normal((4, 9, 3)).astype(np.float32)
    F.embedding(ids, weight, padding_idx=padding_idx).backward(grad)
    expected = np.zeros((7, 3), np.float32)
    np.add.at(expected, ids.reshape(-1), grad.reshape(-1, 3))
    if padding_idx is not None:
        expected[padding_idx] = 0
    assert_close(np.asarray(weight.grad), expected, 1e-6, 1e-6)


def test_embedding_padding_idx_is_a_line_in_backward_not_a_hook():
    weight = ma.tensor(np.ones((4, 2)), requires_grad=True)
    out = F.embedding(np.array([[0, 3, 3]]), weight, padding_idx=-1)
    assert out.grad_fn.name() == "EmbeddingBackward" and not out.grad_fn._hooks
    out.sum().backward()
    np.testing.assert_array_equal(np.asarray(weight.grad), [[1, 1], [0, 0], [0, 0], [0, 0]])


def test_attention_mask_turns_every_convention_into_one_additive_form():
    allowed = np.array([[True, False], [True, True]])
    expected = np.array([[0.0, -np.inf], [0.0, 0.0]], np.float32)
    np.testing.assert_array_equal(F.attention_mask(allowed, np.float32, "allowed"), expected)
    np.testing.assert_array_equal(F.attention_mask(~allowed, np.float32, "blocked"), expected)
    np.testing.assert_array_equal(F.attention_mask(expected, np.float32), expected)
    floats = ma.tensor(expected.astype(np.float64), requires_grad=True)
    assert F.attention_mask(floats, np.float32) is floats  # keeps its gradient
    assert F.attention_mask(None, np.float32) is None
    with pytest.raises(TypeError, match="boolean.*or floating"):
        F.attention_mask(np.array([[1, 0]]), np.float32)
    causal = F.causal_mask(2, 3, np.dtype(np.float32))
    np.testing.assert_array_equal(causal, [[0, -np.inf, -np.inf], [0, 0, -np.inf]])
    assert causal is F.causal_mask(2, 3, np.dtype(np.float32))  # made once, then cached


def test_fused_attention_returns_weights_as_a_second_output_without_gradient(rng):
    q, k, v = (leaf(rng.standard_normal((2, 3, 4))) for _ in range(3))
    from microattn.fused.attention import ScaledDotProductAttention
    out, weights = ScaledDotProductAttention.apply(q, k, v, None, None, 0.5)
    assert out.requires_grad and not weights.requires_grad and weights.grad_fn is None
    assert_close(weights.detach().numpy().sum(-1), np.ones((2, 3)))
    with pytest.raises(ValueError):
        weights.detach().numpy()[0, 0, 0] = 1.0  # the array backward reads: read-only


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
def test_mha_key_padding_and_float_masks_match_torch(rng):
    mha = ma.nn.MultiheadAttention(8, 2, batch_first=True).double()
    twin = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        twin.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [mha.q_proj.weight.detach().numpy(), mha.k_proj.weight.detach().numpy(),
             mha.v_proj.weight.detach().numpy()])))
        twin.in_proj_bias.zero_()
        twin.out_proj.weight.copy_(torch.tensor(mha.out_proj.weight.detach().numpy()))
        twin.out_proj.bias.zero_()
    x = rng.standard_normal((2, 4, 8))
    padding = np.array([[False, False, True, True], [False, False, False, False]])
    float_mask = rng.standard_normal((4, 4))
    ours, _ = mha(ma.tensor(x), ma.tensor(x), ma.tensor(x), key_padding_mask=padding,
                  attn_mask=float_mask)
    theirs, _ = twin(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(padding),
                     attn_mask=torch.tensor(float_mask))
    assert_close(ours.detach().numpy(), theirs.detach().numpy(), 1e-10, 1e-12)


def test_linear_float16_wide_rows_with_a_large_offset_are_computed_in_float32(rng):
    x = 50 + rng.standard_normal((4, 4096))
    w, b = 0.01 * rng.standard_normal((8, 4096)), rng.standard_normal(8)
    float16_parity(F.linear, torch.nn.functional.linear, [x, w, b], grad_tol=2e-2)


def test_embedding_float16_gradient_sums_in_float32(rng):
    weight = rng.standard_normal((5, 16))
    ids = rng.integers(0, 5, 4096)  # each row collects ~800 gradients of 1
    float16_parity(lambda w: F.embedding(ma.tensor(ids), w),
                   lambda w: torch.nn.functional.embedding(torch.tensor(ids), w), [weight])


TF = torch.nn.functional


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


@pytest.mark.parametrize("shape", [(3,), ()])
def test_embedding_weight_must_be_2d(shape):
    raises_like_torch(lambda: F.embedding(ma.tensor([1]), ma.zeros(shape)),
                      lambda: TF.embedding(torch.tensor([1]), torch.zeros(shape)),
                      r"embedding: weight of shape .* must be 2-D")


@pytest.mark.parametrize("padding_idx", [3, 10, -4])
def test_functional_embedding_padding_idx_out_of_range_is_refused(padding_idx):
    weight = ma.zeros(3, 2, requires_grad=True)
    with pytest.raises(AssertionError):   # PyTorch asserts; we name it
        TF.embedding(torch.tensor([1]), torch.zeros(3, 2), padding_idx=padding_idx)
    with pytest.raises(ValueError, match=rf"embedding: padding_idx {padding_idx} must be within "
                                         r"num_embeddings \(3\)"):
        F.embedding(ma.tensor([1]), weight, padding_idx=padding_idx)


def test_functional_embedding_negative_padding_idx_counts_from_the_end():
    weight = ma.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    F.embedding(ma.tensor([0, 2, 2]), weight, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(np.asarray(weight.grad), [[1, 1], [0, 0], [0, 0]])


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors:UserWarning")  # torch's
@given(st.sampled_from([(0, 3), (3, 0), (0, 0), (3, 2)]),
       st.sampled_from([(2, 5), (0,), (), (1, 0)]))
def test_linear_with_no_inputs_outputs_or_rows(features, lead):
    in_features, out_features = features
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((out_features, in_features))
    bias = rng.standard_normal(out_features)
    ours = nn.Linear(in_features, out_features).double()
    theirs = torch.nn.Linear(in_features, out_features, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
        theirs.bias.copy_(torch.tensor(bias))
    with ma.no_grad():
        ours.weight.detach().numpy()[...] = weight
        ours.bias.detach().numpy()[...] = bias
    check(ours, theirs, rng.standard_normal(lead + (in_features,)))
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.bias.grad), theirs.bias.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
