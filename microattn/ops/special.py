"""Special functions numpy lacks: erf, vectorised and accurate to double precision.

How erf is computed
-------------------
erf is odd, so take x >= 0. Two classical expansions are exact but slow:

1. Near zero, the everywhere-positive series. F(x) = e^{x^2} erf(x) solves
   F' = 2/sqrt(pi) + 2 x F, F(0) = 0; solving that term by term gives

       erf(x) = 2/sqrt(pi) * x * e^{-x^2} * sum_n (2 x^2)^n / (1 * 3 * ... * (2n+1))

   Every term is positive, so nothing is lost to cancellation (the
   alternating Maclaurin series of erf loses a factor ~e^{x^2}); but it needs
   ~38 terms at x = 2.5.

2. Away from zero, erf(x) = 1 - erfc(x) with Laplace's continued fraction

       erfc(x) = e^{-x^2} / sqrt(pi) * 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))))

   which converges faster the larger x is (~30 levels at x = 2.5). As
   erfc(2.5) < 1e-3, erfc needs only ~1e-13 relative accuracy there for erf
   to be right to the last bit.

Both define smooth functions of one variable on a bounded interval:

    g(u) = erf(x) / x                       for u = x^2 in [0, 2.5^2]
    h(w) = sqrt(pi) x e^{x^2} erfc(x)      for w = 1/x^2 in [1/x_max^2, 1/2.5^2]

(x_max is where erfc drops below half a unit in the last place of 1, so erf
rounds to 1 beyond it). Once, at import, each is sampled from its exact
expansion at Chebyshev points and replaced by the Chebyshev interpolant
(Lanczos' economisation of a series), whose error falls geometrically with
the degree: by degree 19 for g and 11 for h it is below float64's rounding
(h's error is scaled down by erfc(x) < 1e-3), by degree 10 and 3 below
float32's. What remains is the rounding of the float64 samples the
interpolant is built from: erf is within 2e-15 relative (8 units in the last
place) in float64, 3 in float32. At call time erf costs one polynomial by
Horner's rule per element (plus exp, a division and a gather for the few
|x| > 2.5). float32 input is computed in float32 with its own shorter
polynomials; other dtypes in float64.
"""
import math

import numpy as np
from numpy.polynomial import chebyshev

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
