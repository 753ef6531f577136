"""The vectorisable exponential against the C library's."""
import numpy as np
import pytest
from numba import njit

from jkn_risk.kernels.vecmath import bits_from_f64, exp_fast, f64_from_bits


@njit(cache=True)
def _exp_all(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp_fast(x[i])
    return out


@pytest.mark.parametrize("lo,hi", [(-708.0, 709.0), (-1.0, 1.0), (-40.0, 40.0), (-1e-8, 1e-8)])
def test_exp_fast_within_one_ulp(lo, hi):
    x = np.random.default_rng(int(hi)).uniform(lo, hi, 1_000_000)
    got, ref = _exp_all(x), np.exp(x)
    assert np.max(np.abs(got - ref) / np.spacing(ref)) <= 1.0


def test_exp_fast_special_points_and_clamp():
    x = np.array([0.0, 1.0, -1.0, np.log(2.0), 0.5 * np.log(2.0), -708.0, 709.0])
    got = _exp_all(x)
    assert got[0] == 1.0
    np.testing.assert_array_max_ulp(got, np.exp(x), maxulp=1)
    clamped = _exp_all(np.array([-1e4, 1e4]))
    np.testing.assert_array_max_ulp(clamped, np.exp([-708.0, 709.0]), maxulp=1)
    assert np.all(np.isfinite(clamped))


@njit(cache=True)
def _roundtrip(x):
    return f64_from_bits(bits_from_f64(x))


def test_bitcasts_roundtrip():
    for x in (0.0, -0.0, 1.5, -3.25e-300, 1e308):
        assert _roundtrip(x) == x
    assert np.float64(1.0).view(np.int64) == njit(lambda v: bits_from_f64(v))(1.0)
