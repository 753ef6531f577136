"""Estimate the ``uncertainty:`` blocks of configs/uncertainty/ from published evidence.

Writes two files (each holds only an ``uncertainty:`` block, the format of
:mod:`jkn_risk.schema_uncertainty`):

``configs/uncertainty/default.yaml``
    evidence knowable at the end of 2014 only: published literature on health-cost projection
    error and volatility, the seed paper, Indonesian series up to 2014 and JKN's own 2014 facts.
    Used by every 2014-base config (``jkn2014.yaml``, ``backtest/jkn2014_enacted.yaml``): no
    look-ahead, so a back-test of the 2014 origin is honest.
``configs/uncertainty/jkn2024.yaml``
    the same literature plus JKN's 2015-2024 history (shared/PUBLIC_DATA.md): COVID as an
    observed utilisation shock, the tariff rounds of 2014-2023, PBPU collection 2018-2021, an
    audited base year. Used by ``jkn2024.yaml``.

Every number is either taken from a cited source (constants below, marked with the source) or
derived here from such numbers; ``configs/README.md`` ("uncertainty/") has the table of sources.
Letters as in configs/README.md: S seed, D derived, V published and verified, M widely reported
but not verified, A our assumption (each A says why it cannot matter much or what bounds it).

Run::

    python scripts/estimate_uncertainty.py            # write both files
    python scripts/estimate_uncertainty.py --check    # fail if the files differ from a re-estimate
    python scripts/estimate_uncertainty.py --band configs/jkn2014.yaml [--sims 2000]
        # the claim-ratio band implied by the drivers alone (expected claims given each
        # simulation's drawn assumptions; no claims process, under 0.1% of the variance)

Deterministic: statsmodels fits and closed forms only, no random numbers (``--band`` uses the
engine's keyed streams).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.special import logit, ndtri

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "configs" / "uncertainty"
Z95 = float(ndtri(0.95))     # 1.645: a one-sided 95% bound in standard deviations

# =============================================================================================
# Sources (every constant: value, unit, where it comes from)
# =============================================================================================
# --- Health-cost projection error (literature) ----------------------------------------------
# Getzen T.E. (2010), "Actuarial projections of health care costs: accuracy, bias and
# asymptotes", SSRN 1880486 (also SOA Long-Term Healthcare Cost Trends model documentation):
# short-run fluctuations have "a substantial random component (+-2 percent)"; "ten-year
# projections show errors around 10%". Getzen (2016), "Accuracy of long-range actuarial
# projections of health care costs", NAAJ 20(2) (SSRN 2213648, 2013): "the average annualized
# error of the forecasts is approximately 0.5-1% per year, whether assessed over a span of one,
# two, or 10 years". Both evaluate US projections made 1986-2010: methodology, not JKN outcomes.
GETZEN_SHORT_RUN_SD = 0.02         # sd of one year's growth deviation
GETZEN_ANNUALISED_ERROR = 0.0075   # midpoint of 0.5-1% a year: the drift of the mean
GETZEN_TEN_YEAR_ERROR = 0.10       # error of a ten-year projection

# --- Solvency II standard formula (Commission Delegated Regulation (EU) 2015/35 of 10 October
# 2014, adopted before the end of the 2014 base year; calibrated in EIOPA's joint working group
# report of December 2011) ---------------------------------------------------------------------
SII_MEDICAL_EXPENSE_RESERVE_SD = 0.057   # Annex XIV, NSLT health, medical expense: reserve risk
SII_MEDICAL_EXPENSE_PREMIUM_SD = 0.05    # Annex XIV, premium risk (used as a cross-check only)
SII_NSLT_SEGMENT_CORRELATION = 0.5       # Annex XV CorrHS between NSLT health segments
SII_PANDEMIC_SYMPTOMATIC = 0.40          # Art. 163: insured persons with clinical symptoms
SII_PANDEMIC_HOSPITALISED = 0.01         # Annex XVI: share of those hospitalised
SII_RETURN_PERIOD = 200                  # the standard formula's 99.5% one-year calibration

# Influenza pandemics of the last century (1918, 1957, 1968, 2009): 4 in 1914-2014 (WHO).
PANDEMICS_PER_YEAR_2014 = 4 / 100
# ... and COVID-19 (2020): 5 in 1914-2024.
PANDEMICS_PER_YEAR_2024 = 5 / 110

# --- The seed paper (S) and DOMAIN.md ---------------------------------------------------------
IBNR_APPLIED = 0.069                    # Mack / bootstrap CL / GLM, applied to every cell
IBNR_ALTERNATIVE = {"inpatient": 0.095, "outpatient": 0.11}   # the paper's other approach
MEMBERS_2014 = {"Table 2 average": 125.008, "text": 124.0,    # million; the paper's three
                "cases / rate / 12": 123.56}                   # denominators (DOMAIN.md, D)
# INA-CBG claims (seed Tables 3-4) vs published hospital volumes (PUBLIC_DATA 4), 2014, million
CLAIMS_VS_PUBLISHED_2014 = {"inpatient": (5.148768, 4.2), "outpatient": (26.477742, 21.3)}
IP_RATE_CORRECTED = 3.713               # per 1,000 member-months, national (DOMAIN.md, D)
MEMBERS_2019_PAPER = 241.0              # million, the paper's projected average (S)
MEMBERS_2014_BY_SEGMENT = {"PBI-APBD": 6.373, "PPU": 23.132, "PBPU": 4.189, "BP": 4.914}  # S
TARIFF_ROUNDS_PAPER = (0.07, 0.08)      # INA-CBG rounds assumed for 2016 and 2018 (S)
CAPITATION_2014 = 5332.54               # pmpm, configs/data/calibrated_2014.yaml (C)

# --- Policy and public figures knowable in 2014 -----------------------------------------------
PBI_QUOTA_2014 = 86.4                   # million, PBI-APBN quota 2014-15 (PUBLIC_DATA 1, V)
UHC_TARGET_SHARE = 0.95                 # "Peta Jalan menuju JKN 2012-2019": universal coverage
POPULATION_2019 = 266.9                 # million, BPS 2010-2035 projection (2013), 2019 (M)
# Permenkes 69/2013 capitation norms (Rp pmpm): puskesmas 3,000-6,000; primary clinic /
# private GP / class-D pratama hospital 8,000-10,000 (M: widely reported, not in PUBLIC_DATA)
CAPITATION_PUSKESMAS = (3000, 6000)
CAPITATION_PRIVATE = (8000, 10000)
PUSKESMAS_SHARE = (0.6, 1.0)            # A: share of members registered at puskesmas in 2014
                                        # (PBI, 69% of members, were registered there)
# Tariff regulations: Permenkes 69/2013 (JKN start) -> 59/2014 (revised within the first year)
# and the rule that tariffs are reviewed at least every two years (PUBLIC_DATA 4, V)
TARIFF_REVIEW_INTERVAL_2014 = 2.0
# National average provincial minimum wage (UMP), Rp per month, Kemnaker via BPS table "Upah
# Minimum Regional/Propinsi". Checked against: 2014 = Rp 1.58 M, +22% on 2013's Rp 1.29 M, and
# rises of 8-22% a year in 2004-2014 (Katadata/databoks from Kemnaker-BPS); 2011 +8.69%
# (Kontan, Jan 2011); 2015 +12.77% on Rp 1.58 M (Liputan6, 27 Nov 2014). Intermediate years M.
MINIMUM_WAGE = {2005: 507_697, 2006: 602_702, 2007: 673_254, 2008: 743_174, 2009: 841_530,
                2010: 908_824, 2011: 988_829, 2012: 1_088_903, 2013: 1_296_908,
                2014: 1_584_391}
# Average minimum-wage rises 2015-2024 (for the 2024 base only): 2015 12.77% (Liputan6,
# 27 Nov 2014), 2017 8.25% (WageIndicator, Dec 2016), 2019 8.03% (Liputan6, Oct 2018),
# 2021 0.57% (Katadata), 2023 7.5% (Kemnaker via VOI, Nov 2022), 2024 3.65% (Okezone, Dec 2024);
# 2016 11.5%, 2018 8.71%, 2020 8.51% (the PP 78/2015 formula), 2022 1.09% (PP 36/2021): M
MINIMUM_WAGE_RISES_2015_2024 = {2015: 0.1277, 2016: 0.115, 2017: 0.0825, 2018: 0.0871,
                                2019: 0.0803, 2020: 0.0851, 2021: 0.0057, 2022: 0.0109,
                                2023: 0.075, 2024: 0.0365}
# PBPU collection in the first year: only 2014's own rate (53%) is known at the origin.
PBPU_COLLECTION_2014 = 0.53
PBPU_COLLECTION_90 = (0.43, 0.63)       # A: a +-10-point 90% range; PBPU is 2.6% of 2014 income
COLLECTION_PHI = 0.6                    # A: arrears and enforcement persist for a few years
MEMBERSHIP_PHI = 0.5                    # A: enrolment drives (and their absence) persist

# --- JKN history 2015-2024 (shared/PUBLIC_DATA.md, V) for the 2024 base -----------------------
# section 3: iuran, benefit cost (T); section 2: year-end registered members (M)
JKN_COST = {2014: 42.65, 2020: 95.5, 2021: 90.33, 2022: 113.5, 2023: 158.85, 2024: 174.9}
JKN_MEMBERS_YEAR_END = {2013: 117.054, 2014: 133.42, 2019: 224.1, 2020: 222.4, 2021: 235.71,
                        2022: 248.77, 2023: 267.31, 2024: 278.1}   # 2013: Jan 2014 (S)
COVID_YEARS = (2020, 2021)              # utilisation fell; 2022-2023 rebound (PUBLIC_DATA 3)
# Tariff regulations 2014-2024 (PUBLIC_DATA 4): 59/2014, 52/2016 (amended to 6/2018), 3/2023
TARIFF_ROUNDS_2014_2024 = (2014, 2016, 2018, 2023)
# PBPU collection: 53-60% (2018-2019, PUBLIC_DATA 1/5) and 64.40% (2021 iuran / billed,
# configs/data/calibrated_2024.yaml)
PBPU_COLLECTION_HISTORY = (0.53, 0.60, 0.644)
# 2024 base: audited, accrual-basis benefit cost; technical reserves about 11% of a year's
# benefits (2022: an increase of 11.5 T on 113.5 T of benefits, PUBLIC_DATA 3)
RESERVE_SHARE_2024 = 11.5 / 113.5


# =============================================================================================
# Estimators
# =============================================================================================
def ar1_var_cum(sigma: float, phi: float, long_run: float, t: int) -> float:
    """Var(G_t) of the engine's cumulative AR(1) deviation (jkn_risk.assumptions)."""
    v = sigma ** 2 / (1 - phi ** 2)
    k = np.arange(1, t)
    return float(v * (t + 2 * np.sum((t - k) * phi ** k)) + (t * long_run) ** 2)


