"""The ``fund:`` block: a valid block builds; each broken block gives exactly one line naming its key path."""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import yaml

from jkn_risk.config import ConfigError
from jkn_risk.fund import BAL_EACH, BAL_TOTAL, CAP, INJECTION, NO_CEILING, RAISE, build_fund_spec
from jkn_risk.schema import Config
from jkn_risk.config import validate_fund

SEGMENTS = ["PBI-APBN", "PBI-APBD", "PPU", "PBPU", "BP"]
REGIONS = ["R1", "R2", "R3", "R4", "R5"]

EXAMPLE = """
opening_net_assets: 49.52e+12          # IDR, 1 January of the first projected year
investment_yield: {2025: 0.055, 2027: 0.05}
negative_balance_rate: 0.12
other_income:
  amount: {2025: 0.8e+12}
rules:
  - name: raise_informal
    type: contribution_raise
    when: {months_of_claims_below: 1.5}
    segments: [PBPU, BP]
    increase: 0.10
    min_years_between: 2
  - name: state_cover
    type: government_injection
    covers: shortfall
    when: {net_assets_below: 0}
    ceiling: 20.0e+12
    after: [raise_informal]
  - name: cap_on
    type: benefit_cap
    when: {months_of_claims_below: 0.5}
    after: [state_cover]
"""


def example() -> dict:
    return yaml.safe_load(EXAMPLE)


def segment_fund(data: dict) -> dict:
    """The example for compartments by segment: opening balances and other-income shares per compartment."""
    out = copy.deepcopy(data)
    out["opening_net_assets"] = {s: 10e12 for s in SEGMENTS}
    out["other_income"]["shares"] = {s: 0.2 for s in SEGMENTS}
    return out


def only_line(data, compartments="pooled", has_cap=True) -> str:
    with pytest.raises(ConfigError) as info:
        validate_fund(data, SEGMENTS, REGIONS, compartments, has_cap)
    lines = info.value.lines()
    assert len(lines) == 1, lines
    return lines[0]


def test_example_block_is_valid_and_builds():
    fund = validate_fund(example(), SEGMENTS, REGIONS, "pooled", True)
    spec = build_fund_spec(fund, range(2025, 2030), SEGMENTS, "pooled", REGIONS, admin_share=[0.035] * 5)
    assert spec.compartments == ("national",)
    assert spec.opening.tolist() == [49_520_000_000_000]
    assert spec.investment_yield.tolist() == [0.055, 0.055, 0.05, 0.05, 0.05]
    assert spec.other_income[:, 0].tolist() == [800_000_000_000] * 5
    raise_, cover, cap = spec.rules
    assert (raise_.kind, raise_.balance, raise_.increase, raise_.min_years_between) == (RAISE, BAL_TOTAL, 0.1, 2)
    assert raise_.ceiling.tolist() == [NO_CEILING]
    assert raise_.segments.tolist() == [False, False, False, True, True]
    assert (cover.kind, cover.balance, cover.after, cover.ceiling.tolist()) == (INJECTION, BAL_EACH, (0,), [20e12])
    assert (cap.kind, cap.after) == (CAP, (1,))


def test_segment_compartments_build_with_exact_other_income_split():
    data = segment_fund(example())
    data["other_income"]["shares"] = {"PBI-APBN": 0.3, "PBI-APBD": 0.3, "PPU": 0.2, "PBPU": 0.1, "BP": 0.1}
    data["other_income"]["amount"] = {2025: 1000000000001}
    fund = validate_fund(data, SEGMENTS, REGIONS, "segment", True)
    spec = build_fund_spec(fund, [2025], SEGMENTS, "segment", REGIONS, admin_share=[0.0])
    assert spec.compartments == tuple(SEGMENTS)
    assert int(spec.other_income.sum()) == 1000000000001        # apportioned without losing a rupiah
    assert np.abs(spec.other_income[0] - 1000000000001 * np.array([0.3, 0.3, 0.2, 0.1, 0.1])).max() <= 1
    assert spec.cell_compartment.tolist() == [list(range(5))] * 5   # cell (region, segment) -> segment


