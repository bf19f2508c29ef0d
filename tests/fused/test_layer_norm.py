"""F.layer_norm: the fused LayerNorm node and the composed graph.

gradcheck of x, weight and bias in float64 on hypothesis-drawn shapes; values
and gradients equal to PyTorch's to 1e-10 relative (with and without the
affine part, normalised over 1 and 2 dims); fused and composed agree to 1e-12.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from helpers import FUSED, leaf_pair, assert_same_as_torch, edge_arrays, check, assert_close, assert_fused_matches_composed, float16_parity, leaf, shapes, torch_parity, transposed_leaf
import warnings

torch = pytest.importorskip("torch")
TF = torch.nn.functional

AFFINE = ["none", "weight", "weight_and_bias"]


@st.composite
def layer_norm_case(draw):
    """(x shape, normalized_shape, affine): 0-2 leading dims, 1 or 2 normalised dims."""
    normalized = draw(shapes(min_dims=1, max_dims=2, min_side=2, max_side=4))
    leading = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    return leading + normalized, normalized, draw(st.sampled_from(AFFINE))


def arrays_for(shape, normalized, affine, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape)]
    if affine != "none":
        arrays.append(rng.standard_normal(normalized))
    if affine == "weight_and_bias":
        arrays.append(rng.standard_normal(normalized))
    return arrays


def norm_fn(normalized, module=F, **kwargs):
    """layer_norm(x[, weight[, bias]]) over ``normalized`` from F or torch's functional."""
    def fn(x, *params, **more):
        return module.layer_norm(x, normalized, *params, eps=1e-5, **kwargs, **more)
    return fn


@given(layer_norm_case())
@settings(max_examples=20)
def test_fused_layer_norm_gradchecks(case):
    shape, normalized, affine = case
    x, *params = arrays_for(shape, normalized, affine)
    inputs = [transposed_leaf(x)] + [leaf(p) for p in params]
    assert ma.gradcheck(norm_fn(normalized), inputs)


@pytest.mark.parametrize("affine", AFFINE)
def test_composed_layer_norm_gradchecks(affine):
    x, *params = arrays_for((2, 3, 4), (3, 4), affine)
    assert ma.gradcheck(norm_fn((3, 4), fused=False), [leaf(a) for a in [x, *params]])


@given(layer_norm_case())
@settings(max_examples=20)
def test_layer_norm_matches_torch(case):
    shape, normalized, affine = case
    arrays = arrays_for(shape, normalized, affine, seed=1)
    torch_parity(norm_fn(normalized), norm_fn(normalized, TF), arrays)


@given(layer_norm_case())
@settings(max_examples=15)
def test_fused_and_composed_layer_norm_agree(case):
    shape, normalized, affine = case
    assert_fused_matches_composed(norm_fn(normalized), arrays_for(shape, normalized, affine))


def test_int_normalized_shape_means_the_last_dim(rng):
    x = rng.standard_normal((3, 5))
    torch_parity(lambda t: F.layer_norm(t, 5), lambda t: TF.layer_norm(t, (5,)), [x])


def test_constant_rows_give_bias_and_finite_gradients():
    """var = 0: x_hat = 0 and sigma = sqrt(eps), so nothing divides by zero."""
    x = leaf(np.full((2, 4), 3.0))
    bias = leaf(np.arange(4.0))
    y = F.layer_norm(x, (4,), None, bias)
    y.backward(np.ones((2, 4)))
    assert_close(y.detach().numpy(), np.tile(np.arange(4.0), (2, 1)), what="value")
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("fused", [True, False])
def test_layer_norm_keeps_float32(fused):
    x = ma.randn(2, 3, requires_grad=True)
    w = ma.ones(3, requires_grad=True)
    y = F.layer_norm(x, (3,), w, fused=fused)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_layer_norm_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\).*\(4,\)"):
        F.layer_norm(ma.ones(2, 3), (4,))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(2,\).*\(3,\)"):
        F.layer_norm(ma.ones(2, 3), (3,), ma.ones(2))


@pytest.mark.parametrize("affine", [False, True])
def test_float16_wide_rows_with_a_large_offset_are_computed_in_float32(affine, rng):
    # (4, 4096) around 50: a float16 row sum overflows; PyTorch's error is ~2e-3
    x = 50 + rng.standard_normal((4, 4096))
    params = [1 + 0.1 * rng.standard_normal(4096), 0.1 * rng.standard_normal(4096)]
    float16_parity(lambda t, *wb: F.layer_norm(t, (4096,), *wb),
                   lambda t, *wb: torch.nn.functional.layer_norm(t, (4096,), *wb),
                   [x] + (params if affine else []))


@FUSED
@pytest.mark.parametrize("shape, normalized", [((0, 5), (5,)), ((3, 0), (0,)),
                                               ((2, 0, 3), (3,))])
def test_layer_norm_on_empty_input(shape, normalized, fused, no_numpy_warnings):
    x, xt = leaf_pair(shape)
    w, wt = leaf_pair(normalized, 1)
    b, bt = leaf_pair(normalized, 2)
    y = F.layer_norm(x, normalized, w, b, fused=fused)  # quietly: no numpy warning either
    y_t = TF.layer_norm(xt, normalized, wt, bt)
    assert_same_as_torch(y, y_t, "output")
    y.sum().backward()
    y_t.sum().backward()
    for ours, theirs, name in ((x, xt, "dx"), (w, wt, "d weight"), (b, bt, "d bias")):
        assert_same_as_torch(ours.grad, theirs.grad, name)


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


@pytest.mark.parametrize("shape", [2.5, None, "3", (3.0,)])
def test_layer_norm_names_a_normalized_shape_that_is_not_ints(shape):
    raises_like_torch(lambda: F.layer_norm(ma.zeros(2, 3), shape),
                      lambda: TF.layer_norm(torch.zeros(2, 3), shape),
                      "layer_norm: normalized_shape must be an int or a tuple of ints")


@given(edge_arrays(min_dims=1))
def test_layer_norm_any_shape(data):
    shape = data.shape[-1:]
    check(lambda x: F.layer_norm(x, shape), lambda x: TF.layer_norm(x, shape), data)
