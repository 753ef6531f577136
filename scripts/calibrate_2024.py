"""Calibrate configs/jkn2024.yaml against the published 2024 fund figures.

Every input is a published figure from shared/PUBLIC_DATA.md (section named beside it), a
seed-paper figure (DOMAIN.md), an assumption of configs/jkn2024.yaml, or one of the module
constants marked A below; nothing published about 2025 or later is used. configs/README.md
("jkn2024.yaml") lists each number and its source.

Derived by arithmetic (D)
  * members: 2024 average registered members = mean of the year-end counts 2023 and 2024
    (267.31 M, 278.1 M; PUBLIC_DATA 2), split by segment in the 30 Nov 2022 shares (the latest
    published split), by region in the 2014 regional shares (seed 001 Tables 3-4, as every
    other config); 2025-2030 year-end members grow with the population (2023 -> 2024 growth
    implied by 279.1 M people in 2023 and 278.1 M = 98.45% covered in 2024), coverage held at
    98.45%; PBI-APBN's registered headcount is held at its 2024 level (the 96.8 M quota binds),
    the other segments share the growth in their 2024 proportions;
  * PBI-APBN / PBI-APBD paid share: the 2023 iuran (APBN 45.5 T, APBD 16.1 T; PUBLIC_DATA 5)
    over 42,000 x 12 x the 2023 registered headcount in the same shares ("collection");
  * PBPU collection and BP contribution: the 2021 iuran by segment (PUBLIC_DATA 5) over the 2021
    headcount (2020/2021 year-end mean in the Nov 2022 shares); PBPU collection = collected pmpm /
    billed pmpm under the config's class shares; BP (pensions, veterans, class premiums mixed)
    keeps its 2021 received pmpm;
  * utilisation: 2023 hospital inpatient 16.3 M and outpatient 129.9 M (PUBLIC_DATA 4), in
    INA-CBG claim units (x 2014 CBG claims / 2014 published count: 5.149 M / 4.2 M inpatient,
    26.48 M / 21.3 M outpatient, DOMAIN Tables 3-4 and PUBLIC_DATA 4), per registered
    member-month of 2023, carried to 2024 by the growth of all visits per member (609.5 M in 2023
    -> 673.9 M in 2024); regions keep the 2014 regional rate pattern (seed 001 Table 4). The same
    per-member growth (4.6%) is the 2025-2030 utilisation trend;
  * segment utilisation relativities: configs/data/calibrated_2018_segments.yaml (the BPJS
    Jan-Sep 2018 claim ratios, the latest published segment experience), rebased on 2024 members;
  * PPU care classes: class I above a wage of Rp 4 M (Perpres 82/2018 art. 54, M), class II below,
    from the calibrated lognormal wages;
  * non-CBG cost: capitation = Permenkes 3/2023 rate midpoints (PUBLIC_DATA 4) x an FKTP
    registration mix (A), non-capitation and other non-CBG items in the 2014 proportions of
    scripts/calibrate_baseline.py (A);
  * administration: 2024 operating cost 5.77 T / iuran 165.34 T (PUBLIC_DATA 3).

Calibrated (C), each by Brent's method on the deterministic projection
  1. PPU-PN and PPU-BU mean wages that give the 2021 iuran per member (25.41 T, 35.15 T);
  2. one common factor on both (2021 -> 2024 wage growth) so that total 2024 contributions
     received = Rp 165.34 T (PUBLIC_DATA 3); its annual rate is the 2025-2030 wage growth;
  3. ``case_mix.tariff_level`` (mean paid per INA-CBG claim relative to the 2014 table) so
     that the 2024 benefit cost = Rp 174.9 T (PUBLIC_DATA 3).

Writes configs/data/membership_2024.csv, configs/data/calibrated_2024.yaml (extended by
configs/jkn2024.yaml) and the stress files of configs/stress/2024/ whose sizes depend on these
numbers (KRIS, DJSN premiums, PBI quota; cap_100m.yaml is hand-written).
Run: ``python scripts/calibrate_2024.py`` (deterministic; well under a minute).
"""
from __future__ import annotations

from math import erf, log, sqrt
from pathlib import Path

import yaml
from scipy.optimize import brentq

