"""erf (microattn.fused.gelu) against math.erf: double precision, vectorised, dtype-preserving."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microattn import functional as F
from microattn.fused.gelu import erf
from helpers import float16_parity

torch = pytest.importorskip("torch")

F64_RTOL = 1e-14
# float32 results may be a few float32 ulps off (inputs and arithmetic are float32).
F32_RTOL = 4 * np.finfo(np.float32).eps

math_erf = np.vectorize(math.erf, otypes=[np.float64])


def relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    return np.abs(actual - expected) / np.abs(expected)


def dense_grid():
    """-10..10 in steps of 5e-5 (zero left out), plus tiny and huge magnitudes of both signs."""
    steps = np.arange(-200_000, 200_001)
    grid = steps[steps != 0] * 5e-5
    tiny = np.geomspace(1e-300, 1e-3, 2000)
    return np.concatenate([grid, tiny, -tiny])


def test_float64_relative_error_below_1e_14_on_dense_grid():
    x = dense_grid()
    err = relative_error(erf(x), math_erf(x))
    assert err.max() < F64_RTOL, f"worst relative error {err.max():.3g} at x = {x[err.argmax()]!r}"


@given(st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False))
def test_float64_relative_error_at_any_double(value):
    expected = math.erf(value)
    if expected == 0.0:  # value is +-0
        assert erf(np.array(value)) == 0.0
    else:
        assert relative_error(erf(np.array(value)), expected) < F64_RTOL


def test_float32_in_gives_float32_out_to_float32_precision():
    x = dense_grid().astype(np.float32)
    x = x[np.abs(x) >= np.finfo(np.float32).tiny]  # subnormal float32 keeps no relative precision
    y = erf(x)
    assert y.dtype == np.float32
    err = relative_error(y, math_erf(x.astype(np.float64)))
    assert err.max() < F32_RTOL, f"worst relative error {err.max():.3g} at x = {x[err.argmax()]!r}"


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300])
    y = erf(x)
    assert y[0] == 0.0 and not np.signbit(y[0])
    assert y[1] == 0.0 and np.signbit(y[1])
    np.testing.assert_array_equal(y[[2, 3, 5, 6]], [1.0, -1.0, 1.0, -1.0])
    assert np.isnan(y[4])


def test_odd_symmetry_is_exact(rng):
    x = rng.uniform(0, 7, size=1000)
    np.testing.assert_array_equal(erf(-x), -erf(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_zero_d_and_non_contiguous_inputs(dtype, rng):
    x = rng.uniform(-4, 4, size=(3, 4, 5)).astype(dtype)
    expected = erf(x.ravel()).reshape(x.shape)
    transposed = x.transpose(2, 0, 1)
    np.testing.assert_array_equal(erf(transposed), expected.transpose(2, 0, 1))
    zero_d = erf(np.array(x[0, 0, 0]))
    assert zero_d.shape == () and zero_d.dtype == dtype
    assert zero_d == expected[0, 0, 0]


def test_integer_input_is_computed_in_float64():
    y = erf(np.array([-3, 0, 1, 2]))
    assert y.dtype == np.float64
    assert relative_error(y[[0, 2, 3]], math_erf(np.array([-3.0, 1.0, 2.0]))).max() < F64_RTOL


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float16_large_inputs_are_computed_in_float32(approximate):
    # |x| > 256 overflows x * x in float16 (the tanh form's cubic term, its slope)
    x = np.concatenate([np.linspace(-300, 300, 2048), np.linspace(-4, 4, 2048)])
    float16_parity(lambda t: F.gelu(t, approximate=approximate),
                   lambda t: torch.nn.functional.gelu(t, approximate=approximate), [x])
