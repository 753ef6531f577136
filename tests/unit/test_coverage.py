"""Active coverage (seed 003): exact identities on small inputs, and its place in a simulated block
and in the deterministic projection."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jkn_risk.coverage import active_members, coverage, national_coverage
from jkn_risk.outputs import COVERAGE_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
PAID_BY_BUDGET_OR_EMPLOYER = [0, 1, 2]
SELF_PAYING = [3, 4]


def _inputs(n=3, Y=2, S=5, seed=1):
    rng = np.random.default_rng(seed)
    # powers of two: every product and sum below is exact in float64
    members = 2.0 ** rng.integers(10, 20, size=(n, Y, 4, S))
    collection = np.ones((n, Y, S))
    collection[..., SELF_PAYING] = 2.0 ** -rng.integers(1, 4, size=(n, Y, len(SELF_PAYING)))
    # regional populations that add up to a power of two, so the weights are exact too
    population = np.stack([rng.permutation([2.0 ** 22, 2.0 ** 22, 2.0 ** 23, 2.0 ** 24]) * 2.0 ** y
                           for y in range(Y)])
    return members, collection, population


def test_budget_and_employer_paid_segments_are_fully_active():
    members, collection, _ = _inputs()
    active = active_members(members, collection)
    np.testing.assert_array_equal(active[..., PAID_BY_BUDGET_OR_EMPLOYER],
                                  members[..., PAID_BY_BUDGET_OR_EMPLOYER])


def test_self_paying_segments_are_active_in_proportion_to_their_collection_rate():
    members, collection, _ = _inputs()
    active = active_members(members, collection)
    for s in SELF_PAYING:
        np.testing.assert_array_equal(active[..., s], members[..., s] * collection[:, :, None, s])
    assert (active[..., SELF_PAYING] < members[..., SELF_PAYING]).all()


def test_a_paid_share_below_one_makes_budget_paid_members_inactive_too():
    """jkn2024: registered PBI members beyond what the budget paid for are not active."""
    members, collection, _ = _inputs()
    collection[..., 0] = 0.75
    np.testing.assert_array_equal(active_members(members, collection)[..., 0], members[..., 0] * 0.75)


def test_national_coverage_is_the_population_weighted_mean_of_the_regions():
    members, collection, population = _inputs()
    active = active_members(members, collection)
    regional = coverage(active, population)
    national = national_coverage(active, population)
    weights = population / population.sum(axis=-1, keepdims=True)
    np.testing.assert_array_equal(national, (weights * regional).sum(axis=-1))
    np.testing.assert_array_equal(national, active.sum(axis=(-2, -1)) / population.sum(axis=-1))
    np.testing.assert_array_equal(regional, active.sum(axis=-1) / population)


def test_identity_on_arbitrary_numbers_to_the_last_bits():
    rng = np.random.default_rng(7)
    members = rng.uniform(1e5, 5e7, size=(50, 6, 5, 5))
    collection = rng.uniform(0.3, 1.0, size=(50, 6, 5))
    population = rng.uniform(5e6, 1.5e8, size=(6, 5))
    active = active_members(members, collection)
    regional, national = coverage(active, population), national_coverage(active, population)
    weights = population / population.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(national, (weights * regional).sum(axis=-1), rtol=4e-16 * 8, atol=0)


def test_coverage_variables_have_units():
    for name, (dims, dtype, units, long_name) in COVERAGE_VARIABLES.items():
        assert dims[0] == "sim" and dtype == "float64" and units and long_name
    assert COVERAGE_VARIABLES["active_coverage"][2] == "1"
    assert COVERAGE_VARIABLES["active_members"][2] == "member-years"


# --------------------------------------------------------------------------- integration
@pytest.fixture(scope="module")
def tiny_block():
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run, simulate_block

    cfg = load_config(TINY, [
        "utilization.inpatient.ibnr=1.069", "utilization.outpatient.ibnr=1.069",
        f"population={ROOT / 'configs' / 'data' / 'population_2014.csv'}",
        "uncertainty={collection: {PBPU: {sigma: 0.3}}, membership: {PPU: {sigma: 0.05}}}"])
    params = build_parameters(cfg)
    run = prepare_run(params)
    return params, run, simulate_block(run, np.arange(6))


def test_block_stores_active_members_and_coverage(tiny_block):
    params, run, ds = tiny_block
    members = ds["members_drawn"].transpose("sim", "year", "region", "segment").values
    active = ds["active_members"].transpose("sim", "year", "region", "segment").values
    seg = list(params.segments)
    for s in ("PBI-APBN", "PBI-APBD", "PPU"):
        np.testing.assert_array_equal(active[..., seg.index(s)], members[..., seg.index(s)])
    pbpu = seg.index("PBPU")
    rate = active[..., pbpu] / members[..., pbpu]
    assert np.ptp(rate[:, 1], axis=1).max() < 1e-12          # one rate per (sim, year) across regions
    assert np.ptp(rate[:, 1, 0]) > 0                          # ... drawn: it differs between sims
    income = ds["income"].transpose("sim", "year", "region", "segment").values[..., pbpu]
    billed = members[..., pbpu] * 12 * params.contribution_pmpm[None, :, None, pbpu]
    np.testing.assert_allclose(income / billed, rate, rtol=1e-12)   # the rate that drives income
    pop = params.population
    np.testing.assert_allclose(ds["active_coverage"].transpose("sim", "year", "region").values,
                               active.sum(-1) / pop, rtol=1e-15)
    national = ds["active_coverage_national"].values
    np.testing.assert_allclose(national, active.sum(axis=(-2, -1)) / pop.sum(-1), rtol=1e-15)
    for name, (_, _, units, _) in COVERAGE_VARIABLES.items():
        assert ds[name].attrs["units"] == units


def test_template_matches_the_block(tiny_block):
    _, run, ds = tiny_block
    template = run.template()
    assert set(template.data_vars) == set(ds.data_vars)
    for name in COVERAGE_VARIABLES:
        assert template[name].dims == ds[name].dims
    assert "population" in run.static()


def test_no_population_no_coverage_variables():
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters
    from jkn_risk.simulate import prepare_run

    params = build_parameters(load_config(TINY, ["population=null"]),
                              ibnr_bootstrap=False)
    run = prepare_run(params)
    assert not set(COVERAGE_VARIABLES) & set(run.variables)
    assert "population" not in run.static()


def test_projection_reports_active_coverage():
    from jkn_risk.config import load_config
    from jkn_risk.projection import project, table6

    ds = project(load_config(ROOT / "configs" / "jkn2014.yaml"))
    first = table6(ds)[0]
    assert first["population"] == pytest.approx(252.2e6, abs=0.5)
    assert first["coverage"] == pytest.approx(125.008e6 / 252.2e6, rel=1e-6)
    # 2014: PBPU 53% and BP 90% paid, every other segment fully
    unpaid = 4.189e6 * (1 - 0.53) + 4.914e6 * (1 - 0.90)
    assert first["active_coverage"] == pytest.approx((125.008e6 - unpaid) / 252.2e6, rel=1e-6)
    reg = ds["active_coverage"].sel(year=2014)
    w = ds["population"].sel(year=2014) / ds["population"].sel(year=2014).sum()
    assert float((w * reg).sum()) == pytest.approx(first["active_coverage"], rel=1e-14)


# --------------------------------------------------------------------------- reports
def _coverage_ds(n=400, seed=3):
    import xarray as xr
    rng = np.random.default_rng(seed)
    years, regions = [2024, 2025], ["R1", "R2"]
    reg = np.clip(rng.normal(0.97, 0.02, size=(n, 2, 2)), 0, None)
    return xr.Dataset({"active_coverage": (("sim", "year", "region"), reg),
                       "active_coverage_national": (("sim", "year"), reg.mean(-1))},
                      coords={"sim": np.arange(n), "year": years, "region": regions})


def test_probability_of_reaching_the_target_and_its_se():
    from jkn_risk.report.coverage_report import coverage_measures

    ds = _coverage_ds()
    df = coverage_measures(ds, (0.98,))
    row = df[(df["area"] == "national") & (df["year"] == 2025)].iloc[0]
    x = ds["active_coverage_national"].sel(year=2025).values
    p = (x >= 0.98).mean()
    assert row["p_ge_0.98"] == p and row["p_ge_0.98_se"] == pytest.approx(np.sqrt(p * (1 - p) / x.size))
    assert set(df["area"]) == {"national", "R1", "R2"}


def test_stress_coverage_change_is_paired():
    import xarray as xr

    from jkn_risk.report.stress import compare_coverage

    base = _coverage_ds()
    up = base.copy(deep=True)
    up["active_coverage_national"] = base["active_coverage_national"] + 0.01   # every simulation +1 point
    ds = xr.concat([base, up], dim=xr.DataArray(["base", "more_pbi"], dims="scenario"))
    df = compare_coverage(ds).set_index(["scenario", "year"])
    assert df.loc[("more_pbi", 2025), "coverage_mean_diff"] == pytest.approx(0.01)
    assert df.loc[("more_pbi", 2025), "coverage_mean_diff_se"] < 1e-12   # paired: no noise left
    assert df.loc[("base", 2025), "coverage_mean_diff"] == 0.0