from jkn_risk.config import deep_merge, load_config_dict
from jkn_risk.projection import project

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "jkn2024.yaml"
OUT = ROOT / "configs" / "data" / "calibrated_2024.yaml"
MEMBERS_CSV = ROOT / "configs" / "data" / "membership_2024.csv"
CAL_2018 = ROOT / "configs" / "data" / "calibrated_2018_segments.yaml"
STRESS = ROOT / "configs" / "stress" / "2024"
BASE, LAST = 2024, 2030
REGIONS = ["R1", "R2", "R3", "R4", "R5"]
CARE = ("inpatient", "outpatient")

# --------------------------------------------------------------------------- published (V/S)
YEAR_END_MEMBERS = {2020: 222.4e6, 2021: 235.71e6, 2022: 248.77e6, 2023: 267.31e6,
                    2024: 278.1e6}                                   # PUBLIC_DATA 2
COVERAGE_2024 = 0.9845                                               # PUBLIC_DATA 2
POPULATION_2023 = 279.1e6                                            # PUBLIC_DATA 2 and 6 (BPS)
NOV_2022 = {"PBI-APBN": 110.8e6, "PBI-APBD": 39.5e6, "PPU-PN": 19.34e6, "PPU-BU": 42.33e6,
            "PBPU": 30.68e6, "BP": 4.26e6}                           # PUBLIC_DATA 2, 30 Nov 2022
IURAN_2021 = {"PBI-APBN": 47.15e12, "PBI-APBD": 17.57e12, "PPU-PN": 25.41e12,
              "PPU-BU": 35.15e12, "PBPU": 15.99e12, "BP": 2.05e12}   # PUBLIC_DATA 5 (APBD = regionally registered)
IURAN_2023_PBI = {"PBI-APBN": 45.5e12, "PBI-APBD": 16.1e12}          # PUBLIC_DATA 5
TARGET_IURAN_2024 = 165.34e12                                        # PUBLIC_DATA 3
TARGET_COST_2024 = 174.9e12                                          # PUBLIC_DATA 3
OPERATING_COST_2024 = 5.77e12                                        # PUBLIC_DATA 3
PBI_PREMIUM = 42_000                                                 # PUBLIC_DATA 1, Perpres 64/2020
PBI_APBN_QUOTA = 96.8e6                                              # PUBLIC_DATA 1 (2019-2025)
HOSPITAL_2023 = {"inpatient": 16.3e6, "outpatient": 129.9e6}         # PUBLIC_DATA 4
VISITS_2023 = 239.5e6 + 223.8e6 + 129.9e6 + 16.3e6                   # PUBLIC_DATA 4 (FKTP + hospital)
VISITS_2024 = 673.9e6                                                # PUBLIC_DATA 4
PUBLISHED_2014 = {"inpatient": 4.2e6, "outpatient": 21.3e6}          # PUBLIC_DATA 4
CBG_CLAIMS_2014 = {"inpatient": [2_689_305, 655_825, 1_358_497, 101_935, 343_206],
                   "outpatient": [16_288_611, 3_249_253, 5_444_725, 429_990, 1_065_163]}  # seed 001 Table 3
RATES_2014 = {"inpatient": [3.239, 3.333, 4.505, 4.161, 2.648],
              "outpatient": [19.619, 16.513, 18.056, 17.553, 8.217]}  # seed 001 Table 4, as reported
CAPITATION_2023 = {"puskesmas": (3_600, 9_000), "clinic": (9_000, 16_000),
                   "doctor": (8_300, 15_000)}                        # PUBLIC_DATA 4, Permenkes 3/2023
COST_2014, MEMBERS_2014 = 42.65e12, 125.008e6                        # PUBLIC_DATA 3; seed 001 Table 2
DJSN_FAIR_2018 = {"PBI": 36_000, "III": 53_000, "II": (63_000 + 68_000) / 2, "I": 80_000}  # PUBLIC_DATA 1
CLASS_I_WAGE = 4_000_000       # M: Perpres 82/2018 art. 54 (class I above Rp 4 M wage), not in PUBLIC_DATA

