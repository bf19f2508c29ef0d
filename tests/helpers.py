"""Helpers shared by the tests: shape strategies, gradcheck and PyTorch parity."""
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import microattn as ma


PARITY_RTOL = 1e-10


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Hypothesis strategy for array shapes."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


@st.composite
def broadcastable_pair(draw, min_dims=0, max_dims=4, max_side=5):
    """Two shapes that broadcast together: the second drops leading dims and
    turns some sides into 1 (on either side)."""
    full = draw(shapes(min_dims, max_dims, 1, max_side))
    drop = draw(st.integers(0, len(full)))
    other = list(full[drop:])
    first = list(full)
    for i in range(len(other)):
        choice = draw(st.integers(0, 3))
        if choice == 1:
            other[i] = 1
        elif choice == 2:
            first[drop + i] = 1
    if draw(st.booleans()):
        return tuple(first), tuple(other)
    return tuple(other), tuple(first)


def leaf(array, requires_grad=True):
    """A float64 microattn leaf from an ndarray (kept as float64)."""
    return ma.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def transposed_leaf(array):
    """A float64 leaf whose data is a non-contiguous (transposed) view."""
    array = np.asarray(array, dtype=np.float64)
    data = np.ascontiguousarray(array.T).T if array.ndim else array.copy()
    t = ma.Tensor._make(data, None)
    t.requires_grad = True
    return t


def random_array(rng, shape, low=None, high=None):
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.standard_normal(shape)


def assert_close(actual, expected, rtol=PARITY_RTOL, atol=1e-12, what="value"):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def torch_parity(ma_fn, torch_fn, arrays, rtol=PARITY_RTOL, atol=1e-12, seed=0):
    """Run ``ma_fn`` and ``torch_fn`` on float64 copies of ``arrays``; compare the
    outputs and the gradients of a random projection of them. Returns the
    largest relative error seen (for reporting)."""
    import torch

    ma_inputs = [leaf(a) for a in arrays]
    torch_inputs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
                    for a in arrays]
    out = ma_fn(*ma_inputs)
    expected = torch_fn(*torch_inputs)
    assert_close(out.detach().numpy(), expected.detach().numpy(), rtol, atol, "forward value")
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(weights)
    expected.backward(torch.tensor(weights))
    worst = 0.0
    for i, (m, t) in enumerate(zip(ma_inputs, torch_inputs)):
        expected_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        actual_grad = np.zeros(m.shape) if m.grad is None else np.asarray(m.grad)
        assert_close(actual_grad, expected_grad, rtol, atol, f"gradient of input {i}")
        scale = np.maximum(np.abs(expected_grad), 1e-300)
        worst = max(worst, float(np.max(np.abs(actual_grad - expected_grad) / scale, initial=0)))
    return worst


def outputs_and_grads(fn, arrays, seed=0):
    """fn's output on float64 leaves made from ``arrays`` and the leaves' gradients
    for a random projection of it (the same projection for the same seed)."""
    inputs = [leaf(a) for a in arrays]
    out = fn(*inputs)
    out.backward(np.random.default_rng(seed).standard_normal(out.shape))
    return out.detach().numpy(), [np.zeros(x.shape) if x.grad is None else x.grad for x in inputs]


def assert_fused_matches_composed(fn, arrays, atol=1e-12, rtol=1e-12):
    """``fn(*inputs, fused=True)`` and ``fused=False`` agree in value and gradients.
    Returns the largest absolute difference seen."""
    fused_out, fused_grads = outputs_and_grads(lambda *a: fn(*a, fused=True), arrays)
    composed_out, composed_grads = outputs_and_grads(lambda *a: fn(*a, fused=False), arrays)
    assert_close(fused_out, composed_out, rtol, atol, "value: fused vs composed")
    worst = float(np.max(np.abs(fused_out - composed_out), initial=0))
    for i, (f, c) in enumerate(zip(fused_grads, composed_grads)):
        assert_close(f, c, rtol, atol, f"gradient of input {i}: fused vs composed")
        worst = max(worst, float(np.max(np.abs(f - c), initial=0)))
    return worst


FLOAT16_TOL = 2e-3  # a few float16 roundings (its eps is 9.8e-4), relative to max(1, |value|)


def float16_parity(ma_fn, torch_fn, arrays, grad_tol=1e-2):
    """Run ``ma_fn`` on float16 tensors of ``arrays`` (wide rows, large offsets) and
    ``torch_fn`` on the same values in float32: the value and the input gradients
    (of the sum of the output) must be finite and within float16's rounding,
    the value to FLOAT16_TOL and the gradients to ``grad_tol``, relative to
    max(1, |reference|). Fused ops compute float16 in float32 and round once."""
    import torch
    arrays = [np.asarray(a, dtype=np.float16) for a in arrays]
    ours_in = [ma.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    ours, theirs = ma_fn(*ours_in), torch_fn(*theirs_in)
    assert ours.dtype == np.float16
    pairs = [(ours.detach().numpy(), theirs.detach().numpy(), FLOAT16_TOL, "value")]
    ours.backward(ma.ones_like(ours))  # a float16 sum of the outputs could overflow
    theirs.backward(torch.ones_like(theirs))
    pairs += [(o.grad.numpy(), t.grad.numpy(), grad_tol, f"gradient {i}")
              for i, (o, t) in enumerate(zip(ours_in, theirs_in))]
    for got, want, tol, what in pairs:
        assert np.isfinite(got).all(), f"{what}: not finite in float16"
        error = np.abs(got.astype(np.float32) - want) / np.maximum(1, np.abs(want))
        assert error.max() <= tol, f"{what}: float16 error {error.max():.2e} > {tol}"


# -- edge cases against PyTorch: shapes with 0-, 1- and 2-sized sides --------------

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
    import torch
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
    import torch
    result = run_both(fn_ours, fn_torch, data)
    if result is None:
        return
    ours, theirs, x, xt = result
    if isinstance(theirs, tuple):
        ours, theirs = ours[0], theirs[0]
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(np.asarray(ours.detach().numpy()), expected, rtol=1e-10, atol=1e-12,
                               equal_nan=True)
    if not theirs.requires_grad:
        return
    g = np.random.default_rng(0).standard_normal(expected.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-8, atol=1e-12,
                               equal_nan=True)


FUSED = pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])


def leaf_pair(shape, seed=0, requires_grad=True):
    """The same float64 values as a microattn leaf and a torch leaf."""
    import torch
    data = np.random.default_rng(seed).standard_normal(shape)
    return (ma.tensor(data, requires_grad=requires_grad),
            torch.tensor(data, requires_grad=requires_grad))


def assert_same_as_torch(ours, theirs, what):
    ours = np.asarray(ours)
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, equal_nan=True,
                               err_msg=what)


# -- NaN at reductions, against PyTorch ----------------------------------------------

NAN = float("nan")
NAN_DATA = [[1.0, NAN, 3.0, NAN], [1.0, NAN, 3.0], [NAN], [[1.0, NAN], [3.0, 0.5]],
        [[2.0, 2.0], [NAN, NAN]], [1.0, 3.0, 3.0]]


def nan_grads(fn, data):
    """(our gradient, PyTorch's) of fn(x).sum() at float64 ``data``."""
    import torch
    ours = ma.tensor(np.asarray(data, np.float64), requires_grad=True)
    theirs = torch.tensor(np.asarray(data, np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy complaint at the NaN
        fn(ours).sum().backward()
    fn(theirs).sum().backward()
    return np.asarray(ours.grad), theirs.grad.numpy()


def assert_same_with_nans(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)
