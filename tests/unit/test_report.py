"""Figures, the Markdown/HTML report, and the stress comparison."""
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from jkn_risk.report import plots, render, stress
from jkn_risk.report.metrics import TOTAL
from tests.synthetic_results import compartment_dataset, make_results

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


# --------------------------------------------------------------------------- readable whatever the spread
def test_surplus_distribution_gives_every_year_its_own_scale():
    # a spread of 0.1% of the level, levels 4x apart: on one axis these violins would be slivers
    rng = np.random.default_rng(3)
    level = np.array([-9.0, -15.0, -20.0, -31.0])[None, :, None] * 1e12
    ds = compartment_dataset(level * (1 + 1e-3 * rng.standard_normal((200, 4, 1))))
    fig = plots.surplus_distribution(ds)
    axes = fig.axes
    assert len(axes) == 4
    assert [ax.get_title() for ax in axes] == [f"{y}\nP(def.) 100%" for y in range(2014, 2018)]
    for ax, lvl in zip(axes, level.ravel() / 1e12):
        lo, hi = ax.get_ylim()
        assert lo < lvl < hi and hi - lo < 0.02 * abs(lvl)  # the year's spread, not every year's levels
        assert not ax.yaxis.get_major_formatter().get_useOffset()  # read the level off the axis


def test_convergence_plot_is_never_a_line_on_the_frame():
    sure = compartment_dataset(np.full((50, 2, 1), -5e12) + np.arange(50)[:, None, None] * 1e9)
    assert plots.pd_is_degenerate(sure)
    fig = plots.convergence_plot(sure)
    title = fig.axes[0].get_title()
    assert "mean fund result" in title and "all 50 simulations are in deficit" in title
    lo, hi = fig.axes[0].get_ylim()
    assert lo < -5.0 + 0.0245 < hi  # the running mean, in IDR trillion
    rng = np.random.default_rng(0)
    fig = plots.convergence_plot(compartment_dataset(rng.normal(-2e12, 1e12, (400, 2, 1))))
    lo, hi = fig.axes[0].get_ylim()
    assert lo > 0.5 and hi > 1.0  # zoomed on the estimate (about 98%), 100% kept off the frame


def test_heatmap_is_colour_blind_safe_and_says_what_regions_are(ds):
    fig = plots.pd_heatmap(ds)
    ax = fig.axes[0]
    assert ax.images[0].get_cmap().name == "cividis"
    assert ax.get_ylabel() == "INA-CBG tariff region"
    assert all("% of members)" in t.get_text() for t in ax.get_yticklabels())


def test_report_text_is_for_a_reader(tmp_path):
    ds = make_results(1000, compartments="pooled")
    yaml_text = (f"simulation: {{n_sims: 1000, seed: 3}}\nname: jkn2014\nmembership:\n  base: {tmp_path}/data/m.csv\n"
                 f"years: [2014, 2015]\n")
    ds.attrs.update(config_yaml=yaml_text, version_numpy="2.4.6", version_jkn_risk="0.1.0")
    render.render_report(ds, tmp_path / "out", n_boot=10, dpi=30)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Only 5 of the 1,000 simulations" in md
    assert "numpy 2.4.6" in md and "version_numpy" not in md
    assert "mean fund result" in md and "mean surplus" not in md and "contribution surplus" in md
    assert "R1-R5 are the five INA-CBG tariff regions" in md
    appendix = md.split("## Appendix: resolved configuration")[1]
    assert str(tmp_path) not in appendix and "data/m.csv" in appendix
    keys = [ln.split(":")[0] for ln in appendix.splitlines() if ln and not ln.startswith((" ", "`"))]
    assert keys == ["name", "years", "membership", "simulation"]  # the schema's order
    assert "years: [2014, 2015]" in appendix


def test_stress_charts_are_colour_blind_safe_and_label_every_bar(sds):
    df = stress.compare_scenarios(sds, n_boot=10)
    ax = stress.pd_comparison_chart(df).axes[0]
    assert ax.images[0].get_cmap().name == "cividis"
    ax = stress.tornado_chart(df).axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert len(labels) == len(SCENARIOS) - 1 and all(t[0] in "+-" for t in labels)
    assert "fund result" in ax.get_title() and "surplus" not in ax.get_title()


def test_reference_lines_only_where_they_do_not_squeeze_the_data():
    far = compartment_dataset(np.full((30, 3, 1), -10e12) + np.arange(30)[:, None, None] * 1e9)  # all near -10 T
    ax = plots.deficit_exceedance(far).axes[0]
    assert ax.get_xlim()[0] > 5 and "break-even (0) lies to the left" in ax.get_xlabel()
    near = compartment_dataset(np.linspace(-2e12, 1e12, 90).reshape(30, 3, 1))
    ax = plots.deficit_exceedance(near).axes[0]
    assert ax.get_xlim()[0] < 0 < ax.get_xlim()[1] and "off the axis" not in ax.get_xlabel()
