"""Elementwise ops: arithmetic, pow, exp/log, activations, where, masked_fill, casts.

Backwards may return gradients in the broadcast output shape: the engine sums
them back to each input's shape, so broadcasting needs no code here.
Comparisons come last: they return bool tensors and record nothing.
"""
import math
import numbers

import numpy as np

from ..autograd import Function, Tensor, get_default_dtype
from .special import erf

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


def _scalar(value):
    """A numpy scalar as the Python number it holds. Python numbers are "weak"
    in numpy 2 (float32 * 0.5 stays float32) but numpy scalars are not
    (float32 * np.sqrt(64) would become float64); PyTorch treats both as weak."""
    return value.item() if isinstance(value, np.generic) else value


def _float_result(out, *operands):
    """PyTorch's dtype where numpy differs: an op on integer tensors (and Python
    numbers) that makes floats gives the default float dtype, not float64."""
    if out.dtype == np.float64 and not any(
            isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in operands):
        return out.astype(get_default_dtype())
    return out


# -- arithmetic ------------------------------------------------------------

class Add(Function):
    """z = a + b.   dL/da = g,  dL/db = g"""

    def forward(ctx, a, b):
        return _float_result(np.add(a, b), a, b)

    def backward(ctx, g):
        return g, g


class Sub(Function):
    """z = a - b.   dL/da = g,  dL/db = -g"""

    def forward(ctx, a, b):
        return _float_result(np.subtract(a, b), a, b)

    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b.   dL/da = g * b,  dL/db = g * a"""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _float_result(np.multiply(a, b), a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g * b if da else None), (g * a if db else None)


class Div(Function):
    """z = a / b.   dL/da = g / b,  dL/db = -g a / b^2"""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _float_result(np.true_divide(a, b), a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g_over_b = g / b
        return g_over_b, (-g_over_b * a / b if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """z = -x.   dL/dx = -g"""

    def forward(ctx, x):
        return np.negative(x)

    def backward(ctx, g):
        return -g


class Pow(Function):
    """z = a ** b, for a tensor or number on either side.

    dL/da = g b a^(b-1),  dL/db = g z log(a),  with PyTorch's conventions at the
    edges: dL/da = 0 where b == 0 (even at a = 0), and dL/db = 0 where a == 0
    and b >= 0 (the limit from a > 0). Elsewhere a <= 0 gives what the formulas
    give (inf, nan), as in PyTorch.
    """

    def forward(ctx, a, b):
        out = _float_result(np.power(a, b), a, b)
        if out.dtype.kind == "f":
            # Numbers as arrays of the output dtype, so that log(a) in backward
            # keeps float32 float32.
            a, b = np.asarray(a, dtype=out.dtype), np.asarray(b, dtype=out.dtype)
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, g):
        a, b, z = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if da:
                grad_a = g * b * a ** (b - 1)
                constant = b == 0
                if constant.any():
                    grad_a = np.where(constant, 0, grad_a)
            if db:
                grad_b = g * z * np.log(a)
                zero_base = (a == 0) & (b >= 0)
                if zero_base.any():
                    grad_b = np.where(zero_base, 0, grad_b)
        return grad_a, grad_b


def add(a, b):
    return Add.apply(_scalar(a), _scalar(b))


def sub(a, b):
    return Sub.apply(_scalar(a), _scalar(b))


def mul(a, b):
    return Mul.apply(_scalar(a), _scalar(b))


def div(a, b):
    return Div.apply(_scalar(a), _scalar(b))


def neg(x):
    return Neg.apply(x)


def pow(a, b):
    """a ** b: tensor ** number, number ** tensor or tensor ** tensor."""
    return Pow.apply(_scalar(a), _scalar(b))


# -- exp, log and activations ----------------------------------------------

class Exp(Function):
    """z = e^x.   dL/dx = g z"""

    def forward(ctx, x):
        out = _float_result(np.exp(x), x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * z


class Log(Function):
    """z = log x (natural).   dL/dx = g / x"""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _float_result(np.log(x), x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """z = sqrt(x).   dL/dx = g / (2 z)"""

    def forward(ctx, x):
        out = _float_result(np.sqrt(x), x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g / (2 * z)


class Tanh(Function):
    """z = tanh x.   dL/dx = g (1 - z^2)"""

    def forward(ctx, x):
        out = _float_result(np.tanh(x), x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (1 - z * z)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x).   dL/dx = g z (1 - z)

    Computed from e = e^-|x|, which never overflows: z = 1 / (1 + e) for
    x >= 0 and e / (1 + e) for x < 0.
    """

    def forward(ctx, x):
        e = _float_result(np.exp(-np.abs(x)), x)
        out = np.where(x >= 0, 1, e) / (1 + e)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * z * (1 - z)


class ReLU(Function):
    """z = max(x, 0).   dL/dx = 0 where z <= 0, else g: 0 at x = 0, and g at
    x = nan (z is nan too), as PyTorch"""

    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return np.where(z <= 0, 0, g)


