"""Indexing (``x[index]``) and embedding lookups: every index kind, with gradients.

Both scatter the gradient back to the picked positions; an element or row
picked twice must collect both contributions.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from helpers import leaf, shapes, torch_parity, transposed_leaf
from microattn.fused import embedding

torch = pytest.importorskip("torch")

LAYOUTS = pytest.mark.parametrize("make", [leaf, transposed_leaf], ids=["contiguous", "transposed"])


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def torch_index(index):
    """The same index for a torch tensor: arrays and our tensors become torch tensors."""
    if isinstance(index, tuple):
        return tuple(torch_index(part) for part in index)
    if isinstance(index, ma.Tensor):
        index = index.detach().numpy()
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


def check_index(x_shape, index, make=leaf):
    """gradcheck x[index] in the layout ``make`` gives, and compare with PyTorch."""
    x = data(x_shape)
    assert ma.gradcheck(lambda t: t[index], [make(x) if x.ndim else leaf(x)])
    t_index = torch_index(index)
    torch_parity(lambda t: t[index], lambda t: t[t_index], [x])


def as_form(array, form):
    """An integer or boolean index array as an ndarray, a list or a tensor."""
    if form == "list":
        return array.tolist()
    if form == "tensor":
        return ma.tensor(array)
    return array


def positive_slices(n):
    """Slices with any bounds (also beyond the ends) and a positive step, as PyTorch allows."""
    bound = st.none() | st.integers(-n - 1, n + 1)
    return st.builds(slice, bound, bound, st.none() | st.integers(1, 3))


@st.composite
def basic_index(draw):
    """A shape and a tuple of slices, ints and Nones, maybe behind an Ellipsis."""
    shape = draw(shapes(min_dims=1))
    k = draw(st.integers(0, len(shape)))
    ellipsis = draw(st.booleans())
    parts = [Ellipsis] if ellipsis else []
    for n in (shape[len(shape) - k:] if ellipsis else shape[:k]):
        if draw(st.integers(0, 3)) == 0:
            parts.append(None)
        parts.append(draw(st.integers(-n, n - 1) | positive_slices(n)))
    return shape, tuple(parts)


@st.composite
def integer_array_index(draw):
    """An integer index array (repeats and negatives likely) on one axis of x."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    index_shape = draw(shapes(min_dims=1, max_dims=2, max_side=4))
    values = draw(st.lists(st.integers(-n, n - 1), min_size=math.prod(index_shape),
                           max_size=math.prod(index_shape)))
    index = as_form(np.array(values, dtype=np.int64).reshape(index_shape),
                    draw(st.sampled_from(["ndarray", "list", "tensor"])))
    return shape, (slice(None),) * axis + (index,)


