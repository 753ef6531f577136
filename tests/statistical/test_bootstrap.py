"""ODP bootstrap: samplers against theory, stream invariance, residual handling, fixed seeds."""
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from jkn_risk.reserving import BootstrapODP, read_triangle
from jkn_risk.reserving._sampling import gamma, poisson, std_normal
from jkn_risk.rng import TAG_BOOTSTRAP, seed_state, stream_key

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "triangles"
JKN = ROOT / "configs" / "data" / "triangles"


@njit(cache=True)
def _draw(kind, param, n, seed):
    out = np.empty(n)
    for r in range(n):
        s0, s1, s2, s3 = seed_state(stream_key(TAG_BOOTSTRAP, seed, r, 99, 0))
        if kind == 0:
            x, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3)
        elif kind == 1:
            x, s0, s1, s2, s3 = gamma(param, s0, s1, s2, s3)
        else:
            x, s0, s1, s2, s3 = poisson(param, s0, s1, s2, s3)
        out[r] = x
    return out


def _check_moments(x, mean, var, k=4.0):
    n = x.size
    assert abs(x.mean() - mean) < k * np.sqrt(var / n)
    # variance of the sample variance ~ (mu4 - var^2) / n; use a generous 2 var^2 (normal) * 3
    assert abs(x.var() - var) < k * np.sqrt(6.0 * var ** 2 / n) + 1e-12


def test_normal_moments():
    x = _draw(0, 0.0, 200_000, 1)
    _check_moments(x, 0.0, 1.0)
    assert abs(np.mean(x ** 3)) < 4 * np.sqrt(15 / x.size)


@pytest.mark.parametrize("shape", [0.05, 0.5, 1.0, 3.7, 250.0])
def test_gamma_moments(shape):
    x = _draw(1, shape, 200_000, 2)
    assert (x >= 0).all()
    _check_moments(x, shape, shape, k=5.0)
    # a quantile against scipy
    from scipy import stats
    q = np.quantile(x, 0.9)
    p = stats.gamma.cdf(q, shape)
    assert abs(p - 0.9) < 4 * np.sqrt(0.09 / x.size)


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.99, 10.0, 57.5, 4000.0])
def test_poisson_moments(lam):
    x = _draw(2, lam, 200_000, 3)
    assert np.all(x == np.floor(x)) and (x >= 0).all()
    _check_moments(x, lam, lam, k=5.0)
    from scipy import stats
    k = np.floor(lam)
    assert abs(np.mean(x <= k) - stats.poisson.cdf(k, lam)) < 5 * np.sqrt(0.25 / x.size)


def test_zero_shape_and_mean_give_zero():
    assert (_draw(1, 0.0, 10, 4) == 0).all()
    assert (_draw(2, 0.0, 10, 4) == 0).all()


@pytest.fixture(scope="module")
def raa():
    return read_triangle(DATA / "raa.csv")


def test_same_seed_same_bits_and_chunking(raa):
    a = BootstrapODP(n_sims=3000, random_state=11).fit(raa)
    b = BootstrapODP(n_sims=3000, random_state=11).fit(raa)
    np.testing.assert_array_equal(a.ibnr_samples_, b.ibnr_samples_)
    # any split of the replicates gives the same bits
    parts = [a.sample(0, 1000)[0], a.sample(1000, 1), a.sample(1001, 1999)[0]]
    parts[1] = parts[1][0]
    np.testing.assert_array_equal(np.concatenate(parts), a.ibnr_samples_)
    # a longer run extends a shorter one
    c = BootstrapODP(n_sims=5000, random_state=11).fit(raa)
    np.testing.assert_array_equal(c.ibnr_samples_[:3000], a.ibnr_samples_)
    d = BootstrapODP(n_sims=3000, random_state=12).fit(raa)
    assert not np.array_equal(d.ibnr_samples_, a.ibnr_samples_)


def test_memory_is_o_n_sims(raa):
    b = BootstrapODP(n_sims=20_000, random_state=1).fit(raa)
    big = [k for k, v in vars(b).items() if isinstance(v, np.ndarray) and v.size > 1000]
    assert sorted(big) == ["ibnr_samples_", "ultimate_samples_"]


