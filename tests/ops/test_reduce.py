"""Reductions: gradchecks over hypothesis shapes and dims, PyTorch parity, ties and errors."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import microattn as ma
from helpers import NAN_DATA, nan_grads, assert_same_with_nans, leaf_pair, assert_same_as_torch, edge_arrays, check, assert_close, leaf, shapes, torch_parity, transposed_leaf
from microattn.ops import reduce as R
import warnings
from microattn import functional as F

torch = pytest.importorskip("torch")

seeds = st.integers(0, 2**32 - 1)


@st.composite
def shape_and_dims(draw, max_dims=4, max_side=4):
    """A shape and a dim for it: None, an int or a tuple, sometimes negative."""
    shape = draw(shapes(1, max_dims, 1, max_side))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return shape, tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@st.composite
def shape_and_dim(draw, max_dims=4, max_side=4):
    """A shape and one (possibly negative) int dim of it."""
    shape = draw(shapes(1, max_dims, 1, max_side))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def distinct(rng, shape):
    """Values at least 0.1 apart, so no max/min is tied within gradcheck's eps."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(-1, 1)).reshape(shape)


# name: (microattn fn, torch fn) of (x, dim, keepdim)
REDUCTIONS = {
    "sum": (R.sum, lambda x, d, k: torch.sum(x, dim=d, keepdim=k)),
    "mean": (R.mean, lambda x, d, k: torch.mean(x, dim=d, keepdim=k)),
    "var": (lambda x, d, k: ma.var(x, d, keepdim=k), lambda x, d,
            k: torch.var(x, dim=d, keepdim=k)),
    "var_correction_0": (lambda x, d, k: ma.var(x, d, keepdim=k, correction=0),
                         lambda x, d, k: torch.var(x, dim=d, keepdim=k, correction=0)),
    "var_unbiased_false": (lambda x, d, k: ma.var(x, d, False, k),
                           lambda x, d, k: torch.var(x, dim=d, keepdim=k, unbiased=False)),
    "amax": (ma.amax, lambda x, d, k: torch.amax(x, dim=d, keepdim=k)),
    "amin": (ma.amin, lambda x, d, k: torch.amin(x, dim=d, keepdim=k)),
}


def degenerate_var(name, shape, dim):
    """var over a single element divides by n - 1 = 0 (nan, as PyTorch): no gradient to check."""
    if not name.startswith("var") or name.endswith(("_0", "_false")):
        return False
    axes = range(len(shape)) if dim is None else np.atleast_1d(dim)
    return int(np.prod([shape[a] for a in axes])) <= 1


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=shape_and_dims(), keepdim=st.booleans(), seed=seeds, transposed=st.booleans())
def test_reduction_gradcheck(name, case, keepdim, seed, transposed):
    shape, dim = case
    assume(not degenerate_var(name, shape, dim))
    fn, _ = REDUCTIONS[name]
    data = distinct(np.random.default_rng(seed), shape)
    x = transposed_leaf(data) if transposed else leaf(data)
    assert ma.gradcheck(lambda t: fn(t, dim, keepdim), [x])


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_reduction_matches_torch(name, case, keepdim, seed):
    shape, dim = case
    assume(not degenerate_var(name, shape, dim))
    fn, torch_fn = REDUCTIONS[name]
    torch_parity(lambda t: fn(t, dim, keepdim), lambda t: torch_fn(t, dim, keepdim),
                 [distinct(np.random.default_rng(seed), shape)])


@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
@pytest.mark.parametrize("dim", [None, 1, -1, (0, 2), (2, -3), ()])
def test_var_corrections_and_tuple_dims_match_torch(correction, dim, rng):
    x = rng.standard_normal((3, 4, 5))
    # torch 2.13's var reduces over every dim for dim=() but its backward then
    # divides by zero (inf gradients), so it is asked with dim=None instead.
    torch_dim = None if dim == () else dim
    torch_parity(lambda t: t.var(dim, correction=correction),
                 lambda t: t.var(dim=torch_dim, correction=correction), [x])
    torch_parity(lambda t: t.var(dim, keepdim=True, correction=correction),
                 lambda t: t.var(dim=torch_dim, keepdim=True, correction=correction), [x])


def test_var_spellings():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert_close(x.var(unbiased=False).detach().numpy(), np.var(x.detach().numpy()))
    assert_close(x.var(False).detach().numpy(), np.var(x.detach().numpy()))  # PyTorch's old var(unbiased) overload
    assert_close(x.var(1, unbiased=True).detach().numpy(),
                 np.var(x.detach().numpy(), axis=1, ddof=1))
    assert_close(x.var(1, False, True).detach().numpy(),
                 np.var(x.detach().numpy(), axis=1, ddof=0, keepdims=True))
    with pytest.raises(ValueError, match="either correction or unbiased"):
        x.var(correction=0, unbiased=True)


