"""`jkn-risk sensitivity`: one line per user error (exit 2), JSON on stdout, files in --out."""
from __future__ import annotations

import json

from tests.cli.test_cli import ROOT, cli

TINY = ROOT / "tests" / "data" / "tiny.yaml"


def _one_line_error(res, start):
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), res.stderr
    assert "Traceback" not in res.stdout + res.stderr


def test_sims_too_small(tmp_path):
    _one_line_error(cli("sensitivity", TINY, "--sims", "1", "--out", tmp_path), "--sims: must be at least 2")


def test_unknown_year(tmp_path):
    _one_line_error(cli("sensitivity", TINY, "--sims", "4", "--years", "2030", "--out", tmp_path),
                    "--years: 2030 is not a projection year")


def test_bad_override(tmp_path):
    res = cli("sensitivity", TINY, "--sims", "4", "--set", "uncertainty.wage.sigma=-1", "--out", tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("uncertainty.") and "(got -1)" in res.stderr
    assert "Traceback" not in res.stderr


def test_json_and_files(tmp_path):
    out = tmp_path / "sens"
    res = cli("sensitivity", TINY, "--sims", "6", "--years", "2015", "--out", out, "--json",
              "--set", "uncertainty={non_cbg: {level: 0.2}}")  # replaces any block the config has
    assert res.returncode == 0, res.stderr
    recs = json.loads(res.stdout)
    assert [(r["target"], r["year"]) for r in recs] == [("surplus", 2015), ("claim_ratio", 2015)]
    for r in recs:
        assert [i["driver"] for i in r["indices"]] == ["non_cbg.level", "ibnr", "process"]
        assert r["n"] == 6 and r["evaluations"] == 5 * 6
        for i in r["indices"]:
            assert set(i) == {"driver", "S1", "S1_ci", "ST", "ST_ci"} and len(i["ST_ci"]) == 2
    assert json.loads((out / "sensitivity.json").read_text()) == recs
    assert {"sensitivity.json", "sensitivity.md", "sensitivity.png", "sensitivity_section.md"} <= {
        p.name for p in out.iterdir()}
