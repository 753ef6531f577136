"""Generate a SYNTHETIC INA-CBG case-mix and tariff table, calibrated to the 2014 JKN claims.

The real 1,077-code tariff table (Permenkes 59/2014) is not available, so this script builds a
stand-in of the same shape: 789 inpatient and 288 outpatient codes (seed 004), the same codes in each
of the five tariff regions R1..R5, with a class III tariff [IDR] and a case-mix probability [1] per
(region, care, code). Codes follow the INA-CBG structure of seed 004 (Permenkes 27/2014):
``CMG letter - case type (1-9) - specific CBG number - severity``, e.g. ``I-4-10-I``, ``Q-5-44-0``.
Inpatient case types are 1 (procedure), 4 (medical), 6 (obstetric), 8 (neonatal), each with
severity I/II/III; outpatient types are 2 (major procedure), 3 (significant procedure),
5 (non-procedure), 7 (obstetric), 9 (neonatal), severity 0.

Method (all randomness from ``numpy.random.default_rng(seed)``):

1. national relative weights: lognormal per base group (lower tail truncated), with a median by
   CMG and case type (cardiac, neuro and oncology surgery heaviest), times increasing severity
   multipliers;
2. national case mix: Zipf weights over base groups ranked by a noisy score of cost over CMG
   prevalence (cheap, prevalent groups are common), split over severities I/II/III; regional
   mixes are lognormal perturbations of it;
3. tariffs: weight x a national base rate x a synthetic regional index, rounded to 100 IDR;
4. calibration: per (region, care) the mix q is tilted, p ~ q * t**theta, with theta found by
   Brent's method so that sum(p * t) equals the mean paid per case of Situmorang Tables 3-4
   (payment / cases). The targets include all hospital and care classes, so p is an *effective*
   case mix that absorbs them.

Run ``python scripts/make_cbg_table.py`` to write ``configs/data/cbg_table_2014.csv`` and print a
summary; ``--check`` re-reads the CSV and asserts the calibration without regenerating.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

SEED = 20140101
OUT = Path(__file__).resolve().parents[1] / "configs" / "data" / "cbg_table_2014.csv"
REGIONS = ("R1", "R2", "R3", "R4", "R5")
# Situmorang Tables 3 and 4 (2014): cases [1] and payments [million Rp], per region.
CASES = {"inpatient": (2_689_305, 655_825, 1_358_497, 101_935, 343_206),
         "outpatient": (16_288_611, 3_249_253, 5_444_725, 429_990, 1_065_163)}
PAID_MRP = {"inpatient": (13_958_815, 3_048_155, 6_092_628, 508_245, 1_361_257),
            "outpatient": (4_717_375, 782_546, 1_356_153, 126_718, 242_190)}
# Synthetic regional tariff index [1] (tariffs rise from R1, Java-Bali, to R5, eastern Indonesia).
REGION_INDEX = (1.00, 1.02, 1.04, 1.07, 1.12)
# Inpatient base groups: CMG -> ((case type, count, median relative weight [1]), ...); 263 x 3 = 789.
IP_GROUPS = {
    "A": ((1, 2, 3.0), (4, 8, 0.9)), "B": ((1, 5, 4.0), (4, 5, 1.3)),
    "C": ((1, 6, 6.0), (4, 9, 2.2)), "D": ((1, 2, 3.0), (4, 5, 1.2)),
    "E": ((1, 3, 3.0), (4, 6, 1.0)), "F": ((1, 1, 2.0), (4, 6, 1.1)),
    "G": ((1, 9, 8.0), (4, 9, 1.4)), "H": ((1, 6, 1.6), (4, 2, 0.7)),
    "I": ((1, 16, 12.0), (4, 10, 1.5)), "J": ((1, 6, 3.5), (4, 10, 1.0)),
    "K": ((1, 12, 2.8), (4, 8, 0.9)), "L": ((1, 6, 1.8), (4, 4, 0.7)),
    "M": ((1, 14, 3.2), (4, 6, 0.8)), "N": ((1, 9, 3.0), (4, 6, 1.0)),
    "O": ((1, 3, 1.8), (6, 8, 0.8)), "P": ((1, 4, 5.0), (8, 10, 1.3)),
    "S": ((1, 8, 2.6), (4, 6, 0.8)), "T": ((4, 2, 0.9),),
    "U": ((1, 6, 1.8), (4, 3, 0.6)), "V": ((1, 5, 2.0), (4, 2, 0.7)),
    "W": ((1, 7, 2.2), (4, 3, 0.7)), "Z": ((1, 1, 1.5), (4, 4, 0.6)),
}
# Outpatient codes: (CMGs, case type, codes per CMG, median relative weight [1]); 288 in all.
OP_GROUPS = (
    ("Q", 5, 60, 0.8),  # ambulatory episodic care: consultations, the bulk of visits
    ("ABCDEGHIJKLMNSUW", 3, 9, 1.5),  # significant outpatient procedures (incl. haemodialysis)
    ("CDHIKMNU", 2, 7, 6.0),  # major outpatient procedures (incl. chemotherapy, cataract)
    ("O", 7, 10, 1.2), ("P", 9, 18, 1.0),
)
SIGMA_WEIGHT = 0.6  # lognormal spread of relative weights within a CMG [log units]
Z_FLOOR = -1.5  # lower truncation of the weights' normal score: weight >= median * exp(-0.9)
# How much more common a CMG's groups are than their cost alone suggests [1] (default 1):
# infections (typhoid, dengue), deliveries, newborns, respiratory, ambulatory care, dialysis.
PREVALENCE = {"A": 4.0, "O": 4.0, "P": 3.0, "J": 2.0, "Q": 3.0, "N": 2.0}
SIGMA_REGION = 0.2  # lognormal spread of a region's case mix around the national one [log units]
ZIPF = {"inpatient": 0.95, "outpatient": 1.15}  # exponent of the national case-mix weights [1]
SEVERITY_SHARE = np.array([0.60, 0.28, 0.12])  # national share of I, II, III in a base group [1]


def targets() -> dict[tuple[str, str], float]:
    """Mean paid per case [IDR] per (region, care): Table 4 payment x 1e6 / Table 3 cases."""
    return {(r, care): PAID_MRP[care][i] * 1e6 / CASES[care][i]
            for care in CASES for i, r in enumerate(REGIONS)}


def _national(rng: np.random.Generator, care: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Draw the national structure of one care type.

    Returns
    -------
    codes : list of str, (n_code,)
        Codes in table order (789 inpatient or 288 outpatient).
    weight : ndarray(float64, (n_code,)) [1]
        Relative weights; tariff [IDR] = weight x base rate x regional index.
    mix : ndarray(float64, (n_code,)) [1]
        National case mix, summing to 1.
    """
    if care == "inpatient":
        groups = [(cmg, ctype, k, med) for cmg, rows in IP_GROUPS.items()
                  for ctype, n, med in rows for k in range(n)]
    else:
        groups = [(cmg, ctype, k, med) for cmgs, ctype, n, med in OP_GROUPS
                  for cmg in cmgs for k in range(n)]
    z = np.maximum(rng.standard_normal(len(groups)), Z_FLOOR)
    base = np.array([med for *_, med in groups]) * np.exp(SIGMA_WEIGHT * z)
    # Zipf over groups ranked by a noisy score: cheap and prevalent groups tend to be common.
    prevalence = np.array([PREVALENCE.get(cmg, 1.0) for cmg, *_ in groups])
    rank = np.argsort(np.argsort(np.log(base / prevalence) + rng.normal(0.0, 1.0, len(groups))))
    freq = (rank + 1.0) ** -ZIPF[care]
    if care == "outpatient":
        codes = [f"{cmg}-{ctype}-{10 + k:02d}-0" for cmg, ctype, k, _ in groups]
        return codes, base, freq / freq.sum()
    # Severity multipliers II/I in [1.3, 1.8] and III/II in [1.4, 2.2]: strictly increasing tariffs.
    m2 = rng.uniform(1.3, 1.8, len(groups))
    sev_mult = np.column_stack([np.ones(len(groups)), m2, m2 * rng.uniform(1.4, 2.2, len(groups))])
    sev_share = rng.dirichlet(40.0 * SEVERITY_SHARE, len(groups))
    codes = [f"{cmg}-{ctype}-{10 + k:02d}-{sev}" for cmg, ctype, k, _ in groups
             for sev in ("I", "II", "III")]
    mix = (freq[:, None] * sev_share).ravel()
    return codes, (base[:, None] * sev_mult).ravel(), mix / mix.sum()


