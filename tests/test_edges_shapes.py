"""Shapes drawn by hypothesis (empty dims, size-1 dims, 0-d tensors,
non-contiguous data) through the public ops, against PyTorch: the same values
and gradients, or an error of the type PyTorch raises, naming the op; never
a numpy traceback from inside."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from microattn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SIDES = st.sampled_from([0, 1, 2, 3])


@st.composite
def edge_arrays(draw, min_dims=0, max_dims=3):
    """float64 data of a shape with 0-, 1- and 2-sized sides, sometimes
    non-contiguous (the transpose of a contiguous array)."""
    shape = tuple(draw(st.lists(SIDES, min_size=min_dims, max_size=max_dims)))
    data = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
    if len(shape) >= 2 and draw(st.booleans()):
        data = np.ascontiguousarray(data.swapaxes(0, -1)).swapaxes(0, -1)
    return data


def run_both(fn_ours, fn_torch, data):
    """Run each library on the same data. Returns (ours, theirs, x, xt) or, when
    PyTorch raises, asserts that we raise the same type and returns None."""
    x = ma.tensor(data, requires_grad=True)
    xt = torch.tensor(np.array(data), requires_grad=True)
    try:
        theirs = fn_torch(xt)
    except Exception as error:  # noqa: BLE001 - any error PyTorch raises, we must too
        with pytest.raises(type(error)):
            fn_ours(x)
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Mean of empty slice", RuntimeWarning)
        ours = fn_ours(x)
    return ours, theirs, x, xt


def check(fn_ours, fn_torch, data):
    """Values and gradients agree with PyTorch (or both raise the same type)."""
    result = run_both(fn_ours, fn_torch, data)
    if result is None:
        return
    ours, theirs, x, xt = result
    if isinstance(theirs, tuple):
        ours, theirs = ours[0], theirs[0]
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(np.asarray(ours.data), expected, rtol=1e-10, atol=1e-12,
                               equal_nan=True)
    if not theirs.requires_grad:
        return
    g = np.random.default_rng(0).standard_normal(expected.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-8, atol=1e-12,
                               equal_nan=True)


REDUCTIONS = ["max", "min", "amax", "amin", "argmax", "argmin", "sum", "mean"]


@given(edge_arrays(), st.sampled_from(REDUCTIONS))
def test_reductions_of_everything(data, op):
    check(lambda x: getattr(x, op)(), lambda x: getattr(x, op)(), data)


@given(edge_arrays(min_dims=1), st.sampled_from(REDUCTIONS), st.integers(-3, 2),
       st.booleans())
def test_reductions_along_a_dim(data, op, dim, keepdim):
    dim = dim % data.ndim
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim),
          lambda x: getattr(x, op)(dim, keepdim=keepdim), data)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_reductions_over_an_empty_dim_name_it(op):
    x = ma.zeros(3, 0)
    with pytest.raises(IndexError, match=rf"{op}\(\): Expected reduction dim 1 to have non-zero "
                                         r"size \(the tensor has shape \(3, 0\)\)"):
        getattr(x, op)(1)
    error = IndexError if op.startswith("arg") else RuntimeError
    with pytest.raises(error, match=rf"{op}\(\): Expected reduction dim to be specified"):
        getattr(x, op)()
    assert getattr(x, op)(0)[0].shape == (0,) if op in ("max", "min") else True


@given(edge_arrays(), st.integers(-2, 1), st.integers(-2, 1))
def test_transpose_any_shape(data, dim0, dim1):
    check(lambda x: x.transpose(dim0, dim1), lambda x: x.transpose(dim0, dim1), data)


@given(edge_arrays(), st.integers(-3, 2))
def test_squeeze_any_shape(data, dim):
    check(lambda x: x.squeeze(dim), lambda x: x.squeeze(dim), data)


@given(edge_arrays(min_dims=1), st.sampled_from(["softmax", "log_softmax"]), st.integers(-3, 2))
def test_softmax_any_shape(data, name, dim):
    check(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim), data)


@given(edge_arrays(min_dims=1), st.sampled_from(["relu", "gelu", "tanh", "sigmoid"]))
def test_activations_any_shape(data, name):
    check(getattr(F, name), getattr(TF if name in ("relu", "gelu") else torch, name), data)


@given(edge_arrays(min_dims=1))
def test_layer_norm_any_shape(data):
    shape = data.shape[-1:]
    check(lambda x: F.layer_norm(x, shape), lambda x: TF.layer_norm(x, shape), data)


@given(st.sampled_from([(2, 1, 3), (0, 2, 3), (2, 0, 3), (2, 3, 0), (1, 1, 1)]),
       st.sampled_from([0, 1, 2, 4]))
def test_matmul_with_a_shared_matrix_and_empty_sides(a_shape, out):
    """(..., n) @ (n, m): the batch-of-rows backward, with any side empty."""
    b = np.random.default_rng(1).standard_normal((a_shape[-1], out))
    bt = torch.tensor(b, requires_grad=True)
    ours_b = ma.tensor(b, requires_grad=True)
    data = np.random.default_rng(2).standard_normal(a_shape)
    check(lambda x: x @ ours_b, lambda x: x @ bt, data)
    np.testing.assert_allclose(np.asarray(ours_b.grad), bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_transpose_and_squeeze_of_a_0d_tensor_as_pytorch():
    x = ma.tensor(2.0, requires_grad=True)
    y = x.transpose(0, -1)
    y.backward()
    assert y.shape == () and y.item() == 2.0 and x.grad.item() == 1.0
    with pytest.raises(IndexError, match=r"Squeeze.*dim 1 is out of range"):
        x.squeeze(1)
    with pytest.raises(IndexError, match=r"Transpose.*dim 1 is out of range"):
        x.transpose(0, 1)


@st.composite
def attention_case(draw):
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


@given(attention_case(), st.booleans())
def test_attention_with_any_side_empty_or_one(case, fused):
    (q, k, v), mask, causal = case
    ours = [ma.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask, is_causal=causal, fused=fused)
    expected = TF.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-12)


@given(st.sampled_from([(0, 3), (2, 1), (2, 3), (0, 3, 2), (2, 3, 0), (2, 1, 1), (1, 3, 4)]),
       st.sampled_from(["mean", "sum", "none"]), st.floats(0.0, 0.5), st.booleans())
def test_cross_entropy_in_pytorch_layouts_with_edge_sizes(shape, reduction, smoothing, fused):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(shape)
    target = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    if target.size:
        target.flat[0] = -100   # one ignored position
    x, xt = ma.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing, fused=fused)
    expected = TF.cross_entropy(xt, torch.tensor(target), reduction=reduction,
                                label_smoothing=smoothing)
    np.testing.assert_allclose(np.asarray(loss.data), expected.detach().numpy(), rtol=1e-10,
                               atol=1e-12, equal_nan=True)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


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
        ours.weight.data[...] = weight
        ours.bias.data[...] = bias
    check(ours, theirs, rng.standard_normal(lead + (in_features,)))
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.bias.grad), theirs.bias.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
