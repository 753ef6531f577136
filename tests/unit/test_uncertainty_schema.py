"""The ``uncertainty:`` block through ``jkn-risk validate``: the documented example is valid, and
each broken block gives exactly one line, its key path and its value, and exit status 2."""
from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from jkn_risk import schema_uncertainty
from jkn_risk.cli import app

from tests.conftest import BASELINE

RUNNER = CliRunner()


def validate(*overrides: str):
    """``jkn-risk validate`` of the baseline with its own uncertainty block replaced by the
    overrides' (so that each case is the block in isolation)."""
    args = ["validate", str(BASELINE)]
    for item in ("uncertainty=null", *overrides):
        args += ["--set", item]
    return RUNNER.invoke(app, args)


def docstring_example() -> dict:
    doc = schema_uncertainty.__doc__
    start = doc.index("```yaml") + len("```yaml")
    return yaml.safe_load(doc[start:doc.index("```", start)])["uncertainty"]


def test_the_documented_example_is_valid():
    block = docstring_example()
    assert block["correlation"]["drivers"]  # the example is the full block, not a stub
    res = validate(f"uncertainty={json.dumps(block)}")
    assert res.exit_code == 0, res.output


SEMI = "[[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]"
YEARLY = ("only drivers with yearly innovations can be correlated (trends, tariff, wage, collection, "
          "membership, investment yield)")
BROKEN = {
    "negative sigma": (
        "uncertainty.utilization.outpatient.trend={sigma: -0.1, phi: 0.5}",
        "uncertainty.utilization.outpatient.trend.sigma: must be in [0, 1] (got -0.1)"),
    "negative membership sigma": (
        "uncertainty.membership={PPU: {sigma: -0.02}}",
        "uncertainty.membership.PPU.sigma: must be in [0, 1] (got -0.02)"),
    "phi out of range": (
        "uncertainty.utilization.inpatient.trend={sigma: 0.02, phi: 1.2}",
        "uncertainty.utilization.inpatient.trend.phi: must be in (-1, 1) (got 1.2)"),
    "phi on the open bound": (
        "uncertainty.collection={PBPU: {sigma: 0.2, phi: -1}}",
        "uncertainty.collection.PBPU.phi: must be in (-1, 1) (got -1)"),
    "long-run sigma too large": (
        "uncertainty.investment_yield={sigma: 0.1, long_run_sigma: 0.6}",
        "uncertainty.investment_yield.long_run_sigma: must be in [0, 0.5] (got 0.6)"),
    "non-PSD correlation": (
        f"uncertainty.correlation={{drivers: [wage, investment_yield, non_cbg.trend], matrix: {SEMI}}}",
        "uncertainty.correlation.matrix: must be positive semi-definite (smallest eigenvalue -0.8) "
        f"(got {SEMI.replace(' ', '').replace(',', ', ')})"),
    "non-symmetric correlation": (
        "uncertainty.correlation={drivers: [wage, investment_yield], matrix: [[1, 0.5], [0.4, 1]]}",
        "uncertainty.correlation.matrix: must be finite and symmetric (got [[1, 0.5], [0.4, 1]])"),
    "correlation of the wrong size": (
        "uncertainty.correlation={drivers: [wage, investment_yield], "
        "matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}",
        "uncertainty.correlation.matrix: must be 2 x 2, one row and column per driver "
        "(got [[1, 0, 0], [0, 1, 0], [0, 0, 1]])"),
    "correlation diagonal not one": (
        "uncertainty.correlation={drivers: [wage, investment_yield], matrix: [[2, 0.5], [0.5, 1]]}",
        "uncertainty.correlation.matrix: must have a unit diagonal and entries in [-1, 1] "
        "(got [[2, 0.5], [0.5, 1]])"),
    "a driver twice in correlation": (
        "uncertainty.correlation={drivers: [wage, wage], matrix: [[1, 0.5], [0.5, 1]]}",
        "uncertainty.correlation.drivers: must be at least two distinct driver names "
        "(got ['wage', 'wage'])"),
    "unknown driver in correlation": (
        "uncertainty.correlation={drivers: [wage, foo], matrix: [[1, 0.5], [0.5, 1]]}",
        "uncertainty.correlation.drivers.1: unknown driver (got 'foo')"),
    "a level driver in correlation": (
        "uncertainty.correlation={drivers: [wage, non_cbg.level], matrix: [[1, 0.5], [0.5, 1]]}",
        f"uncertainty.correlation.drivers.1: {YEARLY} (got 'non_cbg.level')"),
    "probability > 1": (
        "uncertainty.shock={probability: 1.5, log_multiplier: {sigma: 0.1}}",
        "uncertainty.shock.probability: must be in [0, 1] (got 1.5)"),
    "jump probability > 1": (
        "uncertainty.unit_cost.tariff={jump_probability: 1.2, jump_sigma: 0.05}",
        "uncertainty.unit_cost.tariff.jump_probability: must be in [0, 1] (got 1.2)"),
    "unknown key": (
        "uncertainty.foo=1",
        "uncertainty.foo: unknown key (got 1)"),
    "unknown key inside a driver": (
        "uncertainty.non_cbg={level: 0.05, trend: {sigma: 0.02, rho: 0.5}}",
        "uncertainty.non_cbg.trend.rho: unknown key (got 0.5)"),
    "unknown segment in collection": (
        "uncertainty.collection={XX: {sigma: 0.1}}",
        "uncertainty.collection.XX: unknown segment (got 'XX')"),
    "PBI-APBN in membership": (
        "uncertainty.membership={PBI-APBN: {sigma: 0.1}}",
        "uncertainty.membership.PBI-APBN: is a policy quota, not an uncertain assumption "
        "(got 'PBI-APBN')"),
    "duration 0": (
        "uncertainty.shock={probability: 0.1, log_multiplier: {sigma: 0.1}, duration: 0}",
        "uncertainty.shock.duration: Input should be greater than or equal to 1 (got 0)"),
    "unknown care type in shock": (
        "uncertainty.shock={probability: 0.1, log_multiplier: {sigma: 0.1}, care: [dental]}",
        "uncertainty.shock.care: must list inpatient and/or outpatient (got ['dental'])"),
    "jump_sigma negative": (
        "uncertainty.unit_cost.tariff={jump_probability: 0.3, jump_sigma: -0.1}",
        "uncertainty.unit_cost.tariff.jump_sigma: must be in [0, 1] (got -0.1)"),
    "negative level": (
        "uncertainty.unit_cost.inpatient.level=-0.2",
        "uncertainty.unit_cost.inpatient.level: must be in [0, 1] (got -0.2)"),
}


@pytest.mark.parametrize("override, line", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_block_gives_one_line_with_its_key_path_and_value(override, line):
    res = validate(override)
    assert res.exit_code == 2, res.output
    assert res.output.splitlines() == [line]


def test_the_wage_driver_keeps_its_key_path():
    """'wage' is also a contribution branch's tag: the path keeps it where the input has it."""
    res = validate("uncertainty.wage={sigma: -0.1}")
    assert res.exit_code == 2
    assert res.output.splitlines() == ["uncertainty.wage.sigma: must be in [0, 1] (got -0.1)"]


def test_two_broken_drivers_give_two_lines():
    res = validate("uncertainty.utilization.inpatient.trend={phi: 1.2}",
                   "uncertainty.shock={probability: -0.1}")
    assert res.exit_code == 2
    assert sorted(res.output.splitlines()) == [
        "uncertainty.shock.probability: must be in [0, 1] (got -0.1)",
        "uncertainty.utilization.inpatient.trend.phi: must be in (-1, 1) (got 1.2)"]