def _tilt(q: np.ndarray, tariff: np.ndarray, target: float) -> np.ndarray:
    """Exponential tilt of mix ``q`` in log tariff so that ``sum(p * tariff) == target`` [IDR].

    Returns ``p`` (float64, same shape as ``q``), positive and summing to 1.
    """
    log_t = np.log(tariff)

    def mix(theta: float) -> np.ndarray:
        logw = np.log(q) + theta * log_t
        w = np.exp(logw - logw.max())
        return w / w.sum()

    theta = brentq(lambda th: (mix(th) @ tariff) / target - 1.0, -20.0, 20.0, xtol=1e-15, rtol=1e-15)
    p = mix(theta)
    return p / p.sum()


def generate(seed: int = SEED) -> pd.DataFrame:
    """Build the synthetic table.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator`` that draws every random quantity.

    Returns
    -------
    pandas.DataFrame
        Columns ``region`` (R1..R5), ``care`` (inpatient/outpatient), ``code`` (str),
        ``probability`` (float64 [1], sums to 1 per (region, care)) and ``tariff`` (int64 [IDR],
        class III), one row per (region, care, code), 5 x 1,077 rows.
    """
    rng = np.random.default_rng(seed)
    goal, cases = targets(), {c: np.array(v, float) for c, v in CASES.items()}
    frames = []
    for care in ("inpatient", "outpatient"):
        codes, weight, q_nat = _national(rng, care)
        share = cases[care] / cases[care].sum()
        national_mean = sum(goal[r, care] * s for r, s in zip(REGIONS, share))
        base_rate = national_mean / (q_nat @ weight) / (share @ np.array(REGION_INDEX))  # [IDR]
        for r, index in zip(REGIONS, REGION_INDEX):
            tariff = np.round(base_rate * index * weight, -2).astype(np.int64)
            q = q_nat * rng.lognormal(0.0, SIGMA_REGION, q_nat.size)
            p = _tilt(q / q.sum(), tariff.astype(float), goal[r, care])
            frames.append(pd.DataFrame({"region": r, "care": care, "code": codes,
                                        "probability": p, "tariff": tariff}))
    return pd.concat(frames, ignore_index=True)


