"""Write ``configs/data/population_2014.csv`` and ``population_2024.csv``: mid-year population by
year and INA-CBG tariff region, the denominator of active coverage (seed 003).

    python scripts/make_population.py          # (re)write both files
    python scripts/make_population.py --check  # exit 1 if a file differs from what it would write

Derivation (sources in configs/README.md, "Population"):

* provinces: BPS population 2016 and annual growth rate (PUBLIC_DATA 6; Kalimantan Utara's rate,
  not given by BPS, 2.6% as assumed there). Province ``p`` in year ``Y`` is
  ``P_2016 (1 + g_p)^(Y - 2016)`` (back-cast before 2016); these give the *regional shares* of
  each year only;
* regions: the province -> INA-CBG region mapping of PUBLIC_DATA 6 (marked M there; it could not
  be checked against the annex of Permenkes 59/2014 or 52/2016, see configs/README.md). The
  Papua provinces created in 2022 lie inside the former Papua and Papua Barat, both in R5;
* national totals, 2014 file: 252.2 M in 2014 (BPS 2013 projection, seed 001) growing
  geometrically to about 268 M in 2019 (the seed's own estimate for 2019), i.e. 1.22% a year;
* national totals, 2024 file: 279.1 M in 2023 (BPS, PUBLIC_DATA 2 and 6) growing at the rate
  ``scripts/calibrate_2024.py`` uses for registered members (278.1 M = 98.45% covered at the end
  of 2024 against 279.1 M in 2023: 1.21% a year), so that registered coverage stays at its 2024
  level in the projection, as the membership assumption says;
* each year's national total is rounded to whole persons and split by the largest remainder, so
  that the regions add up to it exactly.

The population is deterministic: membership uncertainty is uncertainty of members, not of people.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "configs" / "data"
REGIONS = ["R1", "R2", "R3", "R4", "R5"]

# BPS 2016 ('000) and annual growth rate (%), PUBLIC_DATA 6; region: PUBLIC_DATA 6 mapping (M)
PROVINCES = [
    ("Aceh", 5_096.2, 2.01, "R3"), ("Sumatera Utara", 14_102.9, 1.33, "R3"),
    ("Sumatera Barat", 5_259.5, 1.31, "R2"), ("Riau", 6_501.0, 2.59, "R2"),
    ("Jambi", 3_458.9, 1.80, "R3"), ("Sumatera Selatan", 8_160.9, 1.46, "R2"),
    ("Bengkulu", 1_904.8, 1.69, "R3"), ("Lampung", 8_205.1, 1.21, "R2"),
    ("Kep. Bangka Belitung", 1_401.8, 2.20, "R4"), ("Kepulauan Riau", 2_028.2, 3.06, "R3"),
    ("DKI Jakarta", 10_277.6, 1.07, "R1"), ("Jawa Barat", 47_379.4, 1.54, "R1"),
    ("Jawa Tengah", 34_019.1, 0.79, "R1"), ("DI Yogyakarta", 3_720.9, 1.18, "R1"),
    ("Jawa Timur", 39_075.3, 0.66, "R1"), ("Banten", 12_203.1, 2.23, "R1"),
    ("Bali", 4_200.1, 1.21, "R2"), ("NTB", 4_896.2, 1.36, "R2"),
    ("NTT", 5_203.5, 1.69, "R4"), ("Kalimantan Barat", 4_861.7, 1.63, "R3"),
    ("Kalimantan Tengah", 2_550.2, 2.33, "R5"), ("Kalimantan Selatan", 4_055.5, 1.81, "R5"),
    ("Kalimantan Timur", 3_501.2, 2.58, "R5"), ("Kalimantan Utara", 666.3, 2.60, "R5"),
    ("Sulawesi Utara", 2_436.9, 1.13, "R3"), ("Sulawesi Tengah", 2_921.7, 1.67, "R3"),
    ("Sulawesi Selatan", 8_606.4, 1.10, "R3"), ("Sulawesi Tenggara", 2_551.0, 2.16, "R3"),
    ("Gorontalo", 1_150.8, 1.62, "R3"), ("Sulawesi Barat", 1_306.5, 1.93, "R3"),
    ("Maluku", 1_715.5, 1.79, "R5"), ("Maluku Utara", 1_162.3, 2.21, "R5"),
    ("Papua Barat", 893.4, 2.65, "R5"), ("Papua", 3_207.4, 1.99, "R5"),
]
PROVINCE_YEAR = 2016
POPULATION_2014 = 252.2e6        # seed 001 (BPS 2013 projection)
POPULATION_2019 = 268.0e6        # seed 001: "sekitar 268 juta jiwa pada tahun 2019"


def _calibrate_2024():
    spec = importlib.util.spec_from_file_location("calibrate_2024", ROOT / "scripts" / "calibrate_2024.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def regional_shares(year: int) -> list[float]:
    """Shares of the regions in ``year`` from the provinces' own growth rates."""
    by_region = dict.fromkeys(REGIONS, 0.0)
    for _, pop, growth, region in PROVINCES:
        by_region[region] += pop * (1.0 + growth / 100.0) ** (year - PROVINCE_YEAR)
    total = sum(by_region.values())
    return [by_region[r] / total for r in REGIONS]


