"""Elementwise ops: gradchecks on hypothesis shapes, PyTorch parity, dtypes and conventions."""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microattn as ma
from helpers import (edge_arrays, check, assert_close, broadcastable_pair, leaf, shapes, torch_parity,
                     transposed_leaf)
from microattn import ops as ew
from microattn.functional import gelu as ma_gelu
import warnings

torch = pytest.importorskip("torch")
F = torch.nn.functional

seeds = st.integers(0, 2**32 - 1)
small_shapes = shapes(0, 3, 1, 4)


def away_from_zero(rng, shape, low=0.3, high=2.0):
    """Values with |x| in [low, high], either sign: kinks and poles stay out of reach of eps."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def positive(rng, shape):
    return rng.uniform(0.3, 3.0, size=shape)


def normal(rng, shape):
    return rng.standard_normal(shape) * 2


def as_input(array, transposed):
    return transposed_leaf(array) if transposed else leaf(array)


# name: (microattn fn, torch fn, input sampler keeping it inside the domain)
UNARY = {
    "neg": (ew.neg, torch.neg, normal),
    "exp": (ew.exp, torch.exp, normal),
    "log": (ew.log, torch.log, positive),
    "sqrt": (ew.sqrt, torch.sqrt, positive),
    "tanh": (ew.tanh, torch.tanh, normal),
    "sigmoid": (ew.sigmoid, torch.sigmoid, normal),
    "relu": (ew.relu, torch.relu, away_from_zero),
    "abs": (ew.abs, torch.abs, away_from_zero),
    "gelu": (ma_gelu, F.gelu, normal),
    "gelu_tanh": (lambda x: ma_gelu(x, approximate="tanh"),
                  lambda x: F.gelu(x, approximate="tanh"), normal),
    "pow_scalar": (lambda x: x ** 2.5, lambda x: x ** 2.5, positive),
    "pow_negative_scalar": (lambda x: x ** -1.5, lambda x: x ** -1.5, positive),
    "pow_integer_scalar": (lambda x: x ** 3, lambda x: x ** 3, normal),
    "rpow": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, normal),
    "masked_fill": (lambda x: ew.masked_fill(x, x.detach().numpy() > 1, -3.0),
                    lambda x: x.masked_fill(x.detach() > 1, -3.0), away_from_zero),
    "double": (lambda x: x.double(), lambda x: x.double(), normal),
}

# name: (microattn fn, torch fn, sampler for a, sampler for b)
BINARY = {
    "add": (ew.add, torch.add, normal, normal),
    "sub": (ew.sub, torch.sub, normal, normal),
    "mul": (ew.mul, torch.mul, normal, normal),
    "div": (ew.div, torch.div, normal, away_from_zero),
    "pow": (ew.pow, torch.pow, positive, normal),
    "where": (lambda a, b: ew.where(a.detach().numpy() > b.detach().numpy(), a, b),
              lambda a, b: torch.where(a > b, a, b), normal, normal),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=small_shapes, seed=seeds, transposed=st.booleans())
def test_unary_gradcheck(name, shape, seed, transposed):
    fn, _, sample = UNARY[name]
    x = as_input(sample(np.random.default_rng(seed), shape), transposed)
    assert ma.gradcheck(fn, [x])


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes(0, 4, 1, 5), seed=seeds)
def test_unary_matches_torch(name, shape, seed):
    fn, torch_fn, sample = UNARY[name]
    torch_parity(fn, torch_fn, [sample(np.random.default_rng(seed), shape)])


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcastable_pair(0, 3, 4), seed=seeds, transposed=st.booleans())
def test_binary_gradcheck_with_broadcasting(name, pair, seed, transposed):
    fn, _, sample_a, sample_b = BINARY[name]
    rng = np.random.default_rng(seed)
    a = as_input(sample_a(rng, pair[0]), transposed)
    b = leaf(sample_b(rng, pair[1]))
    assert ma.gradcheck(fn, [a, b])


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcastable_pair(0, 4, 5), seed=seeds)
def test_binary_matches_torch_with_broadcasting(name, pair, seed):
    fn, torch_fn, sample_a, sample_b = BINARY[name]
    rng = np.random.default_rng(seed)
    torch_parity(fn, torch_fn, [sample_a(rng, pair[0]), sample_b(rng, pair[1])])


# -- numbers beside tensors ---------------------------------------------------

SCALAR_MIXES = [
    (lambda x: x + 1.5, lambda x: 1.5 + x, lambda x: x - 1.5, lambda x: 1.5 - x),
    (lambda x: x * 1.5, lambda x: 1.5 * x, lambda x: x / 1.5, lambda x: 1.5 / x),
    (lambda x: x ** 2, lambda x: 2 ** x, lambda x: x ** 0.5, lambda x: 0.5 ** x),
]
MIXED = [fn for group in SCALAR_MIXES for fn in group]


@pytest.mark.parametrize("index", range(len(MIXED)))
def test_python_number_on_either_side_matches_torch(index, rng):
    fn = MIXED[index]
    torch_parity(fn, fn, [positive(rng, (3, 4))])
    assert ma.gradcheck(fn, [leaf(positive(rng, (2, 3)))])


@pytest.mark.parametrize("index", range(len(MIXED)))
def test_float32_stays_float32_beside_numbers(index, rng):
    fn = MIXED[index]
    x = ma.tensor(positive(rng, (3, 4)).astype(np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32


def test_numpy_scalars_are_weak_like_python_numbers():
    x = ma.tensor([1.0, 4.0])  # float32
    for y in (x * np.sqrt(np.float64(4.0)), np.float64(2.0) / x, x ** np.float64(2.0),
              ma.where(x > 2, x, np.float64(0.0)), x.masked_fill(x > 2, np.float64(1.0))):
        assert y.dtype == np.float32


UNARY_DTYPE_OPS = ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "gelu",
                   "gelu_tanh", "pow_scalar", "rpow", "masked_fill"]


@pytest.mark.parametrize("name", UNARY_DTYPE_OPS)
def test_float32_in_float32_out_close_to_float64(name, rng):
    fn, _, sample = UNARY[name]
    data = sample(rng, (4, 5))
    x32 = ma.tensor(data.astype(np.float32), requires_grad=True)
    x64 = leaf(data.astype(np.float32))
    y32, y64 = fn(x32), fn(x64)
    assert y32.dtype == np.float32
    weights = rng.standard_normal(y32.shape)
    y32.backward(weights.astype(np.float32))
    y64.backward(weights)
    assert x32.grad.dtype == np.float32
    assert_close(y32.detach().numpy(), y64.detach().numpy(), rtol=1e-5, atol=1e-6,
                 what=f"{name} float32 value")
    assert_close(x32.grad, x64.grad, rtol=1e-5, atol=1e-6, what=f"{name} float32 gradient")


@pytest.mark.parametrize("name", BINARY)
def test_binary_float32_stays_float32(name, rng):
    fn, _, sample_a, sample_b = BINARY[name]
    a = ma.tensor(sample_a(rng, (3, 4)).astype(np.float32), requires_grad=True)
    b = ma.tensor(sample_b(rng, (4,)).astype(np.float32), requires_grad=True)
    y = fn(a, b)
    assert y.dtype == np.float32
    y.sum().backward()
    assert a.grad.dtype == b.grad.dtype == np.float32


def test_integer_tensors_follow_torch_dtypes():
    i = ma.arange(1, 4)
    t = torch.arange(1, 4)
    cases = [(i * 0.5, t * 0.5), (i / 2, t / 2), (i + 1, t + 1), (i ** 2, t ** 2),
             (2.0 ** i, 2.0 ** t), (ma.ops.exp(i), torch.exp(t)), (ma.ops.sqrt(i), torch.sqrt(t))]
    for ours, theirs in cases:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert_close(ours.detach().numpy(), theirs.numpy(), rtol=1e-6)


# -- conventions at kinks, edges and special values -----------------------------

def test_relu_and_abs_gradients_at_zero_match_torch():
    values = np.array([-1.5, -0.0, 0.0, 2.0])
    for fn, torch_fn in [(ew.relu, torch.relu), (ew.abs, torch.abs)]:
        torch_parity(fn, torch_fn, [values])
        x = leaf(values)
        fn(x).sum().backward()
        assert x.grad[1] == 0 and x.grad[2] == 0


def test_pow_gradient_conventions_at_zero_match_torch():
    """0 ** 0, 0 ** positive, 0 ** negative, x ** 0, negative ** fractional, tensor ** tensor."""
    bases = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 3.0])
    exponents = np.array([0.0, 2.0, 0.5, -1.0, 0.0, 2.0, 0.5, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        torch_parity(ew.pow, torch.pow, [bases, exponents])
        for e in (0.0, 2.0, 0.5, -1.0):
            torch_parity(lambda a: a ** e, lambda a: a ** e, [bases])
        for b in (0.0, 2.0, 0.5):
            torch_parity(lambda x: b ** x, lambda x: b ** x, [exponents])


def test_pow_of_constant_zero_exponent_has_zero_gradient():
    x = leaf([0.0, 1.0, -2.0])
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_magnitudes(dtype, monkeypatch):
    values = np.array([-1e4, -800.0, -100.0, 0.0, 100.0, 800.0, 1e4], dtype=dtype)
    x = ma.tensor(values, requires_grad=True)
    from microattn.core.grad_mode import state
    monkeypatch.setattr(state, "quiet", True)  # numpy's error state as set here, not silenced
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = ew.sigmoid(x)
        y.sum().backward()
    assert y.dtype == dtype
    assert np.all(np.isfinite(y.detach().numpy())) and np.all(np.isfinite(x.grad))
    np.testing.assert_array_equal(y.detach().numpy()[[0, 1, 5, 6]], [0.0, 0.0, 1.0, 1.0])
    assert y.detach().numpy()[3] == 0.5 and x.grad[3] == 0.25
    expected = torch.sigmoid(torch.tensor(values, dtype=torch.float64)).numpy()
    # float32 keeps no relative precision below its smallest normal number (sigmoid(-100)).
    tiny = np.finfo(dtype).tiny
    assert_close(y.detach().numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-12,
                 atol=tiny)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_over_wide_range(approximate):
    values = np.linspace(-12, 12, 2401)
    torch_parity(lambda x: ma_gelu(x, approximate=approximate),
                 lambda x: F.gelu(x, approximate=approximate), [values])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_matches_torch_float32(approximate, rng):
    values = (rng.standard_normal((8, 16)) * 3).astype(np.float32)
    x = ma.tensor(values, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    y, yt = ma_gelu(x, approximate=approximate), F.gelu(xt, approximate=approximate)
    y.sum().backward()
    yt.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    # Where tanh rounds to +-1 in float32 (|x| > ~4.5) the two differ by float32 rounding.
    assert_close(y.detach().numpy(), yt.detach().numpy(), rtol=2e-6, atol=5e-6,
                 what="gelu float32 value")
    assert_close(x.grad, xt.grad.numpy(), rtol=2e-6, atol=5e-6, what="gelu float32 gradient")


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'.*'foo'"):
        ma_gelu(ma.tensor([1.0]), approximate="foo")


# -- where and masked_fill ------------------------------------------------------

@st.composite
def three_broadcastable(draw):
    """Shapes of condition, a and b that broadcast together, in any order."""
    first, second = draw(broadcastable_pair(0, 3, 4))
    order = draw(st.permutations([first, second, draw(st.sampled_from([first, second, ()]))]))
    return tuple(order)


@given(shapes3=three_broadcastable(), seed=seeds, transposed=st.booleans())
def test_where_broadcasts_like_torch_and_passes_gradcheck(shapes3, seed, transposed):
    cond_shape, a_shape, b_shape = shapes3
    rng = np.random.default_rng(seed)
    condition = rng.random(cond_shape) < 0.5
    a, b = normal(rng, a_shape), normal(rng, b_shape)
    torch_parity(lambda x, y: ma.where(ma.tensor(condition), x, y),
                 lambda x, y: torch.where(torch.tensor(condition), x, y), [a, b])
    assert ma.gradcheck(lambda x, y: ma.where(condition, x, y),
                        [as_input(a, transposed), leaf(b)])


def test_where_with_numbers_keeps_tensor_dtype_and_gives_no_grad_to_condition():
    x = ma.tensor([[-1.0, 2.0, -3.0]], requires_grad=True)
    condition = x > 0
    y = ma.where(condition, x, 0.0)
    z = ma.where(condition, 1.0, x)
    assert y.dtype == z.dtype == np.float32
    (y + z).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0, 1.0]])
    assert not condition.requires_grad
    np.testing.assert_array_equal(ma.where(ma.tensor([True, False]), 1.0, 0.0).detach().numpy(),
                                  [1.0, 0.0])


def test_where_rejects_non_bool_condition():
    with pytest.raises(TypeError, match="condition must be a bool"):
        ma.where(ma.tensor([1.0, 0.0]), ma.tensor([1.0, 2.0]), 0.0)


@given(pair=broadcastable_pair(0, 3, 4), seed=seeds, transposed=st.booleans())
def test_masked_fill_with_broadcast_mask_matches_torch(pair, seed, transposed):
    x_shape, mask_shape = pair
    rng = np.random.default_rng(seed)
    mask = rng.random(mask_shape) < 0.4
    x = normal(rng, x_shape)
    torch_parity(lambda t: t.masked_fill(ma.tensor(mask), -1e9),
                 lambda t: t.masked_fill(torch.tensor(mask), -1e9), [x])
    assert ma.gradcheck(lambda t: ew.masked_fill(t, mask, 0.5), [as_input(x, transposed)])


def test_masked_fill_gradient_is_zero_where_filled_and_flows_to_a_tensor_value():
    mask = np.array([True, False, True])
    torch_parity(lambda x, v: ew.masked_fill(x, mask, v.sum()),
                 lambda x, v: x.masked_fill(torch.tensor(mask), v.sum()),
                 [np.ones((2, 3)), np.array([2.0])])
    x = leaf(np.ones((2, 3)))
    ew.masked_fill(x, mask, float("-inf")).exp().sum().backward()
    np.testing.assert_array_equal(x.grad, np.exp(1) * np.array([[0, 1, 0], [0, 1, 0]]))


def test_masked_fill_rejects_non_bool_mask_and_non_scalar_value():
    x = ma.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="mask must be a bool"):
        x.masked_fill(np.array([1, 0]), 0.0)
    with pytest.raises(ValueError, match="value must be a number or a 0-d tensor"):
        x.masked_fill(x > 1, ma.tensor([1.0, 2.0]))


# -- casts ---------------------------------------------------------------------

def test_double_and_float_cast_values_and_gradients_back():
    x = ma.tensor([1.5, -2.25], requires_grad=True)  # float32
    y = x.double()
    assert y.dtype == np.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, -4.5])
    z = leaf([1.0, 2.0])
    assert z.double() is z
    f = z.float()
    assert f.dtype == np.float32 and f.float() is f
    (f * 3.0).sum().backward()
    assert z.grad.dtype == np.float64
    np.testing.assert_array_equal(z.grad, [3.0, 3.0])


# -- comparisons -------------------------------------------------------------------

COMPARISONS = [("eq", operator.eq, torch.eq), ("ne", operator.ne, torch.ne),
               ("lt", operator.lt, torch.lt), ("le", operator.le, torch.le),
               ("gt", operator.gt, torch.gt), ("ge", operator.ge, torch.ge)]


@pytest.mark.parametrize("name, fn, torch_fn", COMPARISONS)
def test_comparisons_give_bool_tensors_outside_the_graph(name, fn, torch_fn, rng):
    a = np.round(rng.standard_normal((3, 4)))
    b = np.round(rng.standard_normal((4,)))
    x, y = leaf(a), leaf(b)
    for ours, theirs in [(fn(x, y), torch_fn(torch.tensor(a), torch.tensor(b))),
                         (fn(x, 0.0), torch_fn(torch.tensor(a), 0.0)),
                         (fn(1.0, y), torch_fn(torch.tensor(1.0), torch.tensor(b)))]:
        assert ours.dtype == np.bool_
        assert not ours.requires_grad and ours.grad_fn is None
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())


def test_comparison_operators_and_none():
    x = ma.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((x > 2).detach().numpy(), [False, False, True])
    np.testing.assert_array_equal((2 >= x).detach().numpy(), [True, True, False])
    np.testing.assert_array_equal((x == x).detach().numpy(), [True, True, True])
    assert (x == None) is False  # noqa: E711  (Python's fallback, as in PyTorch)
    assert (x != None) is True  # noqa: E711


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add\(\(2, 3\), \(4,\)\)"):
        ma.tensor(np.ones((2, 3))) + ma.tensor(np.ones(4))


NAN = float("nan")


def nan_grads(fn, data):
    """(our gradient, PyTorch's) of fn(x).sum() at float64 ``data``."""
    ours = ma.tensor(np.asarray(data, np.float64), requires_grad=True)
    theirs = torch.tensor(np.asarray(data, np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy complaint at the NaN
        fn(ours).sum().backward()
    fn(theirs).sum().backward()
    return np.asarray(ours.grad), theirs.grad.numpy()


def test_relu_passes_the_gradient_at_nan_as_pytorch():
    data = [NAN, -1.0, 0.0, -0.0, 2.0, np.inf, -np.inf]
    ours, theirs = nan_grads(lambda x: x.relu() * 3.0, data)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, [3, 0, 0, 0, 3, 3, 0])
    ours, _ = nan_grads(lambda x: (ma.functional.relu(x) if isinstance(x, ma.Tensor) else x.relu()) * 3.0, data)
    np.testing.assert_array_equal(ours, theirs)


TF = torch.nn.functional


@given(edge_arrays(min_dims=1), st.sampled_from(["relu", "gelu", "tanh", "sigmoid"]))
def test_activations_any_shape(data, name):
    check(getattr(ma.functional, name), getattr(TF if name in ("relu", "gelu") else torch, name),
          data)