def getzen_trend() -> dict:
    """AR(1) + uncertain long-run mean matching Getzen's three anchors.

    long-run sd = the annualised error (0.75%/yr); the stationary sd of a year's deviation =
    the short-run +-2%; phi solves Var(G_10) = (10%)^2 (ten-year error)."""
    lr, sd1 = GETZEN_ANNUALISED_ERROR, GETZEN_SHORT_RUN_SD

    def gap(phi):
        return ar1_var_cum(sd1 * math.sqrt(1 - phi ** 2), phi, lr, 10) - GETZEN_TEN_YEAR_ERROR ** 2

    phi = brentq(gap, -0.5, 0.95) if gap(-0.5) < 0 < gap(0.95) else 0.0
    return {"sigma": sd1 * math.sqrt(1 - phi ** 2), "phi": phi, "long_run_sigma": lr}


def fit_ar1(x: np.ndarray) -> dict:
    """AR(1) with a constant by exact maximum likelihood (statsmodels ARIMA(1,0,0)).

    Returns phi, the innovation sd, the mean and its standard error."""
    from statsmodels.tsa.arima.model import ARIMA

    res = ARIMA(np.asarray(x, dtype=float), order=(1, 0, 0), trend="c").fit()
    const, phi, s2 = (float(v) for v in res.params)
    se_mean = float(res.bse[0])
    return {"phi": phi, "sigma": math.sqrt(s2), "mean": const, "se_mean": se_mean, "n": len(x)}


