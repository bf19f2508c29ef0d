"""Exercise 1: a scalar autograd Value, checked against the library's 0-d tensors."""
import math

import numpy as np

import microattn as ma

from ..comparison import Failure, call, compare
from ..mistakes import OVERWRITTEN, SIGN_FLIPPED, TANH_OF_INPUT, TOPOLOGICAL_ORDER

TITLE = "a scalar autograd Value"
TEACHES = "the chain rule one number at a time: local derivatives, accumulation, topological order"
HINTS = (
    "Each op returns a new Value whose _prev are its inputs, and sets out._backward to a "
    "function that adds (+=) each input's share: dL/dinput = local derivative * out.grad.",
    "backward(): build a list of every Value reachable through _prev, each after its inputs "
    "(a depth-first walk), set self.grad = 1.0, then call node._backward() for the nodes "
    "in reversed order.",
    "__mul__ starts: other = as_value(other); out = Value(self.data * other.data, "
    "(self, other), '*')",
)

# Each op, written once for Values and for tensors: (name, f(a, b), needs a > 0).
OPS = [("a + b", lambda a, b: a + b), ("a * b", lambda a, b: a * b),
       ("a ** 3", lambda a, b: a ** 3), ("a ** -0.5", lambda a, b: a ** -0.5),
       ("a.tanh()", lambda a, b: a.tanh()), ("a.exp()", lambda a, b: a.exp())]


def _composite(a, b):
    """A graph where values are reused along paths of different lengths (a diamond)."""
    y = a * b.tanh() + a ** 2
    h = y.exp() * a + y * y
    return h * (b + 1.5) + y


def _library(f, a, b):
    """(value, dL/da, dL/db) of f by the library on 0-d float64 tensors."""
    ta, tb = (ma.tensor(np.float64(x), requires_grad=True) for x in (a, b))
    z = f(ta, tb)
    z.backward()
    grads = [0.0 if t.grad is None else t.grad.item() for t in (ta, tb)]
    return z.item(), grads[0], grads[1]


def _learner(module, what, f, a, b):
    va, vb = module.Value(a), module.Value(b)
    z = call(what, f, va, vb)
    if not isinstance(z, module.Value):
        raise Failure(what, f"returned {type(z).__name__}, expected a Value")
    call(f"{what}, then .backward()", z.backward)
    return z.data, va.grad, vb.grad


def _compare_grads(what, got, expected, extra=None):
    for name, g, e in zip("ab", got, expected):
        mistakes = {SIGN_FLIPPED: -e, **(extra or {}).get(name, {})}
        compare(f"{what}: dL/d{name}", np.float64(g), e, mistakes)


def check(module, rng):
    """Every op alone, accumulation, a diamond graph, and central differences."""
    cases = 0
    for what, f in OPS:
        a, b = rng.uniform(0.3, 1.5), rng.uniform(-1.5, 1.5)
        value, *grads = _learner(module, what, f, a, b)
        expected, *expected_grads = _library(f, a, b)
        compare(f"{what} with a={a:.4g}, b={b:.4g}: value", np.float64(value), expected)
        extra = {"a": {TANH_OF_INPUT: 1 - a * a}} if "tanh" in what else None
        _compare_grads(f"{what} with a={a:.4g}, b={b:.4g}", grads, expected_grads, extra)
        cases += 1
    for what, f, overwritten in (("a * a", lambda a, b: a * a, lambda a: a),
                                 ("a + a", lambda a, b: a + a, lambda a: 1.0)):
        a = rng.uniform(0.3, 1.5)
        _, grad, _ = _learner(module, what, f, a, 0.0)
        compare(f"{what} with a={a:.4g}: dL/da", np.float64(grad), _library(f, a, 0.0)[1],
                {OVERWRITTEN: overwritten(a), SIGN_FLIPPED: -_library(f, a, 0.0)[1]})
        cases += 1
    a, b = rng.uniform(0.3, 1.0), rng.uniform(-1.0, 1.0)
    what = "a graph reusing values (y = a tanh(b) + a^2; h = e^y a + y^2; h (b + 1.5) + y)"
    _, *grads = _learner(module, what, _composite, a, b)
    try:
        _compare_grads(what, grads, _library(_composite, a, b)[1:])
    except Failure as failure:  # every op and accumulation passed: the order is wrong
        raise Failure(failure.what, failure.detail, failure.mistake or TOPOLOGICAL_ORDER)
    _central_differences(module, what, a, b, grads)
    return cases + 2


def _central_differences(module, what, a, b, grads, eps=1e-6):
    """Your backward against (f(x + eps) - f(x - eps)) / 2 eps of your own forward."""
    for name, analytic, shift in (("a", grads[0], (eps, 0)), ("b", grads[1], (0, eps))):
        up = _composite(module.Value(a + shift[0]), module.Value(b + shift[1])).data
        down = _composite(module.Value(a - shift[0]), module.Value(b - shift[1])).data
        numeric = (up - down) / (2 * eps)
        if not math.isclose(analytic, numeric, rel_tol=1e-4, abs_tol=1e-6):
            raise Failure(f"{what}: dL/d{name}", f"your backward gives {analytic:.6g}, central "
                                                 f"differences of your forward {numeric:.6g}")
