"""Fused softmax and log_softmax: gradients, PyTorch parity, and numerical stability
(inputs of magnitude 1e4 and -inf entries give finite values and gradients)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from helpers import FUSED, leaf_pair, assert_same_as_torch, edge_arrays, check, float16_parity, leaf, shapes, torch_parity, transposed_leaf
from microattn.fused import log_softmax, softmax
import warnings
from microattn import functional as F

torch = pytest.importorskip("torch")

OPS = {
    "softmax": (lambda x, dim: x.softmax(dim), torch.softmax),
    "log_softmax": (lambda x, dim: x.log_softmax(dim), torch.log_softmax),
}
BOTH = pytest.mark.parametrize("op", OPS, ids=OPS)
LAYOUTS = pytest.mark.parametrize("make", [leaf, transposed_leaf], ids=["contiguous", "transposed"])


@st.composite
def shape_and_dim(draw):
    shape = draw(shapes(min_dims=1))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def data(shape, scale=1.0, shift=0.0, seed=0):
    return shift + scale * np.random.default_rng(seed).standard_normal(shape)


@BOTH
@LAYOUTS
@settings(max_examples=15)
@given(shape_and_dim())
def test_gradcheck(op, make, case):
    shape, dim = case
    fn = OPS[op][0]
    assert ma.gradcheck(lambda x: fn(x, dim), [make(data(shape, scale=3.0))])


@BOTH
@settings(max_examples=15)
@given(shape_and_dim())
def test_gradcheck_far_from_zero(op, case):
    # exp(1e4) overflows: only the max-subtracting form survives this.
    shape, dim = case
    fn = OPS[op][0]
    assert ma.gradcheck(lambda x: fn(x, dim), [leaf(data(shape, shift=1e4))])


@BOTH
@given(shape_and_dim())
def test_matches_torch(op, case):
    shape, dim = case
    fn, torch_fn = OPS[op]
    torch_parity(lambda x: fn(x, dim), lambda x: torch_fn(x, dim), [data(shape, scale=3.0)])


@BOTH
@given(shape_and_dim(), st.sampled_from([1.0, -1.0]))
def test_matches_torch_at_magnitude_1e4(op, case, sign):
    shape, dim = case
    fn, torch_fn = OPS[op]
    x = data(shape, scale=1e4 * sign)
    torch_parity(lambda t: fn(t, dim), lambda t: torch_fn(t, dim), [x])
    t = leaf(x)
    y = fn(t, dim)
    y.backward(np.ones(y.shape))
    assert np.all(np.isfinite(y.detach().numpy())) and np.all(np.isfinite(t.grad))


@st.composite
def rows_with_minus_inf(draw):
    """(rows, n) data with some -inf entries, never a whole row of them."""
    rows, n = draw(st.integers(1, 4)), draw(st.integers(2, 6))
    masked = np.array(draw(st.lists(st.booleans(), min_size=rows * n, max_size=rows * n)))
    masked = masked.reshape(rows, n)
    masked[:, draw(st.integers(0, n - 1))] = False
    return masked


@BOTH
@given(rows_with_minus_inf(), st.sampled_from([1.0, 1e4]))
def test_minus_inf_entries_match_torch_without_nan(op, masked, scale):
    fn, torch_fn = OPS[op]
    x = np.where(masked, -np.inf, data(masked.shape, scale=scale))
    torch_parity(lambda t: fn(t, -1), lambda t: torch_fn(t, -1), [x])
    t = leaf(x)
    y = fn(t, -1)
    g = data(masked.shape, seed=1)
    y.backward(g)
    assert not np.any(np.isnan(y.detach().numpy())) and np.all(np.isfinite(t.grad))
    if op == "softmax":
        assert np.all(y.detach().numpy()[masked] == 0.0) and np.all(t.grad[masked] == 0.0)
    else:
        # dL/dx = g - exp(y) * sum(g): exp(-inf) = 0 leaves g itself.
        assert np.all(y.detach().numpy()[masked] == -np.inf)
        np.testing.assert_array_equal(t.grad[masked], g[masked])


@settings(max_examples=10)
@given(shape_and_dim())
def test_softmax_is_a_distribution_and_log_softmax_its_log(case):
    shape, dim = case
    x = leaf(data(shape, scale=5.0), requires_grad=False)
    p = x.softmax(dim).detach().numpy()
    np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(p), x.log_softmax(dim).detach().numpy(), rtol=1e-10,
                               atol=1e-10)


@BOTH
def test_float32_stays_float32_and_finite(op):
    x = ma.tensor((np.arange(12, dtype=np.float32).reshape(3, 4) - 6) * 5e3, requires_grad=True)
    y = OPS[op][0](x, -1)
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert y.dtype == x.grad.dtype == np.float32
    assert np.all(np.isfinite(y.detach().numpy())) and np.all(np.isfinite(x.grad))


def test_default_dim_is_the_last():
    x = leaf(data((2, 3, 4)), requires_grad=False)
    np.testing.assert_array_equal(softmax(x).detach().numpy(), x.softmax(-1).detach().numpy())
    np.testing.assert_array_equal(log_softmax(x).detach().numpy(),
                                  x.log_softmax(-1).detach().numpy())


# -- low precision and large spread: each row shifted by its own max ------------------

SPREAD = [np.array([[20.0, 0.0], [0.0, 1.0]]), np.array([[18.0, 0.0], [0.0, 1.0]]),
          np.array([[60.0, -40.0, 3.0], [0.5, 0.25, -0.5], [-80.0, -79.0, -81.0]])]


@BOTH
@pytest.mark.parametrize("dtype, tol", [(np.float16, 2e-3), (np.float32, 1e-6)])
@pytest.mark.parametrize("index", range(len(SPREAD)))
def test_float16_and_float32_match_torch_on_rows_far_apart(op, dtype, tol, index):
    """One shift for the whole array would flush the second row of [[20, 0], [0, 1]] in
    float16 to nan (or to a wrong [0, 1] with 18): each row must take its own max."""
    fn, torch_fn = OPS[op]
    values = SPREAD[index]
    x = ma.tensor(values.astype(dtype), requires_grad=True)
    y = fn(x, -1)
    weights = np.random.default_rng(index).standard_normal(values.shape)
    y.backward(weights.astype(dtype))
    xt = torch.tensor(values.astype(np.float32), requires_grad=True)
    yt = torch_fn(xt, -1)
    yt.backward(torch.tensor(weights.astype(dtype).astype(np.float32)))
    assert y.dtype == dtype and np.asarray(x.grad).dtype == dtype
    assert np.all(np.isfinite(y.detach().numpy()))
    np.testing.assert_allclose(y.detach().numpy().astype(np.float64), yt.detach().numpy(), rtol=tol,
                               atol=tol)
    np.testing.assert_allclose(np.asarray(x.grad).astype(np.float64), xt.grad.numpy(),
                               rtol=tol, atol=tol)


@BOTH
def test_float16_wide_rows_with_a_large_offset_are_computed_in_float32(op, rng):
    x = 50 + 4 * rng.standard_normal((4, 4096))
    float16_parity(lambda t: OPS[op][0](t, -1), lambda t: OPS[op][1](t, -1), [x])


TF = torch.nn.functional


@FUSED
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2, 0, 4)])
def test_softmax_over_and_beside_an_empty_dim(name, shape, fused, no_numpy_warnings):
    for dim in range(-len(shape), len(shape)):
        x, xt = leaf_pair(shape)
        y = getattr(F, name)(x, dim, fused=fused)
        yt = getattr(TF, name)(xt, dim)
        assert_same_as_torch(y, yt, f"{name}{shape} dim={dim}")
        y.backward(np.ones(shape))
        yt.backward(torch.ones(shape, dtype=torch.float64))
        assert_same_as_torch(x.grad, xt.grad, f"d {name}{shape} dim={dim}")


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("fused", [True, False])
def test_softmax_without_dim_picks_pytorchs_implicit_dim_and_warns(name, shape, fused):
    data = np.random.default_rng(0).standard_normal(shape)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        ours = getattr(F, name)(ma.tensor(data), fused=fused)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        theirs = getattr(TF, name)(torch.tensor(data))
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dim", [None, 1.0, (0, 1), True])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_methods_take_only_an_int_dim(name, dim):
    x = ma.ones(2, 3)
    with pytest.raises(TypeError) as expected:
        getattr(torch.ones(2, 3), name)(dim)
    with pytest.raises(type(expected.value), match=rf"{name}\(\): argument 'dim' must be int"):
        getattr(x, name)(dim)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'dim' must be int"):
        getattr(F, name)(x, dim if dim is not None else 1.0)


@pytest.mark.parametrize("dim", [2, -3])
@pytest.mark.parametrize("fused", [True, False])
def test_softmax_dim_out_of_range_is_an_index_error(dim, fused):
    with pytest.raises(IndexError):
        torch.ones(2, 3).softmax(dim)
    with pytest.raises(IndexError, match=rf"softmax\(\): dim {dim} is out of range"):
        F.softmax(ma.ones(2, 3), dim, fused=fused)


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


INTEGER_CALLS = {
    "softmax": (lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
    "log_softmax": (lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1)),
    "layer_norm": (lambda x: F.layer_norm(x, (3,)), lambda x: TF.layer_norm(x, (3,))),
}


@pytest.mark.parametrize("name", INTEGER_CALLS)
def test_integer_input_to_softmax_and_layer_norm_is_refused(name):
    ours, theirs = INTEGER_CALLS[name]
    data = np.array([[1, 2, 3]])
    raises_like_torch(lambda: ours(ma.tensor(data)), lambda: theirs(torch.tensor(data)),
                      f"{name}: expected floating-point input, got dtype int64")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_composed_softmax_refuses_integer_input_too(name):
    with pytest.raises(NotImplementedError, match=f"{name}: expected floating-point input"):
        getattr(F, name)(ma.tensor([1, 2, 3]), 0, fused=False)


@given(edge_arrays(min_dims=1), st.sampled_from(["softmax", "log_softmax"]), st.integers(-3, 2))
def test_softmax_any_shape(data, name, dim):
    check(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim), data)