def _wage(growth: np.ndarray) -> dict:
    """AR(1) of yearly log growth; no uncertain long-run mean.

    The long-run mean of nominal wage growth is mostly inflation, which moves health prices
    (tariff rounds, capitation) alike and cancels in the claim ratio (Getzen: growth in excess of
    wages is forecast better than nominal growth). The schema cannot correlate long-run means,
    so drawing one for wages alone would count inflation uncertainty on income and not on cost;
    the fit's se of the mean is reported, not used."""
    fit = fit_ar1(growth)
    return {"sigma": fit["sigma"], "phi": fit["phi"], "long_run_sigma": 0.0, "_fit": fit}


def wage_2014() -> dict:
    """AR(1) MLE on the log growth of the national average minimum wage, 2005-2014."""
    years = sorted(MINIMUM_WAGE)
    return _wage(np.diff(np.log([MINIMUM_WAGE[y] for y in years])))


def wage_2024() -> dict:
    """AR(1) MLE on the log of the published average minimum-wage rises 2015-2024, the formula
    era (PP 78/2015, PP 36/2021, Permenaker 18/2022), COVID freeze of 2021-2022 included: it is
    that regime's own volatility."""
    return _wage(np.log1p(np.array(list(MINIMUM_WAGE_RISES_2015_2024.values()))))


