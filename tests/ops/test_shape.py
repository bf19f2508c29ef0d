"""Shape ops: reshape/view, transpose, permute, .T, (un)squeeze, expand, flatten, cat, stack.

Each op: gradcheck in float64 on hypothesis-drawn shapes, contiguous and
transposed (non-contiguous) inputs; values and gradients equal to PyTorch's.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn.ops import cat, expand, stack
from helpers import edge_arrays, check, leaf, shapes, torch_parity, transposed_leaf
import warnings

torch = pytest.importorskip("torch")

LAYOUTS = pytest.mark.parametrize("make", [leaf, transposed_leaf], ids=["contiguous", "transposed"])


def data(*shape_list):
    rng = np.random.default_rng(len(shape_list) + sum(map(len, shape_list)))
    return [rng.standard_normal(s) for s in shape_list]


def leaves(make, *shape_list):
    """Leaves in the layout ``make`` gives; 0-d arrays have no layout (and
    transposed_leaf would turn them into shape (1,)), so they stay plain."""
    return [make(a) if a.ndim else leaf(a) for a in data(*shape_list)]


@st.composite
def shape_and_dim(draw, min_dims=1, extra=0):
    """A shape and a dim in [-(ndim + extra), ndim + extra) (extra=1 for a new axis)."""
    shape = draw(shapes(min_dims=min_dims))
    n = len(shape) + extra
    return shape, draw(st.integers(-n, n - 1))


@st.composite
def reshape_target(draw):
    shape = draw(shapes())
    if draw(st.booleans()):
        k = draw(st.integers(0, len(shape)))
        return shape, (math.prod(shape[:k]), -1)
    return shape, tuple(reversed(shape)) + (1,)


@st.composite
def expand_sizes(draw):
    """x's shape and sizes to expand it to: new leading dims, 1s grown, -1s kept."""
    full = draw(shapes(min_dims=1))
    new = draw(st.integers(0, len(full)))
    x_shape = tuple(1 if draw(st.booleans()) else n for n in full[new:])
    sizes = full[:new] + tuple(-1 if draw(st.booleans()) else n
                               for n in full[new:])
    return x_shape, sizes


@st.composite
def cat_shapes(draw):
    base = list(draw(shapes(min_dims=1, max_dims=3)))
    dim = draw(st.integers(-len(base), len(base) - 1))
    sides = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    out = []
    for n in sides:
        base[dim] = n
        out.append(tuple(base))
    return out, dim


# -- reshape / view / flatten ------------------------------------------------

@LAYOUTS
@settings(max_examples=15)
@given(reshape_target())
def test_reshape_gradcheck(make, case):
    shape, target = case
    assert ma.gradcheck(lambda x: x.reshape(target), leaves(make, shape))


@given(reshape_target())
def test_reshape_and_view_match_torch(case):
    shape, target = case
    torch_parity(lambda x: x.reshape(*target), lambda x: x.reshape(target), data(shape))
    torch_parity(lambda x: x.view(target), lambda x: x.reshape(target), data(shape))


@st.composite
def flatten_dims(draw):
    shape = draw(shapes(min_dims=1))
    n = len(shape)
    start = draw(st.integers(0, n - 1))
    end = draw(st.integers(start, n - 1))
    # Either end may be given counting from the back.
    return shape, start - n * draw(st.booleans()), end - n * draw(st.booleans())


@LAYOUTS
@settings(max_examples=15)
@given(flatten_dims())
def test_flatten_gradcheck_and_torch(make, case):
    shape, start, end = case
    assert ma.gradcheck(lambda x: ma.flatten(x, start, end), leaves(make, shape))
    torch_parity(lambda x: x.flatten(start, end), lambda x: x.flatten(start, end), data(shape))


def test_flatten_of_a_scalar_is_one_element():
    assert ma.flatten(leaf(np.array(3.0))).shape == (1,)


# -- transpose / permute / .T ---------------------------------------------------

@st.composite
def two_dims(draw):
    shape = draw(shapes(min_dims=1))
    dim = st.integers(-len(shape), len(shape) - 1)
    return shape, draw(dim), draw(dim)


@LAYOUTS
@settings(max_examples=15)
@given(two_dims())
def test_transpose_gradcheck(make, case):
    shape, d0, d1 = case
    assert ma.gradcheck(lambda x: x.transpose(d0, d1), leaves(make, shape))


@given(two_dims())
def test_transpose_matches_torch(case):
    shape, d0, d1 = case
    torch_parity(lambda x: x.transpose(d0, d1), lambda x: x.transpose(d0, d1), data(shape))