# --------------------------------------------------------------------------- assumptions (A)
FKTP_MIX = {"puskesmas": 0.55, "clinic": 0.35, "doctor": 0.10}        # members registered by FKTP type
NON_CBG_SPLIT = {"capitation": 0.62, "non_capitation": 0.08, "other": 0.30}  # as calibrate_baseline.py
KRIS_RELATIVITY = 1.1          # the single KRIS tariff: between the old class III (1.0) and II (1.2)
KRIS_FROM = "2025-07"          # Perpres 59/2024: hospitals apply KRIS by 30 June 2025
DJSN_FROM = 2026
QUOTA_EXTRA, QUOTA_FROM = 10e6, 2026


# --------------------------------------------------------------------------- derivations
def average_members(year_end: dict[int, float], year: int) -> float:
    return 0.5 * (year_end[year - 1] + year_end[year])


def regional_shares() -> list[float]:
    """2014 members per region = cases / rate / 12 (seed 001 Tables 3-4), as shares."""
    m = [(a + b) / (c + d) for a, b, c, d in zip(CBG_CLAIMS_2014["inpatient"], CBG_CLAIMS_2014["outpatient"],
                                                 RATES_2014["inpatient"], RATES_2014["outpatient"])]
    return [x / sum(m) for x in m]


def derive() -> tuple[dict, dict]:
    """The derived (D) part of calibrated_2024.yaml and a dict of facts for the report."""
    own = yaml.safe_load(CONFIG.read_text())
    facts: dict = {}
    seg_share = {s: v / sum(NOV_2022.values()) for s, v in NOV_2022.items()}
    headcount = {y: {s: seg_share[s] * average_members(YEAR_END_MEMBERS, y) for s in seg_share}
                 for y in (2021, 2023, 2024)}
    # projection of year-end members: population growth, coverage held at the 2024 level
    pop_growth = (YEAR_END_MEMBERS[2024] / COVERAGE_2024) / POPULATION_2023 - 1.0
    year_end = dict(YEAR_END_MEMBERS)
    for y in range(BASE + 1, LAST + 1):
        year_end[y] = year_end[y - 1] * (1.0 + pop_growth)
    totals = {y: round(average_members(year_end, y), -3) for y in range(BASE + 1, LAST + 1)}
    pbi_apbn = headcount[BASE]["PBI-APBN"]
    others = {s: v for s, v in headcount[BASE].items() if s != "PBI-APBN"}
    segment_shares = {}
    for y, tot in totals.items():
        rest = 1.0 - pbi_apbn / tot
        sh = {"PBI-APBN": pbi_apbn / tot} | {s: rest * v / sum(others.values()) for s, v in others.items()}
        sh = {s: round(v, 8) for s, v in sh.items()}
        sh["BP"] = round(1.0 - sum(v for s, v in sh.items() if s != "BP"), 12)
        segment_shares[y] = sh
    facts |= {"pop_growth": pop_growth, "members_2024": sum(headcount[BASE].values()),
              "headcount_2024": headcount[BASE], "totals": totals}

    # contributions
    paid = {s: IURAN_2023_PBI[s] / (PBI_PREMIUM * 12 * headcount[2023][s]) for s in IURAN_2023_PBI}
    pbpu = own["contributions"]["PBPU"]
    billed = sum(sh * pbpu["premium"][c][BASE] for c, sh in pbpu["class_shares"].items())
    pmpm_2021 = {s: IURAN_2021[s] / (12 * headcount[2021][s]) for s in IURAN_2021}
    pbpu_collection = pmpm_2021["PBPU"] / billed
    facts |= {"paid": paid, "pmpm_2021": pmpm_2021, "pbpu_billed": billed,
              "pbpu_collection": pbpu_collection,
              "pbi_apbn_paid_2024": paid["PBI-APBN"] * headcount[BASE]["PBI-APBN"],
              "pbi_2021_paid_share": IURAN_2021["PBI-APBN"] / (PBI_PREMIUM * 12 * headcount[2021]["PBI-APBN"])}

    # utilisation: 2023 volumes in CBG claim units, per registered member-month, to 2024
    members_2023, members_2024 = average_members(YEAR_END_MEMBERS, 2023), average_members(YEAR_END_MEMBERS, 2024)
    visit_growth = (VISITS_2024 / VISITS_2023) / (members_2024 / members_2023)
    trend = round(visit_growth - 1.0, 4)
    shares = regional_shares()
    rates, facts["conversion"], facts["national_rate"] = {}, {}, {}
    for care in CARE:
        conv = sum(CBG_CLAIMS_2014[care]) / PUBLISHED_2014[care]
        national_2024 = HOSPITAL_2023[care] * conv / (members_2023 * 12) * 1000 * visit_growth
        national_2014 = sum(r * w for r, w in zip(RATES_2014[care], shares))
        rates[care] = {reg: round(r * national_2024 / national_2014, 4) for reg, r in zip(REGIONS, RATES_2014[care])}
        facts["conversion"][care], facts["national_rate"][care] = conv, national_2024
    facts["visit_growth"] = visit_growth
    rel_2018 = yaml.safe_load(CAL_2018.read_text())["utilization"]
    years_after = list(range(BASE + 1, LAST + 1))
    utilization = {care: {"rate": rates[care], "trend": {y: trend for y in years_after},
                          "segment_relativity": rel_2018[care]["segment_relativity"]} for care in CARE}

    # non-CBG
    capitation = sum(FKTP_MIX[k] * (lo + hi) / 2 for k, (lo, hi) in CAPITATION_2023.items())
    segments = own["segments"]
    non_cbg = {item: {s: {BASE: round(capitation * share / NON_CBG_SPLIT["capitation"], 2)} for s in segments}
               for item, share in NON_CBG_SPLIT.items()}
    facts["non_cbg_pmpm"] = capitation / NON_CBG_SPLIT["capitation"]

    derived = {
        "membership": {"totals": totals, "segment_shares": segment_shares},
        "utilization": utilization,
        "non_cbg": non_cbg,
        "contributions": {
            "PBI-APBN": {"collection": {BASE: round(paid["PBI-APBN"], 6)}},
            "PBI-APBD": {"collection": {BASE: round(paid["PBI-APBD"], 6)}},
            "PPU-PN": {"collection": {BASE: 1.0}},
            "PPU-BU": {"collection": {BASE: 1.0}},
            "PBPU": {"collection": {BASE: round(pbpu_collection, 6)}},
            "BP": {"pmpm": {BASE: round(pmpm_2021["BP"], 2)}, "collection": {BASE: 1.0}},
        },
        "administration": {"share_of_contributions": {BASE: round(OPERATING_COST_2024 / TARGET_IURAN_2024, 6)}},
    }
    return derived, facts