def _between(a: float, b: float) -> float:
    """sd of a log level known only to lie between two published values: uniform on the log
    interval, ``|log(a / b)| / sqrt(12)``."""
    return abs(math.log(a / b)) / math.sqrt(12)


def base_levels_2014() -> dict:
    """Base-year utilisation level sd per care type: three independent parts.

    * count definition: the seed's INA-CBG claims against the published hospital volumes of
      2014 (inpatient 5.149 M vs 4.2 M, outpatient 26.48 M vs 21.3 M; DOMAIN.md Tables 3-4,
      PUBLIC_DATA 4). If the gap is claims split or resubmitted per admission, cost is right;
      if claims (and their payments) were counted twice, the seed's cost is too high by the gap.
      Not knowing which, the level lies between the two;
    * IBNR method: the paper's 6.9% (Mack / bootstrap / GLM) against its other approach (9.5%
      inpatient, 11% outpatient); the triangle bootstrap draws the process and parameter error of
      one method only;
    * member denominator: the sd of the log of the paper's three 2014 member counts."""
    den = float(np.std(np.log(list(MEMBERS_2014.values())), ddof=1))
    out = {"_denominator": den, "_method": {}, "_definition": {}}
    for care, alt in IBNR_ALTERNATIVE.items():
        method = _between(1 + alt, 1 + IBNR_APPLIED)
        definition = _between(*CLAIMS_VS_PUBLISHED_2014[care])
        out[care] = math.sqrt(method ** 2 + definition ** 2 + den ** 2)
        out["_method"][care], out["_definition"][care] = method, definition
    return out


def unit_cost_level(outstanding_share: float) -> float:
    """Reserve risk on the part of the base year's cost still outstanding at the valuation:
    Solvency II's medical-expense reserve-risk sd x the outstanding share."""
    return SII_MEDICAL_EXPENSE_RESERVE_SD * outstanding_share


def non_cbg_level_2014() -> float:
    """sd of the national average capitation under Permenkes 69/2013 norms, relative to the
    calibrated capitation: the puskesmas registration share uniform on PUSKESMAS_SHARE, each
    provider type paid the midpoint of its norm. Applied to all non-CBG cost (the other 38%,
    non-capitation and non-CBG hospital items, is a calibrated residual with no data at all)."""
    a, b = (sum(r) / 2 for r in (CAPITATION_PUSKESMAS, CAPITATION_PRIVATE))
    lo, hi = PUSKESMAS_SHARE
    # capitation = s a + (1 - s) b with s ~ U(lo, hi): linear in s
    sd = abs(b - a) * (hi - lo) / math.sqrt(12)
    mean = (lo + hi) / 2 * a + (1 - (lo + hi) / 2) * b
    return sd / mean


def tariff(p: float, rounds) -> dict:
    """Revision jumps: probability p a year, log size N(mean, sd) of the listed rounds."""
    logs = np.log1p(np.asarray(rounds, dtype=float))
    return {"sigma": 0.0, "phi": 0.0, "jump_probability": p, "jump_mean": float(logs.mean()),
            "jump_sigma": float(logs.std(ddof=1))}


def shock_2014() -> dict:
    """Pandemic shock on inpatient use, sized on Solvency II's 1-in-200 pandemic.

    Excess hospitalisation = 40% symptomatic x 1% hospitalised = 0.4% of members, against
    JKN's 2014 inpatient rate (3.713 per 1,000 a month = 4.46% a year): x (1 + 9.0%). Episodes
    start with the century's pandemic frequency; their log size N(m, m^2) (mostly up, down in
    16% of episodes: disruption) is set so that the one-year 99.5% quantile is that +9.0%."""
    excess = SII_PANDEMIC_SYMPTOMATIC * SII_PANDEMIC_HOSPITALISED / (IP_RATE_CORRECTED * 12 / 1000)
    q = math.log1p(excess)
    p = PANDEMICS_PER_YEAR_2014
    z = float(ndtri(1 - 1 / SII_RETURN_PERIOD / p))   # P(size > q | episode) = 0.005 / p
    m = q / (1 + z)
    return {"probability": p, "log_multiplier": {"mean": m, "sigma": m}, "duration": 1,
            "care": ["inpatient"], "_excess": excess, "_z": z}


