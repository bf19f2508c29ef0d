"""ma.gradcheck: accepts a correct backward, pins down a wrong one, refuses float32."""
import re

import numpy as np
import pytest

import microattn as ma
from helpers import leaf


class Square(ma.Function):
    """y = x**2.   dL/dx = 2 x g"""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class ScaledProduct(ma.Function):
    """z = a * b * s for a plain number s.   dL/da = g b s,  dL/db = g a s"""

    def forward(ctx, a, b, s):
        ctx.save_for_backward(a, b)
        ctx.s = s
        return a * b * s

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.s, g * a * ctx.s, None


class SquareWrongAtOne(Square):
    """Square with a deliberate mistake: element 1 of the gradient is off by 1."""

    def backward(ctx, g):
        grad = Square.backward(ctx, g).copy()
        grad[1] += 1.0
        return grad


class ProductWrongForB(ScaledProduct):
    """ScaledProduct with the gradient of b forgetting the scale."""

    def backward(ctx, g):
        a, _ = ctx.saved_tensors
        da, _, _ = ScaledProduct.backward(ctx, g)
        return da, g * a, None


def test_correct_functions_pass():
    assert ma.gradcheck(Square.apply, [leaf([0.5, -1.0, 2.0])]) is True
    # broadcast inputs: the engine sums the (2, 3) gradient back to b's (3,)
    a, b = leaf(np.arange(6.0).reshape(2, 3) - 2), leaf([0.5, -1.5, 2.0])
    assert ma.gradcheck(lambda a, b: ScaledProduct.apply(a, b, 3.0), [a, b]) is True


def test_inputs_and_their_grads_are_left_as_they_were():
    x = leaf([0.5, -1.0, 2.0])
    x.grad = np.full(3, 7.0)
    before = x.detach().numpy().copy()
    ma.gradcheck(Square.apply, [x])
    np.testing.assert_array_equal(x.detach().numpy(), before)
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))


def _reported(message, name):
    return float(re.search(name + r" (-?[\d.]+(?:e[-+]?\d+)?)", message).group(1))


def test_wrong_backward_raises_naming_input_index_and_both_values():
    x = leaf([0.5, -1.0, 2.0])
    with pytest.raises(ma.GradcheckError) as info:
        ma.gradcheck(SquareWrongAtOne.apply, [x])
    message = str(info.value)
    assert "input 0" in message and "index (1,)" in message
    # gradcheck projects on v ~ N(0, 1) with seed 0: dL/dx = 2 x v (+1 at index 1)
    v = np.random.default_rng(0).standard_normal(3)
    assert _reported(message, "analytic") == pytest.approx(2 * x.detach().numpy()[1] * v[1] + 1,
                     abs=1e-8)
    assert _reported(message, "numeric") == pytest.approx(2 * x.detach().numpy()[1] * v[1],
                     abs=1e-6)


def test_wrong_gradient_of_the_second_input_is_named():
    a, b = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([[0.5, -0.5], [1.5, -1.5]])
    with pytest.raises(ma.GradcheckError, match=r"input 1 \(shape \(2, 2\)\)"):
        ma.gradcheck(lambda a, b: ProductWrongForB.apply(a, b, 3.0), [a, b])


def test_tolerances_decide():
    x = leaf([0.5, -1.0, 2.0])
    # off by exactly 1 at one element: passes only when atol allows more than 1
    assert ma.gradcheck(SquareWrongAtOne.apply, [x], atol=1.5)
    with pytest.raises(ma.GradcheckError):
        ma.gradcheck(SquareWrongAtOne.apply, [x], atol=0.5)


def test_float32_inputs_are_refused():
    x = ma.tensor([0.5, 1.0], requires_grad=True)
    assert x.dtype == np.float32
    with pytest.raises(TypeError, match=r"input 0 is float32.*float64"):
        ma.gradcheck(Square.apply, [x])


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="requires grad"):
        ma.gradcheck(Square.apply, [leaf([1.0], requires_grad=False)])


def test_non_leaf_inputs_are_refused():
    x = ma.tensor(np.ones(3), requires_grad=True) * 2
    with pytest.raises(ValueError, match="not a leaf"):
        ma.gradcheck(lambda t: t.exp(), [x])


class Boom(Exception):
    pass


@pytest.mark.parametrize("fail_on_call", [1, 2, 3, 6])
def test_gradcheck_restores_its_inputs_when_fn_raises(fail_on_call):
    """Calls: 1 is the analytic pass, 2.. the finite differences (2 per element)."""
    x = leaf(np.array([0.5, -1.5, 2.0]))
    y = leaf(np.array([1.0, 2.0, 3.0]))
    y.grad = ma.tensor(np.array([7.0, 8.0, 9.0]))
    previous_grad = y.grad
    x_data, y_data = x.detach().numpy(), y.detach().numpy().copy()
    x_before = x.detach().numpy().copy()
    calls = []

    def fn(a, b):
        calls.append(1)
        if len(calls) == fail_on_call:
            raise Boom
        return (a * b).sum()

    with pytest.raises(Boom):
        ma.gradcheck(fn, (x, y))
    assert x.detach().numpy() is x_data
    np.testing.assert_array_equal(x.detach().numpy(), x_before)
    np.testing.assert_array_equal(y.detach().numpy(), y_data)
    assert x.grad is None and y.grad is previous_grad


def test_gradcheck_restores_gradients_when_backward_raises():
    x = leaf(np.array([1.0, 2.0]))
    x.grad = np.array([5.0, 5.0])

    def fn(a):
        out = a * 2
        out.register_hook(lambda g: (_ for _ in ()).throw(Boom()))
        return out

    with pytest.raises(Boom):
        ma.gradcheck(fn, (x,))
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])
