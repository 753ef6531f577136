"""A bad population table (``population:``) gives one line naming the file, line(s) and column, and
``jkn-risk validate`` exits with status 2."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from jkn_risk.cli import app
from jkn_risk.config import load_config

NAME = "population_2014.csv"


def validate(config):
    return CliRunner().invoke(app, ["validate", str(config)])


def _rewrite(config_copy, keep):
    """Keep the comment lines, the header and the data rows for which ``keep(year, region)``."""
    path = config_copy.folder / "data" / NAME
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("year,"):
            out.append(line)
            continue
        year, region, _ = line.split(",")
        if keep(int(year), region):
            out.append(line)
    path.write_text("\n".join(out) + "\n")


def _line_of(config_copy, prefix) -> int:
    lines = (config_copy.folder / "data" / NAME).read_text().splitlines()
    return next(i for i, ln in enumerate(lines) if ln.startswith(prefix)) + 1


def _one_error(config_copy) -> str:
    res = validate(config_copy.path)
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"population: {NAME} line")
    return lines[0]


def test_baseline_population_loads(baseline_path):
    cfg = load_config(baseline_path)
    pop = cfg.tables.population
    assert pop.shape == (len(cfg.years), len(cfg.regions))
    assert pop[0].sum() == 252_200_000                      # seed 001's 2014 population, exactly
    assert (pop > 0).all() and (np.diff(pop.sum(axis=1)) > 0).all()


def test_missing_region(config_copy):
    _rewrite(config_copy, lambda y, r: r != "R4")
    line = _one_error(config_copy)
    assert "column 'region'" in line and "no rows for region R4" in line


def test_region_missing_in_one_year(config_copy):
    _rewrite(config_copy, lambda y, r: (y, r) != (2016, "R2"))
    line = _one_error(config_copy)
    assert "column 'region'" in line and "no row for region R2 in year 2016" in line


def test_year_not_covered(config_copy):
    _rewrite(config_copy, lambda y, r: y != 2019)
    line = _one_error(config_copy)
    assert "column 'year'" in line and "projection year 2019" in line


@pytest.mark.parametrize("bad", ["0", "-1200", "0.0"])
def test_zero_or_negative_population(config_copy, bad):
    k = _line_of(config_copy, "2015,R3,")
    config_copy.edit_csv(NAME, (config_copy.folder / "data" / NAME).read_text().splitlines()[k - 1],
                         f"2015,R3,{bad}")
    line = _one_error(config_copy)
    assert line.startswith(f"population: {NAME} line {k}, column 'population': must be positive")


def test_unknown_region_is_one_line(config_copy):
    k = _line_of(config_copy, "2017,R5,")
    config_copy.edit_csv(NAME, "2017,R5,", "2017,R9,")
    line = _one_error(config_copy)
    assert line == f"population: {NAME} line {k}, column 'region': unknown region (got 'R9')"


def test_not_a_number(config_copy):
    k = _line_of(config_copy, "2014,R1,")
    config_copy.edit_csv(NAME, "2014,R1,", "2014,R1,x")
    line = _one_error(config_copy)
    assert line.startswith(f"population: {NAME} line {k}, column 'population': not a number")


def test_duplicate_row(config_copy):
    path = config_copy.folder / "data" / NAME
    text = path.read_text()
    first = _line_of(config_copy, "2014,R1,")
    path.write_text(text + "2014,R1,1000\n")
    line = _one_error(config_copy)
    assert "columns 'year', 'region'" in line and f"repeats line {first}" in line


def test_missing_file(config_copy):
    (config_copy.folder / "data" / NAME).unlink()
    res = validate(config_copy.path)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [f"population: file not found: {config_copy.folder / 'data' / NAME}"]


def test_years_beyond_the_projection_are_ignored(config_copy):
    path = config_copy.folder / "data" / NAME
    path.write_text(path.read_text() + "".join(f"2030,R{i},{1000 * i}\n" for i in range(1, 6)))
    assert load_config(config_copy.path).tables.population.shape == (6, 5)