def _jkn_cost_per_member() -> dict:
    ye = JKN_MEMBERS_YEAR_END
    avg = {y: (ye[y - 1] + ye[y]) / 2 for y in JKN_COST if y - 1 in ye}
    return {y: JKN_COST[y] * 1e12 / (avg[y] * 1e6) for y in avg}


def shock_2024() -> dict:
    """Adds COVID (observed): the 2020-2021 cost per member against the 2014-2024 trend line,
    both directions now seen (Solvency II's +9% scenario up, COVID down); episodes last the
    two years COVID did and hit both care types; the size sd is the root mean square of the two
    log sizes, mean 0."""
    cpm = _jkn_cost_per_member()
    y0, y1 = 2014, 2024
    rate = math.log(cpm[y1] / cpm[y0]) / (y1 - y0)
    dev = {y: math.log(cpm[y] / cpm[y0]) - rate * (y - y0) for y in COVID_YEARS}
    covid = float(np.mean(list(dev.values())))
    up = math.log1p(shock_2014()["_excess"])
    sd = math.sqrt((covid ** 2 + up ** 2) / 2)
    return {"probability": PANDEMICS_PER_YEAR_2024, "log_multiplier": {"mean": 0.0, "sigma": sd},
            "duration": len(COVID_YEARS), "care": ["inpatient", "outpatient"],
            "_trend": rate, "_covid": dev, "_cost_per_member": cpm}


def membership_2014() -> dict:
    """Non-quota segments (PBI-APBN is a policy quota): the roadmap's universal-coverage target
    for 2019 (95% of the projected population) taken as the 95th percentile of 2019 members
    against the paper's 241 M; the quota segment keeps its 86.4 M; segments independent with a
    common AR(1) (phi A), weights their 2014 membership."""
    others = MEMBERS_2019_PAPER - PBI_QUOTA_2014
    target = UHC_TARGET_SHARE * POPULATION_2019 - PBI_QUOTA_2014
    sd_agg = math.log(target / others) / Z95
    w = np.array(list(MEMBERS_2014_BY_SEGMENT.values()))
    w = w / w.sum()
    sd_seg = sd_agg / math.sqrt(float(np.sum(w ** 2)))
    phi = MEMBERSHIP_PHI
    sigma = sd_seg / math.sqrt(ar1_var_cum(1.0, phi, 0.0, 5))
    return {"sigma": sigma, "phi": phi, "_sd5_aggregate": sd_agg, "_sd5_segment": sd_seg}


def membership_2024() -> dict:
    """Segments whose registration moved with activity status and budgets (PBPU, PBI-APBD):
    the sd of yearly log growth of registered members 2020-2024 around its mean (the 2020 dip
    and the 2021-2023 coverage drive), as the stationary sd of an AR(1) with phi A."""
    ye = JKN_MEMBERS_YEAR_END
    g = np.diff(np.log([ye[y] for y in range(2019, 2025)]))
    sd = float(np.std(g, ddof=1))
    phi = MEMBERSHIP_PHI
    return {"sigma": sd * math.sqrt(1 - phi ** 2), "phi": phi, "_sd": sd, "_growth": g}


def collection_2014() -> dict:
    """PBPU collection on the logit scale: the A range as a 90% interval of the stationary
    distribution around 2014's 53%."""
    lo, hi = (logit(v) for v in PBPU_COLLECTION_90)
    sd = float(hi - lo) / (2 * Z95)
    phi = COLLECTION_PHI
    return {"sigma": sd * math.sqrt(1 - phi ** 2), "phi": phi, "_sd": sd}


def collection_2024() -> dict:
    """PBPU collection: the sd of the logit of the published rates (2018, 2019, 2021) as the
    stationary sd."""
    sd = float(np.std(logit(np.array(PBPU_COLLECTION_HISTORY)), ddof=1))
    phi = COLLECTION_PHI
    return {"sigma": sd * math.sqrt(1 - phi ** 2), "phi": phi, "_sd": sd}


