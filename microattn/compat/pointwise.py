"""More elementwise ops with PyTorch's names: trigonometry, rounding, clamp,
maximum/minimum, integer division and remainder, logical and bitwise ops,
isclose.

Each differentiable one is a Function with its derivative in the docstring.
Rounding ops are flat almost everywhere: their gradient is 0, as PyTorch's.
"""
import numpy as np

from ..core import Function, Tensor


class _Unary(Function):
    """A one-input op: ``fn`` computes z from x; ``grad(x, z, g)`` gives dL/dx."""

    fn = None
    promote = (0,)

    def forward(ctx, x):
        out = type(ctx).fn(x)
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, g):
        x, z = ctx.saved_tensors
        return type(ctx).grad(x, z, g)


def _unary(name, fn, grad, doc, floating=True):
    """Make the op class ``name`` (integer inputs give floats unless ``floating=False``)."""
    op = type(name, (_Unary,), {"fn": staticmethod(fn), "grad": staticmethod(grad),
                                "floating": floating, "__doc__": doc, "__module__": __name__})
    globals()[name] = op
    return op.apply


sin = _unary("Sin", np.sin, lambda x, z, g: g * np.cos(x), "z = sin x.   dL/dx = g cos x")
cos = _unary("Cos", np.cos, lambda x, z, g: -g * np.sin(x), "z = cos x.   dL/dx = -g sin x")
tan = _unary("Tan", np.tan, lambda x, z, g: g * (1 + z * z), "z = tan x.   dL/dx = g (1 + z^2)")
square = _unary("Square", np.square, lambda x, z, g: 2 * g * x, "z = x^2.   dL/dx = 2 g x",
                floating=False)
rsqrt = _unary("Rsqrt", lambda x: 1 / np.sqrt(x), lambda x, z, g: -0.5 * g * z * z * z,
               "z = 1 / sqrt x.   dL/dx = -g z^3 / 2")
reciprocal = _unary("Reciprocal", lambda x: 1 / x, lambda x, z, g: -g * z * z,
                    "z = 1 / x.   dL/dx = -g z^2")
log2 = _unary("Log2", np.log2, lambda x, z, g: g / (x * np.log(2)),
              "z = log2 x.   dL/dx = g / (x ln 2)")
log10 = _unary("Log10", np.log10, lambda x, z, g: g / (x * np.log(10)),
               "z = log10 x.   dL/dx = g / (x ln 10)")
log1p = _unary("Log1p", np.log1p, lambda x, z, g: g / (1 + x),
               "z = log(1 + x).   dL/dx = g / (1 + x)")
exp2 = _unary("Exp2", np.exp2, lambda x, z, g: g * z * np.log(2), "z = 2^x.   dL/dx = g z ln 2")
expm1 = _unary("Expm1", np.expm1, lambda x, z, g: g * (z + 1), "z = e^x - 1.   dL/dx = g (z + 1)")
sinh = _unary("Sinh", np.sinh, lambda x, z, g: g * np.cosh(x), "z = sinh x.   dL/dx = g cosh x")
cosh = _unary("Cosh", np.cosh, lambda x, z, g: g * np.sinh(x), "z = cosh x.   dL/dx = g sinh x")
atan = _unary("Atan", np.arctan, lambda x, z, g: g / (1 + x * x),
              "z = atan x.   dL/dx = g / (1 + x^2)")


def _zero_grad(x, z, g):
    return np.zeros_like(g)


sign = _unary("Sign", np.sign, _zero_grad, "z = sign x.   dL/dx = 0", floating=False)
floor = _unary("Floor", np.floor, _zero_grad, "z = floor x.   dL/dx = 0", floating=False)
ceil = _unary("Ceil", np.ceil, _zero_grad, "z = ceil x.   dL/dx = 0", floating=False)
trunc = _unary("Trunc", np.trunc, _zero_grad, "z = x rounded toward 0.   dL/dx = 0", floating=False)
_round = _unary("Round", np.round, _zero_grad, "z = x rounded half to even.   dL/dx = 0",
                floating=False)


def round(x, decimals=0):
    return _round(x) if decimals == 0 else Tensor._make(np.round(x._data, decimals), None)


class Clamp(Function):
    """z = min(max(x, low), high) (either bound may be absent, a number or a tensor).
    dL/dx = g where low <= x <= high, else 0 (as PyTorch: the bound's value is
    passed, and a bound tensor gets g where it was chosen)."""

    def forward(ctx, x, low, high):
        out = x
        keep = np.ones(x.shape, dtype=bool)
        if low is not None:
            keep = keep & (x >= low)
            out = np.maximum(out, low)
        if high is not None:
            keep = keep & (x <= high)
            out = np.minimum(out, high)
        ctx.keep = np.broadcast_to(keep, out.shape)
        ctx.low_side = None if low is None else (x < low)
        ctx.high_side = None if high is None else (out == high) & ~ctx.keep
        return np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else None)

    def backward(ctx, g):
        _, d_low, d_high = ctx.needs_input_grad
        return (np.where(ctx.keep, g, 0),
                np.where(ctx.low_side, g, 0) if d_low else None,
                np.where(ctx.high_side, g, 0) if d_high else None)


