"""The lognormal ziggurat against its law: KS / chi-square / mean, tails, tables, old path.

Fixed seeds; a p-value below ALPHA is a failure, not bad luck to be re-rolled.
The comparison path is the one the kernel used before this sampler: ziggurat normals, then
``exp(sigma z - sigma^2 / 2)``.
"""
import functools
import math

import numpy as np
import pytest
from numba import njit, uint64
from scipy import stats
from scipy.special import ndtr

from jkn_risk.kernels import lognormal as LZ
from jkn_risk.kernels.sampling import normal, normal_tail
from jkn_risk.rng import LANES, next_u64, seed_lanes, seed_state

ALPHA = 1e-3
SIGMAS = [0.05, 0.3, 1.0, 2.0, 3.0]
N_MAIN = 1_000_000  # >= 400,000
N_BIG = 4_000_000
BATCH = 1007  # odd: partial batches, n % 4 != 0, redraws at batch ends


def _law(s):
    return stats.lognorm(s=s, scale=math.exp(-0.5 * s * s))


@njit(cache=True)
def _batched(key, n, batch, zt, fh, par, reference):
    """``n`` draws from lognormal_batch (or the NaN-marking reference) in batches of ``batch``;
    also the final scalar state and the number of words the fast path rejected."""
    s0, s1, s2, s3 = seed_state(key)
    lanes = np.empty((1, 4, LANES), dtype=np.uint64)
    seed_lanes(key, lanes, 0)
    out = np.empty(n)
    raw = np.empty((batch + LANES - 1) // LANES * LANES, dtype=np.uint64)
    y = np.empty(batch)
    done = 0
    while done < n:
        nb = min(batch, n - done)
        if reference:
            s0, s1, s2, s3 = LZ.lognormal_batch_reference(nb, raw, y, lanes, 0, s0, s1, s2, s3,
                                                          zt, fh, par)
        else:
            s0, s1, s2, s3 = LZ.lognormal_batch(nb, raw, y, lanes, 0, s0, s1, s2, s3,
                                                zt, fh, par)
        out[done:done + nb] = y[:nb]
        done += nb
    return out, np.array([s0, s1, s2, s3])


@njit(cache=True)
def _count_rejections(key, n, zt):
    s0, s1, s2, s3 = seed_state(key)
    rej = 0
    for i in range(n):
        r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        y, ok = LZ.candidate(r, zt)
        rej += np.int64(not ok)
    return rej


@njit(cache=True)
def _old_path(key, n, sigma):
    """The previous kernel path: ziggurat normals, then exp(sigma z - sigma^2/2)."""
    s0, s1, s2, s3 = seed_state(key)
    out = np.empty(n)
    half_var = 0.5 * sigma * sigma
    for i in range(n):
        z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        out[i] = math.exp(sigma * z - half_var)
    return out


@njit(cache=True)
def _base_rejected(key, n, zt, fh, par):
    """``slow`` on words forced into slot 0 beyond the strip: Y given Y < L_0 or Y > R_0."""
    s0, s1, s2, s3 = seed_state(key)
    kspan0 = zt[0, 3]
    out = np.empty(n)
    for i in range(n):
        u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        u52 = np.int64(u >> uint64(12))
        if u52 < kspan0:  # inside the strip: not the case under test, draw again
            u52 = kspan0 + u52 % ((np.int64(1) << 52) - kspan0)
        r = uint64(u52) << uint64(12)  # slot 0
        y, s0, s1, s2, s3 = LZ.slow(r, zt, fh, par, s0, s1, s2, s3)
        out[i] = y
    return out


@njit(cache=True)
def _left_tail(key, n, par):
    """The left base region's sampler alone: Y given Y < L_0, by the normal tail."""
    s0, s1, s2, s3 = seed_state(key)
    out = np.empty(n)
    for i in range(n):
        z, s0, s1, s2, s3 = normal_tail(par[LZ.P_AL], s0, s1, s2, s3)
        out[i] = math.exp(-par[LZ.P_SIGMA] * z - par[LZ.P_HALFVAR])
    return out


@njit(cache=True)
def _passes_agree(words, n, zt):
    """fast_pass (SIMD) against candidate (scalar) on the same words."""
    raw = words.copy()
    y = np.empty(words.shape[0])
    count = LZ.fast_pass(n, raw, y, zt)
    k = 0
    for i in range(n):
        v, ok = LZ.candidate(words[i], zt)
        if ok:
            if y[i] != v:
                return False
        else:
            if k >= count or np.int64(raw[k]) != i:
                return False
            k += 1
    return k == count


@pytest.fixture(scope="module")
def tables():
    """``tables(sigma)``: the sampler's tables, built once per sigma in this module (a module
    fixture rather than a global dict, so that a rerun builds them again: tests/conftest.py)."""
    return functools.cache(LZ.lognormal_tables)


@pytest.fixture(scope="module")
def draws(tables):
    """``draws(sigma)``: N_MAIN lognormal factors from stream 3, once per sigma."""
    @functools.cache
    def draw(s):
        zt, fh, par = tables(s)
        return _batched(np.uint64(3), N_MAIN, BATCH, zt, fh, par, False)[0]
    return draw


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", SIGMAS)
def test_ks_and_chisquare(s, draws):
    x = draws(s)
    d = _law(s)
    assert np.all(np.isfinite(x)) and np.all(x > 0)
    p_ks = stats.kstest(x, d.cdf).pvalue
    # fixed quantile bins, far tails included (expected >= 10 in every bin)
    q = np.r_[1e-5, 1e-4, 1e-3, 0.005, np.linspace(0.01, 0.99, 50), 0.995, 0.999, 1 - 1e-4,
              1 - 1e-5]
    edges = np.r_[0.0, d.ppf(q), np.inf]
    obs = np.histogram(x, edges)[0]
    exp = np.diff(np.r_[0.0, q, 1.0]) * x.size
    p_chi = stats.chisquare(obs, exp).pvalue
    print(f"\nsigma={s}: KS p={p_ks:.3g}, chi-square ({obs.size} bins) p={p_chi:.3g}")
    assert p_ks > ALPHA
    assert p_chi > ALPHA


@pytest.mark.parametrize("s", SIGMAS)
def test_mean_is_one(s, draws):
    x = draws(s)
    se = math.sqrt(math.expm1(s * s) / x.size)
    print(f"\nsigma={s}: mean {x.mean():.6f}, (mean - 1) / se = {(x.mean() - 1) / se:+.2f}")
    assert abs(x.mean() - 1.0) < 4 * se


@pytest.mark.parametrize("s", SIGMAS)
def test_matches_old_path(s, draws):
    """Same number of draws from ziggurat normals + exp: two-sample KS does not reject."""
    x = draws(s)
    y = _old_path(np.uint64(17), x.size, s)
    p = stats.ks_2samp(x, y).pvalue
    print(f"\nsigma={s}: two-sample KS (new vs normal + exp) p={p:.3g}")
    assert p > ALPHA


@pytest.mark.parametrize("s", SIGMAS)
def test_big_sample_tails_and_fine_bins(s, tables):
    """4M batched draws: frequency of Y > R_0 and Y < L_0 (the base layer's tails) and a
    200-bin equiprobable chi-square (resolves the wedges of individual layers)."""
    zt, fh, par = tables(s)
    x = _batched(np.uint64(11), N_BIG, 1024, zt, fh, par, False)[0]
    d = _law(s)
    L0 = np.int64(zt[0, 0]).view(np.float64)
    R0 = L0 + np.int64(zt[1, 1]).view(np.float64) * 2.0**52
    w0 = par[LZ.P_W0]
    p_right, p_left = float(ndtr(s - w0)), float(ndtr(-(w0 + s)))
    assert p_right == pytest.approx(d.sf(R0), rel=1e-8)
    assert p_left == pytest.approx(d.cdf(L0), rel=1e-8)
    n_r, n_l = int((x > R0).sum()), int((x < L0).sum())
    pr = stats.binomtest(n_r, x.size, p_right).pvalue
    pl = stats.binomtest(n_l, x.size, p_left).pvalue
    edges = np.r_[0.0, d.ppf(np.arange(1, 200) / 200), np.inf]
    p_chi = stats.chisquare(np.histogram(x, edges)[0]).pvalue
    print(f"\nsigma={s}: Y>R0 {n_r} (exp {p_right * x.size:.1f}) p={pr:.3g}; Y<L0 {n_l} "
          f"(exp {p_left * x.size:.2f}) p={pl:.3g}; 200-bin chi-square p={p_chi:.3g}")
    assert pr > ALPHA and pl > ALPHA and p_chi > ALPHA


@pytest.mark.parametrize("s", SIGMAS)
def test_base_tails_conditional_laws(s, tables):
    """The slow path for the base slot beyond the strip: left/right split ~ Binomial, the right
    tail's and (when populated) left region's conditional laws by KS."""
    zt, fh, par = tables(s)
    d = _law(s)
    L0 = np.int64(zt[0, 0]).view(np.float64)
    R0 = L0 + np.int64(zt[1, 1]).view(np.float64) * 2.0**52
    y = _base_rejected(np.uint64(5), 200_000, zt, fh, par)
    left, right = y[y < L0], y[y > R0]
    assert left.size + right.size == y.size
    assert stats.binomtest(left.size, y.size, par[LZ.P_QL]).pvalue > ALPHA
    sf_r = d.sf(R0)
    p_r = stats.kstest(right, lambda t: 1.0 - d.sf(t) / sf_r).pvalue
    msg = f"\nsigma={s}: right tail n={right.size} KS p={p_r:.3g}"
    assert p_r > ALPHA
    if left.size >= 100:
        p_l = stats.kstest(left, lambda t: d.cdf(t) / d.cdf(L0)).pvalue
        msg += f"; left region n={left.size} KS p={p_l:.3g}"
        assert p_l > ALPHA
    print(msg)


@pytest.mark.parametrize("s", SIGMAS)
def test_left_base_region_sampler(s, tables):
    """The left region's sampler alone (used with probability q_left): Y given Y < L_0."""
    zt, fh, par = tables(s)
    d = _law(s)
    L0 = np.int64(zt[0, 0]).view(np.float64)
    y = _left_tail(np.uint64(9), 100_000, par)
    assert np.all(y < L0 * (1 + 1e-12))
    # condition in log space: with sigma = 3, F(L0) ~ 1e-21
    logc = d.logcdf(L0)
    p = stats.kstest(y, lambda t: np.exp(d.logcdf(t) - logc)).pvalue
    print(f"\nsigma={s}: left base region KS p={p:.3g}")
    assert p > ALPHA


@pytest.mark.parametrize("s", SIGMAS)
def test_layers_have_equal_area(s, tables):
    """Every slot (base: strip + both tails; boxes: width x height between levels) has area V,
    recomputed from the tables with scipy's lognormal (heights = pdf / pdf(mode)); boxes span
    level sets; cores lie under the curve; the top box reaches the mode."""
    zt, fh, par = tables(s)
    n = zt.shape[0]
    d = _law(s)
    m = math.exp(-1.5 * s * s)
    assert par[LZ.P_M] == pytest.approx(m, rel=1e-15)
    fmode = d.pdf(m)
    h = lambda t: d.pdf(t) / fmode  # noqa: E731
    L = zt[1:, 0].view(np.float64)  # level edges L_0 .. L_{n-2}
    W = zt[1:, 1].view(np.float64) * 2.0**52
    R = L + W
    np.testing.assert_allclose(h(L), h(R), rtol=1e-10)  # [L, R] is a level set
    tl = h(L)
    np.testing.assert_allclose(fh[1:, 0], tl, rtol=1e-10)
    assert np.all(np.diff(tl) > 0) and tl[-1] < 1.0
    V = par[LZ.P_V]
    boxes = W[:-1] * (tl[1:] - tl[:-1])  # slots 1 .. n-2
    top = W[-1] * (fh[-1, 1] - tl[-1])
    assert fh[-1, 1] >= 1.0 and fh[-1, 1] - 1.0 < 1e-8
    base = tl[0] * W[0] + (d.cdf(L[0]) + d.sf(R[0])) / fmode
    areas = np.r_[base, boxes, top]
    rel = np.abs(areas / V - 1.0)
    print(f"\nsigma={s}: {n} slots, max |area/V - 1| = {rel.max():.2e} "
          f"(base {rel[0]:.1e}, top {rel[-1]:.1e}); n V / M = {n * V * fmode:.6f}")
    assert rel.max() < 1e-9
    assert n * V * fmode >= 1.0  # the boxes cover the whole density
    # base slot's virtual width and the strip threshold
    vw = np.int64(zt[0, 1]).view(np.float64) * 2.0**52
    assert vw == pytest.approx(V / tl[0], rel=1e-14)
    assert abs(zt[0, 3] / 2.0**52 - W[0] / vw) <= 2.0**-52
    # cores: u52 in [klo, klo + kspan) maps into [L_j, R_j] (up to rounding)
    klo = zt[1:n - 1, 2].astype(np.float64)
    khi = klo + zt[1:n - 1, 3]
    x_lo = L[:-1] + klo * W[:-1] / 2.0**52
    x_hi = L[:-1] + (khi - 1) * W[:-1] / 2.0**52
    assert np.all(x_lo >= L[1:] * (1 - 1e-15)) and np.all(x_hi <= R[1:] * (1 + 1e-15))
    assert np.all(h(x_lo) >= fh[1:n - 1, 1] * (1 - 1e-12))
    assert np.all(h(x_hi) >= fh[1:n - 1, 1] * (1 - 1e-12))
    assert zt[n - 1, 3] == 0  # top box: always the slow path


@pytest.mark.parametrize("s", SIGMAS)
def test_fast_path_acceptance(s, record_property, tables):
    zt, fh, par = tables(s)
    acc = LZ.fast_acceptance(zt)
    n = 2_000_000
    rej = _count_rejections(np.uint64(21), n, zt)
    p = stats.binomtest(int(rej), n, 1.0 - acc).pvalue
    record_property(f"fast_acceptance_sigma_{s}", acc)
    print(f"\nsigma={s}: fast-path acceptance {acc:.5f} (table), {1 - rej / n:.5f} "
          f"(measured, {n} words)")
    assert p > ALPHA
    assert acc > 0.99


@pytest.mark.parametrize("s", [0.3, 2.0])
def test_batch_equals_reference(s, tables):
    """The SIMD pass with its reject list gives the same values and scalar state as the plain
    NaN-marking two-pass loop."""
    zt, fh, par = tables(s)
    a, sa = _batched(np.uint64(7), 300_001, BATCH, zt, fh, par, False)
    b, sb = _batched(np.uint64(7), 300_001, BATCH, zt, fh, par, True)
    assert np.array_equal(a, b) and np.array_equal(sa, sb)


def test_simd_pass_matches_candidate(tables):
    zt, fh, par = tables(1.0)
    rng = np.random.default_rng(2)
    words = rng.integers(0, 2**63, 50_003, dtype=np.uint64) * np.uint64(2) \
        + rng.integers(0, 2, 50_003, dtype=np.uint64)
    # force many rejections: the top slot and slot 0 beyond the strip
    words[::7] = (words[::7] & ~np.uint64(2047)) | np.uint64(2047)
    for n in (0, 1, 3, 4, 5, 1023, 50_003):
        assert _passes_agree(words, n, zt)


def test_tables_are_checked():
    for s in (0.01, 0.5, 1.5, 3.0):
        LZ.lognormal_tables(s)
    for bad in (0.0, -1.0, 3.01, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            LZ.lognormal_tables(bad)
    zt, fh, par = LZ.lognormal_tables(0.3)
    assert zt.ctypes.data % 64 == 0 and zt.flags.c_contiguous
