"""Limited expected values under the per-member cap (:mod:`jkn_risk.limited_value`).

Against closed forms (one tariff: ``E[min(t N, c)] = sum_n P(N = n) min(n t, c)``) and an
independent numpy Monte Carlo of members' totals (case groups, lognormal noise, Poisson / NB
counts). Tolerances: the lattice bound ``E[N] h`` (each amount moves less than ``h`` and
``min(., u)`` is 1-Lipschitz) plus, against Monte Carlo, 4 standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import nbinom, poisson

from jkn_risk.codes import FREQ_NEGBIN, FREQ_POISSON
from jkn_risk.config import load_config
from jkn_risk.limited_value import (GRID, _count_pmf, build_limited_value, expected_capped_claims,
                                    limited_curves, severity_lattice)
from jkn_risk.parameters import build_parameters

from tests.conftest import ROOT

TINY = ROOT / "tests" / "data" / "tiny.yaml"
LAWS = [(FREQ_POISSON, 0.0), (FREQ_NEGBIN, 1.5)]


def limited(tariff, prob, sigma, lam, freq, disp, cap, top):
    """E[min(S, cap)] from the lattice on [0, top] and the lattice step."""
    h = top / GRID
    curves, _ = limited_curves(severity_lattice(tariff, prob, sigma, h, GRID), h, 60)
    u = cap / h
    k = int(u)
    g = curves[:, k] + (u - k) * (curves[:, k + 1] - curves[:, k])
    return float(_count_pmf(60, np.array([lam]), freq, disp)[0] @ g), h


def exact_one_tariff(t, lam, freq, disp, cap):
    n = np.arange(400)
    pmf = nbinom.pmf(n, 1 / disp, 1 / (1 + disp * lam)) if freq == FREQ_NEGBIN else poisson.pmf(n, lam)
    return float(pmf @ np.minimum(n * t, cap))


@pytest.mark.parametrize("freq,disp", LAWS)
@pytest.mark.parametrize("t", [5_000_000.0, 7_312_345.0])  # on the lattice / between points
def test_one_tariff_matches_the_closed_form(freq, disp, t):
    lam, cap = 0.9, 20e6
    got, h = limited(np.array([t]), np.array([1.0]), 0.0, lam, freq, disp, cap, 4 * cap)
    want = exact_one_tariff(t, lam, freq, disp, cap)
    assert abs(got - want) <= lam * h + 1e-9 * want
    assert got <= want * (1 + 1e-12)  # a mean-preserving spread under a concave min: a lower bound
    if t % h == 0:  # amounts exactly on the lattice: no discretisation at all
        assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 1.0])
def test_lattice_law_keeps_mass_and_mean(sigma):
    rng = np.random.default_rng(5)
    t = rng.lognormal(np.log(2e6), 0.8, 40).round()
    p = rng.dirichlet(np.ones(40))
    top = t.max() * np.exp(9 * max(sigma, 0.1))  # nothing lumped
    h = top / GRID
    f = severity_lattice(t, p, sigma, h, GRID)
    assert f.sum() == pytest.approx(1.0, abs=1e-12)
    assert f.min() >= -GRID * np.finfo(float).eps  # round-off of the moment split at point ~GRID
    assert (f * np.arange(GRID + 1) * h).sum() == pytest.approx(t @ p, rel=1e-10)


@pytest.mark.parametrize("freq,disp", LAWS)
def test_mixture_with_noise_matches_monte_carlo(freq, disp):
    rng = np.random.default_rng(11)
    k, sigma, lam, cap, m = 60, 0.3, 1.3, 20e6, 400_000
    t = rng.lognormal(np.log(3e6), 1.0, k).round()
    p = rng.dirichlet(np.ones(k))
    got, h = limited(t, p, sigma, lam, freq, disp, cap, cap / 0.25)
    if freq == FREQ_NEGBIN:
        counts = rng.negative_binomial(1 / disp, 1 / (1 + disp * lam), m)
    else:
        counts = rng.poisson(lam, m)
    member = np.repeat(np.arange(m), counts)
    amounts = t[rng.choice(k, member.size, p=p)] * rng.lognormal(-sigma ** 2 / 2, sigma, member.size)
    total = np.bincount(member, weights=amounts, minlength=m)
    x = np.minimum(total, cap)
    se = x.std(ddof=1) / np.sqrt(m)
    assert (total > cap).mean() > 0.01  # the cap binds
    assert abs(got - x.mean()) <= 4 * se + lam * h, (got, x.mean(), se)


def test_a_cap_that_never_binds_gives_the_uncapped_expectation():
    params = build_parameters(load_config(TINY, ["policy.annual_benefit_cap=1e13",
                                                 "case_mix.cost_noise_sigma=0.3"]))
    lv = build_limited_value(params)
    assert lv is not None and lv.curves
    rng = np.random.default_rng(3)
    n, (Y, R, S, C) = 4, params.shape
    members = params.members[None] * rng.uniform(0.8, 1.2, (n, Y, R, S))
    rate = params.rate[None] * rng.uniform(0.8, 1.2, (n, Y, R, S, C))
    scale = rng.uniform(0.7, 1.3, (n, Y, R, S, C))
    uncapped = members[..., None] * rate * params.mean_cost_per_case()[None] * scale
    got = expected_capped_claims(lv, params, members, rate, scale, uncapped)
    # The lattice uses multiplier x base tariff, the kernel (and ``uncapped``) the integer
    # tariffs: at most half a rupiah apart per event.
    tariffs = params.tariffs()
    rtol = 0.5 / tariffs[tariffs > 0].min()
    np.testing.assert_allclose(got, uncapped, rtol=rtol)


def test_binding_cap_lowers_every_capped_cell_and_no_cap_builds_nothing():
    assert build_limited_value(build_parameters(load_config(TINY))) is None
    params = build_parameters(load_config(TINY, ["policy.annual_benefit_cap=20000000"]))
    lv = build_limited_value(params)
    n, (Y, R, S, C) = 1, params.shape
    members, rate = params.members[None], params.rate[None]
    scale = np.ones((n, Y, R, S, C))
    uncapped = members[..., None] * rate * params.mean_cost_per_case()[None]
    got = expected_capped_claims(lv, params, members, rate, scale, uncapped)
    capped = np.array(params.cap_care)
    tariffs = params.tariffs()
    rtol = 0.5 / tariffs[tariffs > 0].min()  # integer tariffs vs multiplier x base tariff
    assert np.all(got[..., capped] <= uncapped[..., capped] * (1 + rtol))
    assert np.any(got[..., capped] < 0.9 * uncapped[..., capped])  # the cap binds somewhere
    assert np.array_equal(got[..., ~capped], uncapped[..., ~capped])