def write_members(facts: dict) -> None:
    shares = regional_shares()
    lines = ["# Average registered JKN members in 2024 (member-years) by segment and INA-CBG tariff region.",
             "# Total: mean of year-end 2023 (267.31 M) and 2024 (278.1 M) (PUBLIC_DATA 2). Segments: the",
             "# 30 Nov 2022 shares (PUBLIC_DATA 2). Regions: the 2014 split, cases / rate / 12 (seed 001",
             "# Tables 3-4). Generated by scripts/calibrate_2024.py; not an official BPJS table.",
             "segment,region,members"]
    for seg, total in facts["headcount_2024"].items():
        for region, share in zip(REGIONS, shares):
            lines.append(f"{seg},{region},{total * share:.1f}")
    MEMBERS_CSV.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the engine
def _tree(derived: dict) -> dict:
    """configs/jkn2024.yaml over ``derived`` (as if it were calibrated_2024.yaml), paths absolute."""
    own = yaml.safe_load(CONFIG.read_text())
    own.pop("extends", None)
    folder = CONFIG.parent
    own["membership"]["base"] = str((folder / own["membership"]["base"]).resolve())
    own["case_mix"]["table"] = str((folder / own["case_mix"]["table"]).resolve())
    return deep_merge(derived, own)


def _project(derived: dict, extra: dict | None = None):
    return project(load_config_dict(_tree(deep_merge(derived, extra or {}))))


def _segment_pmpm(ds, seg: str) -> float:
    d = ds.sel(year=BASE, segment=seg)
    return float(d.income.sum()) / float(d.members.sum()) / 12.0


def _phi(x: float) -> float:
    return 0.5 * (1.0 + erf(x / sqrt(2.0)))


def share_above(mean: float, cv: float, threshold: float) -> float:
    """P(W > threshold) for W lognormal with the given mean and coefficient of variation."""
    s2 = log(1.0 + cv * cv)
    return 1.0 - _phi((log(threshold) - (log(mean) - s2 / 2)) / sqrt(s2))


