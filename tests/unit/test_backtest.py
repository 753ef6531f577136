"""Back-test scoring: exact answers on small inputs, the actuals reader's errors, the origins registry,
and the enacted-policy back-test config."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scoringrules as sr
import xarray as xr
from scipy import stats

from jkn_risk.report import backtest as bt
from jkn_risk.report.actuals import NATIONAL, Actual, ActualsError, read_actuals
from jkn_risk.report.origins import OriginError, load_origins, plan_origins
from tests.conftest import CONFIGS
from tests.synthetic_results import make_results


# --------------------------------------------------------------------------- CRPS, interval score, PIT
def test_crps_tiny_ensemble_by_hand():
    # ensemble {1, 2, 4}, y = 3: E|X - y| = (2 + 1 + 1) / 3 = 4/3; the sum of |x_i - x_j| over ordered
    # pairs i != j is 2 (1 + 3 + 2) = 12. Fair: 4/3 - 12 / (2 * 3 * 2) = 1/3. The empirical CDF's CRPS
    # (integral of (F - 1{x >= 3})^2: 1/9 + 4/9 + 1/9) is 2/3; we report the fair one.
    ens = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])
    got = bt.crps(ens, np.array([3.0, 0.0]))
    # y = 0: E|X| = 7/3, fair = 7/3 - 1 = 4/3
    np.testing.assert_allclose(got, [1 / 3, 4 / 3], rtol=1e-14)
    assert sr.crps_ensemble(3.0, ens[0], estimator="nrg") == pytest.approx(2 / 3, rel=1e-14)


def test_crps_is_scoringrules_fair_estimator():
    # we call the probability-weighted-moment form (O(m log m)); it must equal scoringrules' "fair"
    rng = np.random.default_rng(7)
    ens, y = rng.gamma(2.0, size=(30, 201)), rng.gamma(2.0, size=30)
    np.testing.assert_allclose(bt.crps(ens, y), sr.crps_ensemble(y, ens, estimator="fair"), rtol=1e-12)


def _crps_normal_closed_form(y: float) -> float:
    """CRPS of N(0, 1) at y (Gneiting and Raftery 2007): y (2 Phi(y) - 1) + 2 phi(y) - 1/sqrt(pi)."""
    return y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / math.sqrt(math.pi)


@pytest.mark.parametrize("y", [-1.5, 0.0, 0.7, 2.5])
def test_crps_of_normal_ensemble_matches_closed_form(y):
    assert sr.crps_normal(y, 0.0, 1.0) == pytest.approx(_crps_normal_closed_form(y), rel=1e-12)
    # 40 independent ensembles of 5,000 N(0, 1) draws: the fair estimator is unbiased, so the mean
    # of the 40 estimates is within 4.5 of its standard errors of the closed form unless a
    # t(39) variable exceeds 4.5 in absolute value (probability 6e-5: the test's false-alarm rate).
    rng = np.random.default_rng(20140101)
    ens = rng.standard_normal((40, 5000))
    est = bt.crps(ens, np.full(40, y))
    se = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - _crps_normal_closed_form(y)) < 4.5 * se
    assert se < 0.01 * _crps_normal_closed_form(y)  # and the check is sharp: SE under 1% of the value


def test_interval_score_by_hand():
    # [1, 2] at alpha 0.5: inside = width 1; y = 3 above: 1 + (2 / 0.5)(3 - 2) = 5; y = 0 below: 1 + 4 = 5
    got = bt.interval_score(np.array([1.5, 3.0, 0.0]), np.ones(3), np.full(3, 2.0), 0.5)
    np.testing.assert_allclose(got, [1.0, 5.0, 5.0])
    # 90% band: 2 / 0.1 = 20 per unit outside
    assert bt.interval_score(np.array([2.5]), np.array([1.0]), np.array([2.0]), 0.1)[0] == pytest.approx(11.0)


def test_pit_mid_rank():
    ens = np.array([[1.0, 2.0, 3.0, 4.0]] * 4)
    got = bt.pit(ens, np.array([2.5, 0.0, 9.0, 2.0]))
    # rank among the 5 values, ties shared: 2 below -> 2.5/5; 0 below -> 0.5/5; 4 below -> 4.5/5;
    # 1 below and 1 tie -> (1 + 1) / 5
    np.testing.assert_allclose(got, [0.5, 0.1, 0.9, 0.4])


def test_pit_of_a_model_without_spread():
    ens = np.full((3, 7), 41.55e12)
    got = bt.pit(ens, np.array([41.55e12, 40.72e12, 41.55e12 * (1 + 1e-10)]))
    # equal (to 1e-8 relative) -> 1/2; below everything -> 0.5 / 8
    np.testing.assert_allclose(got, [0.5, 0.5 / 8, 0.5])


def test_score_ensemble_quantiles_coverage_and_scores():
    ens = np.tile(np.arange(1.0, 102.0), (4, 1))  # 1..101: numpy's q05 is x[5] = 6, q95 = x[95] = 96
    y = np.array([50.0, 97.0, 96.0, 20.0])
    s = bt.score_ensemble(ens, y)
    np.testing.assert_allclose([s[k][0] for k in ("q05", "q25", "q50", "q75", "q95")], [6, 26, 51, 76, 96])
    assert s["covered_50"].tolist() == [True, False, False, False]
    assert s["covered_90"].tolist() == [True, False, True, True]
    np.testing.assert_allclose(s["interval_score_90"], [90.0, 90 + 20 * 1, 90.0, 90.0])
    np.testing.assert_allclose(s["crps"], sr.crps_ensemble(y, ens, estimator="fair"), rtol=1e-12)


# --------------------------------------------------------------------------- model_series
@pytest.fixture(scope="module")
def seg_results():
    return make_results(8, compartments="segment", seed=3)


def test_model_series_national_aggregates(seg_results):
    ds = seg_results
    income = ds["income_compartment"].sum("compartment")
    cost = ds["medical_cost_compartment"].sum("compartment")
    members = ds["members"].sum(["region", "segment"])
    xr.testing.assert_allclose(bt.model_series(ds, "income").drop_attrs(), income.transpose("sim", "year"))
    xr.testing.assert_allclose(bt.model_series(ds, "benefit_cost").drop_attrs(), cost.transpose("sim", "year"))
    np.testing.assert_allclose(bt.model_series(ds, "claim_ratio").values, (cost / income).values)
    m = bt.model_series(ds, "members")
    assert m.dims == ("sim", "year") and (m == members).all()
    np.testing.assert_allclose(bt.model_series(ds, "income_pmpm").values, (income / (12 * members)).values)
    np.testing.assert_allclose(bt.model_series(ds, "cost_pmpm").values, (cost / (12 * members)).values)
    np.testing.assert_allclose(bt.model_series(ds, "income", NATIONAL).values, income.values)
    assert bt.model_series(ds, "income").attrs["units"] == "IDR"


def test_model_series_one_compartment(seg_results):
    ds = seg_results
    got = bt.model_series(ds, "cost_pmpm", "PPU")
    cost = ds["medical_cost_compartment"].sel(compartment="PPU")
    members = ds["members"].sel(segment="PPU").sum("region")
    np.testing.assert_allclose(got.values, (cost / (12 * members)).transpose("sim", "year").values)
    with pytest.raises(bt.CompartmentError, match="'R9' is not in the results"):
        bt.model_series(ds, "income", "R9")


def test_model_series_uses_drawn_members_and_net_assets():
    ds = make_results(6, compartments="pooled", seed=1)
    with pytest.raises(bt.NotModelled, match="net_assets"):
        bt.model_series(ds, "net_assets")
    rng = np.random.default_rng(0)
    drawn = ds["members"].expand_dims(sim=ds["sim"].values) * rng.uniform(0.9, 1.1, (6, 1, 1, 1))
    na = xr.DataArray(rng.normal(size=(6, ds.sizes["year"], 1)), dims=("sim", "year", "compartment"))
    ds = ds.assign(members_drawn=drawn, net_assets=na)
    np.testing.assert_allclose(bt.model_series(ds, "members").values,
                               drawn.sum(["region", "segment"]).transpose("sim", "year").values)
    np.testing.assert_allclose(bt.model_series(ds, "net_assets").values, na.values[..., 0])


# --------------------------------------------------------------------------- actuals files
def _write(tmp_path, text, name="actuals.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_actuals_ok(tmp_path):
    p = _write(tmp_path, "# source: somewhere\n\ncompartment,year,variable,value\n"
                         ",2014,income,40.72e12\n  # indented comment\nPPU,2015,claim_ratio,0.9\n")
    got = read_actuals(p, years=range(2014, 2020))
    assert got == [Actual(2014, "income", 40.72e12, NATIONAL, f"{p}:4"),
                   Actual(2015, "claim_ratio", 0.9, "PPU", f"{p}:6")]


def test_shipped_actuals_file_reads():
    got = read_actuals(CONFIGS / "data" / "actuals" / "jkn_2014.csv", years=[2014])
    assert {a.variable: a.value for a in got} == {"income": 40.72e12, "benefit_cost": 42.65e12,
                                                   "claim_ratio": 1.039, "members": 125.008e6}


@pytest.mark.parametrize("row, message", [
    ("2014,incomes,1e12", "unknown variable 'incomes'"),
    ("2031,income,1e12", "year 2031 is outside the projection (2014-2019)"),
    ("2014,income,40.72 T", "value '40.72 T' is not a number"),
    ("2014,income,nan", "value 'nan' is not a finite number"),
    ("2014,income,40.72e12", "duplicate (2014, income): first given on line 2"),
    ("20x4,income,1", "year '20x4' is not an integer year"),
    ("2014,members,-5", "members cannot be negative"),
    ("2014,claim_ratio,103.9", "looks like a percentage"),
    ("2014,income", "2 fields, the header has 3"),
])
def test_read_actuals_errors_name_file_and_line(tmp_path, row, message):
    p = _write(tmp_path, f"year,variable,value\n2014,income,40.72e12\n# comment\n{row}\n")
    with pytest.raises(ActualsError) as exc:
        read_actuals(p, years=range(2014, 2020))
    lines = exc.value.lines()
    assert len(lines) == 1 and lines[0].startswith(f"{p}:4: ") and message in lines[0]


def test_read_actuals_reports_every_problem_and_header_errors(tmp_path):
    p = _write(tmp_path, "year,variable,value\n2014,bad,1\n2015,income,x\n")
    with pytest.raises(ActualsError) as exc:
        read_actuals(p)
    assert [ln.split(": ")[0] for ln in exc.value.lines()] == [f"{p}:2", f"{p}:3"]
    for text, message in [("year,value\n2014,1\n", "missing column(s) variable"),
                          ("year,variable,value,unit\n", "unknown column(s) 'unit'"),
                          ("# only comments\n", "no header line"),
                          ("year,variable,value\n", "no actuals")]:
        with pytest.raises(ActualsError, match=message.replace("(", r"\(").replace(")", r"\)")):
            read_actuals(_write(tmp_path, text, "h.csv"))
    with pytest.raises(ActualsError, match="actuals file not found"):
        read_actuals(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- records and summary
def test_score_actuals_records(seg_results):
    ds = seg_results
    truth = bt.model_series(ds, "benefit_cost").isel(sim=0)
    acts = [Actual(2015, "benefit_cost", float(truth.sel(year=2015)), NATIONAL, "a.csv:2"),
            Actual(2014, "income", 1.0, NATIONAL, "a.csv:3"),
            Actual(2016, "net_assets", 5.0, NATIONAL, "a.csv:4"),
            Actual(2030, "income", 1.0, NATIONAL, "a.csv:5"),  # another origin's year: left out
            Actual(2016, "members", 1.0, "PBPU", "a.csv:6")]
    records, skipped, fans = bt.score_actuals(ds.isel(sim=slice(1, None)), acts, origin=2014)
    assert [(r["variable"], r["year"]) for r in records] == [("income", 2014), ("benefit_cost", 2015),
                                                            ("members", 2016)]
    assert set(records[0]) == {"origin", "year", "variable", "compartment", "actual", "q05", "q25", "q50",
                               "q75", "q95", "pit", "covered_50", "covered_90", "crps", "interval_score_50",
                               "interval_score_90", "units", "n_sims", "source"}
    ens = bt.model_series(ds, "benefit_cost").sel(year=2015).values[1:]
    s = bt.score_ensemble(ens[None], np.array([truth.sel(year=2015)]))
    assert records[1]["pit"] == s["pit"][0] and records[1]["crps"] == s["crps"][0]
    assert records[1]["n_sims"] == 7 and records[1]["origin"] == 2014
    assert records[0]["pit"] == 0.5 / 8 and not records[0]["covered_90"]  # income 1 IDR: below every sim
    assert [k["source"] for k in skipped] == ["a.csv:4"] and "not modelled" in skipped[0]["reason"]
    assert {(f["variable"], f["compartment"]) for f in fans} == {("income", NATIONAL), ("benefit_cost", NATIONAL),
                                                                 ("members", "PBPU")}
    json.dumps({"records": records, "summary": bt.summarise(records, skipped)})  # plain values only
    with pytest.raises(ActualsError, match="a.csv:9: compartment 'R1' is not in the results"):
        bt.score_actuals(ds, [Actual(2014, "income", 1.0, "R1", "a.csv:9")])


def test_summarise_counts_and_notes():
    base = {"origin": 2014, "year": 2014, "compartment": NATIONAL, "n_sims": 10, "crps": 1.0,
            "interval_score_50": 2.0, "interval_score_90": 3.0, "q05": 1.0, "q50": 2.0, "q95": 3.0}
    recs = [dict(base, variable="income", pit=0.05, covered_50=False, covered_90=False, q05=5.0, q50=5.0, q95=5.0),
            dict(base, variable="benefit_cost", pit=0.55, covered_50=True, covered_90=True),
            dict(base, variable="benefit_cost", pit=0.95, covered_50=False, covered_90=True, crps=3.0)]
    s = bt.summarise(recs)
    assert s["coverage_90"] == pytest.approx({"covered": 2, "n": 3, "rate": 2 / 3, "nominal": 0.9,
                                              "binomial_se": math.sqrt(0.09 / 3)}, rel=1e-12)
    assert s["coverage_50"]["covered"] == 1 and s["mean_pit"] == pytest.approx((0.05 + 0.55 + 0.95) / 3)
    assert s["pit_histogram"]["counts"] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert s["by_variable"]["benefit_cost"]["mean_crps"] == 2.0 and s["by_variable"]["income"]["n"] == 1
    assert len(s["notes"]) == 1 and s["notes"][0].startswith("income (origin 2014): the model has no spread")


# --------------------------------------------------------------------------- origins
def test_shipped_origins_registry():
    reg = load_origins(CONFIGS / "backtest" / "origins.yaml")
    assert sorted(reg) == [2014, 2018]
    assert reg[2014].config == (CONFIGS / "backtest" / "jkn2014_enacted.yaml").resolve()
    assert reg[2018].config == (CONFIGS / "jkn2018_segments.yaml").resolve() and "look-ahead" in reg[2018].note


def test_plan_origins(tmp_path):
    cfg = CONFIGS / "backtest" / "jkn2014_enacted.yaml"
    assert [o.year for o in plan_origins(cfg, 2014, None, None)] == [2014]
    plan = plan_origins(cfg, 2014, [2018, 2014], None)
    assert [(o.year, o.config.name) for o in plan] == [(2014, "jkn2014_enacted.yaml"), (2018, "jkn2018_segments.yaml")]
    with pytest.raises(OriginError, match=r"--origin 2016: no config for that base year .* \(origins: 2014, 2018\)"):
        plan_origins(cfg, 2014, [2016], None)
    bad = _write(tmp_path, "origins:\n  2018: {config: nowhere.yaml}\n", "origins.yaml")
    with pytest.raises(OriginError, match=r"origins.yaml: origins.2018.config: file not found"):
        load_origins(bad)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(OriginError, match="origins registry not found"):
        plan_origins(tmp_path / "elsewhere" / "c.yaml", 2014, [2018], None)


# --------------------------------------------------------------------------- the enacted-policy config
def test_enacted_config_membership_and_rules():
    from jkn_risk.config import load_config, schedule_annual

    cfg = load_config(CONFIGS / "backtest" / "jkn2014_enacted.yaml")
    base = load_config(CONFIGS / "jkn2014.yaml")
    assert cfg.years == base.years and cfg.simulation.n_sims == 400
    members = cfg.tables.members.sum(axis=1)  # (year, segment)
    np.testing.assert_allclose(members.sum(axis=1), base.tables.members.sum(axis=(1, 2)), rtol=1e-9)
    pbi = members[:, cfg.segments.index("PBI-APBN")]
    np.testing.assert_allclose(pbi, [86.4e6, 86.4e6, 92.4e6, 92.4e6, 92.4e6, 96.8e6], rtol=1e-9)
    others = np.delete(members, cfg.segments.index("PBI-APBN"), axis=1)
    np.testing.assert_allclose(others / others.sum(axis=1, keepdims=True),  # 2014 proportions kept
                               np.broadcast_to(others[0] / others[0].sum(), others.shape), rtol=1e-9)
    years = cfg.years
    np.testing.assert_allclose(schedule_annual(cfg.contributions["PBI-APBN"].pmpm, years),
                               [19225, 19225, 23000, 23000, 23000, (7 * 23000 + 5 * 42000) / 12])
    np.testing.assert_allclose(schedule_annual(cfg.contributions["PBPU"].premium["II"], years)[2:],
                               [(3 * 42500 + 9 * 51000) / 12, 51000, 51000, 51000])
    np.testing.assert_allclose(schedule_annual(cfg.contributions["PPU"].wage_cap, years)[2],
                               (3 * 7_000_000 + 9 * 8_000_000) / 12)
