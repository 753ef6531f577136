"""Figures, the Markdown/HTML report, and the stress comparison."""
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from jkn_risk.report import plots, render, stress
from jkn_risk.report.metrics import TOTAL
from tests.synthetic_results import make_results

SCENARIOS = {"base": {}, "util+5%": {"util": 1.05}, "tariff+8%": {"tariff": 1.08}, "income+10%": {"income_mult": 1.1}}


@pytest.fixture(scope="module")
def ds():
    return make_results(60, compartments="segment")


@pytest.fixture(scope="module")
def sds():
    return make_results(60, compartments="segment", scenarios=SCENARIOS)


def test_render_report_writes_every_file(ds, tmp_path):
    paths = render.render_report(ds, tmp_path / "out", n_boot=20, dpi=40)
    names = {p.name for p in paths}
    assert {"surplus_distribution.png", "claim_ratio_fan.png", "deficit_exceedance.png", "pd_region_segment.png",
            "pd_convergence.png", "report.md", "report.html", "risk_measures.json"} == names
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "jkn2014" in md and "1234" in md and "60 simulations" in md and "VaR 99.5%" in md
    assert "![" in md and "pd_convergence.png" in md and "Whole fund" in md and "Compartment PBPU" in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "<table>" in html
    recs = json.loads((tmp_path / "out" / "risk_measures.json").read_text())
    assert {r["compartment"] for r in recs} == set(ds["compartment"].values) | {TOTAL}


def test_render_report_pooled_and_stress_input(tmp_path):
    pooled = make_results(30, compartments="pooled", scenarios={"base": {}, "util+10%": {"util": 1.1}})
    paths = render.render_report(pooled, tmp_path, n_boot=10, dpi=30)   # reports the base scenario
    assert (tmp_path / "report.html").is_file() and len(paths) == 8
    md = (tmp_path / "report.md").read_text()
    assert "Scenario `base`" in md and "pooled national fund" in md and "Whole fund" not in md


def test_plots_return_figures(ds):
    figs = [plots.surplus_distribution(ds), plots.claim_ratio_fan(ds), plots.deficit_exceedance(ds),
            plots.pd_heatmap(ds), plots.pd_heatmap(ds, year=2015), plots.convergence_plot(ds),
            plots.claim_ratio_fan(ds, "PBPU"), plots.surplus_distribution(ds, ["PPU"])]
    assert all(isinstance(f, Figure) for f in figs)


def _table6_drawn(fig):
    return any("Table 6" in (line.get_label() or "") for line in fig.axes[0].get_lines())


def test_table6_only_for_the_baseline(ds):
    assert _table6_drawn(plots.claim_ratio_fan(ds))
    line = next(l for l in plots.claim_ratio_fan(ds).axes[0].get_lines() if "Table 6" in l.get_label())
    np.testing.assert_allclose(line.get_ydata(), [114.9, 114.6, 123.7, 121.6, 129.2, 124.2])
    assert not _table6_drawn(plots.claim_ratio_fan(ds, "PBPU"))
    other = ds.assign_attrs(config_name="jkn2018_segments")
    assert not _table6_drawn(plots.claim_ratio_fan(other))


def test_compare_scenarios_paired_differences_exact(sds):
    df = stress.compare_scenarios(sds, n_boot=20)
    assert set(df["year"]) == {2019} and set(df["scenario"]) == set(SCENARIOS)
    base = df[df["scenario"] == "base"]
    assert (base[["p_deficit_diff", "mean_surplus_diff", "var_995_diff", "mean_surplus_diff_se"]] == 0).all().all()
    s = sds["surplus_compartment"].sel(year=2019)
    x, b = s.sel(scenario="util+5%", compartment="PBI-APBN"), s.sel(scenario="base", compartment="PBI-APBN")
    row = df[(df["scenario"] == "util+5%") & (df["compartment"] == "PBI-APBN")].iloc[0]
    d = (x - b).values
    assert row["mean_surplus_diff"] == pytest.approx(d.mean(), rel=1e-12)
    assert row["mean_surplus_diff_se"] == pytest.approx(d.std(ddof=1) / np.sqrt(d.size), rel=1e-12)
    ind = (x < 0).values.astype(float) - (b < 0).values.astype(float)
    assert row["p_deficit_diff_se"] == pytest.approx(ind.std(ddof=1) / np.sqrt(d.size), rel=1e-12, abs=1e-15)
    # common random numbers: paired SEs far below the unpaired ones on these correlated runs
    shocked = df[(df["scenario"] != "base")]
    assert (shocked["mean_surplus_diff_se"] < shocked["mean_surplus_diff_se_unpaired"]).all()
    assert (shocked["var_995_diff_se"] < shocked["var_995_diff_se_unpaired"]).all()


def test_compare_scenarios_year_modes(sds):
    all_years = stress.compare_scenarios(sds, "all", n_boot=10)
    assert sorted(set(all_years["year"])) == list(range(2014, 2020))
    one = stress.compare_scenarios(sds, 2016, n_boot=10)
    cols = ["scenario", "compartment", "p_deficit", "mean_surplus", "var_995_diff_se"]
    np.testing.assert_allclose(one["mean_surplus"], all_years[all_years["year"] == 2016]["mean_surplus"])
    cum = stress.compare_scenarios(sds, "cumulative", n_boot=10)
    assert set(cum["year"]) == {"2014-2019"} and set(cols) <= set(cum.columns)
    tot = cum[(cum["scenario"] == "base") & (cum["compartment"] == TOTAL)]["mean_surplus"].item()
    exp = sds["surplus_compartment"].sel(scenario="base").sum(["year", "compartment"]).mean().item()
    assert tot == pytest.approx(exp, rel=1e-12)


def test_compare_scenarios_compartment_missing_in_a_scenario(sds):
    ds2 = sds.copy()
    sc = ds2["surplus_compartment"].copy()
    sc.loc[{"scenario": "util+5%", "compartment": "BP"}] = np.nan
    df = stress.compare_scenarios(ds2.assign(surplus_compartment=sc), n_boot=10)
    assert df[(df["scenario"] == "util+5%") & (df["compartment"] == "BP")].empty
    assert np.isfinite(df[(df["scenario"] == "util+5%") & (df["compartment"] == TOTAL)]["mean_surplus"]).all()


def test_stress_charts_report_and_json(sds, tmp_path):
    df = stress.compare_scenarios(sds, n_boot=10)
    assert isinstance(stress.tornado_chart(df), Figure) and isinstance(stress.pd_comparison_chart(df), Figure)
    fig = stress.tornado_chart(df, compartment="PBPU")
    assert len(fig.axes[0].patches) == len(SCENARIOS) - 1
    recs = json.loads(stress.to_json(df))
    assert len(recs) == len(df) and {"scenario", "compartment", "year", "p_deficit_diff_se", "var_995"} <= set(recs[0])
    paths = stress.render_stress_report(sds, tmp_path, n_boot=10, dpi=40)
    assert {p.name for p in paths} == {"stress_tornado.png", "stress_pd.png", "stress.json", "stress_report.md",
                                       "stress_report.html"}
    md = (tmp_path / "stress_report.md").read_text()
    assert "tariff+8%" in md and "Δ P(deficit)" in md and "Cumulative over 2014-2019" in md
    assert (tmp_path / "stress_report.html").read_text().count("data:image/png;base64,") == 2
