"""Published outcomes ("actuals") to score a projection against: reading and validating the CSV.

Format (``configs/data/actuals/*.csv``, documented in ``configs/README.md``)::

    # lines starting with # are comments: cite the source of every number here
    year,variable,value[,compartment]
    2014,income,40.72e12
    2014,claim_ratio,1.039

``variable`` is one of :data:`VARIABLES`; ``compartment`` (optional column, empty allowed) names a
fund compartment of the results store, default the pooled national fund (every compartment
summed). Every problem is reported, one line each, as ``FILE:LINE: message``.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["VARIABLES", "NATIONAL", "Actual", "ActualsError", "read_actuals", "describe_years"]

#: variable -> (units, meaning). Amounts are nominal IDR; "per year" is the calendar year.
VARIABLES: dict[str, tuple[str, str]] = {
    "income": ("IDR", "contributions received in the year"),
    "benefit_cost": ("IDR", "benefit cost in the year: INA-CBG claims + non-CBG medical cost"),
    "claim_ratio": ("1", "benefit_cost / income (a fraction: 1.039, not 103.9)"),
    "members": ("member-years", "average members in the year"),
    "income_pmpm": ("IDR", "income per member per month"),
    "cost_pmpm": ("IDR", "benefit cost per member per month"),
    "net_assets": ("IDR", "net assets of the fund at year end"),
}
#: The label of the pooled national fund (the default compartment).
NATIONAL = "national"
_REQUIRED = ("year", "variable", "value")
_OPTIONAL = ("compartment",)
# A claim ratio above this is almost surely a percentage typed as a number (103.9 for 1.039);
# the worst segment ratios reported for JKN are near 3 (PBPU, 2018).
_MAX_CLAIM_RATIO = 10.0


class ActualsError(Exception):
    """Problems in an actuals file: one ``FILE:LINE: message`` per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def lines(self) -> list[str]:
        return list(self.problems)


@dataclass(frozen=True)
class Actual:
    """One published outcome.

    Attributes
    ----------
    year : int
    variable : str
        One of :data:`VARIABLES`.
    value : float
        In the variable's units (:data:`VARIABLES`).
    compartment : str
        A fund compartment label, or :data:`NATIONAL` (the whole fund).
    source : str
        ``FILE:LINE`` where it was read, for messages and records.
    """

    year: int
    variable: str
    value: float
    compartment: str = NATIONAL
    source: str = ""


def describe_years(years: Iterable[int]) -> str:
    """``2014-2019`` for consecutive years, else a comma list."""
    ys = sorted(set(int(y) for y in years))
    if not ys:
        return "none"
    if ys == list(range(ys[0], ys[-1] + 1)) and len(ys) > 1:
        return f"{ys[0]}-{ys[-1]}"
    return ", ".join(map(str, ys))


def _parse_row(fields: dict[str, str], where: str, problems: list[str],
               years: set[int] | None, years_text: str) -> Actual | None:
    bad = len(problems)
    year_text, var, value_text = fields["year"], fields["variable"], fields["value"]
    try:
        year = int(year_text)
    except ValueError:
        problems.append(f"{where}: year {year_text!r} is not an integer year")
        year = None
    if year is not None and years is not None and year not in years:
        problems.append(f"{where}: year {year} is outside the projection ({years_text})")
    if var not in VARIABLES:
        problems.append(f"{where}: unknown variable {var!r} (known: {', '.join(VARIABLES)})")
    try:
        value = float(value_text)
    except ValueError:
        value = math.nan
        problems.append(f"{where}: value {value_text!r} is not a number")
    else:
        if not math.isfinite(value):
            problems.append(f"{where}: value {value_text!r} is not a finite number")
        elif var in VARIABLES and var != "net_assets" and value < 0:
            problems.append(f"{where}: {var} cannot be negative (got {value_text})")
        elif var == "claim_ratio" and value > _MAX_CLAIM_RATIO:
            problems.append(f"{where}: claim_ratio {value_text} looks like a percentage: "
                            "give a fraction (1.039 for 103.9%)")
    if len(problems) > bad:
        return None
    return Actual(year=year, variable=var, value=value,
                  compartment=fields.get("compartment") or NATIONAL, source=where)


def read_actuals(path: str | Path, years: Iterable[int] | None = None) -> list[Actual]:
    """Read and validate an actuals CSV.

    Parameters
    ----------
    path : path-like
        CSV with columns ``year,variable,value`` and optionally ``compartment``, in any order;
        ``#`` comment lines and blank lines are skipped.
    years : iterable of int, optional
        The projection years the actuals may fall in; a row outside them is an error.

    Returns
    -------
    list of Actual, in file order.

    Raises
    ------
    ActualsError
        Every problem, one ``FILE:LINE: message`` each: a missing or unknown column, a row with
        the wrong number of fields, a year that is not an integer or outside ``years``, an
        unknown variable, a value that is not a finite number (or negative where it cannot
        be), a duplicate (year, variable, compartment), or a file without any row.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from spreadsheet exports is not a column
    except FileNotFoundError:
        raise ActualsError([f"{path}: actuals file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ActualsError([f"{path}: cannot read the actuals file ({exc})"]) from None
    allowed = None if years is None else {int(y) for y in years}
    years_text = describe_years(allowed or [])
    problems: list[str] = []
    header: list[str] | None = None
    out: list[Actual] = []
    first_seen: dict[tuple[int, str, str], int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}:{lineno}"
        cells = [c.strip() for c in next(csv.reader([stripped]))]
        if header is None:
            header = cells
            unknown = [c for c in cells if c not in _REQUIRED + _OPTIONAL]
            missing = [c for c in _REQUIRED if c not in cells]
            if unknown:
                problems.append(f"{where}: unknown column(s) {', '.join(map(repr, unknown))} "
                                f"(columns: {', '.join(_REQUIRED)}[, compartment])")
            if missing:
                problems.append(f"{where}: missing column(s) {', '.join(missing)} in the header")
            if len(set(cells)) != len(cells):
                problems.append(f"{where}: a column is named twice in the header")
            if unknown or missing or len(set(cells)) != len(cells):
                raise ActualsError(problems)
            continue
        if len(cells) != len(header):
            problems.append(f"{where}: {len(cells)} fields, the header has {len(header)}")
            continue
        actual = _parse_row(dict(zip(header, cells)), where, problems, allowed, years_text)
        if actual is None:
            continue
        key = (actual.year, actual.variable, actual.compartment)
        if key in first_seen:
            problems.append(f"{where}: duplicate ({actual.year}, {actual.variable}"
                            + ("" if actual.compartment == NATIONAL else f", {actual.compartment}")
                            + f"): first given on line {first_seen[key]}")
            continue
        first_seen[key] = lineno
        out.append(actual)
    if header is None:
        problems.append(f"{path}:1: no header line (expected year,variable,value[,compartment])")
    elif not out and not problems:
        problems.append(f"{path}: no actuals (only a header and comments)")
    if problems:
        raise ActualsError(problems)
    return out