@st.composite
def permutation(draw):
    shape = draw(shapes())
    dims = draw(st.permutations(range(len(shape))))
    # Negative dims name the same axes.
    return shape, tuple(d - len(shape) * draw(st.booleans()) for d in dims)


@LAYOUTS
@settings(max_examples=15)
@given(permutation())
def test_permute_gradcheck(make, case):
    shape, dims = case
    assert ma.gradcheck(lambda x: x.permute(*dims), leaves(make, shape))


@given(permutation())
def test_permute_matches_torch(case):
    shape, dims = case
    torch_parity(lambda x: x.permute(dims), lambda x: x.permute(dims), data(shape))


@LAYOUTS
@settings(max_examples=15)
@given(shapes())
def test_T_reverses_all_dims(make, shape):
    assert ma.gradcheck(lambda x: x.T, leaves(make, shape))
    reverse = tuple(range(len(shape)))[::-1]
    torch_parity(lambda x: x.T, lambda x: x.permute(reverse), data(shape))


def test_permute_rejects_a_repeated_dim():
    with pytest.raises(ValueError, match="Permute"):
        leaf(np.zeros((2, 3))).permute(0, 0)


# -- unsqueeze / squeeze --------------------------------------------------------

@LAYOUTS
@settings(max_examples=15)
@given(shape_and_dim(min_dims=0, extra=1))
def test_unsqueeze_gradcheck_and_torch(make, case):
    shape, dim = case
    assert ma.gradcheck(lambda x: x.unsqueeze(dim), leaves(make, shape))
    torch_parity(lambda x: x.unsqueeze(dim), lambda x: x.unsqueeze(dim), data(shape))


@st.composite
def squeeze_dims(draw):
    shape = draw(shapes(max_side=2))
    n = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]) if n else st.just("none"))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-n, n - 1))
    return shape, tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, unique=True)))


@LAYOUTS
@settings(max_examples=15)
@given(squeeze_dims())
def test_squeeze_gradcheck_and_torch(make, case):
    shape, dim = case
    assert ma.gradcheck(lambda x: x.squeeze(dim), leaves(make, shape))
    torch_parity(lambda x: x.squeeze(dim),
                 lambda x: x.squeeze() if dim is None else x.squeeze(dim), data(shape))


def test_squeeze_keeps_a_named_dim_that_is_not_1():
    x = leaf(np.zeros((2, 1, 3)))
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)
    assert x.squeeze(-2).shape == (2, 3)


def test_squeeze_dim_out_of_range_names_the_dim():
    with pytest.raises(IndexError,
                       match=r"dim 3 is out of range for a tensor of shape \(2, 1, 3\)"):
        leaf(np.zeros((2, 1, 3))).squeeze(3)


# -- expand ------------------------------------------------------------------------

@LAYOUTS
@settings(max_examples=15)
@given(expand_sizes())
def test_expand_gradcheck(make, case):
    x_shape, sizes = case
    assert ma.gradcheck(lambda x: x.expand(*sizes), leaves(make, x_shape))


@given(expand_sizes())
def test_expand_matches_torch(case):
    x_shape, sizes = case
    torch_parity(lambda x: expand(x, sizes), lambda x: x.expand(*sizes), data(x_shape))