def test_dof_adjustment_when_no_hat(raa):
    b = BootstrapODP(n_sims=10, hat_adj=False).fit(raa)
    N, p = 55, 19
    np.testing.assert_allclose(b.adjusted_residuals_, b.unscaled_residuals_ * np.sqrt(N / (N - p)),
                               rtol=1e-15, equal_nan=True)
    assert np.isnan(b.hat_.to_numpy()).all()


def test_negative_incrementals_stay_in_the_pool(raa):
    """RAA's negative incremental (1982, lag 48->... value -103) keeps its negative residual."""
    b = BootstrapODP(n_sims=10).fit(raa)
    inc = raa.incremental
    i, j = np.argwhere(inc < 0)[0]
    r = b.adjusted_residuals_.iloc[i, j]
    assert r < 0
    assert np.any(b.residuals_ == r)
    # pool: every observed cell but the two zero corners
    assert b.residuals_.size == 55 - 2


def test_negative_fitted_and_future_means(tmp_path):
    """A triangle whose last development is negative: fitted and future means below zero are
    simulated with sign(m) * phi * Gamma(|m| / phi), so the bootstrap mean stays near the CL IBNR."""
    v = np.array([[100.0, 160.0, 170.0, 165.0],
                  [110.0, 170.0, 185.0, np.nan],
                  [90.0, 150.0, np.nan, np.nan],
                  [120.0, np.nan, np.nan, np.nan]])
    from jkn_risk.reserving import triangle_from_array
    tri = triangle_from_array(v, source="neg.csv")
    b = BootstrapODP(n_sims=20_000, random_state=5, process="gamma", center=True).fit(tri)
    assert b.fitted_.iloc[0, 3] < 0
    assert np.all(np.isfinite(b.ibnr_samples_))
    assert b.ibnr_samples_.mean() == pytest.approx(b.ibnr_.sum(), rel=0.1)


def test_process_error_adds_variance(raa):
    kw = dict(n_sims=20_000, random_state=3, center=True)
    none = BootstrapODP(process="none", **kw).fit(raa).ibnr_samples_
    gam = BootstrapODP(process="gamma", **kw).fit(raa).ibnr_samples_
    odp = BootstrapODP(process="odp", **kw).fit(raa).ibnr_samples_
    assert gam.var() > none.var() and odp.var() > none.var()
    # gamma and ODP process error have the same mean and variance (phi |m|): similar spreads
    assert gam.std() == pytest.approx(odp.std(), rel=0.05)
    assert gam.mean() == pytest.approx(none.mean(), rel=0.02)


def test_bootstrap_mean_near_chainladder(raa):
    b = BootstrapODP(n_sims=50_000, random_state=9, center=True).fit(raa)
    s = b.ibnr_samples_
    se = s.std() / np.sqrt(s.size)
    assert abs(s.mean() - b.ibnr_.sum()) < 0.03 * b.ibnr_.sum() + 4 * se


@pytest.mark.parametrize("care", ["ip", "op"])
def test_completion_factor_samples_jkn(care):
    tri = read_triangle(JKN / f"{care}_claims_2014.csv")
    b = BootstrapODP(n_sims=5000, random_state=0).fit(tri)
    cf = b.completion_factor_samples()
    assert cf.shape == (5000,)
    assert b.completion_factor() == pytest.approx(1.069, abs=1e-3)
    assert cf.mean() == pytest.approx(1.069, abs=0.003)
    assert 0.002 < cf.std() < 0.02
    np.testing.assert_allclose(cf, b.ultimate_samples_ / b.latest_diagonal_.sum(), rtol=1e-14)
    # the same origins named explicitly, or by prefix, give the same bits
    np.testing.assert_array_equal(b.completion_factor_samples("2014"), cf)
    np.testing.assert_array_equal(b.completion_factor_samples(list(tri.origin)), cf)
    np.testing.assert_array_equal(b.sample(0, 5000, list(tri.origin))[1], b.ibnr_samples_)
    # a subset: the youngest half is less complete than all of 2014
    late = b.completion_factor_samples(tri.origin[6:])
    assert late.mean() > cf.mean()
    with pytest.raises(ValueError, match="unknown origins"):
        b.completion_factor_samples(["2015-01"])


def test_bad_parameters(raa):
    with pytest.raises(ValueError, match="process"):
        BootstrapODP(process="normal").fit(raa)
    with pytest.raises(ValueError, match="n_sims"):
        BootstrapODP(n_sims=0).fit(raa)
