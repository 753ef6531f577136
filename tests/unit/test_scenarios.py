"""Stress scenarios: identity, exact cap accounting, compartments adding up, re-basing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.scenarios import load_scenario, scenario_parameters
from jkn_risk.simulate import prepare_run, simulate_block

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"
ROOT = Path(__file__).resolve().parents[2]


def block(overrides=(), sims=range(6)):
    params = build_parameters(load_config(TINY, list(overrides)))
    return simulate_block(prepare_run(params), np.arange(sims.start, sims.stop))


def test_scenario_that_changes_nothing_is_bit_identical():
    base = block()
    same = block(["shocks=[{target: members, multiply: 0.001}, {target: utilization, multiply: 1.0}]"])
    xr.testing.assert_identical(base, same)


def test_cap_lowers_claims_exactly_by_over_cap_amounts():
    base = block(["simulation.method=individual"])
    capped = block(["simulation.method=individual", "policy.annual_benefit_cap=20000000"])
    # the cap changes no random number: uncapped claims of the cap scenario are the base's claims
    np.testing.assert_array_equal(capped.claims_uncapped.values, base.claims.values)
    over = capped.claims_uncapped - capped.claims
    np.testing.assert_array_equal((base.claims - capped.claims).values, over.values)
    assert int(over.sum()) > 0 and int(capped.members_over_cap.sum()) > 0
    assert (over >= 0).all() and ((over > 0) == (capped.members_over_cap > 0)).all()
    np.testing.assert_allclose((capped.surplus - base.surplus).values, over.sum("care").values, rtol=1e-9)


@pytest.mark.parametrize("scheme", ["segment", "region", "segment_region"])
@pytest.mark.parametrize("share", [0.0, 0.5])
def test_compartments_sum_to_pooled(scheme, share):
    pooled = block([f"policy.regional_government_deficit_share={share}"])
    split = block([f"policy.compartments={scheme}", f"policy.regional_government_deficit_share={share}"])
    for name in ("surplus_compartment", "income_compartment", "medical_cost_compartment",
                 "regional_government_share", "expected_surplus_compartment"):
        np.testing.assert_allclose(split[name].sum("compartment").values,
                                   pooled[name].sel(compartment="national").values, rtol=1e-12, atol=1e-3)


def test_regional_share_moves_half_of_each_regional_deficit():
    p = build_parameters(load_config(TINY, ["policy.compartments=region",
                                            "policy.regional_government_deficit_share=0.5"]))
    ds = simulate_block(prepare_run(p), np.arange(3))
    regional = ds.surplus.sum("segment")  # (sim, year, region)
    paid = ds.regional_government_share.rename(compartment="region")
    np.testing.assert_allclose(paid.values, 0.5 * np.maximum(-regional.values, 0), rtol=1e-12)
    np.testing.assert_allclose(ds.surplus_compartment.values, (regional + paid).values, rtol=1e-12)


def test_scenario_is_rebased_on_the_given_base():
    scen = ROOT / "configs" / "stress" / "util_plus10.yaml"
    cfg = load_scenario(scen, TINY)
    assert cfg.years == [2014, 2015] and cfg.simulation.seed == 7
    assert cfg.shocks[-1].multiply == pytest.approx(1.10)


def test_scenarios_share_seed_and_sims():
    named = scenario_parameters(ROOT / "configs" / "jkn2018_segments.yaml",
                                sorted((ROOT / "configs" / "stress").glob("*.yaml")), sims=11)
    assert len({n for n, _ in named}) == len(named) == 14
    assert {(p.seed, p.n_sims) for _, p in named} == {(20180101, 11)}


def test_common_random_numbers_other_cells_identical():
    base = block()
    shocked = block(["shocks=[{target: members, multiply: 0.001}, "
                     "{target: utilization, care: [inpatient], regions: [R1], multiply: 1.05}]"])
    other = dict(region=["R2", "R3", "R4", "R5"])
    xr.testing.assert_identical(base.claims.sel(**other), shocked.claims.sel(**other))
    xr.testing.assert_identical(base.claims.sel(care="outpatient"), shocked.claims.sel(care="outpatient"))
    assert not base.claims.sel(region="R1", care="inpatient").equals(shocked.claims.sel(region="R1", care="inpatient"))