def calibrate() -> tuple[dict, dict]:
    derived, facts = derive()
    write_members(facts)
    own = yaml.safe_load(CONFIG.read_text())
    ppu = ("PPU-PN", "PPU-BU")
    # placeholders for the items not yet solved (they do not affect contributions)
    derived = deep_merge(derived, {"case_mix": {"tariff_level": 1.0},
                                   "contributions": {s: {"wage_mean": 1e6} for s in ppu}})
    # 1. 2021 wage level per PPU segment
    w2021 = {}
    for seg in ppu:
        target = facts["pmpm_2021"][seg]
        w2021[seg] = brentq(lambda w, seg=seg, target=target: _segment_pmpm(
            _project(derived, {"contributions": {seg: {"wage_mean": w}}}), seg) - target, 1e5, 1e8, xtol=1e-2)

    # 2. common 2021 -> 2024 growth factor: total 2024 contributions = target
    def income_gap(g: float) -> float:
        ds = _project(derived, {"contributions": {s: {"wage_mean": w2021[s] * g} for s in ppu}})
        return float(ds.income.sel(year=BASE).sum()) - TARGET_IURAN_2024

    factor = brentq(income_gap, 0.3, 5.0, xtol=1e-10)
    growth = round(factor ** (1.0 / 3.0) - 1.0, 6)
    after = range(BASE + 1, LAST + 1)
    for s in ppu:
        wage = round(w2021[s] * factor, 2)
        cv = own["contributions"][s]["wage_cv"]
        first = round(share_above(wage, cv, CLASS_I_WAGE), 4)
        derived["contributions"][s] |= {"wage_mean": wage, "wage_growth": {y: growth for y in after}}
        derived.setdefault("case_mix", {}).setdefault("care_class", {}).setdefault("shares", {})[s] = \
            {"II": round(1.0 - first, 4), "I": first}
    facts |= {"w2021": w2021, "wage_factor": factor, "wage_growth": growth}

    # 3. tariff level: total 2024 benefit cost = target
    def cost_gap(level: float) -> float:
        ds = _project(derived, {"case_mix": {"tariff_level": level}})
        return float(ds.medical_cost.sel(year=BASE).sum()) - TARGET_COST_2024

    derived["case_mix"]["tariff_level"] = round(brentq(cost_gap, 0.05, 20.0, xtol=1e-10), 6)
    return derived, facts


# --------------------------------------------------------------------------- stress files
def _flow(obj) -> str:
    return yaml.safe_dump(obj, default_flow_style=True, sort_keys=False, width=1000).strip()


