"""The exact samplers against their laws (chi-square / KS, moments within 4 standard errors)."""
import numpy as np
import pytest
from numba import njit
from scipy import stats

from jkn_risk.kernels import alias as A
from jkn_risk.kernels import sampling as S
from jkn_risk.kernels.counts import count_hazards, positive_probability, split_by_count
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
        elif kind == 6:
            z, s0, s1, s2, s3 = S.normal(s0, s1, s2, s3)
            out[i] = z
    return out


@njit(cache=True)
def _splits(k, h, key, reps):
    """``reps`` draws of :func:`split_by_count` (k members) from one stream: (reps, J)."""
    s0, s1, s2, s3 = seed_state(key)
    out = np.zeros((reps, h.shape[0]), dtype=np.int64)
    for r in range(reps):
        n, s0, s1, s2, s3 = split_by_count(k, h, s0, s1, s2, s3)
        out[r] = n
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


def test_ziggurat_tables_have_equal_layers():
    """The 1,024 layers (base strip with its tail, then rectangles) all have area V, and the
    top one ends at x = 0 (scipy's normal tail; the solved constants are not taken on trust)."""
    f = lambda x: np.exp(-0.5 * x * x)  # noqa: E731
    R, V = S._ZIG_R, S._ZIG_V
    assert R * f(R) + np.sqrt(2 * np.pi) * stats.norm.sf(R) == pytest.approx(V, rel=1e-12)
    x = S._ZIG_WI[1:] * 2.0**52  # layer edges x_1 < ... < x_{n-1} = R
    assert x[-1] == pytest.approx(R, rel=1e-15) and np.all(np.diff(x) > 0)
    np.testing.assert_allclose(S._ZIG_FI[1:], f(x), rtol=1e-15)
    areas = x * (np.r_[1.0, f(x[:-1])] - f(x))  # layer i: width x_i, height f(x_{i-1}) - f(x_i)
    np.testing.assert_allclose(areas[1:], V, rtol=1e-9)  # rectangles (the top one via f(0) = 1)
    assert areas[0] == pytest.approx(V, rel=1e-6)  # top layer: where the recursion's error ends


def test_ziggurat_tail_beyond_the_base_strip():
    """Beyond R = 4.04 (the base strip's tail, 1 in 19,000 draws) the sampler has the normal's
    frequency and conditional law."""
    x = np.abs(_draw(6, 0.0, 0.0, np.uint64(11), 4_000_000))
    p = 2 * stats.norm.sf(S._ZIG_R)
    n_tail = int((x > S._ZIG_R).sum())
    assert stats.binomtest(n_tail, x.size, p).pvalue > ALPHA
    tail = x[x > S._ZIG_R]
    cond = lambda t: 1 - stats.norm.sf(t) / stats.norm.sf(S._ZIG_R)  # noqa: E731
    assert stats.kstest(tail, cond).pvalue > ALPHA


@pytest.mark.parametrize("k", [1, 2, 3, 1077, 3000])
def test_power_of_two_alias_tables_encode_the_distribution(k):
    p = np.random.default_rng(k).pareto(1.1, k) + 1e-3
    ap, ai = A.build_alias_table(p)
    thr, ali, shift = A.pow2_alias_tables(ap[None], ai[None], np.array([k]))
    width = 1 << (64 - int(shift[0]))
    keep = np.where(thr[0, :width] == np.uint64(2**64 - 1), 1.0,
                    thr[0, :width].astype(np.float64) / 2.0 ** int(shift[0]))
    enc = np.zeros(width)
    np.add.at(enc, np.arange(width), keep)
    np.add.at(enc, ali[0, :width], 1.0 - keep)
    np.testing.assert_allclose(enc[:k] / width, p / p.sum(), rtol=0, atol=1e-15)
    assert np.all(enc[k:] == 0)


def _zt_law(lam, disp):
    """The zero-truncated count law (Poisson for ``disp == 0``, else NB) as a scipy pmf."""
    law = stats.poisson(lam) if disp == 0 else stats.nbinom(1.0 / disp, 1.0 / (1.0 + disp * lam))
    return lambda k: np.where(k >= 1, law.pmf(k) / law.sf(0), 0.0), law


LAWS = [(0.01, 0), (0.3, 0), (4.0, 0), (30.0, 0), (0.3, 1.0), (0.05, 4.0), (3.0, 0.5),
        (30.0, 1.0), (1.0, 100.0)]


@pytest.mark.parametrize("lam,disp", LAWS + [(1e-9, 0), (2000.0, 0), (1e-9, 2.0), (500.0, 0.01)])
def test_count_hazards_are_the_law(lam, disp):
    """h_j = P(N = j | N >= j): the pmf they imply equals scipy's zero-truncated pmf."""
    freq = 0 if disp == 0 else 1
    h = count_hazards(lam, freq, disp or 1.0)
    pmf, law = _zt_law(lam, disp)
    assert positive_probability(lam, freq, disp or 1.0) == pytest.approx(law.sf(0), rel=1e-12)
    assert h[-1] == 1.0 and np.all((h >= 0) & (h <= 1))
    # The table reaches past the tail bound: what it leaves out is below 2**-64 of N >= 1.
    assert law.sf(h.size) / law.sf(0) < 2.0**-64
    # Exact to the resolution of the 53-bit uniforms behind the binomials (1 - h_1 cancels
    # when P(N = 1 | N >= 1) is within 1e-9 of 1).
    implied = h * np.r_[1.0, np.cumprod(1.0 - h[:-1])]
    np.testing.assert_allclose(implied, pmf(np.arange(1, h.size + 1)), rtol=1e-9, atol=2.0**-52)


@pytest.mark.parametrize("lam,disp", LAWS)
def test_split_by_count_is_multinomial(lam, disp):
    """Members split by count: pooled classes follow the zero-truncated pmf (chi-square), and
    the class of one event is Binomial(k, P(N = 1 | N >= 1))."""
    freq = 0 if disp == 0 else 1
    h = count_hazards(lam, freq, disp or 1.0)
    k, reps = 40, 10_000
    n = _splits(k, h, np.uint64(29), reps)
    assert np.all(n.sum(axis=1) == k)
    pmf, _ = _zt_law(lam, disp)
    counts = np.repeat(np.tile(np.arange(1, h.size + 1), reps), n.ravel())
    assert _chisq_discrete(counts, pmf) > ALPHA
    p1 = float(pmf(np.array([1]))[0])
    if 0.02 < p1 < 0.98:
        assert _chisq_discrete(n[:, 0], lambda x: stats.binom.pmf(x, k, p1)) > ALPHA
