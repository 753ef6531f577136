"""The Monte Carlo mean agrees with the deterministic projection within 4 standard errors.

For each (year, care) the national claims of ``n`` simulations are compared with the
projection's expected CBG cost; with a bootstrap IBNR factor the comparison is conditional:
E[claims | factor_s] is the projection at each simulation's drawn factor, so the residuals
claims_s - E[claims | factor_s] have mean 0 and their sample standard deviation gives the SE.
12 comparisons at 4 SE: a false alarm about once in 1,300 runs.
"""
from __future__ import annotations

import numpy as np
import pytest

from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.projection import expected_costs
from jkn_risk.simulate import prepare_run, simulate_block

BOOT = ["utilization.inpatient.ibnr={method: bootstrap, triangle: configs/data/triangles/ip_claims_2014.csv, n_boot: 2000}",
        "utilization.outpatient.ibnr={method: bootstrap, triangle: configs/data/triangles/op_claims_2014.csv, n_boot: 2000}"]


def _check(params, n, seed_offset=0):
    sims = np.arange(seed_offset, seed_offset + n)
    ds = simulate_block(prepare_run(params), sims)
    claims = ds.claims.sum(["region", "segment"]).values.astype(float)  # (n, Y, C)
    events = ds.events.sum(["region", "segment"]).values.astype(float)
    exp = expected_costs(params, ds.ibnr_factor.values)
    exp_claims = exp["cbg_cost"].sum(axis=(2, 3))  # (n, Y, C)
    exp_events = exp["events"].sum(axis=(2, 3))
    for sim_v, exp_v in ((claims, exp_claims), (events, exp_events)):
        resid = sim_v - exp_v
        z = resid.mean(axis=0) / (resid.std(axis=0, ddof=1) / np.sqrt(n))
        assert np.all(np.abs(z) < 4), z
    return ds


@pytest.mark.parametrize("method", ["collective", "individual"])
def test_baseline_mean_matches_projection(baseline_path, method):
    overrides = [f"simulation.method={method}"]
    if method == "individual":  # individual mode: every member-year; keep it small
        overrides.append("shocks=[{target: members, multiply: 0.01}]")
    _check(build_parameters(load_config(baseline_path, overrides)), n=40 if method == "collective" else 30)


def test_baseline_with_bootstrap_ibnr_matches_conditional_projection(baseline_path):
    params = build_parameters(load_config(baseline_path, BOOT))
    ds = _check(params, n=60)
    f = ds.ibnr_factor.values
    assert f.std(axis=0).min() > 0.002  # the factor really varies between simulations
    assert set(np.unique(f[:, 0])) <= set(params.ibnr_samples[0])


@pytest.mark.slow
def test_baseline_mean_matches_projection_long(baseline_path):
    _check(build_parameters(load_config(baseline_path, BOOT)), n=1000, seed_offset=10_000)
