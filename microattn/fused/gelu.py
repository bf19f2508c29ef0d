"""GELU, z = x Phi(x), and the error function its exact form needs (numpy has none).

erf(x) = 2/sqrt(pi) integral_0^x e^(-t^2) dt is evaluated by two Chebyshev
interpolants built once at import: x g(x^2) for |x| <= 2.5 (g sampled from
the positive series of e^(x^2) erf x) and 1 - erfc(x) beyond (erfc from
Laplace's continued fraction). How and why: docs/derivatives.md, "erf".
"""
import math

import numpy as np
from numpy.polynomial import chebyshev

from ..core import Function
from ..core.tensor import working

_SQRT_PI = math.sqrt(math.pi)
_SPLIT = 2.5  # |x| up to here: x * g(x^2); beyond: 1 - erfc(x)


def _erf_over_x_series(u, terms=60):
    """g(u) = erf(sqrt(u)) / sqrt(u) by the positive series (exact to rounding for u <= 6.25)."""
    term = np.ones_like(u)
    total = np.ones_like(u)
    for n in range(1, terms):
        term = term * (2 * u) / (2 * n + 1)
        total = total + term
    return 2 / _SQRT_PI * np.exp(-u) * total


def _scaled_erfc_fraction(w, depth=200):
    """h(w) = sqrt(pi) x e^{x^2} erfc(x) at x = 1/sqrt(w), by the continued fraction
    (exact to rounding for x >= 2.5 at this depth)."""
    x = 1 / np.sqrt(w)
    f = x.copy()
    for k in range(depth, 0, -1):
        f = x + (k / 2) / f
    return x / f


class _Polynomial:
    """fn on [lo, hi] as its Chebyshev interpolant of ``degree``, in powers of
    s = (t - mid) / half for Horner's rule, with coefficients in ``dtype``."""

    def __init__(self, fn, lo, hi, degree, dtype):
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        interpolant = chebyshev.chebinterpolate(lambda s: fn(mid + half * s), degree)
        self.powers = [dtype.type(c) for c in chebyshev.cheb2poly(interpolant)[::-1]]
        self.lo, self.hi = dtype.type(lo), dtype.type(hi)
        self.mid, self.inverse_half = dtype.type(mid), dtype.type(1 / half)

    def __call__(self, t):
        """Evaluate at ``t`` (the caller keeps t within [lo, hi] where the result is
        used), in place: one array for s and one for the sum, no clipping."""
        s = t * self.inverse_half
        s -= self.mid * self.inverse_half
        p = np.asarray(s * self.powers[0])
        for c in self.powers[1:-1]:
            p += c
            p *= s
        p += self.powers[-1]
        return p


class _Plan:
    """erf in one dtype: the two interpolants, their degrees set where the
    neglected Chebyshev coefficients fall below the dtype's precision."""

    def __init__(self, dtype, x_max, g_degree, h_degree):
        dtype = np.dtype(dtype)
        self.x_max = dtype.type(x_max)
        self.g = _Polynomial(_erf_over_x_series, 0.0, _SPLIT ** 2, g_degree, dtype)
        self.h = _Polynomial(_scaled_erfc_fraction, x_max ** -2, _SPLIT ** -2, h_degree, dtype)


_PLANS = {np.dtype(np.float64): _Plan(np.float64, x_max=6.0, g_degree=19, h_degree=11),
          np.dtype(np.float32): _Plan(np.float32, x_max=4.0, g_degree=10, h_degree=3)}


def erf(x):
    """The error function 2/sqrt(pi) * integral_0^x e^{-t^2} dt, elementwise on an ndarray.

    Relative error below 2e-15 in float64; float32 in gives float32 out;
    float16 is computed in float32 and given back as float16; other dtypes
    are computed in float64.
    """
    x = np.asarray(x)
    if x.dtype == np.float16:
        return erf(x.astype(np.float32)).astype(np.float16)
    if x.dtype not in _PLANS:
        x = x.astype(np.float64)
    plan = _PLANS[x.dtype]
    # g is only valid for |x| <= 2.5; beyond (where huge |x| may give inf and nan)
    # its values are replaced below.
    with np.errstate(over="ignore", invalid="ignore"):
        square = x * x
        out = plan.g(square)
        out *= x
    tail = square > _SPLIT ** 2
    if tail.any():
        xt = x[tail]
        # erf(x_max) already rounds to 1, so larger |x| are computed at x_max
        # (sparing exp the subnormal results that make it slow).
        z = np.minimum(np.abs(xt), plan.x_max)
        square = z * z
        erfc = np.exp(-square) * plan.h(1 / square) / (_SQRT_PI * z)
        out[tail] = np.copysign(1 - erfc, xt)
    return out


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


class GELU(Function):
    """z = x Phi(x), Phi the standard normal CDF, computed exactly
    (``approximate='none'``: Phi(x) = (1 + erf(x / sqrt 2)) / 2) or by the tanh
    approximation (``'tanh'``: Phi(x) ~ (1 + t) / 2, t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3)).

    dL/dx = g (Phi(x) + x phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi) the normal density;
    for the tanh form, dL/dx = g ((1 + t) / 2 + x (1 - t^2) du/dx / 2), where
    (1 - t^2) / 2 = 2 Phi (1 - Phi) and du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).

    Written in place on as few arrays as possible (each step of an elementwise
    formula is a pass over memory); the exact form's cost is erf's polynomial.
    """
    promote, floating = (0,), True

    def forward(ctx, x, approximate="none"):
        shape, dtype = x.shape, x.dtype
        x = np.atleast_1d(working(x))  # float16 in float32  # a view: the in-place steps below need arrays, not scalars
        if approximate == "none":
            cdf = erf(x * _SQRT_HALF)
        elif approximate == "tanh":
            cdf = x * x
            cdf *= _GELU_CUBIC
            cdf += 1
            cdf *= x
            cdf *= _SQRT_2_OVER_PI
            np.tanh(cdf, out=cdf)
        else:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        cdf += 1
        cdf *= 0.5
        ctx.approximate = approximate
        ctx.save_for_backward(x, cdf)
        return (x * cdf).reshape(shape).astype(dtype, copy=False)

    def backward(ctx, g):
        x, cdf = ctx.saved_tensors
        if ctx.approximate == "none":
            slope = x * x
            slope *= -0.5
            np.exp(slope, out=slope)
            slope *= _INV_SQRT_2PI
        else:
            slope = 1 - cdf
            slope *= cdf
            slope *= 2 * _SQRT_2_OVER_PI
            du = x * x
            du *= 3 * _GELU_CUBIC
            du += 1
            slope *= du
        slope *= x
        slope += cdf
        slope *= working(g).reshape(slope.shape)
        return slope.reshape(g.shape), None