# =============================================================================================
# The blocks
# =============================================================================================
def _r(x: float, nd: int = 4) -> float:
    return float(f"{x:.{nd}g}") if x else 0.0


def _ar(d: dict) -> dict:
    out = {"sigma": _r(d["sigma"]), "phi": _r(d["phi"], 3)}
    if d.get("long_run_sigma"):
        out["long_run_sigma"] = _r(d["long_run_sigma"])
    return out


def _fit_note(fit: dict) -> str:
    return (f"phi {fit['phi']:.3f}, sigma {fit['sigma']:.4f}, mean {fit['mean']:.4f} "
            f"(se {fit['se_mean']:.4f}, not used), n {fit['n']}")


def _corr(names) -> dict:
    k = len(names)
    m = [[1.0 if i == j else SII_NSLT_SEGMENT_CORRELATION for j in range(k)] for i in range(k)]
    return {"drivers": list(names), "matrix": m}


def block_2014() -> tuple[dict, dict]:
    trend = _ar(getzen_trend())
    lv = base_levels_2014()
    ibnr_share = IBNR_APPLIED / (1 + IBNR_APPLIED)
    uc = _r(unit_cost_level(ibnr_share))
    tar = tariff(1 / TARIFF_REVIEW_INTERVAL_2014, TARIFF_ROUNDS_PAPER)
    sh = shock_2014()
    mem = membership_2014()
    col = collection_2014()
    wage = wage_2014()
    block = {
        "utilization": {"inpatient": {"level": _r(lv["inpatient"]), "trend": trend},
                        "outpatient": {"level": _r(lv["outpatient"]), "trend": trend}},
        "unit_cost": {"inpatient": {"level": uc}, "outpatient": {"level": uc},
                      "tariff": {k: _r(v) for k, v in tar.items()}},
        "non_cbg": {"level": _r(non_cbg_level_2014()), "trend": trend},
        "wage": _ar(wage),
        "collection": {"PBPU": _ar(col)},
        "membership": {s: _ar(mem) for s in MEMBERS_2014_BY_SEGMENT},
        "shock": {"probability": _r(sh["probability"]),
                  "log_multiplier": {k: _r(v) for k, v in sh["log_multiplier"].items()},
                  "duration": sh["duration"], "care": sh["care"]},
        "correlation": _corr(["utilization.inpatient.trend", "utilization.outpatient.trend",
                              "non_cbg.trend"]),
    }
    notes = {
        "utilization.trend": f"Getzen: short-run sd {GETZEN_SHORT_RUN_SD}, annualised error "
                             f"{GETZEN_ANNUALISED_ERROR}, 10-year error {GETZEN_TEN_YEAR_ERROR} -> "
                             f"phi {trend['phi']}; 5-year sd "
                             f"{math.sqrt(ar1_var_cum(trend['sigma'], trend['phi'], trend['long_run_sigma'], 5)):.4f}",
        "utilization.level": "count definition IP {:.4f}, OP {:.4f}; IBNR method IP {:.4f}, "
                             "OP {:.4f}; member denominator {:.4f}".format(
                                 lv["_definition"]["inpatient"], lv["_definition"]["outpatient"],
                                 lv["_method"]["inpatient"], lv["_method"]["outpatient"],
                                 lv["_denominator"]),
        "unit_cost.level": f"SII reserve risk {SII_MEDICAL_EXPENSE_RESERVE_SD} x outstanding "
                           f"share {ibnr_share:.4f}",
        "tariff": f"p = 1/{TARIFF_REVIEW_INTERVAL_2014:g}; round sizes {TARIFF_ROUNDS_PAPER}",
        "wage": "AR(1) MLE on log growth of the national average minimum wage 2005-2014: "
                + _fit_note(wage["_fit"]),
        "shock": f"SII pandemic excess inpatient {sh['_excess']:.4f}; z {sh['_z']:.3f}",
        "membership": f"UHC target as the 95th percentile: 5-year sd aggregate "
                      f"{mem['_sd5_aggregate']:.4f}, per segment {mem['_sd5_segment']:.4f}",
        "collection.PBPU": f"stationary logit sd {col['_sd']:.4f}",
        "non_cbg.level": "capitation norm midpoints, puskesmas share U(0.6, 1)",
    }
    return block, notes


