"""Tensor construction, dtype rules (DESIGN.md "Conventions pinned"), factories, attributes."""
import numpy as np
import pytest

import microattn as ma
from helpers import assert_close, leaf
import re
from microattn import nn


@pytest.fixture
def default_float64():
    """Switch the default dtype to float64 for one test, restoring it afterwards."""
    previous = ma.get_default_dtype()
    ma.set_default_dtype(np.float64)
    yield
    ma.set_default_dtype(previous)


@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32),                              # Python float: the default dtype
    ([1.0, 2.0], np.float32),
    ([1, 2.5], np.float32),                         # mixed ints and floats are floats
    (np.array([1.0, 2.0]), np.float64),             # numpy arrays keep their dtype
    (np.array([1.0], dtype=np.float32), np.float32),
    (np.array([1, 2], dtype=np.int32), np.int32),
    (np.float64(2.0), np.float64),
    (3, np.int64),                                  # Python ints: int64
    ([[1, 2], [3, 4]], np.int64),
    (True, np.bool_),                               # bools: bool
    ([True, False], np.bool_),
])
def test_tensor_dtype_rules(data, dtype):
    assert ma.tensor(data).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, "float64", np.dtype("float16"), "int32"])
def test_tensor_dtype_argument_takes_numpy_dtypes_and_names(dtype):
    t = ma.tensor([1, 2], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    assert t.tolist() == [1, 2]


def test_tensor_from_a_tensor_or_array_copies():
    array = np.zeros(3)
    t = ma.tensor(array)
    array[0] = 1.0
    assert t.detach().numpy()[0] == 0.0
    u = ma.tensor(t)
    t.detach().numpy()[1] = 5.0
    assert u.detach().numpy()[1] == 0.0


def test_tensor_of_strings_is_refused():
    with pytest.raises(TypeError, match="numbers or bools"):
        ma.tensor(["a", "b"])


def test_default_dtype_is_float32_and_can_be_changed(default_float64):
    assert ma.get_default_dtype() == np.float64
    assert ma.tensor(1.5).dtype == np.float64
    assert ma.zeros(2).dtype == ma.randn(2).dtype == np.float64
    assert ma.tensor(np.float32(1.0)).dtype == np.float32


def test_default_dtype_starts_as_float32():
    assert ma.get_default_dtype() == np.float32


def test_set_default_dtype_refuses_non_floating_dtypes():
    with pytest.raises(TypeError, match="floating"):
        ma.set_default_dtype(np.int64)
    assert ma.get_default_dtype() == np.float32


def test_data_is_writable_in_place_and_by_assignment():
    p = ma.zeros(2, 3, requires_grad=True)
    p.detach().numpy()[...] = np.ones((2, 3))
    p.detach().numpy()[0, 0] = 7.0
    assert p.detach().numpy().sum() == 12.0
    p.data = np.full((2, 3), 2.0, dtype=np.float32)
    assert p.requires_grad and p.detach().numpy().sum() == 12.0


@pytest.mark.parametrize("factory, value", [(ma.zeros, 0.0), (ma.ones, 1.0)])
def test_zeros_and_ones_take_varargs_or_a_tuple(factory, value):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32
        assert np.all(t.detach().numpy() == value)
    assert factory(4, dtype="float64").dtype == np.float64
    assert factory(2, requires_grad=True).requires_grad


def test_full_takes_its_dtype_from_the_fill_value():
    assert_close(ma.full((2, 2), 0.5).detach().numpy(), np.full((2, 2), 0.5))
    assert ma.full((2, 2), 0.5).dtype == np.float32
    assert ma.full(3, 7).dtype == np.int64
    assert ma.full((1,), True).dtype == np.bool_


def test_random_factories_shapes_dtypes_and_ranges():
    ma.manual_seed(0)
    n, u = ma.randn(200, 5), ma.rand((200, 5))
    assert n.shape == u.shape == (200, 5)
    assert n.dtype == u.dtype == np.float32
    assert 0.0 <= u.detach().numpy().min() and u.detach().numpy().max() < 1.0
    assert abs(n.detach().numpy().mean()) < 0.1 and 0.9 < n.detach().numpy().std() < 1.1


def test_arange_dtypes_follow_pytorch():
    assert ma.arange(4).tolist() == [0, 1, 2, 3] and ma.arange(4).dtype == np.int64
    assert ma.arange(1, 7, 2).tolist() == [1, 3, 5]
    t = ma.arange(0, 1, 0.25)
    assert t.dtype == np.float32 and t.tolist() == [0.0, 0.25, 0.5, 0.75]


def test_zeros_like_and_ones_like_keep_shape_and_dtype():
    t = ma.tensor(np.arange(6.0).reshape(2, 3))
    for like, value in ((ma.zeros_like(t), 0.0), (ma.ones_like(t), 1.0)):
        assert like.shape == (2, 3) and like.dtype == np.float64
        assert np.all(like.detach().numpy() == value)
    assert ma.zeros_like(t, dtype=np.float32).dtype == np.float32


def test_manual_seed_makes_random_draws_repeatable():
    ma.manual_seed(42)
    first = (ma.randn(3, 2).detach().numpy(), ma.rand(4).detach().numpy())
    following = ma.randn(3, 2).detach().numpy()
    ma.manual_seed(42)
    again = (ma.randn(3, 2).detach().numpy(), ma.rand(4).detach().numpy())
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], following)


