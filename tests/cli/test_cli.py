"""The command line: exit codes, one line per problem, no traceback for user errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "configs" / "jkn2014.yaml"


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "jkn_risk.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_validate_ok():
    res = cli("validate", BASE)
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout and "2019" in res.stdout and "PBI-APBN" in res.stdout


def test_validate_bad_exits_2_with_key_paths_and_no_traceback():
    res = cli("validate", BASE, "--set", "utilization.inpatient.rate.R1=-1", "--set", "simulation.bogus=1")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert any(ln.startswith("utilization.inpatient.rate.R1:") and "(got -1)" in ln for ln in lines)
    assert any(ln.startswith("simulation.bogus: unknown key") for ln in lines)
    assert "Traceback" not in res.stderr + res.stdout


def test_validate_missing_file():
    res = cli("validate", "no/such.yaml")
    assert res.returncode == 2 and "config file not found" in res.stderr and "Traceback" not in res.stderr


def test_yaml_error_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nregions: [R1\n")
    res = cli("validate", bad)
    assert res.returncode == 2 and "bad.yaml:" in res.stderr and "YAML syntax error" in res.stderr


def test_project_json_keys():
    res = cli("project", BASE, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["year"] for r in rows] == list(range(2014, 2020))
    assert set(rows[0]) == {"year", "members", "income_pmpm", "cost_pmpm", "claim_ratio",
                            "contribution_surplus_pmpm", "contribution_surplus_total", "fund_result_total",
                            "population", "coverage", "active_coverage"}


def test_project_table():
    res = cli("project", BASE)
    assert res.returncode == 0 and "claim ratio" in res.stdout and "114.9%" in res.stdout
    assert "contribution surplus = contributions - medical cost" in res.stdout and "fund result" in res.stdout
    assert "active coverage" in res.stdout and "48.6%" in res.stdout   # seed 003, 2014


@pytest.mark.parametrize("triangle", ["configs/data/triangles/ip_claims_2014.csv", "tests/data/triangles/raa.csv"])
def test_reserve_json(triangle):
    res = cli("reserve", triangle, "--bootstrap", "200", "--seed", "3", "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert set(d) == {"chainladder", "mack", "bootstrap"}
    assert set(d["chainladder"]) >= {"ldf", "ibnr", "ibnr_total"} and set(d["mack"]) >= {"se", "total_se"}
    assert d["bootstrap"]["n_sims"] == 200 and set(d["bootstrap"]["quantiles"]) == {"0.75", "0.95", "0.995"}


def test_reserve_bad_triangle(tmp_path):
    bad = tmp_path / "tri.csv"
    bad.write_text("origin,development,value\n2014-01,1,10\n2014-01,2,abc\n")
    res = cli("reserve", bad)
    assert res.returncode == 2 and "tri.csv" in res.stderr and "Traceback" not in res.stderr


def test_reserve_bad_option():
    res = cli("reserve", "tests/data/triangles/raa.csv", "--process", "lognormal")
    assert res.returncode == 2 and "--process" in res.stderr


def test_public_api():
    import jkn_risk

    assert jkn_risk.__all__ == sorted(["BootstrapODP", "Chainladder", "Config", "ConfigError", "MackChainladder",
                                       "Parameters", "build_parameters", "compare_scenarios", "load_config",
                                       "open_results", "project", "prepare_run", "read_triangle", "render_report",
                                       "render_stress_report", "risk_measures", "run", "simulate_block", "stress",
                                       "table6"]) + ["__version__"]
    for name in jkn_risk.__all__:
        assert getattr(jkn_risk, name) is not None
    import jkn_risk.api
    import jkn_risk.orchestrate

    assert jkn_risk.run is jkn_risk.api.run and jkn_risk.stress is jkn_risk.api.stress  # in memory
    assert callable(jkn_risk.orchestrate.run)  # the store writer behind `jkn-risk run`


def test_run_report_and_stress_end_to_end(tmp_path):
    tiny = ROOT / "tests" / "data" / "tiny.yaml"
    store = tmp_path / "tiny.zarr"
    res = cli("run", tiny, "--out", store, "--sims", "8", "--workers", "0", "--no-progress")
    assert res.returncode == 0, res.stderr
    res = cli("run", tiny, "--out", store, "--sims", "8", "--workers", "0", "--no-progress")
    assert res.returncode == 2 and "exists" in res.stderr and "Traceback" not in res.stderr
    res = cli("report", store, "--out", tmp_path / "report")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "report" / "report.html").exists() and (tmp_path / "report" / "report.md").exists()
    scen = [ROOT / "configs" / "stress" / "util_plus10.yaml", ROOT / "configs" / "stress" / "compartments_segment.yaml"]
    res = cli("stress", tiny, *scen, "--sims", "6", "--workers", "0", "--out", tmp_path / "stress", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {r["scenario"] for r in rows} == {"base", "util_plus10", "compartments_segment"}
    assert (tmp_path / "stress" / "stress_report.md").exists() and (tmp_path / "stress" / "stress_tornado.png").exists()
    util = [r for r in rows if r["scenario"] == "util_plus10" and r["compartment"] == "national"]
    assert all(r["mean_surplus_diff"] < 0 for r in util)
