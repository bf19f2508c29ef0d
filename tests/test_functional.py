"""microattn.functional: activations, dropout, linear, embedding.

(layer_norm, the losses and attention have their own test modules.) Each
function: gradcheck in float64 on hypothesis-drawn shapes, and values and
gradients equal to PyTorch's to 1e-10 relative.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from microattn.ops.dropout import dropout_mask
from helpers import assert_close, assert_fused_matches_composed, leaf, shapes, torch_parity, transposed_leaf
from microattn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# -- activations -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_pointwise_activations_match_torch(name, rng):
    x = rng.standard_normal((3, 4))
    torch_parity(getattr(F, name), getattr(torch, name), [x])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_and_gradchecks(approximate, rng):
    x = rng.uniform(-6, 6, size=(4, 5))
    torch_parity(lambda t: F.gelu(t, approximate=approximate),
                 lambda t: TF.gelu(t, approximate=approximate), [x])
    assert ma.gradcheck(lambda t: F.gelu(t, approximate), [transposed_leaf(x)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_fused_and_composed_match_torch_and_each_other(name, rng):
    x = rng.standard_normal((2, 3, 4)) * 5
    for fused in (True, False):
        torch_parity(lambda t: getattr(F, name)(t, 1, fused=fused),
                     lambda t: getattr(TF, name)(t, 1), [x])
    assert_fused_matches_composed(lambda t, fused: getattr(F, name)(t, -1, fused=fused), [x])
    composed = getattr(F, name)(leaf(x), -1, fused=False)
    assert composed.grad_fn.name() != getattr(F, name)(leaf(x), -1).grad_fn.name()


# -- dropout ------------------------------------------------------------------------

def test_dropout_zeroes_about_p_and_scales_the_rest_by_one_over_one_minus_p():
    ma.manual_seed(0)
    x = ma.ones(100, 100, dtype=np.float64)
    y = F.dropout(x, p=0.3).detach().numpy()
    kept = y != 0
    assert_close(y[kept], np.full(kept.sum(), 1 / 0.7), what="kept values")
    # 10,000 Bernoulli(0.7) draws: the kept fraction is within 5 sigma (0.023) of 0.7.
    assert abs(kept.mean() - 0.7) < 0.023


def test_dropout_is_the_identity_when_not_training_or_p_is_zero(rng):
    x = leaf(rng.standard_normal((3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_with_p_one_gives_zeros_and_zero_gradient(rng):
    x = leaf(rng.standard_normal((3, 4)))
    y = F.dropout(x, p=1.0)
    y.sum().backward()
    assert np.array_equal(y.detach().numpy(), np.zeros((3, 4)))
    assert np.array_equal(x.grad, np.zeros((3, 4)))


def test_dropout_is_reproducible_under_manual_seed(rng):
    x = leaf(rng.standard_normal((5, 6)))
    ma.manual_seed(7)
    first = F.dropout(x, 0.5).detach().numpy()
    ma.manual_seed(7)
    second = F.dropout(x, 0.5).detach().numpy()
    assert np.array_equal(first, second)
    assert not np.array_equal(first, F.dropout(x, 0.5).detach().numpy())  # the stream moves on


@given(shapes(min_dims=1, max_dims=3), st.sampled_from([0.1, 0.5, 0.9]))
@settings(max_examples=10)
def test_dropout_gradient_is_the_scaled_mask(shape, p):
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal(shape))
    ma.manual_seed(3)
    mask = dropout_mask(shape, p, np.float64)
    ma.manual_seed(3)
    y = F.dropout(x, p)
    g = rng.standard_normal(shape)
    y.backward(g)
    assert_close(y.detach().numpy(), x.detach().numpy() * mask, what="value")
    assert_close(x.grad, g * mask, what="gradient")
    assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}

    def reseeded(t):
        ma.manual_seed(3)
        return F.dropout(t, p)
    assert ma.gradcheck(reseeded, [transposed_leaf(rng.standard_normal(shape))])


def test_dropout_keeps_float32():
    x = ma.ones(4, 4, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(ma.ones(2), p)


# -- linear ---------------------------------------------------------------------------

@given(shapes(min_dims=0, max_dims=2, max_side=3), st.integers(1, 4), st.integers(1, 4),
       st.booleans())
@settings(max_examples=15)
def test_linear_gradchecks_and_matches_torch(batch, n_in, n_out, with_bias):
    rng = np.random.default_rng(len(batch) + n_in * 5 + n_out)
    arrays = [rng.standard_normal(batch + (n_in,)), rng.standard_normal((n_out, n_in))]
    if with_bias:
        arrays.append(rng.standard_normal(n_out))
    torch_parity(F.linear, TF.linear, arrays)
    assert ma.gradcheck(F.linear, [leaf(a) for a in arrays])


def test_linear_takes_a_transposed_weight(rng):
    x, w = leaf(rng.standard_normal((3, 4))), transposed_leaf(rng.standard_normal((2, 4)))
    assert ma.gradcheck(F.linear, [x, w])


def test_linear_shape_errors_name_the_op_and_both_shapes():
    x, w = ma.ones(2, 3), ma.ones(4, 5)
    with pytest.raises(ValueError, match=r"linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(x, w)
    with pytest.raises(ValueError, match=r"linear: bias of shape \(5,\).*\(4, 3\)"):
        F.linear(x, ma.ones(4, 3), ma.ones(5))


# -- embedding ------------------------------------------------------------------------

def test_embedding_matches_torch(rng):
    indices = np.array([[0, 2, 2], [4, 1, 0]])
    weight = rng.standard_normal((5, 3))
    torch_parity(lambda w: F.embedding(indices, w),
                 lambda w: TF.embedding(torch.tensor(indices), w), [weight])


@pytest.mark.parametrize("padding_idx", [2, -3])
def test_embedding_padding_idx_returns_the_row_but_takes_no_gradient(padding_idx, rng):
    indices = ma.tensor([[0, 2, 2], [4, 1, 0]])
    weight = rng.standard_normal((5, 3))
    torch_parity(lambda w: F.embedding(indices, w, padding_idx=padding_idx),
                 lambda w: TF.embedding(torch.tensor(indices.detach().numpy()), w,
                                        padding_idx=padding_idx),
                 [weight])
    w = leaf(weight)
    out = F.embedding(indices, w, padding_idx=padding_idx)
    out.backward(np.ones(out.shape))
    assert_close(out.detach().numpy()[0, 1], weight[2], what="padding row is still looked up")
    assert np.array_equal(w.grad[2], np.zeros(3))
    assert_close(w.grad[0], np.full(3, 2.0), what="row 0 is looked up twice")


@pytest.mark.parametrize("call", [
    lambda: F.dropout(ma.zeros(3), None),
    lambda: nn.Dropout("0.1"),
    lambda: nn.MultiheadAttention(4, 2, dropout=None),
], ids=["F.dropout", "nn.Dropout", "MultiheadAttention"])
def test_a_dropout_probability_that_is_not_a_number_is_named(call):
    with pytest.raises(TypeError, match="dropout probability has to be a number between 0 and 1"):
        call()