def test_expand_errors_name_the_shapes():
    x = leaf(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Expand\(\(2, 3\)"):
        x.expand(4, 3)
    with pytest.raises(ValueError, match="new leading dimensions"):
        x.expand(-1, 2, 3)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        x.expand(3)


# -- cat / stack -------------------------------------------------------------------

@LAYOUTS
@settings(max_examples=15)
@given(cat_shapes())
def test_cat_gradcheck(make, case):
    shape_list, dim = case
    inputs = leaves(make, *shape_list)
    assert ma.gradcheck(lambda *xs: cat(xs, dim), inputs)


@given(cat_shapes())
def test_cat_matches_torch(case):
    shape_list, dim = case
    torch_parity(lambda *xs: ma.cat(list(xs), dim=dim), lambda *xs: torch.cat(xs, dim=dim),
                 data(*shape_list))


@st.composite
def stack_shapes(draw):
    shape, dim = draw(shape_and_dim(min_dims=0, extra=1))
    return [shape] * draw(st.integers(1, 3)), dim


@LAYOUTS
@settings(max_examples=15)
@given(stack_shapes())
def test_stack_gradcheck(make, case):
    shape_list, dim = case
    inputs = leaves(make, *shape_list)
    assert ma.gradcheck(lambda *xs: stack(xs, dim), inputs)


@given(stack_shapes())
def test_stack_matches_torch(case):
    shape_list, dim = case
    torch_parity(lambda *xs: ma.stack(xs, dim=dim), lambda *xs: torch.stack(xs, dim=dim),
                 data(*shape_list))


def test_cat_gives_gradients_only_to_tensors_that_need_them():
    x = ma.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    constant = ma.tensor(np.ones((1, 3), dtype=np.float32))
    y = ma.cat([constant, x, np.zeros((2, 3), dtype=np.float32)], dim=0)
    assert y.shape == (5, 3) and y.dtype == np.float32
    weights = np.arange(15, dtype=np.float32).reshape(5, 3)
    y.backward(weights)
    np.testing.assert_array_equal(x.grad, weights[1:3])
    assert x.grad.dtype == np.float32 and constant.grad is None


def test_cat_and_stack_shape_mismatches_name_the_op_and_shapes():
    a, b = leaf(np.zeros((2, 3))), leaf(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"Cat\(0, \(2, 3\), \(2, 4\)\)"):
        ma.cat([a, b])
    with pytest.raises(ValueError, match=r"Stack\(0, \(2, 3\), \(2, 4\)\)"):
        ma.stack([a, b])


# -- reshape errors, contiguous -----------------------------------------------------

def test_reshape_error_names_the_op_and_both_shapes():
    with pytest.raises(ValueError) as error:
        leaf(np.zeros((2, 3))).reshape(4)
    message = str(error.value)
    assert "Reshape" in message and "(2, 3)" in message and "(4,)" in message
    assert "size 6" in message


def test_contiguous_returns_the_same_tensor_or_a_row_major_copy():
    x = leaf(np.zeros((2, 3)))
    assert x.contiguous() is x
    t = transposed_leaf(np.arange(6.0).reshape(2, 3))
    c = t.contiguous()
    assert c is not t and c.detach().numpy().flags.c_contiguous
    np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
    assert ma.gradcheck(lambda x: x.contiguous().view(-1), [transposed_leaf(np.ones((2, 3)))])


def test_view_refuses_a_non_contiguous_input_as_torch():
    t = transposed_leaf(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match=r"view size.*not compatible.*reshape"):
        t.view(6)
    with pytest.raises(RuntimeError):
        torch.arange(6.0).reshape(2, 3).T.view(6)
    np.testing.assert_array_equal(t.reshape(6).detach().numpy(), t.detach().numpy().reshape(6))
    assert t.view(1, 2, 3).detach().numpy().base is not None  # a view where the strides allow it


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


def test_unsqueeze_out_of_range_names_the_dim():
    raises_like_torch(lambda: ma.zeros(3).unsqueeze(3), lambda: torch.zeros(3).unsqueeze(3),
                      r"Unsqueeze.*dim 3 is out of range")
    assert ma.zeros(3).unsqueeze(-2).shape == tuple(torch.zeros(3).unsqueeze(-2).shape)
    assert ma.zeros(3).unsqueeze(1).shape == (3, 1)


@pytest.mark.parametrize("call", [
    lambda: ma.zeros(2, 3).transpose(0, None),
    lambda: ma.zeros(2, 3).unsqueeze(None),
    lambda: ma.zeros(2, 3).squeeze(1.0),
    lambda: ma.zeros(2, 3).flatten(None),
], ids=["transpose", "unsqueeze", "squeeze", "flatten"])
def test_shape_ops_name_a_dim_that_is_not_an_int(call):
    with pytest.raises(TypeError, match="argument 'dim' must be int, not"):
        call()


@given(edge_arrays(), st.integers(-2, 1), st.integers(-2, 1))
def test_transpose_any_shape(data, dim0, dim1):
    check(lambda x: x.transpose(dim0, dim1), lambda x: x.transpose(dim0, dim1), data)


@given(edge_arrays(), st.integers(-3, 2))
def test_squeeze_any_shape(data, dim):
    check(lambda x: x.squeeze(dim), lambda x: x.squeeze(dim), data)


def test_transpose_and_squeeze_of_a_0d_tensor_as_pytorch():
    x = ma.tensor(2.0, requires_grad=True)
    y = x.transpose(0, -1)
    y.backward()
    assert y.shape == () and y.item() == 2.0 and x.grad.item() == 1.0
    with pytest.raises(IndexError, match=r"Squeeze.*dim 1 is out of range"):
        x.squeeze(1)
    with pytest.raises(IndexError, match=r"Transpose.*dim 1 is out of range"):
        x.transpose(0, 1)


def test_squeeze_of_a_0d_tensor_checks_the_dim():
    with pytest.raises(IndexError):
        torch.tensor(1.0).squeeze(dim=10)
    with pytest.raises(IndexError, match="out of range"):
        ma.tensor(1.0).squeeze(dim=10)
    assert ma.tensor(1.0).squeeze(-1).shape == ()
