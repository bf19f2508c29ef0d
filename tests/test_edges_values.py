"""Edge values through the public API, compared with PyTorch: gradients at NaN
(max/min of everything, amax/amin, relu) and softmax's choice of dim."""
import warnings

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

NAN = float("nan")


def grads(fn, data):
    """(our gradient, PyTorch's) of fn(x).sum() at float64 ``data``."""
    ours = ma.tensor(np.asarray(data, np.float64), requires_grad=True)
    theirs = torch.tensor(np.asarray(data, np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy complaint at the NaN
        fn(ours).sum().backward()
    fn(theirs).sum().backward()
    return np.asarray(ours.grad), theirs.grad.numpy()


def assert_same(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)


DATA = [[1.0, NAN, 3.0, NAN], [1.0, NAN, 3.0], [NAN], [[1.0, NAN], [3.0, 0.5]],
        [[2.0, 2.0], [NAN, NAN]], [1.0, 3.0, 3.0]]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_and_min_of_everything_send_the_gradient_only_to_the_nans(op, data):
    ours, theirs = grads(lambda x: getattr(x, op)(), data)
    assert_same(ours, theirs)
    if np.isnan(data).any():
        assert np.all(ours[~np.isnan(data)] == 0)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_and_amin_at_nan_as_pytorch(op, data):
    ours, theirs = grads(lambda x: getattr(x, op)(), data)
    assert_same(ours, theirs)
    if np.ndim(data) == 2:
        ours, theirs = grads(lambda x: getattr(x, op)(1), data)
        assert_same(ours, theirs)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_along_a_dim_at_nan_picks_the_nan_as_pytorch(op, data):
    def values(x):
        return getattr(x, op)(-1)[0]
    ours, theirs = grads(values, data)
    assert_same(ours, theirs)
    t = np.asarray(data, np.float64)
    np.testing.assert_array_equal(
        np.asarray(getattr(ma.tensor(t), op)(-1)[1]),
        getattr(torch.tensor(t), op)(-1)[1].numpy())


def test_relu_passes_the_gradient_at_nan_as_pytorch():
    data = [NAN, -1.0, 0.0, -0.0, 2.0, np.inf, -np.inf]
    ours, theirs = grads(lambda x: x.relu() * 3.0, data)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, [3, 0, 0, 0, 3, 3, 0])
    ours, _ = grads(lambda x: (F.relu(x) if isinstance(x, ma.Tensor) else x.relu()) * 3.0, data)
    np.testing.assert_array_equal(ours, theirs)


# -- softmax's dim ------------------------------------------------------------------

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