def clamp(x, min=None, max=None):
    """x limited to [min, max]; either bound may be left out, as torch.clamp."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(x, min, max)


clip = clamp


def clamp_min(x, min):
    return clamp(x, min=min)


def clamp_max(x, max):
    return clamp(x, max=max)


class _Extremum(Function):
    """Shared by Maximum and Minimum (``pick`` is np.maximum or np.minimum)."""

    pick = None
    promote = (0, 1)

    def forward(ctx, a, b):
        out = type(ctx).pick(a, b)
        ctx.a_wins = np.where(a == b, 0.5, (out == a).astype(float))
        return np.asarray(out)

    def backward(ctx, g):
        share = ctx.a_wins.astype(g.dtype, copy=False)
        return g * share, g * (1 - share)


class Maximum(_Extremum):
    """z = max(a, b) elementwise.   dL/da = g where a > b, dL/db = g where b > a;
    ties split g in halves, as PyTorch."""

    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    """z = min(a, b) elementwise; see Maximum (ties split g in halves)."""

    pick = staticmethod(np.minimum)


def maximum(a, b):
    return Maximum.apply(a, b)


def minimum(a, b):
    return Minimum.apply(a, b)


class Remainder(Function):
    """z = a - floor(a / b) b (the sign of b, as Python's % and torch.remainder).
    dL/da = g,  dL/db = -g floor(a / b)"""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.asarray(np.remainder(a, b))

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, (-g * np.floor_divide(a, b) if ctx.needs_input_grad[1] else None)


def remainder(a, b):
    return Remainder.apply(a, b)


def _data(v):
    return v._data if isinstance(v, Tensor) else v


class FloorDivide(Function):
    """z = floor(a / b). Its gradient is 0 almost everywhere and undefined at the
    steps; PyTorch has no derivative for it, and neither has this: backward
    through it raises, rather than passing a silent 0."""

    promote = (0, 1)

    def forward(ctx, a, b):
        return np.asarray(np.floor_divide(a, b))

    def backward(ctx, g):
        raise RuntimeError("the derivative for floor_divide (//) is not implemented, as in "
                           "PyTorch: detach() its operands, or use torch.div(a, b) and floor()")


def floor_divide(a, b):
    """a // b rounded toward -inf."""
    return FloorDivide.apply(a, b)


def _logical(ufunc, name):
    def op(a, b):
        a, b = _data(a), _data(b)
        for v in (a, b):
            if np.asarray(v).dtype.kind not in "biu":
                raise TypeError(f"{name} is only for bool and integer tensors, got dtype "
                                f"{np.asarray(v).dtype}")
        return Tensor._make(np.asarray(ufunc(a, b)), None)
    op.__name__ = name
    return op


bitwise_and = _logical(np.bitwise_and, "bitwise_and")
bitwise_or = _logical(np.bitwise_or, "bitwise_or")
bitwise_xor = _logical(np.bitwise_xor, "bitwise_xor")


def bitwise_not(x):
    if x.dtype.kind not in "biu":
        raise TypeError(f"~ (bitwise_not) is only for bool and integer tensors, got {x.dtype}")
    return Tensor._make(np.invert(x._data), None)


def logical_not(x):
    return Tensor._make(np.logical_not(_data(x)), None)


def logical_and(a, b):
    return Tensor._make(np.logical_and(_data(a), _data(b)), None)


def logical_or(a, b):
    return Tensor._make(np.logical_or(_data(a), _data(b)), None)


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return Tensor._make(np.isclose(_data(a), _data(b), rtol, atol, equal_nan), None)


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(np.allclose(_data(a), _data(b), rtol, atol, equal_nan))


def equal(a, b):
    return a.shape == b.shape and bool(np.array_equal(_data(a), _data(b)))


def isnan(x):
    return Tensor._make(np.isnan(x._data), None)


def isinf(x):
    return Tensor._make(np.isinf(x._data), None)


def isfinite(x):
    return Tensor._make(np.isfinite(x._data), None)


def _reflected(op):
    return lambda self, other: op(other, self)


POINTWISE_METHODS = {
    "sin": sin, "cos": cos, "tan": tan, "square": square, "rsqrt": rsqrt,
    "reciprocal": reciprocal, "log2": log2, "log10": log10, "log1p": log1p, "exp2": exp2,
    "expm1": expm1, "sinh": sinh, "cosh": cosh, "atan": atan, "sign": sign, "floor": floor,
    "ceil": ceil, "trunc": trunc, "round": round, "clamp": clamp, "clip": clip,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "maximum": maximum, "minimum": minimum,
    "remainder": remainder, "floor_divide": floor_divide,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not, "logical_not": logical_not, "logical_and": logical_and,
    "logical_or": logical_or, "isclose": isclose, "allclose": allclose, "equal": equal,
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
    "__floordiv__": floor_divide, "__rfloordiv__": _reflected(floor_divide),
    "__mod__": remainder, "__rmod__": _reflected(remainder),
    "__and__": bitwise_and, "__rand__": _reflected(bitwise_and),
    "__or__": bitwise_or, "__ror__": _reflected(bitwise_or),
    "__xor__": bitwise_xor, "__rxor__": _reflected(bitwise_xor),
    "__invert__": bitwise_not,
}
