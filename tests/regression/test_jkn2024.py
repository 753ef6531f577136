"""The 2024 base (configs/jkn2024.yaml) reproduces the published 2024 fund figures.

The targets are published data (PUBLIC_DATA.md section 3: DJS Kesehatan 2024 iuran Rp 165.34 T,
health-benefit cost Rp 174.9 T), matched by scripts/calibrate_2024.py; a drift in the config,
the calibrated file or the engine that moves either by more than 1% fails here. Every stress
file of configs/stress/2024 must validate against its base, build, and leave the base year
unchanged in the deterministic projection (each policy starts in 2025 or later).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.projection import project_parameters, table6
from jkn_risk.scenarios import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "configs" / "jkn2024.yaml"
STRESS = sorted((ROOT / "configs" / "stress" / "2024").glob("*.yaml"))
IURAN_2024, COST_2024 = 165.34e12, 174.9e12  # PUBLIC_DATA 3 (DJS Kesehatan 2024, audited)


def _rows(cfg) -> dict[int, dict]:
    return {r["year"]: r for r in table6(project_parameters(build_parameters(cfg)))}


@pytest.fixture(scope="module")
def base_rows():
    cfg = load_config(BASE)
    assert cfg.base_year == 2024 and cfg.years == list(range(2024, 2031))
    return _rows(cfg)


def test_2024_iuran_and_benefit_cost(base_rows):
    r = base_rows[2024]
    member_months = 12 * r["members"]
    assert r["income_pmpm"] * member_months == pytest.approx(IURAN_2024, rel=0.01)
    assert r["cost_pmpm"] * member_months == pytest.approx(COST_2024, rel=0.01)
    assert r["claim_ratio"] == pytest.approx(COST_2024 / IURAN_2024, abs=0.01)


def test_members_2024(base_rows):
    # average registered members: mean of year-end 2023 (267.31 M) and 2024 (278.1 M)
    assert base_rows[2024]["members"] == pytest.approx(0.5 * (267.31e6 + 278.1e6), rel=1e-3)


def test_stress_pack_present():
    assert {p.stem for p in STRESS} >= {"kris_standard_class", "contributions_djsn_fair", "cap_100m",
                                        "pbi_quota_plus10m"}


@pytest.mark.parametrize("path", STRESS, ids=lambda p: p.stem)
def test_stress_file_validates(path, base_rows):
    own = load_config(path)  # through its own extends: ../../jkn2024.yaml
    rebased = load_scenario(path, BASE)  # the way `jkn-risk stress` loads it
    assert own.base_year == rebased.base_year == 2024
    rows = _rows(rebased)
    for key in ("members", "income_pmpm", "cost_pmpm"):
        assert rows[2024][key] == pytest.approx(base_rows[2024][key], rel=1e-12)
