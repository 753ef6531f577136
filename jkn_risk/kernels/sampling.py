"""Exact samplers driven by the xoshiro256** state of :mod:`jkn_risk.rng`.

Every sampler takes the generator state as four ``uint64`` scalars ``s0, s1, s2, s3`` (never
an array, so that calls inside hot loops carry no reference counting) and returns
``(value, s0, s1, s2, s3)``. Small samplers are ``inline="always"``; the rarely called
rejection samplers (binomial, large-mean Poisson, gamma) are ordinary ``@njit`` functions,
which is cheaper to compile and costs one call per draw.

Algorithms (all exact, given exact uniforms):

- uniform: 53 random bits, ``[0, 1)``; :func:`uniform_open` gives ``(0, 1]``.
- normal: a 1,024-layer ziggurat (Marsaglia & Tsang 2000, 52-bit, NumPy's layout with 10 layer
  bits; base-layer edge and area solved to 20 digits) in :func:`normal`; Box-Muller in
  :func:`normal_pair`. (Cost noise is drawn as lognormal factors directly:
  :mod:`jkn_risk.kernels.lognormal`.)
- gamma: Marsaglia & Tsang (2000); shape < 1 by ``Gamma(a + 1) * U**(1/a)``.
- Poisson: multiplication (inversion) for mean < 10, PTRS (Hörmann 1993) otherwise.
  :func:`poisson_monotone` (collective mode, common random numbers) instead inverts one uniform
  by sequential search of the CDF for mean < 30, so that for a fixed stream the count is a
  nondecreasing function of the mean (up to float rounding of the CDF), and uses PTRS above
  (nearly monotone: its first candidate, accepted 82% (mean 30) to 89% (large means) of the
  time, is increasing in the mean for a fixed pair of uniforms).
- binomial: inversion for ``n * min(p, 1-p) < 10``, BTRS (Hörmann 1993) otherwise.
- case groups: alias tables, in :mod:`jkn_risk.kernels.alias`.

No global NumPy or Numba random state is used anywhere.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

from jkn_risk.kernels.vecmath import f64_from_bits
from jkn_risk.rng import next_u64

__all__ = [
    "uniform",
    "uniform_open",
    "normal_pair",
    "poisson",
    "poisson_monotone",
    "binomial",
    "gamma",
    "normal",
    "normal_tail",
]

_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi


# ---------------------------------------------------------------------------------------------
# Inlined scalar samplers
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def uniform(s0, s1, s2, s3):
    """Uniform on ``[0, 1)`` with 53 bits: ``(u, s0, s1, s2, s3)``."""
    v, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    return float(np.int64(v >> uint64(11))) * _INV53, s0, s1, s2, s3


@njit(inline="always", cache=True)
def uniform_open(s0, s1, s2, s3):
    """Uniform on ``(0, 1]`` with 53 bits (safe for ``log``): ``(u, s0, s1, s2, s3)``."""
    v, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    return (float(np.int64(v >> uint64(11))) + 1.0) * _INV53, s0, s1, s2, s3


@njit(inline="always", cache=True)
def normal_pair(s0, s1, s2, s3):
    """Two independent standard normals by Box-Muller: ``(z1, z2, s0, s1, s2, s3)``."""
    u1, s0, s1, s2, s3 = uniform_open(s0, s1, s2, s3)
    u2, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
    r = math.sqrt(-2.0 * math.log(u1))
    t = _TWO_PI * u2
    return r * math.cos(t), r * math.sin(t), s0, s1, s2, s3


# ---------------------------------------------------------------------------------------------
# Rejection samplers (not inlined: called rarely)
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def gamma(shape, s0, s1, s2, s3):
    """Gamma(shape, scale 1) by Marsaglia & Tsang: ``(x, s0, s1, s2, s3)``; 0 if ``shape <= 0``."""
    if shape <= 0.0:
        return 0.0, s0, s1, s2, s3
    boost = 1.0
    a = shape
    if a < 1.0:
        u, s0, s1, s2, s3 = uniform_open(s0, s1, s2, s3)
        boost = u ** (1.0 / a)
        a = a + 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        z, z2, s0, s1, s2, s3 = normal_pair(s0, s1, s2, s3)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u, s0, s1, s2, s3 = uniform_open(s0, s1, s2, s3)
        zz = z * z
        if u < 1.0 - 0.0331 * zz * zz:
            return d * v * boost, s0, s1, s2, s3
        if math.log(u) < 0.5 * zz + d * (1.0 - v + math.log(v)):
            return d * v * boost, s0, s1, s2, s3


@njit(inline="always", cache=True)
def _poisson_ptrs_body(lam, s0, s1, s2, s3):
    """Poisson(lam) for lam >= 10 by transformed rejection with squeeze (Hörmann 1993)."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        u = u - 0.5
        v, s0, s1, s2, s3 = uniform_open(s0, s1, s2, s3)
        us = 0.5 - abs(u)
        kf = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(kf), s0, s1, s2, s3
        if kf < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + kf * loglam - math.lgamma(kf + 1.0)):
            return int(kf), s0, s1, s2, s3


