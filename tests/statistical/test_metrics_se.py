"""Risk measures against theory, and the Monte Carlo standard errors against the observed spread.

Fixed seeds throughout: each test is deterministic; the tolerances are what sampling theory allows.
"""
import numpy as np
import xarray as xr
from scipy import stats

from jkn_risk.report import metrics as M
from jkn_risk.report.stress import compare_scenarios
from tests.synthetic_results import compartment_dataset

MU, SIGMA = 0.4, 1.0         # surplus ~ N(MU, SIGMA); loss = -surplus ~ N(-MU, SIGMA)


def _normal_tvar(level):
    z = stats.norm.ppf(level)
    return -MU + SIGMA * stats.norm.pdf(z) / (1 - level)


def _replicates(n, r, seed):
    """``r`` independent samples of ``n`` surpluses, stored as ``r`` compartments."""
    s = np.random.default_rng(seed).normal(MU, SIGMA, size=(n, 1, r))
    return compartment_dataset(s, compartments=[f"rep{i}" for i in range(r)])


def test_measures_match_the_normal_within_4_se():
    m = M.risk_measures(_replicates(20_000, 1, seed=21), n_boot=200).isel(year=0, compartment=0)
    p_true = stats.norm.cdf(-MU / SIGMA)
    assert abs(float(m["p_deficit"]) - p_true) < 4 * float(m["p_deficit_se"])
    assert abs(float(m["surplus_mean"]) - MU) < 4 * float(m["surplus_mean_se"])
    for level in M.LEVELS:
        var_true = -MU + SIGMA * stats.norm.ppf(level)
        est, se = float(m["deficit_var"].sel(level=level)), float(m["deficit_var_se"].sel(level=level))
        assert abs(est - var_true) < 4 * se, (level, est, var_true, se)
        est, se = float(m["deficit_tvar"].sel(level=level)), float(m["deficit_tvar_se"].sel(level=level))
        assert abs(est - _normal_tvar(level)) < 4 * se, (level, est, _normal_tvar(level), se)
        # the bootstrap SE agrees with the asymptotic one, sqrt(Var((L - VaR)^+)) / ((1 - a) sqrt(n))
        z = stats.norm.ppf(level)
        second = SIGMA**2 * ((1 + z * z) * stats.norm.sf(z) - z * stats.norm.pdf(z))      # E[((X-q)^+)^2]
        first = SIGMA * (stats.norm.pdf(z) - z * stats.norm.sf(z))                           # E[(X-q)^+]
        asym = np.sqrt(second - first**2) / ((1 - level) * np.sqrt(20_000))
        assert 0.75 < se / asym < 1.33, (level, se, asym)


def test_reported_standard_errors_match_the_spread_over_replications():
    r, n = 500, 2000
    m = M.risk_measures(_replicates(n, r, seed=22), include_total=False, n_boot=200).isel(year=0)
    rel = 1 / np.sqrt(2 * (r - 1))            # relative SE of a standard deviation from r normal replicates
    checks = {"p_deficit": m["p_deficit_se"], "surplus_mean": m["surplus_mean_se"]}
    for level in M.LEVELS:
        checks[("deficit_var", level)] = m["deficit_var_se"].sel(level=level)
        checks[("deficit_tvar", level)] = m["deficit_tvar_se"].sel(level=level)
    for key, se in checks.items():
        est = m[key] if isinstance(key, str) else m[key[0]].sel(level=key[1])
        ratio = float(est.std(ddof=1)) / float(se.mean())
        # 3 sampling SEs, plus 10% for the bootstrap's known small-sample bias on tail quantiles
        assert abs(ratio - 1) < 3 * rel + 0.10, (key, ratio)


def _paired(n, r, seed):
    rng = np.random.default_rng(seed)
    base = rng.normal(MU, SIGMA, size=(n, 1, r))
    scen = 1.05 * base - 0.1 + 0.05 * rng.normal(size=base.shape)     # strongly correlated with the base
    ds = compartment_dataset(base, compartments=[f"rep{i}" for i in range(r)])
    sc = xr.concat([ds["surplus_compartment"], ds["surplus_compartment"].copy(data=scen)], dim="scenario")
    return ds.assign(surplus_compartment=sc.assign_coords(scenario=["base", "shock"]))


def test_paired_difference_se_matches_spread_and_beats_unpaired():
    r, n = 400, 2000
    df = compare_scenarios(_paired(n, r, seed=23), 2014, n_boot=200)
    d = df[(df["scenario"] == "shock") & (df["compartment"] != M.TOTAL)]
    rel = 1 / np.sqrt(2 * (r - 1))
    for col in ("mean_surplus_diff", "p_deficit_diff", "var_995_diff"):
        ratio = d[col].std(ddof=1) / d[f"{col}_se"].mean()
        assert abs(ratio - 1) < 3 * rel + 0.10, (col, ratio)
        assert (d[f"{col}_se"] < d[f"{col}_se_unpaired"]).all(), col
    assert (d["mean_surplus_diff_se_unpaired"] / d["mean_surplus_diff_se"]).median() > 5
    # truth of the mean change: 0.05 * MU - 0.1
    assert abs(d["mean_surplus_diff"].mean() - (0.05 * MU - 0.1)) < 4 * d["mean_surplus_diff_se"].mean() / np.sqrt(r)
