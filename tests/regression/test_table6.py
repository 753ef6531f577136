"""The deterministic projection of the baseline reproduces the seed paper's Table 6.

Tolerances are the issue's: 2014 income and cost pmpm within 1%, claim ratio within 1 point;
2015-2019 claim ratios within 3 points; total deficit 2014 within 5% and 2019 within 10%.
Only the 2014 column is used in calibration (scripts/calibrate_baseline.py).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

PAPER = {  # seed 001, Table 6: income pmpm, medical cost pmpm, claim ratio
    2014: (27_696, 31_812, 1.149), 2015: (29_080, 33_332, 1.146), 2016: (30_244, 37_401, 1.237),
    2017: (31_453, 38_247, 1.216), 2018: (32_712, 42_248, 1.292), 2019: (34_020, 42_248, 1.242),
}
DEFICIT_TOTAL = {2014: 6.1e12, 2019: 23.8e12}


@pytest.fixture(scope="module")
def rows(baseline_path):
    res = subprocess.run([sys.executable, "-m", "jkn_risk.cli", "project", str(baseline_path), "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(res.stdout)
    assert [set(r) for r in data] == [{"year", "members", "income_pmpm", "cost_pmpm", "claim_ratio",
                                       "contribution_surplus_pmpm",
                                       "contribution_surplus_total", "fund_result_total",
                                       "population", "coverage", "active_coverage"}] * 6
    return {r["year"]: r for r in data}


def test_2014_column(rows):
    r = rows[2014]
    income, cost, ratio = PAPER[2014]
    assert r["income_pmpm"] == pytest.approx(income, rel=0.01)
    assert r["cost_pmpm"] == pytest.approx(cost, rel=0.01)
    assert abs(r["claim_ratio"] - ratio) <= 0.01


@pytest.mark.parametrize("year", [2015, 2016, 2017, 2018, 2019])
def test_claim_ratio_later_years(rows, year):
    assert abs(rows[year]["claim_ratio"] - PAPER[year][2]) <= 0.03


def test_total_deficits(rows):
    assert -rows[2014]["contribution_surplus_total"] == pytest.approx(DEFICIT_TOTAL[2014], rel=0.05)
    assert -rows[2019]["contribution_surplus_total"] == pytest.approx(DEFICIT_TOTAL[2019], rel=0.10)


def test_consistency(rows):
    for r in rows.values():
        assert r["claim_ratio"] == pytest.approx(r["cost_pmpm"] / r["income_pmpm"], rel=1e-12)
        assert r["contribution_surplus_total"] == pytest.approx(r["contribution_surplus_pmpm"] * 12 * r["members"],
                                                                rel=1e-9)
        assert r["fund_result_total"] < r["contribution_surplus_total"]  # administration deducted


def test_2014_coverage(rows):
    """Seed 001: 125 M average members of 252.2 M people; seed 003's active coverage is lower by
    the members whose contributions are unpaid (PBPU 47%, BP 10% of them)."""
    r = rows[2014]
    assert r["population"] == pytest.approx(252.2e6, abs=0.5)
    assert r["coverage"] == pytest.approx(125.0e6 / 252.2e6, rel=1e-3)
    assert 0.0 < r["coverage"] - r["active_coverage"] < 0.011