@njit(cache=True)
def _poisson_ptrs(lam, s0, s1, s2, s3):
    """Poisson(lam) for lam >= 10 by PTRS (an ordinary call: rarely used in hot loops)."""
    return _poisson_ptrs_body(lam, s0, s1, s2, s3)


@njit(cache=True)
def poisson(lam, s0, s1, s2, s3):
    """Poisson(lam), ``lam >= 0``: ``(k, s0, s1, s2, s3)`` with ``k`` an int64."""
    if lam <= 0.0:
        return 0, s0, s1, s2, s3
    if lam >= 10.0:
        return _poisson_ptrs(lam, s0, s1, s2, s3)
    enlam = math.exp(-lam)
    k = 0
    prod = 1.0
    while True:
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        prod *= u
        if prod > enlam:
            k += 1
        else:
            return k, s0, s1, s2, s3


#: :func:`poisson_monotone` inverts the CDF by sequential search below this mean, PTRS above.
_POISSON_INVERSION_MAX_MEAN = 30.0


@njit(inline="always", cache=True)
def _poisson_search(lam, s0, s1, s2, s3):
    """Poisson(lam), ``0 < lam < 30``, by inversion of one uniform (sequential CDF search).

    Returns the smallest ``k`` with ``u < F(k)``. ``F(k)`` decreases in ``lam`` for every
    ``k``, so for a fixed ``u`` the result is nondecreasing in ``lam`` (common random numbers).
    ``u < 1 - lam`` (``<= F(0)``) returns 0 before any ``exp``: a small mean costs one draw.
    A ``u`` in the float rounding gap above the computed total mass (probability ~1e-16) is
    redrawn, which keeps the law exact.
    """
    enlam = -1.0  # exp(-lam), computed only when the shortcut below does not decide
    while True:
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        # u < 1 - lam <= exp(-lam) = F(0): zero without the exp (most draws of a small mean).
        if u + lam < 1.0:
            return 0, s0, s1, s2, s3
        if enlam < 0.0:
            enlam = math.exp(-lam)
        k = 0
        pk = enlam
        cum = enlam
        gap = False
        while u >= cum:
            k += 1
            pk *= lam / k
            cum_new = cum + pk
            if cum_new == cum:
                gap = True
                break
            cum = cum_new
        if not gap:
            return k, s0, s1, s2, s3


@njit(inline="always", cache=True)
def poisson_monotone(lam, s0, s1, s2, s3):
    """Poisson(lam), ``lam >= 0``, nearly monotone in ``lam`` for a fixed stream.

    Sequential-search inversion of one uniform for ``lam < 30`` (exactly monotone up to float
    rounding), PTRS otherwise (its first candidate ``floor((2a/us + b) u + lam + 0.43)`` grows
    with ``lam`` for fixed uniforms and is accepted 82-89% of the time). Two runs of the same
    stream with nearby means therefore give nearby counts: the coupling that makes common
    random numbers effective. ``(k, s0, s1, s2, s3)`` with ``k`` an int64.
    """
    if lam <= 0.0:
        return 0, s0, s1, s2, s3
    if lam < _POISSON_INVERSION_MAX_MEAN:
        return _poisson_search(lam, s0, s1, s2, s3)
    return _poisson_ptrs_body(lam, s0, s1, s2, s3)


