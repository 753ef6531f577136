"""The exact samplers against their laws (chi-square / KS, moments within 4 standard errors)."""
import numpy as np
import pytest
from numba import njit
from scipy import stats

from jkn_risk.kernels import sampling as S
from jkn_risk.rng import seed_state

ALPHA = 1e-3  # fixed seeds: a p-value below this is a failure, not bad luck to be re-rolled


@njit(cache=True)
def _draw(kind, a, b, key, n):
    s0, s1, s2, s3 = seed_state(key)
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        if kind == 0:
            k, s0, s1, s2, s3 = S.binomial(np.int64(a), b, s0, s1, s2, s3)
            out[i] = k
        elif kind == 1:
            k, s0, s1, s2, s3 = S.poisson(a, s0, s1, s2, s3)
            out[i] = k
        elif kind == 2:
            x, s0, s1, s2, s3 = S.gamma(a, s0, s1, s2, s3)
            out[i] = x
        elif kind == 3:
            z, z2, s0, s1, s2, s3 = S.normal_pair(s0, s1, s2, s3)
            out[i] = z
        elif kind == 4:
            pos = -np.expm1(-a)
            p1 = a * np.exp(-a) / pos
            k, s0, s1, s2, s3 = S.zt_poisson(a, p1, S.one_threshold(p1), a / pos, s0, s1, s2, s3)
            out[i] = k
        elif kind == 5:
            r = 1.0 / b
            q = b * a / (1.0 + b * a)
            pos = -np.expm1(-r * np.log1p(b * a))
            p1 = np.exp(-r * np.log1p(b * a)) * r * q / pos
            k, s0, s1, s2, s3 = S.zt_negbin(a, b, p1, S.one_threshold(p1), a / pos,
                                            s0, s1, s2, s3)
            out[i] = k
        elif kind == 6:
            z, s0, s1, s2, s3 = S.normal(s0, s1, s2, s3)
            out[i] = z
    return out


def _chisq_discrete(x, pmf, min_expected=5.0):
    """Chi-square goodness of fit of integer draws to a pmf (support 0..), tail lumped."""
    x = x.astype(np.int64)
    n = x.size
    kmax = x.max() + 1
    ks = np.arange(kmax + 1)
    p = pmf(ks)
    # Lump the upper tail (from the first k whose expectation drops below min_expected).
    keep = np.nonzero(n * p >= min_expected)[0]
    lo, hi = keep.min(), keep.max()
    obs = np.bincount(x, minlength=kmax + 1)
    o = np.r_[obs[:lo].sum(), obs[lo:hi + 1], obs[hi + 1:].sum()]
    e = np.r_[p[:lo].sum(), p[lo:hi + 1], max(0.0, 1.0 - p[: hi + 1].sum())] * n
    m = e > 0
    o, e = o[m], e[m]
    e = e * o.sum() / e.sum()
    return stats.chisquare(o, e).pvalue


@pytest.mark.parametrize("n,p", [(5, 0.5), (40, 0.1), (1000, 0.3), (2**20, 0.26), (1000, 0.93),
                                 (3, 0.999)])
def test_binomial(n, p):
    x = _draw(0, n, p, np.uint64(11 + n), 200_000)
    assert _chisq_discrete(x, lambda k: stats.binom.pmf(k, n, p)) > ALPHA


@pytest.mark.parametrize("lam", [0.05, 0.3, 3.0, 9.99, 10.0, 45.0, 2.5e5])
def test_poisson(lam):
    x = _draw(1, lam, 0.0, np.uint64(7), 200_000)
    assert _chisq_discrete(x, lambda k: stats.poisson.pmf(k, lam)) > ALPHA


@pytest.mark.parametrize("shape", [0.3, 1.0, 2.5, 1e4])
def test_gamma(shape):
    x = _draw(2, shape, 0.0, np.uint64(5), 100_000)
    assert stats.kstest(x, stats.gamma(shape).cdf).pvalue > ALPHA


@pytest.mark.parametrize("kind", [3, 6], ids=["box-muller", "ziggurat"])
def test_normal(kind):
    x = _draw(kind, 0.0, 0.0, np.uint64(3), 400_000)
    assert stats.kstest(x, stats.norm.cdf).pvalue > ALPHA
    # The tails (the ziggurat's base strip and wedges) by a chi-square on fixed bins.
    edges = np.r_[-np.inf, np.linspace(-4.5, 4.5, 37), np.inf]
    obs = np.histogram(x, edges)[0]
    exp = np.diff(stats.norm.cdf(edges)) * x.size
    assert stats.chisquare(obs, exp).pvalue > ALPHA


@pytest.mark.parametrize("k", [1, 2, 3, 1077, 3000])
def test_power_of_two_alias_tables_encode_the_distribution(k):
    p = np.random.default_rng(k).pareto(1.1, k) + 1e-3
    ap, ai = S.build_alias_table(p)
    thr, ali, shift = S.pow2_alias_tables(ap[None], ai[None], np.array([k]))
    width = 1 << (64 - int(shift[0]))
    keep = np.where(thr[0, :width] == np.uint64(2**64 - 1), 1.0,
                    thr[0, :width].astype(np.float64) / 2.0 ** int(shift[0]))
    enc = np.zeros(width)
    np.add.at(enc, np.arange(width), keep)
    np.add.at(enc, ali[0, :width], 1.0 - keep)
    np.testing.assert_allclose(enc[:k] / width, p / p.sum(), rtol=0, atol=1e-15)
    assert np.all(enc[k:] == 0)


@pytest.mark.parametrize("lam", [0.01, 0.3, 4.0, 30.0])
def test_zero_truncated_poisson(lam):
    x = _draw(4, lam, 0.0, np.uint64(17), 200_000)
    assert x.min() >= 1
    pos = -np.expm1(-lam)
    pmf = lambda k: np.where(k >= 1, stats.poisson.pmf(k, lam) / pos, 0.0)  # noqa: E731
    assert _chisq_discrete(x, pmf) > ALPHA


@pytest.mark.parametrize("lam,disp", [(0.3, 1.0), (0.05, 4.0), (3.0, 0.5), (30.0, 1.0),
                                      (1.0, 100.0)])
def test_zero_truncated_negative_binomial(lam, disp):
    x = _draw(5, lam, disp, np.uint64(19), 200_000)
    assert x.min() >= 1
    law = stats.nbinom(1.0 / disp, 1.0 / (1.0 + disp * lam))
    pmf = lambda k: np.where(k >= 1, law.pmf(k) / law.sf(0), 0.0)  # noqa: E731
    assert _chisq_discrete(x, pmf) > ALPHA
