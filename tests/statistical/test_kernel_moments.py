"""Kernel outputs against exact laws: compound moments, capped cost by FFT, case-group mix."""
import numpy as np
import pytest
from scipy import stats

from tests.kernel_reference import ad_pvalue as _ad_pvalue

from jkn_risk.kernels import claims as K
from tests.kernel_reference import (
    compound_cumulants,
    mean_var_z,
    member_total_pmf,
    one_cell,
    severity_moments,
)

Z = 4.0
ALPHA = 1e-3
PROBS = np.array([0.45, 0.25, 0.15, 0.1, 0.05])
UNIT = 250_000  # tariffs on a lattice of 250,000 IDR, so member totals live on that lattice
LATTICE = np.array([1, 2, 4, 8, 40])
TARIFF = LATTICE * UNIT

CASES = [
    pytest.param(K.FREQ_POISSON, 1.0, 0.0, id="poisson"),
    pytest.param(K.FREQ_POISSON, 1.0, 0.3, id="poisson-noise"),
    pytest.param(K.FREQ_NEGBIN, 1.0, 0.0, id="negbin"),
    pytest.param(K.FREQ_NEGBIN, 2.5, 0.3, id="negbin-noise"),
]


@pytest.mark.parametrize("method", [K.METHOD_INDIVIDUAL, K.METHOD_COLLECTIVE])
@pytest.mark.parametrize("freq,disp,sigma", CASES)
def test_events_and_cost_moments(freq, disp, sigma, method):
    m, rate, n_sim = 20_000, 0.3, 4_000
    out = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=n_sim, frequency=freq,
                   dispersion=disp, sigma=sigma, method=method, seed=101)
    # Events: X = 1.
    k = compound_cumulants(m, rate, freq, disp, [1.0, 1.0, 1.0, 1.0])
    zm, zv = mean_var_z(out[:, K.OUT_EVENTS], k[0], k[1], k[3])
    assert abs(zm) < Z and abs(zv) < Z, (zm, zv)
    # Uncapped cost; rounding to the rupiah shifts moments by far less than one SE.
    k = compound_cumulants(m, rate, freq, disp, severity_moments(PROBS, TARIFF, sigma))
    zm, zv = mean_var_z(out[:, K.OUT_CLAIMS_UNCAPPED], k[0], k[1], k[3])
    assert abs(zm) < Z and abs(zv) < Z, (zm, zv)


@pytest.mark.parametrize("freq,disp", [(K.FREQ_POISSON, 1.0), (K.FREQ_NEGBIN, 1.5)])
@pytest.mark.parametrize("cap_units", [3, 9, 41])
def test_capped_cost_and_members_over_cap_against_fft(freq, disp, cap_units):
    m, rate, n_sim = 50_000, 0.6, 400
    cap = cap_units * UNIT
    out = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=n_sim, frequency=freq,
                   dispersion=disp, cap=cap, seed=202)
    pmf = member_total_pmf(PROBS, LATTICE, rate, freq, disp)
    x = np.arange(pmf.size)
    exact_capped = np.sum(pmf * np.minimum(x, cap_units)) * UNIT  # per member
    p_over = pmf[cap_units + 1:].sum()
    exact_mw = 1.0 - pmf[0]
    per_member = out[:, K.OUT_CLAIMS] / m
    se = per_member.std(ddof=1) / np.sqrt(n_sim)
    assert abs(per_member.mean() - exact_capped) < Z * se
    over = out[:, K.OUT_MEMBERS_OVER_CAP]
    se_over = np.sqrt(m * p_over * (1 - p_over) / n_sim)  # exact: Binomial(m, p_over) per sim
    assert abs(over.mean() - m * p_over) < Z * se_over
    mw = out[:, K.OUT_MEMBERS_WITH_EVENTS]
    assert abs(mw.mean() - m * exact_mw) < Z * np.sqrt(m * exact_mw * (1 - exact_mw) / n_sim)