def write_stress(derived: dict, facts: dict) -> None:
    STRESS.mkdir(parents=True, exist_ok=True)
    cfg = load_config_dict(_tree(derived))
    cc = cfg.case_mix.care_class
    gen = "# GENERATED by scripts/calibrate_2024.py (sizes depend on the 2024 calibration); do not edit by hand.\n"

    # KRIS: one standard inpatient class from July 2025
    shocks = []
    for seg in cfg.segments:
        f = sum(v * cc.relativity[k] for k, v in cc.shares.get(seg, {"III": 1.0}).items())
        shocks.append({"name": f"KRIS {seg}: class factor {f:.4f} -> {KRIS_RELATIVITY}", "target": "tariff",
                       "care": ["inpatient"], "segments": [seg], "from": KRIS_FROM,
                       "multiply": round(KRIS_RELATIVITY / f, 6)})
    (STRESS / "kris_standard_class.yaml").write_text(
        "# KRIS (Perpres 59/2024): one standard inpatient class instead of classes I/II/III, applied by all\n"
        "# hospitals from July 2025 (the regulation's 30 June 2025 deadline; earlier partial adoption not\n"
        f"# modelled). Relative to jkn2024.yaml: every segment's inpatient INA-CBG tariffs move from its\n"
        f"# care-class factor (III 1.0, II 1.2, I 1.4 weighted by its class shares) to one KRIS factor of\n"
        f"# {KRIS_RELATIVITY} (A: the KRIS room, at most 4 beds, lies between the old class III and II; no KRIS\n"
        "# tariff had been enacted by end 2024). PBI (class III) costs rise, PPU/BP/PBPU class I-II costs fall.\n"
        "# Tariff shocks, not policy.standard_class: that switch has no start date (it would change 2024 too).\n"
        + gen + "extends: ../../jkn2024.yaml\nname: kris_standard_class\nshocks:\n"
        + "".join(f"  - {_flow(s)}\n" for s in shocks))

    # DJSN fair premiums (2018 values) indexed to 2026
    cost_2014 = COST_2014 / MEMBERS_2014
    cost_2024 = TARGET_COST_2024 / average_members(YEAR_END_MEMBERS, 2024)
    g = (cost_2024 / cost_2014) ** (1 / 10) - 1
    index = (1 + g) ** (DJSN_FROM - 2018)
    fair = {k: int(round(v * index, -2)) for k, v in DJSN_FAIR_2018.items()}
    contrib = {"PBI-APBN": {"pmpm": {DJSN_FROM: fair["PBI"]}}, "PBI-APBD": {"pmpm": {DJSN_FROM: fair["PBI"]}},
               "PBPU": {"premium": {c: {DJSN_FROM: fair[c]} for c in ("III", "II", "I")}}}
    (STRESS / "contributions_djsn_fair.yaml").write_text(
        f"# Contribution revision from Jan {DJSN_FROM} to DJSN's actuarially fair premiums (2018 values, PUBLIC_DATA 1:\n"
        "# PBI 36,000; class III 53,000; II 63,000-68,000 (midpoint 65,500); I 80,000), indexed from 2018 to\n"
        f"# {DJSN_FROM} by the 2014-2024 growth of JKN benefit cost per member, {100 * g:.2f}% a year (42.65 T / 125.0 M\n"
        f"# members in 2014 -> 174.9 T / 272.7 M in 2024; PUBLIC_DATA 3, seed 001 Table 2): x {index:.4f}.\n"
        "# Relative to jkn2024.yaml: PBI-APBN and PBI-APBD pay the indexed PBI premium, PBPU the indexed class\n"
        "# premiums (class III billed in full; class I falls below today's 150,000, as DJSN's structure implies).\n"
        "# PPU (5% up to 12 M) and BP (mostly pension-based) unchanged; collection rates unchanged.\n"
        + gen + "extends: ../../jkn2024.yaml\nname: contributions_djsn_fair\ncontributions:\n"
        + "".join(f"  {s}: {_flow(v)}\n" for s, v in contrib.items()))
    facts |= {"djsn_growth": g, "djsn_index": index, "djsn_fair": fair}

    # PBI-APBN quota + 10 M, moved from PBPU non-payers
    ds = project(cfg)
    c_a = float(derived["contributions"]["PBI-APBN"]["collection"][BASE])
    m = QUOTA_EXTRA
    shocks = []
    for y in range(QUOTA_FROM, LAST + 1):
        n_a = float(ds.members.sel(year=y, segment="PBI-APBN").sum())
        n_p = float(ds.members.sel(year=y, segment="PBPU").sum())
        active = round((n_a + m / c_a) / (n_a + m), 6)
        keep = round(n_p / (n_p - m), 6)
        w = {"from": y, "to": y}
        shocks += [
            {"name": f"{y} PBI-APBN +10 M members", "target": "members", "segments": ["PBI-APBN"], **w,
             "multiply": round((n_a + m) / n_a, 6)},
            {"name": f"{y} PBI-APBN paid share with 10 M more paid", "target": "collection",
             "segments": ["PBI-APBN"], **w, "set": round((c_a * n_a + m) / (n_a + m), 6)},
            {"name": f"{y} PBI-APBN newcomers use care as paid members", "target": "utilization",
             "segments": ["PBI-APBN"], **w, "multiply": active},
            {"name": f"{y} PBI-APBN newcomers capitated as paid members", "target": "non_cbg",
             "segments": ["PBI-APBN"], **w, "multiply": active},
            {"name": f"{y} PBPU -10 M members", "target": "members", "segments": ["PBPU"], **w,
             "multiply": round((n_p - m) / n_p, 6)},
            {"name": f"{y} PBPU leavers paid nothing", "target": "collection", "segments": ["PBPU"], **w,
             "multiply": keep},
            {"name": f"{y} PBPU leavers used no care", "target": "utilization", "segments": ["PBPU"], **w,
             "multiply": keep},
            {"name": f"{y} PBPU leavers cost no capitation", "target": "non_cbg", "segments": ["PBPU"], **w,
             "multiply": keep},
        ]
    (STRESS / "pbi_quota_plus10m.yaml").write_text(
        f"# PBI-APBN quota raised by 10 M from Jan {QUOTA_FROM} (96.8 M -> 106.8 M; PUBLIC_DATA 1 gives 96.8 M for\n"
        "# 2019-2025), filled by PBPU members who do not pay (inactive class-III members; seed 000 policy 4's\n"
        "# target group). Relative to jkn2024.yaml, each year: PBI-APBN +10 M registered members, all paid at\n"
        "# 42,000 by the APBN, using care (CBG and capitation) like today's paid PBI-APBN members (the\n"
        "# registered-member rates divided by the paid share); PBPU -10 M members who paid nothing and used no\n"
        "# care (PBPU's income, claims and capitation stay as in the base). Net: +5.04 T iuran a year against the\n"
        "# newcomers' PBI-level claims.\n"
        + gen + "extends: ../../jkn2024.yaml\nname: pbi_quota_plus10m\nshocks:\n"
        + "".join(f"  - {_flow(s)}\n" for s in shocks))