# -- max/min with a dim: (values, indices) ---------------------------------------

@pytest.mark.parametrize("op", ["max", "min"])
@given(case=shape_and_dim(), keepdim=st.booleans(), seed=seeds, transposed=st.booleans())
def test_max_min_with_dim_gradcheck(op, case, keepdim, seed, transposed):
    shape, dim = case
    fn = getattr(ma, op)
    data = distinct(np.random.default_rng(seed), shape)
    x = transposed_leaf(data) if transposed else leaf(data)
    assert ma.gradcheck(lambda t: fn(t, dim, keepdim).values, [x])


@pytest.mark.parametrize("op", ["max", "min"])
@given(case=shape_and_dim(), keepdim=st.booleans(), seed=seeds, ties=st.booleans())
def test_max_min_with_dim_values_and_indices_match_torch(op, case, keepdim, seed, ties):
    shape, dim = case
    rng = np.random.default_rng(seed)
    # Rounded values tie often: the gradient must go to the index both report.
    data = np.round(rng.standard_normal(shape)) if ties else distinct(rng, shape)
    ours = getattr(ma, op)(leaf(data), dim, keepdim)
    theirs = getattr(torch, op)(torch.tensor(data), dim, keepdim)
    assert ours.indices.dtype == np.int64 and not ours.indices.requires_grad
    np.testing.assert_array_equal(ours.indices.detach().numpy(), theirs.indices.numpy())
    vals, idx = ours  # unpacks as a pair, like torch's
    assert vals is ours.values and idx is ours.indices
    torch_parity(lambda t: getattr(ma, op)(t, dim, keepdim).values,
                 lambda t: getattr(torch, op)(t, dim, keepdim).values, [data])


def test_max_with_dim_sends_gradient_to_the_reported_index_among_ties():
    x = leaf([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]])
    values, indices = x.max(1)
    values.sum().backward()
    np.testing.assert_array_equal(indices.detach().numpy(), [1, 0])
    np.testing.assert_array_equal(x.grad, [[0, 1, 0, 0], [1, 0, 0, 0]])


# -- full max/min and amax/amin: ties share the gradient ---------------------------

@pytest.mark.parametrize("op", ["max", "min"])
@given(shape=shapes(0, 4, 1, 4), seed=seeds, ties=st.booleans())
def test_full_max_min_match_torch_including_ties(op, shape, seed, ties):
    rng = np.random.default_rng(seed)
    data = np.round(rng.standard_normal(shape)) if ties else distinct(rng, shape)
    torch_parity(lambda t: getattr(ma, op)(t), lambda t: getattr(torch, op)(t), [data])
    if not ties:
        assert ma.gradcheck(lambda t: getattr(ma, op)(t), [leaf(data)])


@pytest.mark.parametrize("op", ["amax", "amin"])
@given(case=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_amax_amin_split_ties_like_torch(op, case, keepdim, seed):
    shape, dim = case
    data = np.round(np.random.default_rng(seed).standard_normal(shape))
    torch_parity(lambda t: getattr(ma, op)(t, dim, keepdim),
                 lambda t: getattr(torch, op)(t, dim=dim, keepdim=keepdim),
                 [data])


def test_tie_splitting_by_hand():
    x = leaf([[1.0, 3.0, 3.0, 2.0], [4.0, 4.0, 4.0, 4.0]])
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25]])


# -- argmax/argmin -------------------------------------------------------------------

@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(case=shape_and_dim(), keepdim=st.booleans(), seed=seeds, full=st.booleans())
def test_argmax_argmin_match_torch(op, case, keepdim, seed, full):
    shape, dim = case
    dim = None if full else dim
    data = np.round(np.random.default_rng(seed).standard_normal(shape))
    ours = getattr(ma, op)(leaf(data), dim, keepdim)
    theirs = getattr(torch, op)(torch.tensor(data), dim, keepdim)
    assert ours.dtype == np.int64 and not ours.requires_grad and ours.grad_fn is None
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())


# -- dims, dtypes, 0-d tensors and errors -----------------------------------------

def test_dims_may_be_negative_tuples_or_empty():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    assert_close(x.sum((-1, 0)).detach().numpy(), x.detach().numpy().sum(axis=(0, 2)))
    assert_close(x.sum(()).detach().numpy(), x.detach().numpy().sum())
    assert_close(x.mean(-2, keepdim=True).detach().numpy(),
                 x.detach().numpy().mean(axis=1, keepdims=True))
    assert x.sum(None, keepdim=True).shape == (1, 1, 1)
    assert x.amax((0, 1)).shape == (4,)


