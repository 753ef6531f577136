"""Risk measures on small inputs with exact answers."""
import json

import numpy as np
import pytest
import xarray as xr

from jkn_risk.report import metrics as M
from tests.synthetic_results import compartment_dataset, make_results


def _one(surplus_1d, **kw):
    """A dataset with one year and one compartment around a vector of surpluses."""
    return compartment_dataset(np.asarray(surplus_1d, dtype=float)[:, None, None], **kw)


def test_p_deficit_mean_std_exact():
    s = np.array([-3.0, -1.0, 0.0, 2.0, 5.0, 7.0, -2.0, 4.0])
    m = M.risk_measures(_one(s), n_boot=20).isel(year=0, compartment=0)
    p = 3 / 8
    assert float(m["p_deficit"]) == p
    assert float(m["p_deficit_se"]) == pytest.approx(np.sqrt(p * (1 - p) / 8), rel=1e-14)
    assert float(m["surplus_mean"]) == pytest.approx(s.mean(), rel=1e-14)
    assert float(m["surplus_std"]) == pytest.approx(s.std(ddof=1), rel=1e-14)
    assert float(m["surplus_mean_se"]) == pytest.approx(s.std(ddof=1) / np.sqrt(8), rel=1e-14)
    np.testing.assert_allclose(m["surplus_quantile"].values, np.quantile(s, M.QUANTILES), rtol=1e-14)
    assert m["p_deficit"].attrs["units"] == "1" and m["surplus_mean"].attrs["units"] == "IDR"


def test_var_tvar_exact_order_statistics():
    loss = np.arange(1.0, 1001.0)                  # 1..1000
    var, tvar = M.var_tvar(loss, 0.95)
    assert var == 950.0                            # L_(ceil(950))
    assert tvar == pytest.approx(np.arange(951, 1001).mean() + 0.0, rel=1e-14)  # 950 + 25.5 = 975.5
    var, tvar = M.var_tvar(loss, 0.995)
    assert var == 995.0 and tvar == pytest.approx(998.0, rel=1e-14)
    # non-integer n*(1-a): TVaR interpolates (Acerbi-Tasche), 10 points, a = 0.95 -> VaR = max
    var, tvar = M.var_tvar(np.arange(10.0), 0.95)
    assert var == 9.0 and tvar == 9.0


def test_var_of_deficit_is_minus_surplus_quantile():
    rng = np.random.default_rng(1)
    s = rng.normal(size=1000)
    m = M.risk_measures(_one(s), n_boot=20).isel(year=0, compartment=0)
    np.testing.assert_allclose(m["deficit_var"].sel(level=0.995), np.sort(-s)[994], rtol=1e-14)
    np.testing.assert_allclose(m["deficit_var"].sel(level=0.95), np.sort(-s)[949], rtol=1e-14)
    assert np.all(m["deficit_var_se"].values > 0) and np.all(m["deficit_tvar"] >= m["deficit_var"])


def test_bootstrap_se_is_deterministic_and_paired():
    x = np.random.default_rng(2).normal(size=(3, 500))
    a = M.bootstrap_se(lambda v: v.mean(-1), x, n_boot=50, seed=7)
    b = M.bootstrap_se(lambda v: v.mean(-1), x, n_boot=50, seed=7)
    np.testing.assert_array_equal(a, b)
    # a statistic of two identical arrays resampled together has zero spread of their difference
    d = M.bootstrap_se(lambda u, v: u.mean(-1) - v.mean(-1), x, x.copy(), n_boot=50)
    np.testing.assert_array_equal(d, 0.0)


def test_total_compartment_is_sum_and_only_when_several():
    ds = make_results(16, compartments="segment")
    m = M.risk_measures(ds, n_boot=10)
    assert list(m["compartment"].values) == list(ds["compartment"].values) + ["total"]
    total = ds["surplus_compartment"].sum("compartment").mean("sim")
    xr.testing.assert_allclose(m["surplus_mean"].sel(compartment="total", drop=True), total, rtol=1e-12)
    pooled = M.risk_measures(make_results(16, compartments="pooled"), n_boot=10)
    assert list(pooled["compartment"].values) == ["national"]
    # the pooled fund and the sum of segment compartments are the same money
    np.testing.assert_allclose(pooled["surplus_mean"].sel(compartment="national"),
                               m["surplus_mean"].sel(compartment="total"), rtol=1e-12)


def test_claim_ratio_quantiles():
    ds = make_results(32, compartments="pooled")
    m = M.risk_measures(ds, n_boot=10)
    cr = (ds["medical_cost_compartment"] / ds["income_compartment"]).sel(compartment="national")
    np.testing.assert_allclose(m["claim_ratio_quantile"].sel(compartment="national").transpose("year", "quantile"),
                               cr.quantile(M.QUANTILES, dim="sim").transpose("year", "quantile"), rtol=1e-12)


