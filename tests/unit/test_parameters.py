"""Parameters and projection: exact answers on the baseline's own numbers."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from jkn_risk.config import load_config, schedule_annual, trend_index
from jkn_risk.parameters import _lognormal_capped_mean, build_parameters
from jkn_risk.projection import project

IP_CASES = np.array([2_689_305, 655_825, 1_358_497, 101_935, 343_206])
IP_PAID = np.array([13_958_815, 3_048_155, 6_092_628, 508_245, 1_361_257]) * 1e6


@pytest.fixture(scope="module")
def base(baseline_path):
    return load_config(baseline_path)


def test_schedule_annual_blends_months():
    assert schedule_annual({2014: 19_225, "2019-08": 42_000}, [2018, 2019]) == \
        [19_225, pytest.approx((7 * 19_225 + 5 * 42_000) / 12)]


def test_trend_index_compounds_from_base():
    assert trend_index({2016: 0.07, 2018: 0.08}, [2014, 2015, 2016, 2017, 2018], 2014) == \
        pytest.approx([1, 1, 1.07, 1.07, 1.07 * 1.08])


def test_capped_lognormal_mean_matches_quadrature():
    mean, cv, cap = 2.4e6, 0.4, 4.725e6
    s = np.sqrt(np.log(1 + cv**2))
    dist = stats.lognorm(s, scale=mean * np.exp(-s**2 / 2))
    exact = integrate.quad(lambda w: min(w, cap) * dist.pdf(w), 0, 20 * mean, limit=200)[0]
    assert _lognormal_capped_mean(mean, cv, cap) == pytest.approx(exact, rel=1e-7)


def test_expected_events_are_members_times_rate(base):
    p = build_parameters(base)
    ds = project(base)
    ev = ds.events.sel(year=2014, care="inpatient").sum("segment").values
    members_r = p.members[0].sum(axis=1)
    rates = np.array([3.239, 3.333, 4.505, 4.161, 2.648])
    np.testing.assert_allclose(p.ibnr_factor[0], 1.069, rtol=1e-6)  # chain-ladder of the triangle
    np.testing.assert_allclose(ev, members_r * rates * 12 / 1000 * p.ibnr_factor[0], rtol=1e-12)


def test_base_year_mean_cost_per_case_is_the_seed_mean(base):
    """Relativities are rebased: the 2014 mean cost per IP case per region is Table 4 / Table 3."""
    ds = project(base).sel(year=2014, care="inpatient")
    mean = (ds.cbg_cost.sum("segment") / ds.events.sum("segment")).values
    np.testing.assert_allclose(mean, IP_PAID / IP_CASES, rtol=2e-6)  # tariff rounding to 1 IDR


def test_rebasing_keeps_base_year_totals(baseline_path):
    plain = project(load_config(baseline_path)).sel(year=2014)
    rel = project(load_config(baseline_path, [
        "utilization.inpatient.segment_relativity={PBPU: 3.9, PPU: 0.8}",
        "case_mix.segment_cost_relativity={PBPU: 1.3}"])).sel(year=2014)
    np.testing.assert_allclose(rel.events.sum(["segment"]), plain.events.sum(["segment"]), rtol=1e-12)
    np.testing.assert_allclose(rel.cbg_cost.sum(), plain.cbg_cost.sum(), rtol=1e-6)
    pbpu = rel.events.sel(segment="PBPU", care="inpatient") / rel.members.sel(segment="PBPU")
    pbi = rel.events.sel(segment="PBI-APBN", care="inpatient") / rel.members.sel(segment="PBI-APBN")
    np.testing.assert_allclose(pbpu / pbi, 3.9, rtol=1e-12)


def test_standard_class_lowers_inpatient_cost_only(baseline_path):
    plain = project(load_config(baseline_path))
    std = project(load_config(baseline_path, ["policy.standard_class=true"]))
    assert float(std.cbg_cost.sel(care="inpatient").sum()) < float(plain.cbg_cost.sel(care="inpatient").sum())
    np.testing.assert_allclose(std.cbg_cost.sel(care="outpatient"), plain.cbg_cost.sel(care="outpatient"))
    np.testing.assert_allclose(std.cbg_cost.sel(segment="PBI-APBN"), plain.cbg_cost.sel(segment="PBI-APBN"),
                               rtol=1e-6)


def test_shock_mid_year_blends(baseline_path):
    plain = build_parameters(load_config(baseline_path))
    shocked = build_parameters(load_config(baseline_path, [
        "shocks=[{target: contribution, segments: [PBI-APBN], from: '2019-08', set: 42000}]"]))
    j = plain.segments.index("PBI-APBN")
    assert shocked.contribution_pmpm[-1, j] == pytest.approx((7 * 19_225 + 5 * 42_000) / 12)
    np.testing.assert_array_equal(shocked.contribution_pmpm[:-1], plain.contribution_pmpm[:-1])
    np.testing.assert_array_equal(np.delete(shocked.contribution_pmpm, j, 1), np.delete(plain.contribution_pmpm, j, 1))


def test_shock_selects_regions_and_years(baseline_path):
    plain = build_parameters(load_config(baseline_path))
    shocked = build_parameters(load_config(baseline_path, [
        "shocks=[{target: utilization, care: [inpatient], regions: [R1, R2, R3], from: 2016, multiply: 1.2}]"]))
    ratio = shocked.rate / plain.rate
    assert np.allclose(ratio[2:, :3, :, 0], 1.2) and np.allclose(ratio[:2], 1.0)
    assert np.allclose(ratio[:, 3:], 1.0) and np.allclose(ratio[..., 1], 1.0)


def test_humanitarian_fund_pays_unpaid_class3(baseline_path):
    plain = build_parameters(load_config(baseline_path))
    hum = build_parameters(load_config(baseline_path, ["policy.humanitarian_fund_share=1.0"]))
    j = plain.segments.index("PBPU")
    extra = hum.collected_pmpm[:, j] - plain.collected_pmpm[:, j]
    np.testing.assert_allclose(extra, 0.45 * 25_500 * (1 - plain.collection[:, j]))
    np.testing.assert_array_equal(np.delete(hum.collected_pmpm, j, 1), np.delete(plain.collected_pmpm, j, 1))
