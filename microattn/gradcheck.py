"""Check a backward pass against central finite differences, in float64.

For a scalar projection L = sum(v * f(inputs)) with a random v, the analytic
gradient dL/dx from backward() must match, element by element,

    (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

within ``atol + rtol * |numeric|``. Projecting on a random v checks the whole
vector-Jacobian product at once, where a plain sum could hide errors that
cancel.
"""
import numpy as np

from .core import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message says where."""


def _outputs(result):
    """The tensors ``fn`` returned, as a list (a tuple's non-tensor items dropped)."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [t for t in items if isinstance(t, Tensor) and t._data.dtype.kind == "f"]


def _projection(fn, inputs, weights):
    with no_grad():
        return sum(float(np.sum(w * t._data)) for w, t in zip(weights, _outputs(fn(*inputs))))


def gradient_errors(fn, inputs, eps=1e-6, seed=0):
    """Analytic and numeric gradients of a random projection of ``fn(*inputs)``.

    Returns ``[(index, analytic, numeric), ...]`` for every input that requires
    grad. Inputs must be float64: in float32, differences of size eps drown in
    rounding.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if not inputs[i].is_leaf:
            raise ValueError(f"gradcheck: input {i} is the output of an op, not a leaf: its "
                             "gradient is not kept, so pass the tensors it was made from")
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences "
                            "need float64 inputs (use .double())")

    outputs = _outputs(fn(*inputs))
    if not outputs:
        raise ValueError("gradcheck: fn returned no floating-point tensor")
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(t.shape) for t in outputs]

    # The inputs' gradients and values are restored whatever happens, even if
    # fn or backward raises: a failed check must not leave the inputs changed.
    saved = [inputs[i].grad for i in checked]
    try:
        for i in checked:
            inputs[i].grad = None
        # Backward of every output with its weights as dL/d(output) accumulates
        # exactly dL/dx for L = sum_k sum(w_k * out_k).
        for t, w in zip(outputs, weights):
            if t.requires_grad:
                t.backward(w, retain_graph=True)
        analytics = [np.zeros_like(inputs[i]._data) if inputs[i].grad is None
                     else np.array(inputs[i].grad, dtype=np.float64) for i in checked]
    finally:
        for i, previous in zip(checked, saved):
            inputs[i].grad = previous
    return [(i, analytic, _numeric_gradient(fn, inputs, i, weights, eps))
            for i, analytic in zip(checked, analytics)]


def _numeric_gradient(fn, inputs, i, weights, eps):
    """Central differences of the projection with respect to ``inputs[i]``."""
    x = inputs[i]
    numeric = np.zeros_like(x._data)
    for index in np.ndindex(x.shape):
        original = x._data[index]
        try:
            x._data[index] = original + eps
            plus = _projection(fn, inputs, weights)
            x._data[index] = original - eps
            minus = _projection(fn, inputs, weights)
        finally:
            x._data[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3  # the defaults of gradcheck()


def excess_error(analytic, numeric, atol=ATOL, rtol=RTOL):
    """How far each element of ``analytic`` lies outside ``atol + rtol * |numeric|``
    (> 0 fails); +inf where the analytic gradient is not finite."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    return np.where(np.isfinite(analytic), excess, np.inf)


def gradcheck(fn, inputs, eps=EPS, atol=ATOL, rtol=RTOL, seed=0):
    """True if backward matches central differences for every input that
    requires grad; otherwise raise :class:`GradcheckError` naming the input,
    the worst index, and the analytic and numeric values there."""
    for i, analytic, numeric in gradient_errors(fn, inputs, eps=eps, seed=seed):
        excess = excess_error(analytic, numeric, atol, rtol)
        if excess.size and not excess.max() <= 0:
            worst = np.unravel_index(np.nanargmax(excess), excess.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {analytic.shape}) is wrong at index "
                f"{tuple(int(k) for k in worst)}: analytic {float(analytic[worst]):.10g}, "
                f"numeric {float(numeric[worst]):.10g} (atol={atol}, rtol={rtol})")
    return True