def test_unknown_segment_line_is_exactly_the_issue_format():
    data = example()
    data["rules"][0]["segments"] = ["PBI-APBN", "PPU", "PPX"]
    assert only_line(data) == "fund.rules.0.segments.2: unknown segment (got 'PPX')"


@pytest.mark.parametrize("when, key", [
    ({"months_of_claims_below": -1.5}, "fund.rules.0.when.months_of_claims_below"),
    ({"months_of_claims_below": "low"}, "fund.rules.0.when.months_of_claims_below"),
])
def test_negative_or_non_numeric_threshold(when, key):
    data = example()
    data["rules"][0]["when"] = when
    line = only_line(data)
    assert line.startswith(key + ":") and "(got " in line, line


def test_threshold_needs_exactly_one_measure():
    data = example()
    data["rules"][0]["when"] = {"months_of_claims_below": 1.5, "net_assets_below": 0}
    assert only_line(data).startswith("fund.rules.0.when: give exactly one of")


def test_rule_cycle_is_one_line_naming_the_cycle():
    data = example()
    data["rules"][0]["after"] = ["cap_on"]    # raise -> cap_on -> state_cover -> raise
    line = only_line(data)
    assert line == ("fund.rules.0.after.0: rule cycle: raise_informal -> cap_on -> state_cover -> raise_informal"
                    " (got 'cap_on')")


def test_rule_depending_on_itself():
    data = example()
    data["rules"][2]["after"] = ["cap_on"]
    assert only_line(data) == "fund.rules.2.after.0: rule cycle: cap_on -> cap_on (got 'cap_on')"


def test_forward_reference_without_cycle():
    data = example()
    data["rules"][1]["after"] = []
    data["rules"][0]["after"] = ["state_cover"]
    line = only_line(data)
    assert line.startswith("fund.rules.0.after.0: must name a rule listed before") and "'state_cover'" in line


def test_unknown_rule_reference():
    data = example()
    data["rules"][1]["after"] = ["raise_formal"]
    assert only_line(data) == "fund.rules.1.after.0: unknown rule (got 'raise_formal')"


def test_duplicate_rule_name():
    data = example()
    data["rules"][2]["name"] = "state_cover"
    data["rules"][2]["after"] = []
    assert only_line(data) == "fund.rules.2.name: duplicate rule name (got 'state_cover')"


def test_missing_opening_balance_for_a_compartment():
    data = segment_fund(example())
    del data["opening_net_assets"]["PBPU"]
    assert only_line(data, "segment") == "fund.opening_net_assets.PBPU: missing opening balance for compartment"


def test_unknown_compartment_in_opening_balance():
    data = segment_fund(example())
    data["opening_net_assets"]["PBI"] = 1e12
    assert only_line(data, "segment") == "fund.opening_net_assets.PBI: unknown compartment (got 'PBI')"


def test_compartments_need_a_mapping_of_opening_balances():
    data = segment_fund(example())
    data["opening_net_assets"] = 49.52e12
    line = only_line(data, "segment")
    assert line.startswith("fund.opening_net_assets: compartments 'segment' need a mapping") and "49520" in line


def test_compartments_need_other_income_shares():
    data = segment_fund(example())
    del data["other_income"]["shares"]
    assert only_line(data, "segment") == "fund.other_income.shares: compartments need shares of other income"


def test_other_income_shares_sum_to_one():
    data = segment_fund(example())
    data["other_income"]["shares"]["BP"] = 0.3
    line = only_line(data, "segment")
    assert line.startswith("fund.other_income.shares: shares must sum to 1 (sum is 1.1)"), line


def test_missing_opening_net_assets():
    data = example()
    del data["opening_net_assets"]
    assert only_line(data) == "fund.opening_net_assets: missing required key"


