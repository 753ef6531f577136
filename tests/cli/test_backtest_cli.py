"""``jkn-risk backtest``: bad actuals exit 2 with one line naming file and line; a tiny run end to end;
``--results`` and ``--origin``."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jkn_risk.cli import app

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"          # years 2014-2015, 1/1000 of the members
GOOD = "year,variable,value\n2014,income,41.5e9\n2015,claim_ratio,1.1\n"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "jkn_risk.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def _actuals(tmp_path, text, name="actuals.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


BAD_ROWS = [
    ("2015,premiums,1", "unknown variable 'premiums'"),
    ("2016,income,1e9", "year 2016 is outside the projection (2014-2015)"),
    ("2014,income,4e10", "duplicate (2014, income): first given on line 3"),
    ("2015,members,many", "value 'many' is not a number"),
]


def test_bad_actuals_exit_2_without_traceback_in_a_process(tmp_path):
    row, message = BAD_ROWS[0]
    p = _actuals(tmp_path, f"# a comment\n{GOOD}{row}\n")
    res = cli("backtest", TINY, "--actuals", p, "--json")
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip()
    assert line.startswith(f"{p}:5: {message}") and "\n" not in line  # one line, naming file and line
    assert res.stdout == "" and "Traceback" not in res.stderr


@pytest.mark.parametrize("row, message", BAD_ROWS)
def test_bad_actuals_exit_2_with_one_line(tmp_path, row, message):
    # in this process (the interpreter and imports once); the test above covers a real process
    p = _actuals(tmp_path, f"# a comment\n{GOOD}{row}\n")
    res = CliRunner().invoke(app, ["backtest", str(TINY), "--actuals", str(p), "--json"])
    assert res.exit_code == 2
    line = res.stderr.strip()
    assert line.startswith(f"{p}:5: {message}") and "\n" not in line and res.stdout == ""


def test_unknown_compartment_is_refused_before_running(tmp_path):
    p = _actuals(tmp_path, "year,variable,value,compartment\n2014,income,1e9,\n2015,income,1e9,PPU\n")
    res = CliRunner().invoke(app, ["backtest", str(TINY), "--actuals", str(p)])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"{p}:3: compartment 'PPU' is not in tiny's compartments (national)"


def test_backtest_tiny_run_json_and_report(tmp_path):
    p = _actuals(tmp_path, GOOD + "2015,net_assets,1e9\n2015,members,156.0e3\n")
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["backtest", str(TINY), "--actuals", str(p), "--sims", "12", "--json",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    recs, summary = got["records"], got["summary"]
    assert [(r["year"], r["variable"]) for r in recs] == [(2014, "income"), (2015, "claim_ratio"),
                                                          (2015, "members")]
    for r in recs:
        assert r["origin"] == 2014 and r["n_sims"] == 12 and r["q05"] <= r["q50"] <= r["q95"]
        assert 0 < r["pit"] < 1 and r["crps"] >= 0 and r["interval_score_90"] >= r["q95"] - r["q05"]
        assert isinstance(r["covered_50"], bool) and isinstance(r["covered_90"], bool)
    # tiny.yaml scales the 2015 members (156 M) by 1/1000, and members are fixed: a tie, PIT 1/2
    assert recs[2]["pit"] == 0.5 and recs[2]["covered_90"]
    assert [(k["variable"], k["source"]) for k in summary["skipped"]] == [("net_assets", f"{p}:4")]
    assert summary["coverage_90"]["n"] == 3 and summary["runs"][0]["n_sims"] == 12
    assert sorted(f.name for f in out.iterdir()) == ["backtest.json", "backtest.md", "backtest_fan.png",
                                                     "backtest_pit.png"]
    assert json.loads((out / "backtest.json").read_text())["records"] == recs
    assert "| 2014 | 2015 | claim_ratio |" in (out / "backtest.md").read_text()


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    from jkn_risk.config import load_config
    from jkn_risk.orchestrate import run
    from jkn_risk.parameters import build_parameters

    path = tmp_path_factory.mktemp("store") / "tiny.zarr"
    return run(build_parameters(load_config(TINY, ["simulation.n_sims=8"])), path, workers=0, progress=False)


def test_results_store_is_scored_and_table_printed(tmp_path, tiny_store):
    runner = CliRunner()
    p = _actuals(tmp_path, GOOD)
    res = runner.invoke(app, ["backtest", str(TINY), "--actuals", str(p), "--results", str(tiny_store)])
    assert res.exit_code == 0, res.output
    assert "claim_ratio" in res.stdout and "coverage: 50% band" in res.stdout
    res = runner.invoke(app, ["backtest", str(TINY), "--actuals", str(p), "--results", str(tiny_store),
                              "--sims", "5"])
    assert res.exit_code == 2 and "--sims: not used with --results" in res.stderr
    other = ROOT / "configs" / "jkn2014.yaml"  # same years, another config name
    res = runner.invoke(app, ["backtest", str(other), "--actuals", str(p), "--results", str(tiny_store)])
    assert res.exit_code == 2 and "results of config 'tiny', not of 'jkn2014'" in res.stderr


def test_rolling_origins(tmp_path):
    reg = tmp_path / "origins.yaml"
    seg2018 = ROOT / "configs" / "jkn2018_segments.yaml"   # full size, but 3 simulations take a second
    reg.write_text(f"origins:\n  2014: {{config: {TINY}}}\n  2018: {{config: {seg2018}}}\n")
    p = _actuals(tmp_path, "year,variable,value\n2015,claim_ratio,1.1\n2019,claim_ratio,1.0\n")
    runner = CliRunner()
    args = ["backtest", str(TINY), "--actuals", str(p), "--origins", str(reg), "--sims", "3", "--json"]
    res = runner.invoke(app, args + ["--origin", "2014", "--origin", "2018"])
    assert res.exit_code == 0, res.output
    recs = json.loads(res.stdout)["records"]
    assert [(r["origin"], r["year"]) for r in recs] == [(2014, 2015), (2018, 2019)]
    bad = _actuals(tmp_path, "year,variable,value\n2017,income,1\n", "bad.csv")
    res = runner.invoke(app, ["backtest", str(TINY), "--actuals", str(bad), "--origins", str(reg),
                              "--origin", "2014", "--origin", "2018"])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"{bad}:2: year 2017 is outside the projection (2014, 2015, 2018, 2019, 2020, 2021)"
    res = runner.invoke(app, args + ["--origin", "2016"])
    assert res.exit_code == 2 and "--origin 2016: no config for that base year" in res.stderr