@st.composite
def mask_index(draw):
    """A boolean mask over the leading k axes of x."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    k = draw(st.integers(1, len(shape)))
    size = math.prod(shape[:k])
    mask = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)),
                    dtype=bool).reshape(shape[:k])
    return shape, as_form(mask, draw(st.sampled_from(["ndarray", "tensor"])))


@LAYOUTS
@settings(max_examples=20)
@given(basic_index())
def test_basic_indexing(make, case):
    check_index(*case, make=make)


@LAYOUTS
@settings(max_examples=20)
@given(integer_array_index())
def test_integer_array_indexing(make, case):
    check_index(*case, make=make)


@LAYOUTS
@settings(max_examples=20)
@given(mask_index())
def test_boolean_mask_indexing(make, case):
    check_index(*case, make=make)


MASK_5 = np.array([True, False, True, True, False])
MIXED = {
    "slice, int array": (slice(None), np.array([0, 2, 2])),
    "arrays apart (result axes go first)": (np.array([0, 3, 0]), slice(1, 3), [4, 4, 0]),
    "None, Ellipsis, array": (None, Ellipsis, np.array([1, 1])),
    "int beside a 2-D array": (1, np.array([[0, 2], [2, 2]])),
    "mask then strided slice": (np.array([True, False, False, True]), slice(None, None, 2)),
    "Ellipsis, mask on the last axis": (Ellipsis, MASK_5),
    "list beside a mask": (slice(1, 3), [0, 2, 0], MASK_5),
    "tensor array, None, slice, bool tensor": (ma.tensor([2, 2, 1]), None, slice(None),
                                                ma.tensor(MASK_5)),
    "negative int and slice": (-1, slice(None, None, -1)),
}


@pytest.mark.parametrize("index", MIXED.values(), ids=MIXED.keys())
def test_mixed_index_tuples(index):
    x = data((4, 3, 5))
    if any(isinstance(p, slice) and p.step is not None and p.step < 0 for p in index):
        # PyTorch has no negative steps: check numpy's answer and the gradient alone.
        assert ma.gradcheck(lambda t: t[index], [transposed_leaf(x)])
        np.testing.assert_array_equal(leaf(x)[index].detach().numpy(), x[index])
        return
    check_index(x.shape, index, make=transposed_leaf)


def test_repeated_integer_indices_add_up():
    x = ma.tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    y = x[ma.tensor([3, 0, 3, 3])]
    y.backward(np.array([1.0, 2.0, 10.0, 100.0], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0, 111.0])
    assert x.grad.dtype == np.float32


def test_basic_index_gradient_lands_in_place():
    x = leaf(np.zeros((3, 4)))
    x[1, 1:3].backward(np.array([5.0, 7.0]))
    expected = np.zeros((3, 4))
    expected[1, 1:3] = [5.0, 7.0]
    np.testing.assert_array_equal(x.grad, expected)


def test_index_out_of_range_names_the_op():
    with pytest.raises(IndexError, match=r"Index\(\(3, 2\).*index 3 is out of bounds"):
        leaf(np.zeros((3, 2)))[np.array([0, 3])]


def test_a_scalar_pick_is_a_0d_tensor():
    y = leaf(np.arange(3.0))[1]
    assert isinstance(y, ma.Tensor) and y.shape == () and y.item() == 1.0


# -- embedding ---------------------------------------------------------------------

@st.composite
def embedding_case(draw):
    vocabulary, width = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    index_shape = draw(shapes(min_dims=0, max_dims=3, max_side=4))
    size = math.prod(index_shape)
    values = draw(st.lists(st.integers(0, vocabulary - 1), min_size=size, max_size=size))
    indices = np.array(values, dtype=np.int64).reshape(index_shape)
    return as_form(indices, draw(st.sampled_from(["ndarray", "tensor"]))), (vocabulary, width)


@LAYOUTS
@settings(max_examples=20)
@given(embedding_case())
def test_embedding_gradcheck(make, case):
    indices, weight_shape = case
    assert ma.gradcheck(lambda w: embedding(indices, w), [make(data(weight_shape))])


@given(embedding_case())
def test_embedding_matches_torch(case):
    indices, weight_shape = case
    t_indices = torch_index(indices)
    torch_parity(lambda w: embedding(indices, w),
                 lambda w: torch.nn.functional.embedding(t_indices, w), [data(weight_shape)])


def test_embedding_rows_picked_twice_collect_both_gradients():
    weight = ma.tensor(np.zeros((4, 2), dtype=np.float32), requires_grad=True)
    indices = ma.tensor([[1, 3], [1, 1]])
    y = embedding(indices, weight)
    assert y.shape == (2, 2, 2) and y.dtype == np.float32
    y.backward(np.arange(8, dtype=np.float32).reshape(2, 2, 2))
    np.testing.assert_array_equal(weight.grad, [[0, 0], [0 + 4 + 6, 1 + 5 + 7], [0, 0], [2, 3]])
    assert weight.grad.dtype == np.float32 and indices.grad is None


@pytest.mark.parametrize("bad", [4, -1])
def test_embedding_out_of_range_names_range_and_vocabulary(bad):
    with pytest.raises(IndexError, match=r"\[0, 3\] for a vocabulary of 4 rows"):
        embedding(np.array([0, bad]), leaf(np.zeros((4, 2))))


def test_embedding_rejects_float_indices():
    with pytest.raises(TypeError, match="integer indices"):
        embedding(np.array([0.0, 1.0]), leaf(np.zeros((4, 2))))


seeds = st.integers(0, 2**32 - 1)


@given(shape=st.lists(st.integers(2, 4), min_size=2, max_size=3).map(tuple), seed=seeds)
def test_setitem_with_a_tensor_value_gradcheck_and_torch(shape, seed):
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(shape), rng.standard_normal(shape[1:])

    def fn(x, v):
        h = x * 2.0
        h[1] = v * v          # a basic index: v broadcast into row 1
        h[0, ..., [0, 1]] = 1.0  # PyTorch's int-then-list rule
        return h
    assert ma.gradcheck(fn, [leaf(x), leaf(v)])
    torch_parity(fn, fn, [x, v])


def grad_array(t):
    return np.asarray(t.grad)


def test_advanced_indexing_follows_pytorch_with_gradients(rng):
    x = rng.standard_normal((2, 3, 4))
    for index in [(0, slice(None), [0, 2, 3, 1, 1]), (slice(None), 1, [0, 0]),
                  (None, 1, [1, 0]), ([1, 0], 2, slice(1, 3)), (1, [True, False, True])]:
        a = ma.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        y, expected = a[index], t[index]
        assert y.shape == tuple(expected.shape), index
        np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())
        weights = rng.standard_normal(y.shape)
        y.backward(weights)
        expected.backward(torch.tensor(weights))
        np.testing.assert_allclose(grad_array(a), t.grad.numpy(), rtol=1e-12)
    assert ma.tensor(x)[0, :, [0, 2, 3, 1, 1]].shape == (3, 5)
