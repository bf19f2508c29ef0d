"""Elementwise ops: arithmetic, pow, exp/log, activations, where, masked_fill, casts.

``x + y`` and ``x.exp()`` are ``Add.apply`` and ``Exp.apply`` themselves (methods.py).
Forwards run on plain numpy arrays; backwards may return gradients in the broadcast
output shape (the engine sums them back). Comparisons come last: they return bool
tensors and record nothing.
"""
import numbers

import numpy as np

from ..core import Function, Tensor


# -- arithmetic ------------------------------------------------------------

class Add(Function):
    """z = a + b.   dL/da = g,  dL/db = g"""
    promote = (0, 1)

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class Sub(Function):
    """z = a - b.   dL/da = g,  dL/db = -g"""
    promote = (0, 1)

    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, -g


class Mul(Function):
    """z = a * b.   dL/da = g * b,  dL/db = g * a"""
    promote = (0, 1)

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad  # x * 0.5 needs no g * x
        return (g * b if da else None), (g * a if db else None)


class Div(Function):
    """z = a / b (true division: integers give floats).   dL/da = g / b,  dL/db = -g a / b^2"""
    promote = (0, 1)
    floating = True

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g_over_b = g / b
        return g_over_b, (-g_over_b * a / b if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """z = -x.   dL/dx = -g"""

    def forward(ctx, x):
        return -x

    def backward(ctx, g):
        return -g


class Pow(Function):
    """z = a ** b, for a tensor or number on either side.

    dL/da = g b a^(b-1),  dL/db = g z log(a),  with PyTorch's conventions at the
    edges: dL/da = 0 where b == 0 (even at a = 0), and dL/db = 0 where a == 0
    and b >= 0 (the limit from a > 0). Elsewhere a <= 0 gives what the formulas
    give (inf, nan), as in PyTorch.
    """
    promote = (0, 1)

    def forward(ctx, a, b):
        z = a ** b
        ctx.save_for_backward(a, b, z)
        return z

    def backward(ctx, g):
        a, b, z = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if da:
                grad_a = np.where(b == 0, 0, g * b * a ** (b - 1))
            if db:
                grad_b = np.where((a == 0) & (b >= 0), 0, g * z * np.log(a))
        return grad_a, grad_b


# -- exp, log and activations ----------------------------------------------

class Exp(Function):
    """z = e^x.   dL/dx = g z"""
    promote, floating = (0,), True

    def forward(ctx, x):
        z = np.exp(x)
        ctx.save_for_backward(z)
        return z

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * z


class Log(Function):
    """z = log x (natural).   dL/dx = g / x"""
    promote, floating = (0,), True

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """z = sqrt(x).   dL/dx = g / (2 z)"""
    promote, floating = (0,), True

    def forward(ctx, x):
        z = np.sqrt(x)
        ctx.save_for_backward(z)
        return z

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g / (2 * z)


class Tanh(Function):
    """z = tanh x.   dL/dx = g (1 - z^2)"""
    promote, floating = (0,), True

    def forward(ctx, x):
        z = np.tanh(x)
        ctx.save_for_backward(z)
        return z

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (1 - z * z)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x).   dL/dx = g z (1 - z)

    Computed from e = e^-|x|, which never overflows: z = 1 / (1 + e) for
    x >= 0 and e / (1 + e) for x < 0.
    """
    promote, floating = (0,), True

    def forward(ctx, x):
        e = np.exp(-np.abs(x))
        z = np.where(x >= 0, 1, e) / (1 + e)
        ctx.save_for_backward(z)
        return z

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * z * (1 - z)


class ReLU(Function):
    """z = max(x, 0).   dL/dx = 0 where z <= 0, else g: 0 at x = 0, and g at
    x = nan (z is nan too), as PyTorch"""

    def forward(ctx, x):
        z = np.maximum(x, 0)
        ctx.save_for_backward(z)
        return z

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return np.where(z <= 0, 0, g)


class Abs(Function):
    """z = |x|.   dL/dx = g sign(x)  (0 at x = 0, as PyTorch)"""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.sign(x)


# -- selection ---------------------------------------------------------------

def _bool_array(mask, op, what):
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{op}: {what} must be a bool tensor or array, got dtype {mask.dtype}")
    return mask


class Where(Function):
    """z = a where condition, else b.   dL/da = g where condition (else 0),
    dL/db = g where not condition; the condition gets no gradient."""
    promote = (1, 2)

    def forward(ctx, condition, a, b):
        ctx.condition = _bool_array(condition, "where", "condition")
        return np.where(ctx.condition, a, b)

    def backward(ctx, g):
        _, da, db = ctx.needs_input_grad
        return (None, np.where(ctx.condition, g, 0) if da else None,
                np.where(ctx.condition, 0, g) if db else None)


class MaskedFill(Function):
    """z = value where mask, else x (mask broadcasts; z keeps x's dtype).
    dL/dx = g where not mask (0 where filled),  dL/dvalue = sum of g where mask
    (value may be a 0-d tensor)."""

    def forward(ctx, x, mask, value):
        ctx.mask = _bool_array(mask, "masked_fill", "mask")
        value = np.asarray(value, dtype=x.dtype)
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, "
                             f"got shape {value.shape}")
        return np.where(ctx.mask, value, x)

    def backward(ctx, g):
        dx, _, dvalue = ctx.needs_input_grad
        return (np.where(ctx.mask, 0, g) if dx else None, None,
                np.where(ctx.mask, g, 0) if dvalue else None)


# -- casts -----------------------------------------------------------------

class Cast(Function):
    """z = x converted to another float dtype.   dL/dx = g converted back"""

    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, g):
        return g.astype(ctx.input_dtype), None


# -- comparisons (bool results, never part of a graph) ----------------------

def compare(ufunc):
    """The operator ``ufunc(a, b)`` giving a bool tensor; NotImplemented for operands
    that are not numbers or arrays, so Python falls back (``t == None`` is False)."""
    def operator(a, b):
        if not isinstance(b, (Tensor, np.ndarray, numbers.Number)):
            return NotImplemented
        return Tensor._make(ufunc(a._data, b._data if isinstance(b, Tensor) else b), None)
    operator.__name__ = ufunc.__name__
    return operator
