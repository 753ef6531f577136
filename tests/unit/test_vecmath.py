"""Bit-level helpers: fused multiply-add and bit casts."""
import numpy as np
from numba import njit

from jkn_risk.kernels.vecmath import bits_from_f64, f64_from_bits, fma


@njit(cache=True)
def _fma(a, b, c):
    return fma(a, b, c)


def test_fma_is_rounded_once():
    """Against exact rational arithmetic, rounded once to float64: a case where a separate
    multiply and add give a different answer, and random triples."""
    from fractions import Fraction

    def exact(a, b, c):
        return float(Fraction(a) * Fraction(b) + Fraction(c))

    a = 1.0 + 2.0**-30
    assert _fma(a, a, -1.0) == exact(a, a, -1.0) != a * a - 1.0
    rng = np.random.default_rng(3)
    for a, b, c in rng.normal(size=(2000, 3)) * np.array([1e3, 1e-3, 1.0]):
        assert _fma(a, b, c) == exact(a, b, c)


@njit(cache=True)
def _roundtrip(x):
    return f64_from_bits(bits_from_f64(x))


def test_bitcasts_roundtrip():
    for x in (0.0, -0.0, 1.5, -3.25e-300, 1e308):
        assert _roundtrip(x) == x
    assert np.float64(1.0).view(np.int64) == njit(lambda v: bits_from_f64(v))(1.0)