# --------------------------------------------------------------------------- main
def main() -> None:
    derived, facts = calibrate()
    ds = _project(derived)
    y = ds.sel(year=BASE)
    income, cost = float(y.income.sum()), float(y.medical_cost.sum())
    ratio = y.medical_cost.sum("region") / y.income.sum("region")
    seg_ratios = ", ".join(f"{s} {100 * float(ratio.sel(segment=s)):.0f}%" for s in ds.segment.values)
    f = facts
    header = (
        "# GENERATED by scripts/calibrate_2024.py from published figures up to 2024 (PUBLIC_DATA.md); do not\n"
        "# edit by hand: rerun the script after changing configs/jkn2024.yaml. Sources: configs/README.md.\n"
        f"# D members: 2024 average {f['members_2024'] / 1e6:.2f} M registered (Nov 2022 shares); year-end growth "
        f"{100 * f['pop_growth']:.2f}%/yr (population), PBI-APBN headcount flat (quota)\n"
        f"# D paid share 2023: PBI-APBN {f['paid']['PBI-APBN']:.4f} (2024 paid {f['pbi_apbn_paid_2024'] / 1e6:.1f} M "
        f"<= quota 96.8 M), PBI-APBD {f['paid']['PBI-APBD']:.4f}\n"
        f"# D 2021 received pmpm: PPU-PN {f['pmpm_2021']['PPU-PN']:,.0f}, PPU-BU {f['pmpm_2021']['PPU-BU']:,.0f}, "
        f"PBPU {f['pmpm_2021']['PBPU']:,.0f} (billed {f['pbpu_billed']:,.0f}: collection {f['pbpu_collection']:.4f}), "
        f"BP {f['pmpm_2021']['BP']:,.0f}\n"
        f"# D utilisation: 2023 volumes x CBG-claim conversion (IP {f['conversion']['inpatient']:.4f}, OP "
        f"{f['conversion']['outpatient']:.4f}) x 2024 visit growth per member {f['visit_growth']:.4f}: national "
        f"IP {f['national_rate']['inpatient']:.3f}, OP {f['national_rate']['outpatient']:.3f} per 1,000 member-months\n"
        f"# D non-CBG {f['non_cbg_pmpm']:,.2f} pmpm (capitation mix / 0.62)\n"
        f"# C PPU mean wage 2021: PN {f['w2021']['PPU-PN']:,.0f}, BU {f['w2021']['PPU-BU']:,.0f}; x {f['wage_factor']:.6f} "
        f"to 2024 ({100 * f['wage_growth']:.2f}%/yr) -> iuran 2024 {income / 1e12:.3f} T (target 165.34)\n"
        f"# C tariff_level {derived['case_mix']['tariff_level']} -> benefit cost 2024 {cost / 1e12:.3f} T (target 174.9); "
        f"claim ratio {100 * cost / income:.1f}%\n"
        f"# implied 2024 claim ratios (no published target): {seg_ratios}\n")
    OUT.write_text(header + yaml.safe_dump(derived, sort_keys=False, width=120))
    write_stress(derived, facts)
    print(header)
    print(f"DJSN index 2018->2026 x{facts['djsn_index']:.4f} ({100 * facts['djsn_growth']:.2f}%/yr): {facts['djsn_fair']}")


if __name__ == "__main__":
    main()