_STIRLING_TAIL = np.array([
    0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
    0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
    0.00925546218271273, 0.00833056343336287,
])


@njit(inline="always", cache=True)
def _stirling_tail(k):
    """``log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2]``."""
    if k <= 9.0:
        return _STIRLING_TAIL[int(k)]
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / kp1sq) / kp1sq) / kp1


@njit(cache=True)
def _binomial_btrs(n, p, s0, s1, s2, s3):
    """Binomial(n, p), ``p <= 1/2``, ``n p >= 10`` by BTRS (Hörmann 1993)."""
    nf = float(n)
    spq = math.sqrt(nf * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = nf * p + 0.5
    vr = 0.92 - 4.2 / b
    r = p / (1.0 - p)
    alpha = (2.83 + 5.1 / b) * spq
    m = math.floor((nf + 1.0) * p)
    while True:
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        u = u - 0.5
        v, s0, s1, s2, s3 = uniform_open(s0, s1, s2, s3)
        us = 0.5 - abs(u)
        kf = math.floor((2.0 * a / us + b) * u + c)
        if kf < 0.0 or kf > nf:
            continue
        if us >= 0.07 and v <= vr:
            return int(kf), s0, s1, s2, s3
        lv = math.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * math.log((m + 1.0) / (r * (nf - m + 1.0)))
                 + (nf + 1.0) * math.log((nf - m + 1.0) / (nf - kf + 1.0))
                 + (kf + 0.5) * math.log(r * (nf - kf + 1.0) / (kf + 1.0))
                 + _stirling_tail(m) + _stirling_tail(nf - m)
                 - _stirling_tail(kf) - _stirling_tail(nf - kf))
        if lv <= bound:
            return int(kf), s0, s1, s2, s3


@njit(cache=True)
def _binomial_inversion(n, p, s0, s1, s2, s3):
    """Binomial(n, p), ``p <= 1/2``, small ``n p``, by sequential inversion."""
    q = 1.0 - p
    sr = p / q
    a = (n + 1) * sr
    r0 = math.exp(n * math.log1p(-p))
    while True:
        u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        r = r0
        k = 0
        while u > r:
            u -= r
            k += 1
            if k > n:
                break
            r *= a / k - sr
        if k <= n:
            return k, s0, s1, s2, s3
        # u fell into the float rounding gap above the last pmf term: draw again (exact).


@njit(cache=True)
def binomial(n, p, s0, s1, s2, s3):
    """Binomial(n, p) for int ``n >= 0`` and ``0 <= p <= 1``: ``(k, s0, s1, s2, s3)``."""
    if n <= 0 or p <= 0.0:
        return 0, s0, s1, s2, s3
    if p >= 1.0:
        return n, s0, s1, s2, s3
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    if n * pp < 10.0:
        k, s0, s1, s2, s3 = _binomial_inversion(n, pp, s0, s1, s2, s3)
    else:
        k, s0, s1, s2, s3 = _binomial_btrs(n, pp, s0, s1, s2, s3)
    if flip:
        k = n - k
    return k, s0, s1, s2, s3


# ---------------------------------------------------------------------------------------------
# Ziggurat standard normal (Marsaglia & Tsang 2000; 1,024 layers, 52-bit)
# ---------------------------------------------------------------------------------------------
# 1,024 layers rather than NumPy's 256: a box falls outside its core rectangle (the slow path,
# ~60 ns here) 0.37% of the time instead of 1.49%; the tables (24 KB) still fit in L1. The
# base layer's edge R and the common area V (with f(x) = exp(-x^2 / 2): V = R f(R) + the tail's
# area, and the recursion x_{i-1} = f^-1(V / x_i + f(x_i)) ending exactly at f(x_0) = 1) were
# solved with mpmath at 50 digits; the same solve gives NumPy's 256-layer R = 3.6541528853610088.
_ZIG_BITS = 10
_ZIG_LAYERS = 1 << _ZIG_BITS
_ZIG_R = 4.0388498461095045227
_ZIG_V = 0.0012263246463530880729