def test_variance_split_exact_on_constructed_case():
    rng = np.random.default_rng(3)
    theta = rng.normal(0.0, 2.0, size=(400, 2, 1))             # parameter effect, known conditional mean
    eps = rng.normal(0.0, 1.0, size=(400, 2, 1))               # process noise
    m = M.risk_measures(compartment_dataset(5.0 + theta + eps, expected=5.0 + theta), n_boot=10)
    np.testing.assert_allclose(m["var_parameter"].values[:, 0], theta.var(axis=0, ddof=1)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(m["var_process"].values[:, 0], (eps**2).mean(axis=0)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(m["var_total"].values[:, 0], (theta + eps).var(axis=0, ddof=1)[:, 0], rtol=1e-12)
    share = m["parameter_share"].values
    assert np.all((share > 0.7) & (share < 0.9))               # true share 4/5


def test_variance_split_uses_surplus_before_regional_share():
    rng = np.random.default_rng(4)
    pre = rng.normal(0.0, 1.0, size=(200, 1, 1))
    share = 0.5 * np.maximum(-pre, 0.0)
    m = M.risk_measures(compartment_dataset(pre + share, expected=np.zeros_like(pre), share=share), n_boot=10)
    assert float(m["var_total"].squeeze()) == pytest.approx(pre.var(ddof=1), rel=1e-12)
    assert float(m["var_process"].squeeze()) == pytest.approx((pre**2).mean(), rel=1e-12)
    assert float(m["p_deficit"].squeeze()) == pytest.approx((pre < 0).mean())   # fund still bears half


def test_variance_split_nan_without_expected():
    m = M.risk_measures(_one(np.arange(-5.0, 5.0)), n_boot=10)
    assert np.isnan(m["var_parameter"]).all() and np.isfinite(m["var_total"]).all()


def test_scenario_dim_and_lazy_input():
    ds = make_results(24, scenarios={"base": {}, "util": {"util": 1.1}}, compartments="segment")
    m = M.risk_measures(ds, n_boot=10)
    assert set(m["p_deficit"].dims) == {"scenario", "year", "compartment"}
    m0 = M.risk_measures(ds.sel(scenario="base"), n_boot=10)
    xr.testing.assert_allclose(m.sel(scenario="base", drop=True), m0)
    pytest.importorskip("dask")
    xr.testing.assert_allclose(M.risk_measures(ds.chunk({"sim": 8}), n_boot=10), m)


def test_nan_compartment_gives_nan_and_total_skips_it():
    s = np.random.default_rng(5).normal(size=(50, 1, 2))
    s[:, :, 1] = np.nan                                        # compartment absent from this run
    m = M.risk_measures(compartment_dataset(s, compartments=("a", "b")), n_boot=10).isel(year=0)
    assert np.isnan(m["p_deficit"].sel(compartment="b")) and np.isnan(m["deficit_var"].sel(compartment="b")).all()
    assert float(m["surplus_mean"].sel(compartment="total")) == pytest.approx(s[:, 0, 0].mean())


def test_to_frame_and_json_records():
    m = M.risk_measures(make_results(16), n_boot=10)
    recs = json.loads(M.to_json(m))
    assert isinstance(recs, list) and len(recs) == m.sizes["year"] * m.sizes["compartment"]
    keys = {"year", "compartment", "p_deficit", "p_deficit_se", "surplus_mean", "surplus_mean_se", "surplus_std",
            "surplus_q0.005", "surplus_q0.995", "deficit_var_95", "deficit_var_99.5", "deficit_var_se_99.5",
            "deficit_tvar_99.5", "deficit_tvar_se_95", "claim_ratio_q0.5", "var_parameter", "var_process",
            "parameter_share"}
    assert keys <= set(recs[0])
    assert isinstance(recs[0]["year"], int) and isinstance(recs[0]["compartment"], str)


def test_pd_by_region_segment_cumulative_and_one_year():
    ds = make_results(20)
    res = M.pd_by_region_segment(ds)
    exp = (ds["surplus"].sum("year") < 0).mean("sim")
    xr.testing.assert_allclose(res["p_deficit"], exp.transpose(*res["p_deficit"].dims))
    one = M.pd_by_region_segment(ds, year=2016)
    exp1 = (ds["surplus"].sel(year=2016, drop=True) < 0).mean("sim")
    np.testing.assert_allclose(one["p_deficit"].transpose("region", "segment"), exp1.transpose("region", "segment"))
    assert set(res["p_deficit_se"].dims) == {"region", "segment"}


def test_pd_convergence_running_mean():
    s = np.array([-1.0, 1.0, -1.0, -1.0])
    c = M.pd_convergence(_one(s), 2014, "national")
    np.testing.assert_allclose(c["p_deficit"], [1.0, 0.5, 2 / 3, 0.75])
    np.testing.assert_allclose(c["p_deficit_se"], np.sqrt(np.array([0, 0.25 / 2, 2 / 9 / 3, 0.1875 / 4])))
    assert list(c["n"].values) == [1, 2, 3, 4]


@pytest.mark.parametrize("n", [7, 200, 1000])
def test_windowed_bootstrap_equals_direct_resampling(n):
    rng = np.random.default_rng(n)
    loss = rng.normal(size=(3, 2, n))
    loss[0, 0, : n // 2] = 1.0                                 # ties
    reps = M.bootstrap_var_tvar(loss, M.LEVELS, n_boot=30, seed=9)
    direct = np.stack([M._var_tvar_stack(loss[..., idx], M.LEVELS) for idx in M._resamples(n, 30, 9)])
    np.testing.assert_allclose(reps, direct, rtol=1e-12, atol=1e-12)
    se = M.bootstrap_se(lambda a: M._var_tvar_stack(a, M.LEVELS), loss, n_boot=30, seed=9)
    np.testing.assert_allclose(reps.std(axis=0, ddof=1), se, rtol=1e-10, atol=1e-12)