def test_dtypes():
    x32 = ma.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    for y in (x32.sum(), x32.mean(1), x32.var(0), x32.max(), x32.max(1).values, x32.amin(0)):
        assert y.dtype == np.float32
    x32.var(1).sum().backward()
    assert x32.grad.dtype == np.float32
    assert ma.tensor([1, 2, 3]).sum().dtype == np.int64
    assert ma.tensor([True, False, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="floating-point"):  # as PyTorch
        ma.tensor([1, 2]).mean()


def test_zero_d_tensors_reduce_like_torch():
    x = ma.tensor(np.array(2.5), requires_grad=True)
    for y in (x.sum(0), x.sum(-1), x.mean(), x.amax(0), x.max(0).values, x.max()):
        assert y.shape == () and y.item() == 2.5
    assert x.max(0).indices.item() == 0 and x.argmax(0).item() == 0
    x.max(0).values.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.mean(-3), lambda x: x.var((0, 5)), lambda x: x.amax(2),
    lambda x: x.max(2), lambda x: x.argmin(-3)])
def test_out_of_range_dim_names_op_and_shape(call):
    with pytest.raises(IndexError, match=r"\w+\(\): dim -?\d is out of range for a tensor of "
                                         r"shape \(2, 3\) \(expected a dim in \[-2, 1\]\)"):
        call(ma.tensor(np.ones((2, 3))))


def test_bad_dims_are_rejected():
    x = ma.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sum\(\): dim \(1, -1\) names a dimension twice"):
        x.sum((1, -1))
    with pytest.raises(TypeError, match=r"max\(\): dim must be a single int"):
        x.max((0, 1))
    with pytest.raises(TypeError, match=r"mean\(\): argument 'dim' must be int"):
        x.mean(1.0)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_mean_over_nothing_is_nan_as_pytorch(dim, no_numpy_warnings):
    x, xt = leaf_pair((3, 0))
    y = x.mean() if dim is None else x.mean(dim)
    y_t = xt.mean() if dim is None else xt.mean(dim)
    assert_same_as_torch(y, y_t, f"mean(dim={dim})")
    y.sum().backward()
    y_t.sum().backward()
    assert_same_as_torch(x.grad, xt.grad, "grad")


def test_var_with_no_degrees_of_freedom_warns_as_pytorch(no_numpy_warnings):
    x, xt = leaf_pair((3, 1))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        y = x.var(1)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        y_t = xt.var(1)
    assert_same_as_torch(y, y_t, "var")
    y.sum().backward()
    y_t.sum().backward()
    assert_same_as_torch(x.grad, xt.grad, "grad")


@pytest.mark.parametrize("data", NAN_DATA)
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_and_amin_at_nan_as_pytorch(op, data):
    ours, theirs = nan_grads(lambda x: getattr(x, op)(), data)
    assert_same_with_nans(ours, theirs)
    if np.ndim(data) == 2:
        ours, theirs = nan_grads(lambda x: getattr(x, op)(1), data)
        assert_same_with_nans(ours, theirs)


TF = torch.nn.functional


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


@pytest.mark.parametrize("name, ours, theirs", [
    ("mean", lambda x: x.mean(), lambda x: x.mean()),
    ("var", lambda x: x.var(), lambda x: x.var()),
    ("mse_loss", lambda x: F.mse_loss(x, x), lambda x: TF.mse_loss(x, x)),
])
def test_integer_input_to_mean_var_and_mse_raises_as_pytorch(name, ours, theirs):
    raises_like_torch(lambda: ours(ma.tensor([1, 2])), lambda: theirs(torch.tensor([1, 2])),
                      rf"{name}(\(\))?: .*floating-point")


REDUCTION_NAMES = ["max", "min", "amax", "amin", "argmax", "argmin", "sum", "mean"]


@given(edge_arrays(), st.sampled_from(REDUCTION_NAMES))
def test_reductions_of_everything(data, op):
    check(lambda x: getattr(x, op)(), lambda x: getattr(x, op)(), data)


@given(edge_arrays(min_dims=1), st.sampled_from(REDUCTION_NAMES), st.integers(-3, 2),
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


def test_numpy_spellings_of_reduction_arguments():
    x = ma.tensor(np.arange(6.0).reshape(2, 3))
    t = torch.tensor(np.arange(6.0).reshape(2, 3))
    for ours, theirs in [(x.sum(axis=1), t.sum(axis=1)),
                         (x.mean(axis=0, keepdims=True), t.mean(axis=0, keepdims=True)),
                         (ma.sum(x, axis=1, keepdims=True), torch.sum(t, axis=1, keepdims=True)),
                         (x.max(axis=1).values, t.max(axis=1).values),
                         (x.std(axis=1), t.std(axis=1))]:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy())