def _ziggurat_tables():
    n = _ZIG_LAYERS
    m = 2.0**52
    ki = np.zeros(n, dtype=np.uint64)
    wi = np.zeros(n)
    fi = np.zeros(n)
    dn = tn = _ZIG_R
    q = _ZIG_V / math.exp(-0.5 * dn * dn)
    ki[0] = np.uint64((dn / q) * m)
    ki[1] = 0
    wi[0] = q / m
    wi[n - 1] = dn / m
    fi[0] = 1.0
    fi[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64((dn / tn) * m)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


_ZIG_KI, _ZIG_WI, _ZIG_FI = _ziggurat_tables()


@njit(cache=True)
def normal_tail(a, s0, s1, s2, s3):
    """``Z`` given ``Z > a`` exactly: Marsaglia (1964) for ``a >= 1`` (``x = -ln(1 - U1) / a``,
    ``y = -ln(1 - U2)``, accept ``2 y > x^2``, return ``a + x``); rejection from Box-Muller
    normals below (not :func:`normal`, whose slow path calls this function: Numba's cache
    cannot reload mutually recursive functions). Returns ``(z, s0, s1, s2, s3)``."""
    if a < 1.0:
        while True:
            z, _, s0, s1, s2, s3 = normal_pair(s0, s1, s2, s3)
            if z > a:
                return z, s0, s1, s2, s3
    while True:
        u1, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        u2, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        xx = -math.log1p(-u1) / a
        yy = -math.log1p(-u2)
        if yy + yy > xx * xx:
            return a + xx, s0, s1, s2, s3


@njit(cache=True)
def _normal_slow(idx, x, sign, s0, s1, s2, s3):
    """The ziggurat's rare branch (tail or wedge) for one rejected box; may reject again."""
    if idx == 0:
        z, s0, s1, s2, s3 = normal_tail(_ZIG_R, s0, s1, s2, s3)
        return (-z if sign else z), True, s0, s1, s2, s3
    u, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
    if (_ZIG_FI[idx - 1] - _ZIG_FI[idx]) * u + _ZIG_FI[idx] < math.exp(-0.5 * x * x):
        return x, True, s0, s1, s2, s3
    return x, False, s0, s1, s2, s3


@njit(inline="always", cache=True)
def normal(s0, s1, s2, s3):
    """Standard normal by the 1,024-layer ziggurat (one 64-bit draw 99.6% of the time)."""
    while True:
        r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        x, ok = _zig_candidate(r)
        if ok:
            return x, s0, s1, s2, s3
        z, ok, s0, s1, s2, s3 = _normal_slow(np.int64(r & _ZIG_MASK), x,
                                             ((r >> _ZIG_SIGN) & uint64(1)) != 0, s0, s1, s2, s3)
        if ok:
            return z, s0, s1, s2, s3


_TWO52 = 4503599627370496.0
_TWO52_BITS = 0x4330000000000000
_ZIG_MASK = uint64(_ZIG_LAYERS - 1)
_ZIG_SIGN = uint64(_ZIG_BITS)


@njit(inline="always", cache=True)
def _zig_candidate(r):
    """``(x, accepted)`` of the ziggurat's first step for the raw word ``r`` (branch-free).

    Bits of ``r``: layer (low 10), sign (next), then 52 for the position in the layer.
    """
    idx = np.int64(r & _ZIG_MASK)
    r = r >> _ZIG_SIGN
    sign = 1.0 - 2.0 * float(np.int64(r & uint64(1)))
    rabs = np.int64((r >> uint64(1)) & uint64(0x000FFFFFFFFFFFFF))
    # float(rabs) for rabs < 2**52 through the exponent bits (exact; vectorises without AVX-512)
    fr = f64_from_bits(rabs | _TWO52_BITS) - _TWO52
    return fr * _ZIG_WI[idx] * sign, rabs < np.int64(_ZIG_KI[idx])