class GELU(Function):
    """z = x Phi(x), Phi the standard normal CDF: Phi(x) = (1 + erf(x / sqrt 2)) / 2.
    dL/dx = g (Phi(x) + x phi(x)),  phi(x) = e^(-x^2/2) / sqrt(2 pi)."""

    def forward(ctx, x):
        cdf = erf(x * _SQRT_HALF)
        cdf += 1
        cdf *= 0.5
        ctx.save_for_backward(x, cdf)
        return _float_result(x * cdf, x)

    def backward(ctx, g):
        x, cdf = ctx.saved_tensors
        pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * (cdf + x * pdf)


class GELUTanh(Function):
    """z = x (1 + t) / 2,  t = tanh(u),  u = sqrt(2/pi) (x + 0.044715 x^3).
    dL/dx = g ((1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2)"""

    def forward(ctx, x):
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
        ctx.save_for_backward(x, t)
        return _float_result(0.5 * x * (1 + t), x)

    def backward(ctx, g):
        x, t = ctx.saved_tensors
        du_dx = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)


class Abs(Function):
    """z = |x|.   dL/dx = g sign(x)  (0 at x = 0, as PyTorch)"""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.sign(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def relu(x):
    return ReLU.apply(x)


def gelu(x, approximate="none"):
    """GELU, x Phi(x): approximate='none' is the exact erf form, 'tanh' the
    tanh approximation, as torch.nn.functional.gelu."""
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def abs(x):
    return Abs.apply(x)


# -- selection ---------------------------------------------------------------

def _bool_array(mask, op, what):
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{op}: {what} must be a bool tensor or array, got dtype {mask.dtype}")
    return mask


class Where(Function):
    """z = a where condition, else b.   dL/da = g where condition (else 0),
    dL/db = g where not condition; the condition gets no gradient."""

    def forward(ctx, condition, a, b):
        condition = _bool_array(condition, "where", "condition")
        ctx.condition = condition
        return _float_result(np.where(condition, a, b), a, b)

    def backward(ctx, g):
        _, da, db = ctx.needs_input_grad
        condition = ctx.condition
        return (None,
                np.where(condition, g, 0) if da else None,
                np.where(condition, 0, g) if db else None)


class MaskedFill(Function):
    """z = value where mask, else x (mask broadcasts; z keeps x's dtype).
    dL/dx = g where not mask (0 where filled),  dL/dvalue = sum of g where mask
    (value may be a 0-d tensor)."""

    def forward(ctx, x, mask, value):
        mask = _bool_array(mask, "masked_fill", "mask")
        value = np.asarray(value)
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, "
                             f"got shape {value.shape}")
        ctx.mask = mask
        return np.where(mask, value.astype(x.dtype), x)

    def backward(ctx, g):
        dx, _, dvalue = ctx.needs_input_grad
        mask = ctx.mask
        return (np.where(mask, 0, g) if dx else None,
                None,
                np.where(mask, g, 0) if dvalue else None)


def where(condition, a, b):
    """Elementwise ``a if condition else b``, broadcasting all three; a and b may
    be tensors or numbers; ``condition`` is a bool tensor or array."""
    return Where.apply(condition, _scalar(a), _scalar(b))


def masked_fill(x, mask, value):
    """x with ``value`` wherever the bool ``mask`` (broadcast against x) is True."""
    return MaskedFill.apply(x, mask, _scalar(value))


# -- casts -----------------------------------------------------------------

class Cast(Function):
    """z = x converted to another float dtype.   dL/dx = g converted back"""

    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, g):
        return g.astype(ctx.input_dtype), None


def _cast(x, dtype):
    # As PyTorch, a tensor already of that dtype is returned itself.
    return x if x.dtype == dtype else Cast.apply(x, dtype)


def double(x):
    """x as float64 (x itself if it already is)."""
    return _cast(x, np.dtype(np.float64))


def float(x):
    """x as float32 (x itself if it already is)."""
    return _cast(x, np.dtype(np.float32))


# -- comparisons (bool results, never part of a graph) ----------------------

_COMPARABLE = (Tensor, np.ndarray, np.generic, numbers.Number)


def _compare(ufunc, a, b):
    """``ufunc(a, b)`` as a bool tensor; NotImplemented for operands that are not
    numbers or arrays, so that Python falls back (``t == None`` is False)."""
    if not isinstance(a, _COMPARABLE) or not isinstance(b, _COMPARABLE):
        return NotImplemented
    a = a.data if isinstance(a, Tensor) else _scalar(a)
    b = b.data if isinstance(b, Tensor) else _scalar(b)
    return Tensor._make(ufunc(a, b), None)


def eq(a, b):
    return _compare(np.equal, a, b)


def ne(a, b):
    return _compare(np.not_equal, a, b)


def lt(a, b):
    return _compare(np.less, a, b)


def le(a, b):
    return _compare(np.less_equal, a, b)


def gt(a, b):
    return _compare(np.greater, a, b)


def ge(a, b):
    return _compare(np.greater_equal, a, b)