def test_item_numpy_and_detach():
    t = ma.tensor([[2.5]])
    assert t.item() == 2.5 and isinstance(t.item(), float)
    with pytest.raises(RuntimeError, match="one element"):
        ma.tensor([1.0, 2.0]).item()

    assert t.numpy() is t.detach().numpy()  # shared, as torch's numpy()
    p = ma.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        p.numpy()
    d = (p * 2.0).detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None


def test_detach_shares_data_with_the_original():
    p = ma.ones(2, requires_grad=True)
    d = p.detach()
    d.detach().numpy()[0] = 5.0
    assert p.detach().numpy()[0] == 5.0


def test_requires_grad_and_is_leaf():
    t = ma.zeros(2)
    assert t.is_leaf and not t.requires_grad
    assert t.requires_grad_() is t and t.requires_grad
    y = t * 2.0
    assert not y.is_leaf and y.requires_grad
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_T_reverses_the_dimensions():
    t = ma.tensor(np.arange(6.0).reshape(2, 3))
    assert t.T.shape == (3, 2)
    np.testing.assert_array_equal(t.T.detach().numpy(), t.detach().numpy().T)


def test_repr_shows_values_and_grad_state():
    assert repr(ma.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(ma.ones(1, requires_grad=True))
    assert "dtype=float64" in repr(ma.tensor(np.zeros(1)))
    assert "grad_fn=<MulBackward0>" in repr(ma.ones(1, requires_grad=True) * 2.0)


def test_shape_facts():
    t = ma.zeros(2, 3, 4)
    assert (t.shape, t.ndim, t.dim(), t.numel(), len(t), t.size(), t.size(-1)) == \
        ((2, 3, 4), 3, 3, 24, 2, (2, 3, 4), 4)


# (array <op> t, d/dt of it), for a numpy array on the left of a tensor t
REFLECTED = {
    "+": (lambda a, t: a + t, lambda a, t: np.ones_like(t)),
    "-": (lambda a, t: a - t, lambda a, t: -np.ones_like(t)),
    "*": (lambda a, t: a * t, lambda a, t: a),
    "/": (lambda a, t: a / t, lambda a, t: -a / t ** 2),
    "**": (lambda a, t: a ** t, lambda a, t: a ** t * np.log(a)),
}


@pytest.mark.parametrize("name", REFLECTED)
def test_numpy_array_on_the_left_gives_a_tensor_with_grad(name):
    op, derivative = REFLECTED[name]
    array = np.array([1.5, 2.0, 3.0])
    t = leaf([0.5, 1.0, 2.0])
    out = op(array, t)
    assert isinstance(out, ma.Tensor)
    assert_close(out.detach().numpy(), op(array, t.detach().numpy()))
    out.backward(np.ones(3))
    assert_close(t.grad, derivative(array, t.detach().numpy()))


def test_numpy_matrix_on_the_left_of_matmul_gives_a_tensor():
    array = np.arange(6.0).reshape(2, 3)
    t = leaf(np.ones((3, 2)))
    out = array @ t
    assert isinstance(out, ma.Tensor)
    assert_close(out.detach().numpy(), array @ t.detach().numpy())
    out.backward(np.ones((2, 2)))
    assert_close(t.grad, array.T @ np.ones((2, 2)))


def test_setitem_writes_in_place_guarded_as_pytorch():
    t = ma.zeros(2, 3)
    t[0] = 1.0
    t[:, 2] = ma.tensor([5.0, 6.0])
    np.testing.assert_array_equal(t.detach().numpy(), [[1, 1, 5], [0, 0, 6]])
    weight = ma.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        weight[0] = 1.0
    with ma.no_grad():
        weight[0] = 1.0  # initialising a parameter
    assert weight.detach().numpy()[0] == 1.0
    doubled = weight * 2
    squared = (doubled * doubled).sum()  # saves doubled for its backward
    with ma.no_grad():
        doubled[0] = 1.0  # allowed, as in PyTorch, but it bumps the version ...
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        squared.backward()  # ... so backward refuses the changed values


def test_numpy_array_of_a_tensor_copies_and_asarray_shares():
    t = ma.tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 99.0
    assert t.detach().numpy()[0] == 1.0
    assert np.asarray(t) is t.detach().numpy() or np.shares_memory(np.asarray(t),
                      t.detach().numpy())


def test_softmax_and_squeeze_of_a_0d_tensor_as_torch():
    assert ma.tensor(2.0).softmax(-1).item() == 1.0
    assert ma.tensor(2.0).squeeze(0).item() == 2.0


torch = pytest.importorskip("torch")


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


def _assign(lib, attribute, make_value):
    p = lib.zeros(2, 3, requires_grad=True)
    setattr(p, attribute, make_value(lib))
    return p


FACTORIES = ["zeros", "ones", "randn", "rand"]


@pytest.mark.parametrize("shape", [(3,), (1, 3), (2, 1), (3, 2), ()])
def test_grad_of_another_shape_is_refused_even_if_it_broadcasts(shape):
    raises_like_torch(lambda: _assign(ma, "grad", lambda lib: lib.zeros(shape)),
                      lambda: _assign(torch, "grad", lambda lib: lib.zeros(shape)),
                      rf"gradient of shape {re.escape(str(shape))} to a tensor of shape \(2, 3\)")
    with pytest.raises(RuntimeError, match=r"gradient of shape"):  # an ndarray too
        _assign(ma, "grad", lambda lib: np.zeros(shape, np.float32))


@pytest.mark.parametrize("dtype", ["int64", "float64", "bool"])
def test_grad_of_another_dtype_is_refused(dtype):
    raises_like_torch(
        lambda: _assign(ma, "grad", lambda lib: np.zeros((2, 3), dtype)),
        lambda: _assign(torch, "grad", lambda lib: lib.zeros((2, 3), dtype=getattr(torch, dtype))),
        f"gradient of dtype {dtype} to a tensor of dtype float32")


@pytest.mark.parametrize("value", [[[0.0] * 3] * 2, 0.0], ids=["list", "float"])
def test_grad_that_is_no_array_is_a_type_error(value):
    raises_like_torch(lambda: _assign(ma, "grad", lambda lib: value),
                      lambda: _assign(torch, "grad", lambda lib: value),
                      f"grad expected to be a tensor, an ndarray or None, but got grad of type "
                      f"{type(value).__name__}")


def test_a_fitting_grad_is_taken_from_a_tensor_an_ndarray_or_none():
    p = ma.zeros(2, 3, requires_grad=True)
    p.grad = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(np.asarray(p.grad), np.ones((2, 3)))
    grad = ma.full((2, 3), 2.0)
    p.grad = grad
    assert p.grad is grad   # a tensor is kept as it is, as PyTorch
    np.testing.assert_array_equal(np.asarray(p.grad), np.full((2, 3), 2.0))
    p.grad = None
    assert p.grad is None


def test_data_set_to_a_list_is_a_type_error():
    raises_like_torch(lambda: _assign(ma, "data", lambda lib: [[0.0] * 3] * 2),
                      lambda: _assign(torch, "data", lambda lib: [[0.0] * 3] * 2),
                      "Tensor.data must be set to a tensor or an ndarray, not list")


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_data_into_a_tensor_that_requires_grad_is_refused(dtype):
    raises_like_torch(
        lambda: _assign(ma, "data", lambda lib: np.zeros((2, 3), dtype)),
        lambda: _assign(torch, "data", lambda lib: lib.zeros((2, 3), dtype=getattr(torch, dtype))),
        f"data set to a tensor that requires gradients must be floating point, got dtype {dtype}")
    p = nn.Parameter(np.zeros(3))
    with pytest.raises(RuntimeError, match="must be floating point"):
        p.data = np.zeros(3, dtype)
    assert p.detach().numpy().dtype == np.float64   # left as it was


def test_data_of_another_shape_or_float_dtype_is_taken_as_pytorch():
    p = _assign(ma, "data", lambda lib: np.ones(4))
    t = _assign(torch, "data", lambda lib: lib.ones(4, dtype=torch.float64))
    assert p.shape == tuple(t.shape) and p.dtype == np.float64
    p.data = ma.full((2,), 3.0)   # a tensor's data, shared
    np.testing.assert_array_equal(p.detach().numpy(), [3.0, 3.0])
    q = ma.zeros(3)                # no grad: any dtype
    q.data = np.arange(3)
    assert q.dtype == np.int64


@pytest.mark.parametrize("name", FACTORIES)
def test_a_negative_size_names_the_factory(name):
    raises_like_torch(lambda: getattr(ma, name)(2, -1), lambda: getattr(torch, name)(2, -1),
                      rf"{name}\(\): Trying to create tensor with negative dimension -1")
    raises_like_torch(lambda: getattr(ma, name)(2.5), lambda: getattr(torch, name)(2.5),
                      rf"{name}\(\): size must be ints")
    assert getattr(ma, name)((2, 0)).shape == (2, 0)
    assert getattr(ma, name)([3]).shape == (3,)


def test_arange_with_step_zero_is_a_runtime_error():
    raises_like_torch(lambda: ma.arange(0, 5, 0), lambda: torch.arange(0, 5, 0),
                      r"arange\(\): step must be nonzero")


def test_manual_seed_takes_what_pytorch_takes():
    for seed, same_as in ((-1, 2**64 - 1), (1.5, 1), (np.int64(7), 7)):
        ma.manual_seed(seed)
        first = np.asarray(ma.randn(3))
        ma.manual_seed(same_as)
        np.testing.assert_array_equal(first, np.asarray(ma.randn(3)))
        torch.manual_seed(seed)   # PyTorch accepts the same seeds
    raises_like_torch(lambda: ma.manual_seed(2**64), lambda: torch.manual_seed(2**64),
                      "out of range")
    raises_like_torch(lambda: ma.manual_seed("a"), lambda: torch.manual_seed("a"),
                      "invalid literal")
    ma.manual_seed(0)


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1, 2], requires_grad=True),
    lambda lib: lib.tensor([1, 2]).requires_grad_(),
    lambda lib: lib.tensor([True]).requires_grad_(),
], ids=["tensor()", "requires_grad_() int", "requires_grad_() bool"])
def test_only_floating_tensors_can_require_grad(make):
    raises_like_torch(lambda: make(ma), lambda: make(torch),
                      "only floating-point tensors can require gradients")
