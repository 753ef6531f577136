"""Self-consistency of the back-test machinery: actuals drawn from the model itself are calibrated.

A synthetic results Dataset (the store's schema, known distributions) holds K = 1,000 disjoint
groups of 202 independent simulations. In each group simulation 0 is held out as the 'truth' and
scored against the other m = 201 through :func:`model_series` and :func:`score_ensemble`, as the
CLI scores published actuals. The groups are disjoint, so the K truths are independent.

What the machinery must give when the truth is one more draw of the model (H0):

* the mid-rank PIT is uniform on the grid (r + 1/2) / 202, r = 0..201, exactly: a chi-square
  test with 10 bins, expected counts from that grid, at a family-wise false-alarm rate of 0.001
  over the 7 variables x 3 years (Bonferroni: 0.001 / 21 each; 100 expected per bin, where the
  chi-square approximation is good);
* the central 90% band [q05, q95] covers it with probability 180/202 = 0.891 exactly (numpy's
  q05 and q95 of 201 values are the 11th and 191st order statistics; the finite-ensemble rate
  differs from the nominal 0.9 by less than one binomial SE), and the 50% band with 100/202;
  each rate within z binomial SEs, z for the same family-wise 0.001 (two-sided).

And the tests can fail: a truth with twice the model's variance, or shifted by half a standard
deviation, is rejected (p < 1e-6).
"""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from jkn_risk.report.actuals import VARIABLES
from jkn_risk.report.backtest import model_series, score_ensemble

K, GROUP = 1000, 202            # independent truths; 1 truth + m = 201 simulations per group
M = GROUP - 1
YEARS = (2014, 2015, 2016)
ALPHA = 0.001                   # family-wise false-alarm rate of each family of checks below
N_CHECKS = len(VARIABLES) * len(YEARS)
Z = stats.norm.isf(ALPHA / (2 * N_CHECKS))
EDGES = np.linspace(0.0, 1.0, 11)
GRID_P = np.histogram((np.arange(GROUP) + 0.5) / GROUP, bins=EDGES)[0] / GROUP   # exact H0 bin probabilities


def _synthetic(n_sims: int, seed: int) -> xr.Dataset:
    """Results with the store's schema and independent, continuous simulations (no ties)."""
    rng = np.random.default_rng(seed)
    ny, regions, segments = len(YEARS), ("R1", "R2"), ("PBI-APBN", "PPU")
    base = np.array([[60e6, 15e6], [25e6, 8e6]])                                     # (region, segment)
    growth = np.cumsum(rng.normal(0.05, 0.03, (n_sims, ny, 1, 1)), axis=1)          # persistent paths
    members = base * np.exp(growth + rng.normal(0, 0.01, (n_sims, ny, 2, 2)))
    seg_members = members.sum(axis=2)                                                # (sim, year, segment)
    pmpm = np.array([23_000.0, 60_000.0]) * np.exp(rng.normal(0, 0.04, (n_sims, 1, 2)))
    income = 12 * seg_members * pmpm
    ratio = np.exp(rng.normal([0.05, -0.2], 0.08, (n_sims, ny, 2)) + rng.normal(0, 0.05, (n_sims, 1, 1)))
    cost = income * ratio
    net_assets = np.cumsum(income - cost, axis=1) + rng.normal(0, 1e12, (n_sims, ny, 2))
    dims = ("sim", "year", "compartment")
    return xr.Dataset(
        {"income_compartment": (dims, income), "medical_cost_compartment": (dims, cost),
         "net_assets": (dims, net_assets),
         "members_drawn": (("sim", "year", "region", "segment"), members),
         "members": (("year", "region", "segment"), members.mean(axis=0))},
        coords={"sim": np.arange(n_sims), "year": np.array(YEARS), "region": list(regions),
                "segment": list(segments), "compartment": list(segments)})


@pytest.fixture(scope="module")
def held_out():
    """Per variable: (truth (K, year), ensemble (K, year, M)) with the truth held out of each group."""
    ds = _synthetic(K * GROUP, seed=20140101)
    out = {}
    for var in VARIABLES:
        s = model_series(ds, var).values.reshape(K, GROUP, len(YEARS))
        out[var] = (s[:, 0, :], np.moveaxis(s[:, 1:, :], 1, -1))
    return out


def _scores(truth: np.ndarray, ens: np.ndarray) -> dict:
    flat = score_ensemble(ens.reshape(-1, M), truth.reshape(-1))
    return {k: v.reshape(truth.shape) for k, v in flat.items()}


def _chi2_p(pits: np.ndarray) -> float:
    counts = np.histogram(pits, bins=EDGES)[0]
    return float(stats.chisquare(counts, GRID_P * pits.size).pvalue)


@pytest.mark.parametrize("variable", list(VARIABLES))
def test_pit_of_held_out_simulations_is_uniform(held_out, variable):
    s = _scores(*held_out[variable])
    grid = (np.arange(GROUP) + 0.5) / GROUP
    assert np.isin(s["pit"], grid).all()  # continuous draws: no ties, every PIT on the H0 grid
    for j, year in enumerate(YEARS):
        p = _chi2_p(s["pit"][:, j])
        assert p > ALPHA / N_CHECKS, f"{variable} {year}: PIT not uniform (chi-square p = {p:.2g})"


@pytest.mark.parametrize("variable", list(VARIABLES))
def test_coverage_of_held_out_simulations(held_out, variable):
    s = _scores(*held_out[variable])
    for key, p0 in (("covered_90", 180 / GROUP), ("covered_50", 100 / GROUP)):
        se = np.sqrt(p0 * (1 - p0) / K)
        for j, year in enumerate(YEARS):
            rate = s[key][:, j].mean()
            assert abs(rate - p0) < Z * se, f"{variable} {year}: {key} {rate:.3f}, expected {p0:.3f} +- {Z:.2f} SE"
    # and the exact finite-ensemble rate is within one binomial SE of the nominal 90%
    assert abs(180 / GROUP - 0.9) < np.sqrt(0.09 / K)


@pytest.mark.parametrize("name, perturb", [
    ("twice the variance", lambda t, sd, z: t + sd * z),   # t + an independent N(0, sd^2)
    ("shifted by sd / 2", lambda t, sd, z: t + 0.5 * sd),
])
def test_miscalibrated_truth_is_rejected(held_out, name, perturb):
    truth, ens = held_out["benefit_cost"]
    sd = ens.std(axis=-1, ddof=1)
    z = np.random.default_rng(1).standard_normal(truth.shape)
    s = _scores(perturb(truth, sd, z), ens)
    assert _chi2_p(s["pit"][:, 1]) < 1e-6, name
    if name == "twice the variance":  # P(|N(0, 2)| < 1.645) = 0.755: far below 180/202
        assert s["covered_90"][:, 1].mean() < 180 / GROUP - Z * np.sqrt(0.891 * 0.109 / K)