def block_2024() -> tuple[dict, dict]:
    b14, _ = block_2014()
    trend = b14["utilization"]["inpatient"]["trend"]
    uc = _r(unit_cost_level(RESERVE_SHARE_2024))
    rounds = TARIFF_ROUNDS_2014_2024
    p = len(rounds) / (2024 - 2014 + 1)
    tar = dict(b14["unit_cost"]["tariff"], jump_probability=_r(p))
    sh = shock_2024()
    mem = membership_2024()
    col = collection_2024()
    block = {
        # an audited, accrual-basis base year calibrated to its published totals: the base
        # levels are known up to the reserve run-off
        "utilization": {"inpatient": {"trend": trend}, "outpatient": {"trend": trend}},
        "unit_cost": {"inpatient": {"level": uc}, "outpatient": {"level": uc}, "tariff": tar},
        "non_cbg": {"trend": trend},
        "wage": _ar(wage_2024()),
        "collection": {"PBPU": _ar(col)},
        "membership": {"PBI-APBD": _ar(mem), "PBPU": _ar(mem)},
        "shock": {"probability": _r(sh["probability"]),
                  "log_multiplier": {k: _r(v) for k, v in sh["log_multiplier"].items()},
                  "duration": sh["duration"], "care": sh["care"]},
        "correlation": b14["correlation"],
    }
    notes = {
        "unit_cost.level": f"SII reserve risk x technical reserves / benefits {RESERVE_SHARE_2024:.4f}",
        "wage": "AR(1) MLE on log minimum-wage rises 2015-2024: " + _fit_note(wage_2024()["_fit"]),
        "tariff": f"{len(rounds)} rounds {rounds} in 2014-2024 -> p {p:.4f}; sizes as the seed's",
        "shock": f"2014-2024 cost per member trend {sh['_trend']:.4f}/yr; COVID log deviations "
                 + ", ".join(f"{y}: {v:+.4f}" for y, v in sh["_covid"].items()),
        "membership": f"registered members 2020-2024 log growth sd {mem['_sd']:.4f}",
        "collection.PBPU": f"logit sd of {PBPU_COLLECTION_HISTORY}: {col['_sd']:.4f}",
    }
    return block, notes


# =============================================================================================
# YAML output
# =============================================================================================
HEADER = """\
# GENERATED by scripts/estimate_uncertainty.py -- do not edit by hand; change the script's
# sources and rerun it (`python scripts/estimate_uncertainty.py --check` verifies this file).
# {what}
# Every number and its source: configs/README.md, section "uncertainty/". Equations of each
# driver: jkn_risk/assumptions.py and docs/methodology.md.
"""


def _yaml(block: dict) -> str:
    import yaml

    class _Flow(list):
        pass

    def flow(node):
        if isinstance(node, dict):
            return {k: flow(v) for k, v in node.items()}
        if isinstance(node, list):
            return _Flow(flow(v) for v in node)
        return node

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=True))
    return yaml.dump({"uncertainty": flow(block)}, Dumper=Dumper, sort_keys=False,
                     default_flow_style=False, width=100)


def render(which: str) -> str:
    if which == "default":
        block, notes = block_2014()
        what = ("2014-knowable evidence only (literature, seed paper, Indonesian series to 2014): "
                "for every 2014-base config.")
    else:
        block, notes = block_2024()
        what = ("Literature + JKN history 2015-2024 (PUBLIC_DATA.md): for configs/jkn2024.yaml.")
    lines = [HEADER.format(what=what).rstrip("\n"), "#", "# Derivations:"]
    lines += [f"#   {k}: {v}" for k, v in notes.items()]
    return "\n".join(lines) + "\n" + _yaml(block)


FILES = {"default": OUT_DIR / "default.yaml", "jkn2024": OUT_DIR / "jkn2024.yaml"}


# =============================================================================================
# The implied band (drivers only)
# =============================================================================================
GROUPS = {  # driver groups of the attribution (top-level keys of the uncertainty block)
    "base-year levels": ("utilization.inpatient.level", "utilization.outpatient.level",
                         "unit_cost.inpatient.level", "unit_cost.outpatient.level",
                         "non_cbg.level"),
    "utilisation and non-CBG trends": ("utilization.inpatient.trend",
                                       "utilization.outpatient.trend", "non_cbg.trend"),
    "tariff revisions": ("unit_cost.tariff",),
    "wage": ("wage",),
    "collection": ("collection.",),
    "membership": ("membership.",),
    "shock": ("shock",),
}