@pytest.mark.parametrize("method", [K.METHOD_INDIVIDUAL, K.METHOD_COLLECTIVE])
@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_case_group_frequencies_chi_square(method, sigma):
    """Tariffs 10^(3g) encode the per-group counts in the uncapped total (sigma = 0 exactly);
    with noise the events are checked through a one-group-at-a-time comparison of means."""
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    m, rate, n_sim = 1_000, 0.5, 2_000
    if sigma == 0.0:
        tariff = 1000 ** np.arange(4)
        out = one_cell(probs, tariff, members=m, rate=rate, n_sim=n_sim, method=method, seed=9)
        tot = out[:, K.OUT_CLAIMS_UNCAPPED]
        counts = np.stack([(tot // 1000**g) % 1000 for g in range(4)], axis=1)
        np.testing.assert_array_equal(counts.sum(axis=1), out[:, K.OUT_EVENTS])
        obs = counts.sum(axis=0)
        assert stats.chisquare(obs, probs * obs.sum()).pvalue > ALPHA
    else:
        # Indicator tariffs: cost = noise-weighted count of group g; mean = p_g * events * 1e6.
        for g in range(4):
            tariff = np.where(np.arange(4) == g, 1_000_000, 0)
            out = one_cell(probs, tariff, members=m, rate=rate, n_sim=n_sim, method=method,
                           sigma=sigma, seed=10 + g)
            n = out[:, K.OUT_EVENTS].sum()
            x = out[:, K.OUT_CLAIMS_UNCAPPED].sum() / 1e6
            var = n * probs[g] * (np.exp(sigma**2) - probs[g])  # per-event E[Y^2] - E[Y]^2
            assert abs(x - n * probs[g]) < Z * np.sqrt(var)


def test_alias_sampling_with_many_skewed_groups():
    """1,077 skewed groups, one-group cell tariffs summed per group via indicator cells."""
    rng = np.random.default_rng(1)
    k = 1077
    probs = rng.pareto(1.2, k) + 0.01
    probs /= probs.sum()
    # Group g costs g rupiah: the mean and variance of the group index over all events.
    out = one_cell(probs, np.arange(k), members=200_000, rate=0.5, n_sim=200, seed=33)
    n = out[:, K.OUT_EVENTS].sum()
    mean_g = probs @ np.arange(k)
    var_g = probs @ np.arange(k) ** 2 - mean_g**2
    got = out[:, K.OUT_CLAIMS_UNCAPPED].sum() / n
    assert abs(got - mean_g) < Z * np.sqrt(var_g / n)


@pytest.mark.parametrize("freq,disp,sigma", CASES)
def test_individual_and_collective_agree_without_cap(freq, disp, sigma):
    kw = dict(members=30_000, rate=0.4, n_sim=1_500, frequency=freq, dispersion=disp,
              sigma=sigma)
    ind = one_cell(PROBS, TARIFF, method=K.METHOD_INDIVIDUAL, seed=5, **kw)
    col = one_cell(PROBS, TARIFF, method=K.METHOD_COLLECTIVE, seed=6, **kw)
    for j in (K.OUT_EVENTS, K.OUT_CLAIMS_UNCAPPED):
        assert stats.ks_2samp(ind[:, j], col[:, j]).pvalue > ALPHA
        assert _ad_pvalue(ind[:, j], col[:, j]) > ALPHA
    assert (col[:, K.OUT_MEMBERS_WITH_EVENTS] == -1).all()
    np.testing.assert_array_equal(col[:, K.OUT_CLAIMS], col[:, K.OUT_CLAIMS_UNCAPPED])


@pytest.mark.slow
@pytest.mark.parametrize("freq,disp,sigma", CASES)
def test_events_and_cost_moments_long(freq, disp, sigma):
    m, rate, n_sim = 200_000, 0.3, 40_000
    for method in (K.METHOD_INDIVIDUAL, K.METHOD_COLLECTIVE):
        out = one_cell(PROBS, TARIFF, members=m, rate=rate, n_sim=n_sim, frequency=freq,
                       dispersion=disp, sigma=sigma, method=method, seed=303)
        k = compound_cumulants(m, rate, freq, disp, severity_moments(PROBS, TARIFF, sigma))
        zm, zv = mean_var_z(out[:, K.OUT_CLAIMS_UNCAPPED], k[0], k[1], k[3])
        assert abs(zm) < Z and abs(zv) < Z, (zm, zv)
