"""The uncertainty block in the engine (simulate_block on tests/data/tiny.yaml), exact checks:

* absent, or present with every sigma zero: the same bits (collective mode, and individual mode
  under an annual cap with cost noise);
* common random numbers: a stress outside the block draws the same factor paths;
* a unit-cost factor scales each member's amount before the cap: events untouched, uncapped
  claims scaled by the drawn factor up to the rupiah rounding per member, the cap still binding.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.simulate import prepare_run, simulate_block

from tests.conftest import ROOT

TINY = ROOT / "tests" / "data" / "tiny.yaml"
SIMS = np.arange(40)
CAP = 20_000_000
CAPPED = [f"policy.annual_benefit_cap={CAP}", "case_mix.cost_noise_sigma=0.3"]
# Every driver present, every sigma zero (phi, correlation, shock and jump probabilities set).
ZERO = {
    "utilization": {"inpatient": {"level": 0.0, "trend": {"sigma": 0.0, "phi": 0.5}},
                    "outpatient": {"level": 0.0, "trend": {"sigma": 0.0, "phi": -0.3}}},
    "unit_cost": {"inpatient": {"level": 0.0}, "outpatient": {"level": 0.0},
                  "tariff": {"sigma": 0.0, "phi": 0.3, "jump_probability": 0.4, "jump_sigma": 0.0}},
    "non_cbg": {"level": 0.0, "trend": {"sigma": 0.0, "phi": 0.2}},
    "wage": {"sigma": 0.0, "phi": 0.6},
    "collection": {"PBPU": {"sigma": 0.0, "phi": 0.6}, "BP": {"sigma": 0.0}},
    "membership": {"PPU": {"sigma": 0.0}, "PBPU": {"sigma": 0.0, "phi": 0.7}},
    "shock": {"probability": 0.3, "log_multiplier": {"mean": 0.0, "sigma": 0.0}, "duration": 2},
    "investment_yield": {"sigma": 0.0, "phi": 0.5},
    "correlation": {"drivers": ["utilization.inpatient.trend", "wage", "collection.PBPU"],
                    "matrix": [[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]]},
}
ACTIVE = {
    "utilization": {"inpatient": {"level": 0.05, "trend": {"sigma": 0.03, "phi": 0.5}}},
    "unit_cost": {"tariff": {"sigma": 0.02, "jump_probability": 0.3, "jump_sigma": 0.05}},
    "wage": {"sigma": 0.03}, "collection": {"PBPU": {"sigma": 0.3, "phi": 0.5}},
    "membership": {"PPU": {"sigma": 0.03}},
    "shock": {"probability": 0.2, "log_multiplier": {"mean": 0.05, "sigma": 0.1}},
    "correlation": {"drivers": ["utilization.inpatient.trend", "wage"], "matrix": [[1, 0.5], [0.5, 1]]},
}


def block(overrides=(), spec=None):
    """A run of tiny.yaml with this uncertainty block (None: no block at all) and its 40 sims."""
    extra = [f"uncertainty={'null' if spec is None else json.dumps(spec)}"]
    run = prepare_run(build_parameters(load_config(TINY, list(overrides) + extra)))
    return run, simulate_block(run, SIMS, threads=1)


@pytest.mark.parametrize("overrides", [[], CAPPED], ids=["collective", "individual+cap+noise"])
def test_every_sigma_zero_is_the_deterministic_engine_bit_for_bit(overrides):
    run, absent = block(overrides)
    zero_run, zero = block(overrides, ZERO)
    assert zero_run.assumptions.active == ()
    xr.testing.assert_identical(absent, zero)
    if overrides:  # the variant really runs the member-by-member kernel with a binding cap
        assert (absent.members_with_events >= 0).all() and absent.members_over_cap.sum() > 0


def test_a_stress_outside_the_uncertainty_block_draws_the_same_paths():
    """Common random numbers: trend, tariff and cap stresses leave ``factor`` bit-identical."""
    _, base = block([], ACTIVE)
    _, stressed = block(["utilization.inpatient.trend.2015=0.2", "case_mix.tariff_index.2015=0.3",
                         *CAPPED], ACTIVE)
    assert (base.factor != 1).any()
    xr.testing.assert_identical(base.factor, stressed.factor)
    assert not base.claims.equals(stressed.claims)


def test_a_unit_cost_factor_scales_amounts_before_the_cap():
    """``unit_cost.inpatient.level = 0.3`` against no uncertainty, individual mode under the cap:

    * the claims streams are untouched: events and members with events identical everywhere,
      outpatient amounts identical;
    * inpatient uncapped claims are ``sum_m rint(f T_m)``, so ``|U_f - f U_1| <= 0.5 x members with
      events`` per cell (one rounding per member), with ``f`` the simulation's drawn factor;
    * capped claims are ``sum_m min(rint(f T_m), cap)``: at most ``members with events x cap``,
      at most the uncapped claims, and monotone in ``f`` (as is the count over the cap).
    """
    _, one = block(CAPPED)
    _, ds = block(CAPPED, {"unit_cost": {"inpatient": {"level": 0.3}}})
    for v in ("events", "members_with_events"):
        xr.testing.assert_identical(one[v], ds[v])
    op = {"care": "outpatient"}
    for v in ("claims_uncapped", "claims", "members_over_cap"):
        xr.testing.assert_identical(one[v].sel(op), ds[v].sel(op))

    f = ds.factor.sel(driver="unit_cost.inpatient.level")  # (sim, year), the same every year
    assert float(f.std()) > 0.1 and (f == f.isel(year=0)).all()
    ip = {"care": "inpatient"}
    u1, uf = one.claims_uncapped.sel(ip), ds.claims_uncapped.sel(ip)
    members = ds.members_with_events.sel(ip)
    assert (members > 0).any()
    assert (abs(uf - f * u1) <= 0.5 * members).all()

    c1, cf = one.claims.sel(ip), ds.claims.sel(ip)
    assert (cf <= members * CAP).all() and (cf <= uf).all()
    over1, overf = one.members_over_cap.sel(ip), ds.members_over_cap.sel(ip)
    up, down = f >= 1, f <= 1
    assert ((cf >= c1) | ~up).all() and ((cf <= c1) | ~down).all()
    assert ((overf >= over1) | ~up).all() and ((overf <= over1) | ~down).all()
    assert int(overf.sum()) > 0 and (uf > cf).any()  # the cap binds on the scaled amounts
    assert not ((overf == over1) | (f == 1)).all()  # and the factor moves members across it