def _expected(params, model, sims, ibnr_on=True, only=None):
    """Expected medical cost, income and surplus (n, Y) given each simulation's draws; with
    ``only`` a tuple of driver-name prefixes, every other driver keeps its own factor 1."""
    from jkn_risk.assumptions import draw, drawn_parameters
    from jkn_risk.simulate import ibnr_draws

    d = draw(model, sims)
    if only is not None:
        keep = np.array([n.startswith(only) for n in d.drivers])
        factor = np.where(keep[None, None, :], d.factor, 1.0)
        coll = d.collection if any(p.startswith("collection") for p in only) else \
            np.broadcast_to(model.collection_det, d.collection.shape)
        d = type(d)(drivers=d.drivers, factor=factor, collection=np.array(coll))
    dp = drawn_parameters(params, model, d)
    ibnr = ibnr_draws(params, sims) if ibnr_on else np.broadcast_to(
        params.ibnr_factor, (sims.size, len(params.care)))
    cbg = (dp.members[..., None] * dp.rate * ibnr[:, None, None, None, :]
           * params.mean_cost_per_case()[None] * dp.cost_scale).sum(axis=(2, 3, 4))
    non_cbg = (dp.members * 12.0 * dp.non_cbg_pmpm).sum(axis=(2, 3))
    income = (dp.members * 12.0 * dp.collected_pmpm[:, :, None, :]).sum(axis=(2, 3))
    medical = cbg + non_cbg
    return medical, income, income - medical - income * params.admin_share[None, :]


def band(config: str, n_sims: int, overrides=None) -> None:
    """Claim ratio and P(deficit) by year implied by the drawn assumptions alone, and the
    variance of the log claim ratio with one driver group active at a time.

    Per simulation: expected claims given the drawn assumptions and IBNR factor (as
    jkn_risk.finance.expected_cell_surplus), over contributions; the Monte Carlo claims process
    adds < 0.1% of the variance at JKN's volumes (the run report's ``parameter_share``)."""
    from jkn_risk.assumptions import build_assumption_model
    from jkn_risk.config import load_config
    from jkn_risk.parameters import build_parameters

    cfg = load_config(config, overrides)
    params = build_parameters(cfg)
    model = build_assumption_model(params, params.uncertainty)
    sims = np.arange(n_sims)
    medical, income, surplus = _expected(params, model, sims)
    cr = medical / income
    print(f"{cfg.name}: {n_sims} simulations, drivers only (expected claims given the draws)")
    print(" year   q05    q50    q95   width  P(deficit)  sd(log cost) sd(log income)")
    for t, y in enumerate(params.years):
        q = np.quantile(cr[:, t], [0.05, 0.5, 0.95])
        print(f" {y}  {q[0]:6.1%} {q[1]:6.1%} {q[2]:6.1%} {q[2] - q[0]:6.1%}   "
              f"{np.mean(surplus[:, t] < 0):6.1%}      {np.std(np.log(medical[:, t])):.4f}"
              f"      {np.std(np.log(income[:, t])):.4f}")
    total = np.var(np.log(cr), axis=0)
    rows = {"all drivers": total}
    m, i, _ = _expected(params, model, sims, ibnr_on=True, only=("__none__",))
    rows["IBNR bootstrap"] = np.var(np.log(m / i), axis=0)
    for name, prefixes in GROUPS.items():
        m, i, _ = _expected(params, model, sims, ibnr_on=False, only=prefixes)
        rows[name] = np.var(np.log(m / i), axis=0)
    print("\nsd of the log claim ratio, one group at a time (shares of the sum of variances)")
    print(f" {'':32s}" + "".join(f"{y:>13d}" for y in params.years))
    parts = sum(v for k, v in rows.items() if k != "all drivers")
    for name, v in rows.items():
        cells = "".join(f"  {math.sqrt(x):.4f} {x / p:4.0%}" if name != "all drivers" and p > 0
                        else f"  {math.sqrt(x):.4f}     " for x, p in zip(v, parts))
        print(f" {name:32s}{cells}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare the files with a re-estimate")
    ap.add_argument("--band", metavar="CONFIG", help="print the implied claim-ratio band")
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--set", action="append", default=[], help="config override a.b=v")
    args = ap.parse_args(argv)
    if args.band:
        band(args.band, args.sims, args.set)
        return 0
    bad = 0
    for which, path in FILES.items():
        text = render(which)
        if args.check:
            same = path.exists() and path.read_text() == text
            print(f"{path.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS from a re-estimate'}")
            bad += not same
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