@pytest.mark.parametrize("value", [".inf", ".nan", "2.0e+17"])
def test_opening_must_be_a_finite_amount(value):
    data = example()
    data["opening_net_assets"] = yaml.safe_load(value)
    assert only_line(data).startswith("fund.opening_net_assets:")


def test_unknown_key_in_a_rule():
    data = example()
    data["rules"][1]["celing"] = 1e12
    assert only_line(data) == "fund.rules.1.celing: unknown key; did you mean 'ceiling'?"


def test_unknown_rule_type():
    data = example()
    data["rules"][1]["type"] = "bailout"
    line = only_line(data)
    assert line.startswith("fund.rules.1:") and "bailout" in line, line


@pytest.mark.parametrize("key, value, path", [
    ("increase", -0.1, "fund.rules.0.increase"),
    ("min_years_between", 0, "fund.rules.0.min_years_between"),
    ("segments", [], "fund.rules.0.segments"),
])
def test_bad_raise_fields(key, value, path):
    data = example()
    data["rules"][0][key] = value
    assert only_line(data).startswith(path + ":")


def test_negative_ceiling():
    data = example()
    data["rules"][1]["ceiling"] = -5e12
    assert only_line(data).startswith("fund.rules.1.ceiling:")


def test_ceiling_mapping_must_cover_the_rule_compartments():
    data = segment_fund(example())
    data["rules"][1]["ceiling"] = {"PBI-APBN": 1e12, "PPU": 1e12}
    data["rules"][1]["compartments"] = ["PBI-APBN", "PPU", "BP"]
    assert only_line(data, "segment") == "fund.rules.1.ceiling.BP: missing ceiling for compartment"


def test_unknown_compartment_in_a_rule():
    data = segment_fund(example())
    data["rules"][2]["compartments"] = ["PPU", "PBI"]
    assert only_line(data, "segment") == "fund.rules.2.compartments.1: unknown compartment (got 'PBI')"


def test_unknown_balance():
    data = segment_fund(example())
    data["rules"][0]["balance"] = "informal"
    assert only_line(data, "segment").startswith("fund.rules.0.balance: unknown compartment")


def test_raise_cannot_read_each_compartment():
    data = segment_fund(example())
    data["rules"][0]["balance"] = "each"
    assert only_line(data, "segment").startswith("fund.rules.0.balance: a contribution raise is national")


def test_shortfall_needs_a_level():
    data = example()
    del data["rules"][1]["when"]
    assert only_line(data).startswith("fund.rules.1: covers: shortfall needs 'when'")


def test_cap_rule_needs_a_configured_cap():
    line = only_line(example(), has_cap=False)
    assert line == ("fund.rules.2.type: a benefit_cap rule needs policy.annual_benefit_cap (the cap it "
                    "switches on) (got 'benefit_cap')")


def test_investment_yield_above_minus_one():
    data = example()
    data["investment_yield"] = {2025: -1.5}
    assert only_line(data).startswith("fund.investment_yield.2025:")


# --------------------------------------------------------------------------- through the command line
needs_integration = pytest.mark.skipif("fund" not in Config.model_fields,
                                       reason="Config has no 'fund' key yet (integration pending)")


@needs_integration
@pytest.mark.parametrize("edit, start", [
    (lambda f: f["rules"][0].update(segments=["PBI-APBN", "PPU", "PPX"]), "fund.rules.0.segments.2: unknown segment"),
    (lambda f: f["rules"][0]["when"].update(months_of_claims_below=-1), "fund.rules.0.when.months_of_claims_below:"),
    (lambda f: f["rules"][0].update(after=["cap_on"]), "fund.rules.0.after.0: rule cycle"),
])
def test_cli_validate_exits_2_with_one_line(config_copy, edit, start):
    data = config_copy.read()
    fund = example()
    data["policy"] = {**data.get("policy", {}), "annual_benefit_cap": 2.0e8}
    edit(fund)
    data["fund"] = fund
    res = subprocess.run([sys.executable, "-m", "jkn_risk.cli", "validate", str(config_copy.write(data))],
                         capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), lines
