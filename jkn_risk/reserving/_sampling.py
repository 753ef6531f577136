"""Samplers on the xoshiro256** streams of :mod:`jkn_risk.rng`, for the reserving bootstrap.

Each sampler takes the four state words and returns ``(value, s0, s1, s2, s3)``, like
:func:`jkn_risk.rng.next_uniform`, so a replicate's draws are a pure function of its stream key.

* normal: Box-Muller, one normal from two uniforms (the sine partner is discarded, so every call
  consumes exactly two uniforms);
* gamma: Marsaglia & Tsang (2000) squeeze for shape >= 1; shape < 1 by the boost
  ``G(a) = G(a + 1) * U**(1/a)``;
* Poisson: inversion for mean < 10, Hormann's (1993) PTRS transformed rejection above
  (the algorithm numpy uses).

All inputs are assumed valid (finite, non-negative shape or mean).
"""
from __future__ import annotations

import math

from numba import njit

from ..rng import next_uniform

__all__ = ["std_normal", "gamma", "poisson"]

_TWO_PI = 2.0 * math.pi


@njit(inline="always", cache=True)
def std_normal(s0, s1, s2, s3):
    """One standard normal by Box-Muller: ``(z, s0, s1, s2, s3)``."""
    u1, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    u2, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(_TWO_PI * u2)
    return z, s0, s1, s2, s3


@njit(inline="always", cache=True)
def gamma(shape, s0, s1, s2, s3):
    """One Gamma(shape, 1) variate (Marsaglia-Tsang): ``(x, s0, s1, s2, s3)``; 0 if shape is 0."""
    if shape <= 0.0:
        return 0.0, s0, s1, s2, s3
    boost = 1.0
    a = shape
    if a < 1.0:
        u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        boost = (1.0 - u) ** (1.0 / a)
        a = a + 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v * boost, s0, s1, s2, s3
        if u > 0.0 and math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v * boost, s0, s1, s2, s3


@njit(inline="always", cache=True)
def poisson(lam, s0, s1, s2, s3):
    """One Poisson(lam) count as float64: ``(k, s0, s1, s2, s3)``; 0 if lam is 0."""
    if lam <= 0.0:
        return 0.0, s0, s1, s2, s3
    if lam < 10.0:
        # Inversion by sequential search.
        u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        k = 0
        p = math.exp(-lam)
        cdf = p
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return float(k), s0, s1, s2, s3
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        v, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
        u = u - 0.5
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k, s0, s1, s2, s3
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if v > 0.0 and (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                        <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return k, s0, s1, s2, s3
