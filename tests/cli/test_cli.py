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
    assert set(rows[0]) == {"year", "members", "income_pmpm", "cost_pmpm", "claim_ratio", "surplus_pmpm",
                            "surplus_total"}


def test_project_table():
    res = cli("project", BASE)
    assert res.returncode == 0 and "claim ratio" in res.stdout and "114.9%" in res.stdout


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
                                       "Parameters", "build_parameters", "load_config", "open_results", "project",
                                       "read_triangle", "render_report", "risk_measures", "run", "simulate_block",
                                       "table6"]) + ["__version__"]
    for name in jkn_risk.__all__:
        assert getattr(jkn_risk, name) is not None
