"""``jkn-risk validate`` reads every file a config names (tables and claim triangles) and reports
each problem as one line: the key path, then the file and, where they apply, line, origin, lag."""
from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from jkn_risk.cli import app

IP = "triangles/ip_claims_2014.csv"
OP = "triangles/op_claims_2014.csv"


def validate(config, *overrides):
    args = ["validate", str(config)]
    for o in overrides:
        args += ["--set", o]
    return CliRunner().invoke(app, args)


def _spoil(config_copy, name, old_prefix, bad):
    """Replace the value of the first line starting with ``old_prefix``; return that line number."""
    path = config_copy.folder / "data" / name
    lines = path.read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith(old_prefix))
    config_copy.edit_csv(name, lines[k], old_prefix + bad)
    return k + 1


def test_baseline_valid_with_its_triangles(config_copy):
    res = validate(config_copy.path)
    assert res.exit_code == 0, res.output
    assert "valid" in res.stdout
    assert "ip_claims_2014.csv (12 origins x 18 lags)" in res.stdout


def test_non_numeric_triangle_cell(config_copy):
    line = _spoil(config_copy, IP, "2014-02,3,", "12x45")
    res = validate(config_copy.path)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"utilization.inpatient.ibnr.triangle: ip_claims_2014.csv line {line}: origin 2014-02, "
        "lag 3: not a number (got '12x45')"]
    assert res.stdout == ""


def test_one_line_per_bad_triangle(config_copy):
    _spoil(config_copy, IP, "2014-05,2,", "nan")
    _spoil(config_copy, OP, "2014-07,4,", "-3")
    res = validate(config_copy.path)
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("utilization.inpatient.ibnr.triangle: ip_claims_2014.csv line ")
    assert "origin 2014-05, lag 2: not a finite number" in lines[0]
    assert lines[1].startswith("utilization.outpatient.ibnr.triangle: op_claims_2014.csv line ")
    assert "origin 2014-07, lag 4: negative count" in lines[1]


def test_bootstrap_origins_must_be_in_the_triangle(config_copy):
    res = validate(config_copy.path, "utilization.inpatient.ibnr.origins=['2014-12', '2015-01']")
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("utilization.inpatient.ibnr.origins: not origins of ip_claims_2014.csv")
    assert "['2015-01']" in line and "'2014-12'" not in line


def test_base_year_must_have_origins_in_the_triangle(config_copy):
    path = config_copy.folder / "data" / OP
    path.write_text(path.read_text().replace("\n2014-", "\n2013-"))
    res = validate(config_copy.path)
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("utilization.outpatient.ibnr.triangle: op_claims_2014.csv: no origin "
                           "in the base year 2014")


def test_missing_table_file_names_the_path(config_copy):
    (config_copy.folder / "data" / "cbg_table_2014.csv").unlink()
    res = validate(config_copy.path)
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("case_mix.table: file not found: ")
    assert line.endswith(str(config_copy.folder / "data" / "cbg_table_2014.csv"))


def test_binary_table_file(config_copy):
    (config_copy.folder / "data" / "membership_2014.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    res = validate(config_copy.path)
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("membership.base: membership_2014.csv line ") and "binary" in line


def test_undecodable_table_file(config_copy):
    path = config_copy.folder / "data" / "membership_2014.csv"
    path.write_bytes(b"# caf\xe9\n" + path.read_bytes())
    res = validate(config_copy.path)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == ["membership.base: membership_2014.csv line 1: not UTF-8 text "
                                       "(byte 0xe9)"]


def test_in_a_real_process(config_copy):
    """No traceback and exit 2 from the installed entry point, not only in-process."""
    _spoil(config_copy, IP, "2014-03,2,", "12x45")
    res = subprocess.run([sys.executable, "-m", "jkn_risk.cli", "validate", str(config_copy.path)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("utilization.inpatient.ibnr.triangle: ip_claims_2014.csv line ")
    assert "'12x45'" in line and "Traceback" not in res.stderr
