"""The fund roll-forward: exact money identities, compartments, rules on hand-made paths, depletion, figures."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import xarray as xr

from jkn_risk.fund import build_fund_spec, months_of_claims, roll_forward
from jkn_risk.outputs import FUND_VARIABLES, fund_dataset
from jkn_risk.report.fund_metrics import first_depletion_year, fund_risk_measures, fund_series
from jkn_risk.config import validate_fund

FLOWS = ("fund_contributions", "fund_medical_cost", "fund_admin_cost", "fund_regional_government_share",
         "fund_other_income", "investment_income", "injection")
SIGN = {"fund_medical_cost": -1, "fund_admin_cost": -1}


def spec_for(fund: dict, years=(2025,), segments=("A",), regions=("R1",), scheme="pooled", admin=0.0,
             regional=0.0):
    f = validate_fund(fund, list(segments), list(regions), scheme, True)
    return build_fund_spec(f, years, segments, scheme, regions, admin_share=[admin] * len(years),
                           regional_government_share=regional)


def cells(values, n=1):
    """(n_sim, Y) or (Y,) amounts of a one-cell fund -> (n_sim, Y, 1, 1)."""
    a = np.asarray(values, dtype=np.float64)
    a = np.broadcast_to(a, (n, a.shape[-1])) if a.ndim == 1 else a
    return a[:, :, None, None]


def rule(name, type_, **kw):
    return {"name": name, "type": type_, **kw}


# --------------------------------------------------------------------------- hand-computed balances
def test_two_years_by_hand():
    spec = spec_for({"opening_net_assets": 1000, "investment_yield": 0.05, "other_income": {"amount": {2025: 7}}},
                    years=(2025, 2026), admin=0.10)
    out = roll_forward(spec, cells([600, 600]), cells([500, 700]))
    # 2025: admin 60, net = 600 - 500 - 60 + 7 = 47, average 1000 + 23.5, investment 0.05 x 1023.5 = 51.175 -> 51
    # 2026: net = 600 - 700 - 60 + 7 = -153, average 1098 - 76.5, investment 0.05 x 1021.5 = 51.075 -> 51
    assert out["fund_admin_cost"][0, :, 0].tolist() == [60, 60]
    assert out["investment_income"][0, :, 0].tolist() == [51, 51]
    assert out["net_assets"][0, :, 0].tolist() == [1098, 996]
    assert out["months_of_claims"][0, :, 0].tolist() == [12 * 1098 / 500, 12 * 996 / 700]
    assert out["net_assets"].dtype == np.int64


def test_months_of_claims_reproduces_bpjs_2024():
    spec = spec_for({"opening_net_assets": 49.52e12})
    out = roll_forward(spec, cells([174.9e12]), cells([174.9e12]))
    assert out["net_assets"][0, 0, 0] == 49_520_000_000_000
    assert round(float(out["months_of_claims"][0, 0, 0]), 2) == 3.40
    assert math.isnan(months_of_claims(5, 0.0))


def test_negative_balance_rate_applies_below_zero_only():
    spec = spec_for({"opening_net_assets": -1000, "investment_yield": 0.05, "negative_balance_rate": 0.12},
                    years=(2025, 2026))
    out = roll_forward(spec, cells([3000, 3000]), cells([1000, 1000]))
    # 2025: average -1000 + 1000 = 0 -> not negative: 5% of 0; 2026: average 1000 + 1000 -> 100
    assert out["investment_income"][0, :, 0].tolist() == [0, 100]
    spec = spec_for({"opening_net_assets": -1000, "investment_yield": 0.05, "negative_balance_rate": 0.12})
    assert roll_forward(spec, cells([1000]), cells([1200]))["investment_income"][0, 0, 0] == -132   # 0.12 x -1100


def test_yield_path_input_replaces_the_schedule():
    spec = spec_for({"opening_net_assets": 1000, "investment_yield": 0.05})
    out = roll_forward(spec, cells([0.0], n=3), cells([0.0], n=3), investment_yield=np.array([[0.0], [0.1], [-0.2]]))
    assert out["investment_income"][:, 0, 0].tolist() == [0, 100, -200]


def test_bad_shapes_are_refused():
    spec = spec_for({"opening_net_assets": 0}, years=(2025, 2026))
    with pytest.raises(ValueError, match="income has shape"):
        roll_forward(spec, cells([1.0]), cells([1.0]))
    with pytest.raises(ValueError, match="investment_yield"):
        roll_forward(spec, cells([1.0, 1.0]), cells([1.0, 1.0]), investment_yield=np.zeros((1, 3)))


# --------------------------------------------------------------------------- identities on random paths
SEGS, REGS, YEARS = ("PBI", "PPU", "PBPU", "BP"), ("R1", "R2", "R3"), tuple(range(2025, 2031))


def random_flows(n, seed):
    """Cell flows (n, Y, R, S) of a fund near break-even, with a cap saving ~8% of medical cost."""
    rng = np.random.default_rng(seed)
    shape = (n, len(YEARS), len(REGS), len(SEGS))
    income = rng.uniform(0.8e12, 1.2e12, shape)
    uncapped = income * rng.uniform(0.85, 1.25, shape) + rng.uniform(0, 1, shape)   # fractional rupiah
    return income, uncapped, uncapped * rng.uniform(0.88, 0.96, shape)


def fund_with_rules(scheme, opening_total=3e12, rules=True):
    comps = {"pooled": ["national"], "segment": list(SEGS), "region": list(REGS),
             "segment_region": [f"{s}/{r}" for s in SEGS for r in REGS]}[scheme]
    opening = opening_total if scheme == "pooled" else {c: opening_total / len(comps) for c in comps}
    other = {"amount": {2025: 0.3e12, 2028: 0.1e12}}
    if scheme != "pooled":
        other["shares"] = {c: 1 / len(comps) for c in comps}
    out = {"opening_net_assets": opening, "investment_yield": {2025: 0.06, 2027: 0.04}, "other_income": other}
    if rules:
        out["rules"] = [
            rule("raise", "contribution_raise", when={"months_of_claims_below": 1.5}, segments=["PBPU", "BP"],
                 increase=0.1, min_years_between=2),
            rule("cover", "government_injection", when={"net_assets_below": 0}, ceiling=0.5e12, after=["raise"]),
            rule("cap", "benefit_cap", when={"months_of_claims_below": 0.5}, balance="each" if scheme != "pooled"
                 else "total"),
            rule("deficit", "government_injection", covers="deficit", ceiling=0.2e12, after=["cap"]),
        ]
    return out


@pytest.fixture(scope="module")
def segment_run():
    spec = spec_for(fund_with_rules("segment"), YEARS, SEGS, REGS, "segment", admin=0.035, regional=0.3)
    income, unc, cap = random_flows(400, seed=1)
    yld = np.random.default_rng(2).normal(0.05, 0.02, (400, len(YEARS)))
    return spec, (income, unc, cap, yld), roll_forward(spec, income, unc, cap, yld)


def test_net_assets_equal_opening_plus_cumulative_flows_exactly(segment_run):
    spec, _, out = segment_run
    total = sum(SIGN.get(k, 1) * out[k] for k in FLOWS)
    assert all(out[k].dtype == np.int64 for k in (*FLOWS, "net_assets"))
    np.testing.assert_array_equal(out["net_assets"], spec.opening + np.cumsum(total, axis=1))
    # every rule fired somewhere and not everywhere: the identity covers injections and switched flows
    fired = out["rule_triggers"] > 0
    assert (fired.mean(axis=0) > 0.02).all() and (fired.mean(axis=0) < 0.98).all(), fired.mean(axis=0)


def test_flows_match_their_definitions_within_rounding(segment_run):
    """Independent float computation of each flow from the recorded multipliers and cap states."""
    spec, (income, unc, cap, yld), out = segment_run
    member = spec.cell_to_compartment.reshape(len(REGS), len(SEGS), -1).astype(float)   # (R, S, C)
    n_cells = member.sum(axis=(0, 1))                                                       # cells per compartment
    inc = np.einsum("nyrs,rsc->nyc", income * out["contribution_multiplier"][:, :, None, :], member)
    cap_cell = out["cap_active"][:, :, spec.cell_compartment]                               # (n, Y, R, S)
    med = np.einsum("nyrs,rsc->nyc", np.where(cap_cell, cap, unc), member)
    assert np.abs(out["fund_contributions"] - inc).max() <= 0.5 * n_cells.max()
    assert np.abs(out["fund_medical_cost"] - med).max() <= 0.5 * n_cells.max()
    assert np.abs(out["fund_admin_cost"] - 0.035 * out["fund_contributions"]).max() <= 0.5 * n_cells.max()
    opening = np.concatenate([np.broadcast_to(spec.opening, (400, 1, len(SEGS))), out["net_assets"][:, :-1]], 1)
    net = (out["fund_contributions"] - out["fund_medical_cost"] - out["fund_admin_cost"]
           + out["fund_regional_government_share"] + out["fund_other_income"])
    assert np.abs(out["investment_income"] - yld[:, :, None] * (opening + net / 2)).max() <= 0.5
    assert out["fund_other_income"].sum(axis=2).tolist() == [[3e11, 3e11, 3e11, 1e11, 1e11, 1e11]] * 400


def test_regional_governments_pay_their_share_of_each_regions_deficit(segment_run):
    spec, (income, unc, cap, _), out = segment_run
    mult = out["contribution_multiplier"][:, :, None, :]
    inc = np.rint(income * mult)
    med = np.rint(np.where(out["cap_active"][:, :, spec.cell_compartment], cap, unc))
    surplus = inc - med - np.rint(0.035 * inc)
    expected = 0.3 * np.maximum(-surplus.sum(axis=3), 0.0).sum(axis=2)                  # (n, Y)
    paid = out["fund_regional_government_share"].sum(axis=2)
    assert np.abs(paid - expected).max() <= 0.5 * len(REGS) * len(SEGS)
    assert (paid > 0).mean() > 0.5


def test_bits_do_not_depend_on_blocks_or_order(segment_run):
    spec, (income, unc, cap, yld), out = segment_run
    parts = [roll_forward(spec, income[a:b], unc[a:b], cap[a:b], yld[a:b]) for a, b in ((0, 1), (1, 137), (137, 400))]
    perm = np.random.default_rng(3).permutation(400)
    shuffled = roll_forward(spec, income[perm], unc[perm], cap[perm], yld[perm])
    for key in out:
        np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), out[key], err_msg=key)
        np.testing.assert_array_equal(shuffled[key], out[key][perm], err_msg=key)


@pytest.mark.parametrize("scheme", ["segment", "region", "segment_region"])
def test_compartments_add_up_to_the_pooled_fund(scheme):
    """Additive rules (a raise whose trigger always holds) and zero yield: exactly equal; with a yield, investment
    income is rounded per compartment, so the balances differ by at most half a rupiah per compartment-year."""
    income, unc, _ = random_flows(300, seed=4)
    always = [rule("raise", "contribution_raise", when={"net_assets_below": 1e17}, segments=["PPU"], increase=0.02)]
    for yld, tol in ((0.0, 0), (0.06, None)):
        runs = {}
        for s in ("pooled", scheme):
            f = fund_with_rules(s, rules=False) | {"investment_yield": yld, "rules": always}
            spec = spec_for(f, YEARS, SEGS, REGS, s, admin=0.035, regional=0.3)
            runs[s] = roll_forward(spec, income, unc)
        n_comp = runs[scheme]["net_assets"].shape[2]
        tol = tol if tol is not None else 0.5 * n_comp * len(YEARS) * 1.1
        for key in ("net_assets", *FLOWS):
            diff = np.abs(runs[scheme][key].sum(axis=2) - runs["pooled"][key][:, :, 0])
            assert diff.max() <= (tol if key in ("net_assets", "investment_income") else 0), (key, yld, diff.max())
        mult = runs[scheme]["contribution_multiplier"]
        np.testing.assert_allclose(mult[:, :, 1], np.broadcast_to(1.02 ** np.arange(6), (300, 6)), rtol=1e-14)
        assert (np.delete(mult, 1, axis=2) == 1).all()


# --------------------------------------------------------------------------- rules on hand-made paths
def test_raise_fires_when_below_and_waits_min_years_between():
    spec = spec_for({"opening_net_assets": 0, "rules": spec_rules_raise()}, years=tuple(range(2025, 2031)))
    # income = medical = 1200 a year: the balance moves only with the raise; sim 1 starts at 3 months
    out = run_with_openings(spec, [0, 300], income=1200.0, medical=1200.0, years=6)
    # sim 0: 0 (fires, months 0) -> +12 -> 12 (holds, too soon) -> 24 (fires) -> +24 -> 48 (too soon)
    #        -> 72 (fires) -> +36 (1200 x 1.030301 = 1236.36 -> 1236) -> 108
    assert out["net_assets"][0, :, 0].tolist() == [0, 12, 24, 48, 72, 108]
    assert out["rule_fired"][0, :, 0].tolist() == [True, False, True, False, True, False]
    np.testing.assert_allclose(out["contribution_multiplier"][0, :, 0],
                               [1, 1.01, 1.01, 1.01**2, 1.01**2, 1.01**3], rtol=1e-15)
    assert out["rule_triggers"].tolist() == [[3], [0]]
    assert not out["rule_fired"][1].any() and (out["net_assets"][1] == 300).all()


def spec_rules_raise(**extra):
    return [rule("r", "contribution_raise", when={"months_of_claims_below": 1.5}, segments=["A"], increase=0.01,
                 min_years_between=2, **extra)]


def run_with_openings(spec, openings, income, medical, years, capped=None):
    """Roll sims that differ only in their opening balance (by shifting the first year's income)."""
    n = len(openings)
    inc = np.full((n, years), float(income))
    inc[:, 0] += np.asarray(openings) - int(spec.opening[0])
    med = cells(np.full((n, years), float(medical)))
    return roll_forward(spec, cells(inc), med, None if capped is None else cells(np.full((n, years), float(capped))))


def test_raise_max_times():
    spec = spec_for({"opening_net_assets": 0, "rules": spec_rules_raise(max_times=2)}, years=tuple(range(2025, 2031)))
    out = run_with_openings(spec, [0], income=1200.0, medical=1200.0, years=6)
    assert out["rule_fired"][0, :, 0].tolist() == [True, False, True, False, False, False]


def test_threshold_is_strict():
    # months exactly 1.5 do not trigger; 1.49 and 1.0 do (income = medical = 1200: months = balance / 100)
    spec = spec_for({"opening_net_assets": 0, "rules": spec_rules_raise()})
    out = run_with_openings(spec, [100, 149, 150, 151, 300], income=1200.0, medical=1200.0, years=1)
    assert out["months_of_claims"][:, 0, 0].tolist() == [1.0, 1.49, 1.5, 1.51, 3.0]
    assert out["rule_fired"][:, 0, 0].tolist() == [True, True, False, False, False]


def test_injection_tops_up_to_the_floor_within_the_ceiling():
    spec = spec_for({"opening_net_assets": 0, "rules": [
        rule("gov", "government_injection", when={"net_assets_below": 0}, ceiling=10)]}, years=(2025, 2026))
    out = run_with_openings(spec, [-5, -20, 3], income=1000.0, medical=1000.0, years=2)
    assert out["injection"][:, :, 0].tolist() == [[5, 0], [10, 10], [0, 0]]
    assert out["net_assets"][:, :, 0].tolist() == [[0, 0], [-10, 0], [3, 3]]
    assert out["rule_triggers"][:, 0].tolist() == [1, 2, 0]


def test_injection_to_a_months_floor():
    spec = spec_for({"opening_net_assets": 0, "rules": [
        rule("gov", "government_injection", when={"months_of_claims_below": 1.5})]})
    out = run_with_openings(spec, [100, 200], income=1200.0, medical=1200.0, years=1)
    assert out["injection"][:, 0, 0].tolist() == [50, 0]          # 1.5 months of 1200 a year = 150
    assert out["months_of_claims"][:, 0, 0].tolist() == [1.5, 2.0]


def test_injection_of_the_years_deficit():
    spec = spec_for({"opening_net_assets": 500, "rules": [
        rule("gov", "government_injection", covers="deficit", ceiling=60)]}, years=(2025, 2026))
    out = roll_forward(spec, cells([1000.0, 1000.0]), cells([1100.0, 950.0]))
    assert out["injection"][0, :, 0].tolist() == [60, 0]           # a loss of 100 (60 paid), then a surplus
    assert out["net_assets"][0, :, 0].tolist() == [460, 510]


def test_cap_switches_medical_cost_from_the_next_year():
    spec = spec_for({"opening_net_assets": 0, "rules": [
        rule("cap", "benefit_cap", when={"months_of_claims_below": 0.5})]}, years=(2025, 2026, 2027))
    out = run_with_openings(spec, [0, 1000], income=1200.0, medical=1300.0, years=3, capped=1100.0)
    assert out["cap_active"][:, :, 0].tolist() == [[False, True, True], [False, False, False]]
    assert out["fund_medical_cost"][0, :, 0].tolist() == [1300, 1100, 1100]
    assert out["net_assets"][0, :, 0].tolist() == [-100, 0, 100]
    assert out["rule_triggers"][:, 0].tolist() == [1, 0]           # switched on once, not again each year


def test_cap_per_compartment_switches_only_the_compartment_in_trouble():
    spec = spec_for({"opening_net_assets": {"A": 0, "B": 10_000}, "rules": [
        rule("cap", "benefit_cap", when={"months_of_claims_below": 0.5}, balance="each")]},
        years=(2025, 2026), segments=("A", "B"), scheme="segment")
    flows = np.full((1, 2, 1, 2), 1200.0)
    out = roll_forward(spec, flows, flows + 100, flows - 100)
    assert out["cap_active"][0].tolist() == [[False, False], [True, False]]
    assert out["fund_medical_cost"][0].tolist() == [[1300, 1300], [1100, 1300]]


def test_after_and_config_order():
    # cap needs the raise to have fired (this year or before); the raise is listed first
    rules = [rule("raise", "contribution_raise", when={"months_of_claims_below": 1.0}, segments=["A"], increase=0.5),
             rule("cap", "benefit_cap", when={"months_of_claims_below": 2.0}, after=["raise"])]
    spec = spec_for({"opening_net_assets": 0, "rules": rules}, years=(2025, 2026))
    out = run_with_openings(spec, [50, 150], income=1200.0, medical=1200.0, years=2, capped=1200.0)
    assert out["rule_fired"][:, 0].tolist() == [[True, True], [False, False]]   # 1.5 months: cap would, may not
    # an injection listed before a raise hides the shortfall from it; listed after, it does not
    gov = rule("gov", "government_injection", when={"months_of_claims_below": 1.5})
    raise_ = rule("raise", "contribution_raise", when={"months_of_claims_below": 1.5}, segments=["A"], increase=0.1)
    fired = {}
    for order in ((gov, raise_), (raise_, gov)):
        spec = spec_for({"opening_net_assets": 0, "rules": list(order)})
        fired[order[0]["name"]] = run_with_openings(spec, [100], 1200.0, 1200.0, years=1)["rule_fired"][0, 0].tolist()
    assert fired == {"gov": [True, False], "raise": [True, True]}


def reference_roll(opening, income, unc, cap_med, admin, yld, other, rules):
    """A one-cell-per-segment pooled fund, one simulation, in plain Python scalars (obviously correct)."""
    Y, S = len(income), len(income[0])
    bal, mult, cap = opening, [1.0] * S, False
    count, last = [0] * len(rules), [-10**9] * len(rules)
    rows = []
    for y in range(Y):
        row = {"mult": list(mult), "cap": cap, "fired": []}
        inc = [round(income[y][s] * mult[s]) for s in range(S)]
        adm = [round(admin * i) for i in inc]
        med = [round((cap_med if cap else unc)[y][s]) for s in range(S)]
        net = sum(inc) - sum(med) - sum(adm) + other
        inv = round(yld[y] * (bal + 0.5 * net))
        closing, paid = bal + net + inv, 0
        for k, r in enumerate(rules):
            ok = y - last[k] >= r["gap"] and count[k] < r["max"] and all(count[j] > 0 for j in r["after"])
            months = 12.0 * closing / sum(med)
            holds = (months if r["measure"] == "months" else closing) < r["level"]
            fired = False
            if r["type"] == "raise" and ok and holds:
                mult = [m * (1.0 + r["inc"]) if s in r["segs"] else m for s, m in enumerate(mult)]
                fired = True
            elif r["type"] == "cap" and ok and holds and not cap:
                cap = fired = True
            elif r["type"] == "shortfall" and ok and holds:
                target = r["level"] if r["measure"] == "net" else r["level"] * sum(med) / 12.0
                pay = min(max(math.ceil(target - closing), 0), r["ceiling"])
                closing, paid, fired = closing + pay, paid + pay, pay > 0
            elif r["type"] == "deficit" and ok:
                pay = min(max(-(net + inv + paid), 0), r["ceiling"])
                closing, paid, fired = closing + pay, paid + pay, pay > 0
            if fired:
                count[k], last[k] = count[k] + 1, y
            row["fired"].append(fired)
        row.update(net_assets=closing, injection=paid)
        rows.append(row)
        bal = closing
    return rows


def test_rules_match_a_scalar_reference_on_random_paths():
    years = tuple(range(2025, 2033))
    ref_rules = [
        {"type": "raise", "measure": "months", "level": 1.5, "gap": 2, "max": 10**9, "after": [], "segs": [1],
         "inc": 0.05},
        {"type": "shortfall", "measure": "net", "level": 0.0, "gap": 1, "max": 10**9, "after": [0], "ceiling": 40},
        {"type": "cap", "measure": "months", "level": 0.3, "gap": 1, "max": 10**9, "after": [0]},
        {"type": "deficit", "measure": None, "level": 0.0, "gap": 3, "max": 2, "after": [2], "ceiling": 25},
        {"type": "raise", "measure": "net", "level": -30.0, "gap": 1, "max": 1, "after": [], "segs": [0, 1],
         "inc": 0.02},
    ]
    config = [
        rule("r0", "contribution_raise", when={"months_of_claims_below": 1.5}, segments=["B"], increase=0.05,
             min_years_between=2),
        rule("r1", "government_injection", when={"net_assets_below": 0}, ceiling=40, after=["r0"]),
        rule("r2", "benefit_cap", when={"months_of_claims_below": 0.3}, after=["r0"]),
        rule("r3", "government_injection", covers="deficit", ceiling=25, min_years_between=3, max_times=2,
             after=["r2"]),
        rule("r4", "contribution_raise", when={"net_assets_below": -30}, segments=["A", "B"], increase=0.02,
             max_times=1),
    ]
    spec = spec_for({"opening_net_assets": 0, "other_income": {"amount": {2025: 3}}, "rules": config},
                    years=years, segments=("A", "B"), admin=0.04)
    n, Y = 300, len(years)
    rng = np.random.default_rng(5)
    income = rng.uniform(400, 600, (n, Y, 1, 2)).round(1)
    unc = income * rng.uniform(0.85, 1.2, income.shape)
    capm = unc * 0.9
    yld = rng.uniform(0.0, 0.08, (n, Y))
    openings = rng.integers(-100, 900, n)
    income[:, 0, 0, 0] += openings                       # the opening balance, as first-year income
    out = roll_forward(spec, income, unc, capm, yld)
    for i in range(n):
        rows = reference_roll(0, income[i, :, 0].tolist(), unc[i, :, 0].tolist(), capm[i, :, 0].tolist(), 0.04,
                              yld[i].tolist(), 3, ref_rules)
        assert out["net_assets"][i, :, 0].tolist() == [r["net_assets"] for r in rows], i
        assert out["injection"][i, :, 0].tolist() == [r["injection"] for r in rows], i
        assert out["rule_fired"][i].tolist() == [r["fired"] for r in rows], i
        assert out["cap_active"][i, :, 0].tolist() == [r["cap"] for r in rows], i
        assert out["contribution_multiplier"][i].tolist() == [r["mult"] for r in rows], i
    share = out["rule_fired"].any(axis=1).mean(axis=0)
    assert ((share > 0.02) & (share < 0.98)).all(), share      # every rule both fires and not


# --------------------------------------------------------------------------- depletion and measures
def net_dataset(net, months=None, medical=None, compartments=("national",), years=None):
    net = np.asarray(net, dtype=np.int64)
    net = net[:, :, None] if net.ndim == 2 else net
    years = np.arange(2025, 2025 + net.shape[1]) if years is None else years
    months = np.full(net.shape, 3.0) if months is None else np.asarray(months, dtype=np.float64).reshape(net.shape)
    ds = xr.Dataset({"net_assets": (("sim", "year", "compartment"), net),
                     "months_of_claims": (("sim", "year", "compartment"), months)},
                    coords={"sim": np.arange(net.shape[0]), "year": years,
                            "compartment": np.array(compartments, dtype=object)})
    if medical is not None:
        ds["fund_medical_cost"] = (("sim", "year", "compartment"), np.asarray(medical))
    return ds


def test_first_depletion_year_on_synthetic_paths():
    paths = [[5, 3, 1, 0],       # never negative (zero is not a deficit)
             [5, -1, 4, 6],      # depleted in year 1, then recovers
             [-2, -3, -1, -1],   # from the start
             [4, 2, 1, -1],      # in the last year
             [1, 1, -1, 2]]      # year 2, then recovers
    assert first_depletion_year(np.array(paths)).tolist() == [4, 1, 0, 3, 2]
    m = fund_risk_measures(net_dataset(paths))
    assert m["depletion"]["year"] == [2025, 2026, 2027, 2028, "not within horizon"]
    assert m["depletion"]["count"] == [1, 1, 1, 1, 1]
    assert m["depletion"]["probability"] == [0.2] * 5
    assert m["depletion"]["se"] == [pytest.approx(math.sqrt(0.2 * 0.8 / 5))] * 5
    assert m["p_negative"] == [0.2, 0.4, 0.4, 0.4]                        # recoveries leave this measure
    assert m["p_depleted_by"] == pytest.approx([0.2, 0.4, 0.6, 0.8])


def test_measures_against_hand_counts():
    rng = np.random.default_rng(6)
    net = rng.integers(-1000, 5000, (200, 3))
    months = rng.uniform(0, 8, (200, 3))
    m = fund_risk_measures(net_dataset(net, months))
    assert m["p_negative"] == [float((net[:, y] < 0).sum()) / 200 for y in range(3)]
    assert m["p_months_below_1_5"] == [float((months[:, y] < 1.5).sum()) / 200 for y in range(3)]
    assert m["p_months_above_6"] == [float((months[:, y] > 6).sum()) / 200 for y in range(3)]
    for y in range(3):
        loss = np.sort(-net[:, y].astype(float))       # ascending; ceil(200 x 0.995) = 199th = index 198
        assert m["var"][y] == loss[198]
        assert m["tvar"][y] == pytest.approx(loss[198] + (loss[199] - loss[198]) / 200 / 0.005)
        p = m["p_negative"][y]
        assert m["p_negative_se"][y] == pytest.approx(math.sqrt(p * (1 - p) / 200))


def test_whole_fund_months_use_summed_balances_and_costs():
    net = np.array([[[100, -40]], [[10, 20]]])                 # (sim, year, compartment)
    med = np.array([[[1200, 600]], [[120, 120]]])
    ds = net_dataset(net, months_of_claims(net, med), med, compartments=("A", "B"))
    total, months, label = fund_series(ds)
    assert label == "total" and total.tolist() == [[60], [30]]
    assert months.tolist() == [[12 * 60 / 1800], [12 * 30 / 240]]
    assert fund_series(ds, "B")[0].tolist() == [[-40], [20]]
    with pytest.raises(ValueError, match="fund_medical_cost"):
        fund_series(ds.drop_vars("fund_medical_cost"))


def test_dataset_labels_and_json_ready_measures(segment_run):
    import json
    spec, _, out = segment_run
    ds = fund_dataset(spec, out, np.arange(400))
    assert set(ds.data_vars) == set(FUND_VARIABLES)
    assert ds["net_assets"].dims == ("sim", "year", "compartment") and ds["net_assets"].attrs["units"] == "IDR"
    assert list(ds["rule"].values) == ["raise", "cover", "cap", "deficit"]
    m = fund_risk_measures(ds)
    assert m["compartment"] == "total" and len(m["var"]) == len(YEARS)
    json.dumps(m, allow_nan=False)


# --------------------------------------------------------------------------- figures and speed
def test_figures(tmp_path, segment_run):
    from jkn_risk.report.fund_plots import depletion_histogram, months_of_claims_fan, save_fund_figures
    spec, _, out = segment_run
    ds = fund_dataset(spec, out, np.arange(400))
    fig = months_of_claims_fan(ds)
    levels = sorted({float(line.get_ydata()[0]) for line in fig.axes[0].lines if len(set(line.get_ydata())) == 1})
    assert {1.5, 6.0} <= set(levels)
    fig = depletion_histogram(ds, "PBI")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "not within horizon"
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == len(YEARS) + 1 and sum(heights) == pytest.approx(1.0)
    paths = save_fund_figures(ds, tmp_path / "fig")
    assert [p.name for p in paths] == ["fund_net_assets_fan.png", "fund_months_of_claims_fan.png",
                                       "fund_depletion_year.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_ten_thousand_simulations_are_fast():
    years = tuple(range(2025, 2032))
    segs = ("PBI-APBN", "PBI-APBD", "PPU", "PBPU", "BP")
    regs = ("R1", "R2", "R3", "R4", "R5")
    f = {"opening_net_assets": {s: 10e12 for s in segs}, "investment_yield": 0.05, "rules": [
        rule("raise", "contribution_raise", when={"months_of_claims_below": 1.5}, segments=["PBPU", "BP"],
             increase=0.1),
        rule("cover", "government_injection", when={"net_assets_below": 0}, ceiling=5e12),
        rule("cap", "benefit_cap", when={"months_of_claims_below": 0.5}, balance="each")]}
    spec = spec_for(f, years, segs, regs, "segment", admin=0.035, regional=0.3)
    rng = np.random.default_rng(7)
    income = rng.uniform(1e12, 3e12, (10_000, 7, 5, 5))
    med = income * rng.uniform(0.9, 1.2, income.shape)
    t = time.perf_counter()
    roll_forward(spec, income, med, med * 0.95)
    assert time.perf_counter() - t < 2.0      # ~0.2 s measured; loose for a shared machine