def split(total: float, shares: list[float]) -> list[int]:
    """Whole persons per region summing exactly to ``round(total)`` (largest remainder)."""
    n = int(round(total))
    raw = [n * s for s in shares]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: n - sum(out)]:
        out[i] += 1
    return out


def national_2014(year: int) -> float:
    growth = (POPULATION_2019 / POPULATION_2014) ** (1 / 5) - 1.0
    return POPULATION_2014 * (1.0 + growth) ** (year - 2014)


def national_2024(year: int) -> float:
    cal = _calibrate_2024()
    growth = (cal.YEAR_END_MEMBERS[2024] / cal.COVERAGE_2024) / cal.POPULATION_2023 - 1.0
    return cal.POPULATION_2023 * (1.0 + growth) ** (year - 2023)


def table(years, national, header: list[str]) -> str:
    lines = [*(f"# {h}" for h in header), "year,region,population"]
    for y in years:
        for region, pop in zip(REGIONS, split(national(y), regional_shares(y))):
            lines.append(f"{y},{region},{pop}")
    return "\n".join(lines) + "\n"


def tables() -> dict[Path, str]:
    common = ["Regional shares: BPS 2016 provinces x their annual growth rates (PUBLIC_DATA 6),",
              "province -> region as PUBLIC_DATA 6 (M: not confirmed against the Permenkes annex).",
              "Deterministic. Generated by scripts/make_population.py; sources in configs/README.md."]
    g14 = (POPULATION_2019 / POPULATION_2014) ** (1 / 5) - 1.0
    cal = _calibrate_2024()
    g24 = (cal.YEAR_END_MEMBERS[2024] / cal.COVERAGE_2024) / cal.POPULATION_2023 - 1.0
    return {
        DATA / "population_2014.csv": table(range(2014, 2020), national_2014, [
            "Mid-year population of Indonesia by INA-CBG tariff region, 2014-2019 [persons].",
            f"National: 252.2 M in 2014 (seed 001, BPS 2013) growing {100 * g14:.3f}%/yr to 268 M in "
            "2019 (seed 001).", *common]),
        DATA / "population_2024.csv": table(range(2024, 2031), national_2024, [
            "Mid-year population of Indonesia by INA-CBG tariff region, 2024-2030 [persons].",
            f"National: 279.1 M in 2023 (BPS, PUBLIC_DATA 2/6) growing {100 * g24:.3f}%/yr (the "
            "population growth of scripts/calibrate_2024.py).", *common]),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a file would change")
    args = ap.parse_args(argv)
    stale = []
    for path, text in tables().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path.relative_to(ROOT)} is not what scripts/make_population.py writes", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