def write(df: pd.DataFrame, path: Path, seed: int) -> None:
    """Write ``df`` as CSV with a ``#`` header saying it is synthetic and how it was made."""
    header = [
        "SYNTHETIC INA-CBG case-mix and class III tariff table: NOT the real Permenkes 59/2014 table.",
        f"Generated by scripts/make_cbg_table.py, seed {seed}: lognormal relative weights by CMG and",
        "case type with increasing severity multipliers, Zipf national case mix with lognormal regional",
        "perturbations, regional tariff index "
        + ", ".join(f"{r} {x:.2f}" for r, x in zip(REGIONS, REGION_INDEX)) + ".",
        "Calibrated: per (region, care), sum(probability * tariff) equals the 2014 mean paid per case",
        "(Situmorang Tables 4 / 3: payment [million Rp] x 1e6 / cases), by an exponential tilt of the",
        "case mix in log tariff (Brent root). Units: probability [1] within (region, care); tariff [IDR].",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.writelines(f"# {line}\n" for line in header)
        df.to_csv(f, index=False, lineterminator="\n")


def read(path: Path) -> pd.DataFrame:
    """Read a table in this format (``#`` lines skipped)."""
    return pd.read_csv(path, comment="#", dtype={"probability": "float64", "tariff": "int64"})


def check(df: pd.DataFrame, rtol: float = 1e-12) -> pd.DataFrame:
    """Assert counts, probabilities and calibration of a table read back from CSV.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, as returned by :func:`read`.
    rtol : float
        Tolerance [1] on ``|sum(p) - 1|`` and on ``|sum(p * t) / target - 1|``.

    Returns
    -------
    pandas.DataFrame
        One row per (region, care): n codes, mean and target [IDR], relative error [1],
        min / median / max tariff over codes [IDR], share of the 10 most common codes [1].
    """
    rows = []
    for (r, care), g in df.groupby(["region", "care"], sort=True):
        p, t = g["probability"].to_numpy(), g["tariff"].to_numpy()
        mean, goal = float(p @ t), targets()[r, care]
        assert len(g) == {"inpatient": 789, "outpatient": 288}[care] and g["code"].is_unique, (r, care)
        assert (p > 0).all() and abs(p.sum() - 1.0) <= rtol and (t > 0).all(), (r, care)
        assert abs(mean / goal - 1.0) <= rtol, (r, care, mean, goal)
        rows.append({"region": r, "care": care, "n": len(g), "mean": mean, "target": goal,
                     "rel_err": mean / goal - 1.0, "min": t.min(), "median": np.median(t), "max": t.max(),
                     "top10": np.sort(p)[-10:].sum()})
    return pd.DataFrame(rows)


def main() -> None:
    """Command line: generate and write (default), or ``--check`` the existing CSV."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="only re-read --out and assert the calibration")
    args = ap.parse_args()
    if not args.check:
        write(generate(args.seed), args.out, args.seed)
    summary = check(read(args.out))
    money = "{:,.0f}".format
    print(summary.to_string(index=False, formatters={
        "mean": "{:,.3f}".format, "target": "{:,.3f}".format, "rel_err": "{:.1e}".format,
        "min": money, "median": money, "max": money, "top10": "{:.3f}".format}))
    print(f"OK: {args.out} ({len(summary)} (region, care) cells calibrated to rel 1e-12)")


if __name__ == "__main__":
    main()
