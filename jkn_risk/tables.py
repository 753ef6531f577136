"""CSV tables named by a config: read once, validated cell by cell, returned as arrays.

Errors name the config key, the file, the line and the column, for example
``case_mix.table: cbg.csv line 12, column 'tariff': not a number (got 'abc')``.
Lines starting with ``#`` are comments (the synthetic tables carry their provenance there).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from jkn_risk.config import Config

__all__ = ["ConfigTables", "CaseMixTable", "TableError", "load_tables", "load_triangles", "read_csv"]

SHARE_TOL = 1e-9


class TableError(Exception):
    """Problems in CSV tables, each ``(config key, message, value)``."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("; ".join(f"{p}: {m}" for p, m, _ in problems))


# The value of a problem that has none to show: ``ConfigError`` then prints no ``(got ...)``.
# The one sentinel of the package; schema and config import it from here, the lowest module.
_NOVALUE = object()


@dataclass(frozen=True)
class CaseMixTable:
    """One (region, care) case mix: codes, probabilities and class-III tariffs [IDR]."""

    codes: tuple[str, ...]
    probability: np.ndarray  # float64 (k,)
    tariff: np.ndarray  # int64 (k,) IDR per case

    @property
    def mean_tariff(self) -> float:
        return float(self.probability @ self.tariff)


@dataclass(frozen=True)
class ConfigTables:
    """Arrays from the config's CSV tables.

    members : ndarray(float64, (n_year, n_region, n_segment)) [member-years]
    case_mix : {(region, care): CaseMixTable}
    population : ndarray(float64, (n_year, n_region)) [persons] or None (no ``population:``)
    """

    members: np.ndarray
    case_mix: dict[tuple[str, str], CaseMixTable] = field(default_factory=dict)
    population: np.ndarray | None = None


def _parse(kind: type, raw: str):
    if kind is str:
        if not raw:
            raise ValueError
        return raw
    val = float(raw)
    if not math.isfinite(val):
        raise ValueError
    if kind is int:
        if val != int(val):
            raise ValueError
        return int(val)
    return val


def read_csv(path: str | Path, key: str, columns: dict[str, type]) -> list[dict[str, Any]]:
    """Read a CSV with the given columns and types; ``#`` lines are comments.

    Parameters
    ----------
    path : str or Path
    key : str
        The config key naming the file, used in error messages.
    columns : dict
        Column name -> ``str``, ``int`` or ``float``; extra columns are an error.

    Returns
    -------
    list of dict, each with ``_line`` (1-based line number in the file) added.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise TableError([(key, f"file not found: {path}", _NOVALUE)])
    problems, rows = [], []
    try:
        data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    except OSError as exc:
        raise TableError([(key, f"{name}: cannot read ({exc.strerror or exc})", _NOVALUE)]) from None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise TableError([(key, f"{name} line {line}: binary file, not CSV text (NUL byte)",
                           _NOVALUE)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TableError([(key, f"{name} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
                           _NOVALUE)]) from None
    lines = [(i + 1, line) for i, line in enumerate(text.split("\n"))
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise TableError([(key, f"{name}: no header row", _NOVALUE)])
    header_line, header = lines[0]
    head = [h.strip() for h in next(csv.reader([header]))]
    if sorted(head) != sorted(columns):
        missing = sorted(set(columns) - set(head))
        extra = sorted(set(head) - set(columns))
        msg = f"{name} line {header_line}: wrong columns"
        msg += f"; missing {missing}" if missing else ""
        msg += f"; unexpected {extra}" if extra else ""
        raise TableError([(key, msg + f"; expected {list(columns)}", head)])
    for lineno, text in lines[1:]:
        cells = [c.strip() for c in next(csv.reader([text]))]
        if len(cells) != len(head):
            problems.append((key, f"{name} line {lineno}: expected {len(head)} cells, "
                                  f"found {len(cells)}", text.strip()))
            continue
        row: dict[str, Any] = {"_line": lineno}
        for col, raw in zip(head, cells):
            kind = columns[col]
            try:
                val = _parse(kind, raw)
            except ValueError:
                what = "whole number" if kind is int else "number" if kind is float else "string"
                problems.append((key, f"{name} line {lineno}, column '{col}': not a {what}", raw))
                continue
            row[col] = val
        rows.append(row)
    if problems:
        raise TableError(problems[:20])
    return rows


def _members_from_table(cfg: "Config", key: str, path: str) -> np.ndarray:
    rows = read_csv(path, key, {"year": int, "segment": str, "region": str, "members": float})
    return _fill(cfg, key, Path(path).name, rows, with_year=True)


def _fill(cfg, key, name, rows, with_year: bool) -> np.ndarray:
    yi = {y: i for i, y in enumerate(cfg.years)}
    ri = {r: i for i, r in enumerate(cfg.regions)}
    si = {s: i for i, s in enumerate(cfg.segments)}
    shape = (len(cfg.years) if with_year else 1, len(ri), len(si))
    out = np.full(shape, np.nan)
    problems = []
    for row in rows:
        where = f"{name} line {row['_line']}"
        y = yi.get(row["year"]) if with_year else 0
        if with_year and y is None:
            problems.append((key, f"{where}, column 'year': year not in the projection", row["year"]))
            continue
        r, s = ri.get(row["region"]), si.get(row["segment"])
        if r is None:
            problems.append((key, f"{where}, column 'region': unknown region", row["region"]))
            continue
        if s is None:
            problems.append((key, f"{where}, column 'segment': unknown segment", row["segment"]))
            continue
        if row["members"] < 0:
            problems.append((key, f"{where}, column 'members': negative", row["members"]))
            continue
        if not np.isnan(out[y, r, s]):
            problems.append((key, f"{where}: duplicate cell", (row.get("year"), row["segment"], row["region"])))
            continue
        out[y, r, s] = row["members"]
    if not problems:
        for idx in zip(*np.nonzero(np.isnan(out))):
            y, r, s = idx
            cell = (cfg.years[y] if with_year else cfg.base_year, cfg.segments[s], cfg.regions[r])
            problems.append((key, f"{name}: missing cell (year, segment, region)", cell))
    if problems:
        raise TableError(problems[:20])
    return out


def _members_from_base(cfg: "Config", key: str, path: str) -> np.ndarray:
    rows = read_csv(path, key, {"segment": str, "region": str, "members": float})
    base = _fill(cfg, key, Path(path).name, rows, with_year=False)[0]  # (region, segment)
    m = cfg.membership
    out = np.empty((len(cfg.years), *base.shape))
    seg_total = base.sum(axis=0)
    within = np.divide(base, seg_total, out=np.zeros_like(base), where=seg_total > 0)
    shares = seg_total / seg_total.sum()
    for i, year in enumerate(cfg.years):
        if i == 0:
            out[i] = base
            continue
        if year in m.segment_shares:
            given = m.segment_shares[year]
            shares = np.array([given.get(s, 0.0) for s in cfg.segments])
        out[i] = within * (shares * m.totals[year])[None, :]
    return out


def _case_mix(cfg: "Config") -> dict[tuple[str, str], CaseMixTable]:
    key = "case_mix.table"
    path = cfg.case_mix.table
    name = Path(path).name
    rows = read_csv(path, key, {"region": str, "care": str, "code": str,
                                "probability": float, "tariff": float})
    groups: dict[tuple[str, str], list] = {}
    problems = []
    for row in rows:
        where = f"{name} line {row['_line']}"
        if row["region"] not in cfg.regions:
            problems.append((key, f"{where}, column 'region': unknown region", row["region"]))
        elif row["care"] not in cfg.care_types:
            problems.append((key, f"{where}, column 'care': unknown care type", row["care"]))
        elif row["probability"] < 0:
            problems.append((key, f"{where}, column 'probability': negative", row["probability"]))
        elif row["tariff"] < 0 or row["tariff"] != int(row["tariff"]):
            problems.append((key, f"{where}, column 'tariff': must be a non-negative whole "
                                  "number of rupiah", row["tariff"]))
        else:
            groups.setdefault((row["region"], row["care"]), []).append(row)
    out = {}
    for region in cfg.regions:
        for care in cfg.care_types:
            rs = groups.get((region, care))
            if not rs:
                problems.append((key, f"{name}: no rows for region {region}, care {care}", _NOVALUE))
                continue
            prob = np.array([r["probability"] for r in rs])
            if abs(prob.sum() - 1.0) > SHARE_TOL:
                problems.append((key, f"{name}: probabilities of {region}/{care} must sum to 1 "
                                      f"(sum is {prob.sum():.12g})", _NOVALUE))
                continue
            codes = tuple(r["code"] for r in rs)
            if len(set(codes)) != len(codes):
                problems.append((key, f"{name}: duplicate codes in {region}/{care}", _NOVALUE))
                continue
            out[(region, care)] = CaseMixTable(codes, prob, np.array([int(r["tariff"]) for r in rs],
                                                                     dtype=np.int64))
    if problems:
        raise TableError(problems[:20])
    return out


def _span(lines: list[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {min(lines)}-{max(lines)}"


def _population(cfg: "Config") -> np.ndarray:
    """The ``population:`` table, ``year,region,population`` -> ndarray(float64, (Y, R)) [persons].

    Rows of years outside the projection are checked and ignored (a table may be longer than a
    config's horizon). Every projection year and region needs exactly one row with a positive
    population. A region or year with no rows at all is one problem, not one per cell.
    """
    key, path = "population", cfg.population
    name = Path(path).name
    rows = read_csv(path, key, {"year": int, "region": str, "population": float})
    yi = {y: i for i, y in enumerate(cfg.years)}
    ri = {r: i for i, r in enumerate(cfg.regions)}
    out = np.full((len(yi), len(ri)), np.nan)
    seen: dict[tuple[int, str], int] = {}
    problems = []
    for row in rows:
        where = f"{name} line {row['_line']}"
        year, region, pop = row["year"], row["region"], row["population"]
        if region not in ri:
            problems.append((key, f"{where}, column 'region': unknown region", region))
        elif not pop > 0:
            problems.append((key, f"{where}, column 'population': must be positive", pop))
        elif (year, region) in seen:
            problems.append((key, f"{where}, columns 'year', 'region': {year} {region} repeats "
                                  f"line {seen[(year, region)]}", _NOVALUE))
        else:
            seen[(year, region)] = row["_line"]
            if year in yi:
                out[yi[year], ri[region]] = pop
    if problems:
        raise TableError(problems[:20])
    data_lines = [r["_line"] for r in rows] or [1]
    missing_years = [y for y in cfg.years if not any(k[0] == y for k in seen)]
    if missing_years:
        given = sorted({y for y, _ in seen})
        have = f"{given[0]}-{given[-1]}" if given else "none"
        problems.append((key, f"{name} {_span(data_lines)}, column 'year': no rows for projection "
                              f"year{'s' if len(missing_years) > 1 else ''} "
                              f"{', '.join(map(str, missing_years))} (years given: {have})", _NOVALUE))
    covered = [y for y in cfg.years if y not in missing_years]
    in_years = [(y, r) for (y, r) in seen if y in covered]
    missing_regions = [r for r in cfg.regions if covered and not any(k[1] == r for k in in_years)]
    if missing_regions:
        given = [r for r in cfg.regions if r not in missing_regions]
        problems.append((key, f"{name} {_span(data_lines)}, column 'region': no rows for region"
                              f"{'s' if len(missing_regions) > 1 else ''} {', '.join(missing_regions)}"
                              f" (regions given: {', '.join(given) or 'none'})", _NOVALUE))
    for y in covered:
        for r in cfg.regions:
            if r not in missing_regions and (y, r) not in seen:
                lines = [ln for (yy, _), ln in seen.items() if yy == y]
                problems.append((key, f"{name} {_span(lines)}, column 'region': no row for region "
                                      f"{r} in year {y}", _NOVALUE))
    if problems:
        raise TableError(problems[:20])
    return out


def load_tables(cfg: "Config") -> ConfigTables:
    """Read and validate every CSV table a config names."""
    problems = []
    members = case_mix = None
    try:
        if cfg.membership.table is not None:
            members = _members_from_table(cfg, "membership.table", cfg.membership.table)
        else:
            members = _members_from_base(cfg, "membership.base", cfg.membership.base)
    except TableError as exc:
        problems += exc.problems
    try:
        case_mix = _case_mix(cfg)
    except TableError as exc:
        problems += exc.problems
    population = None
    if cfg.population is not None:
        try:
            population = _population(cfg)
        except TableError as exc:
            problems += exc.problems
    if problems:
        raise TableError(problems)
    return ConfigTables(members=members, case_mix=case_mix, population=population)


def load_triangles(cfg: "Config") -> dict:
    """Read and check the claim triangles a config names (``utilization.<care>.ibnr.triangle``).

    ``load_config`` leaves them to ``build_parameters``, which reads them to fit the bootstrap;
    ``jkn-risk validate`` calls this so that a bad triangle is found before a run. The origins the
    bootstrap completes (``ibnr.origins``, by default those of the base year) must be in the file.

    Returns
    -------
    dict
        ``{care: Triangle}`` for each care type with a bootstrap IBNR.

    Raises
    ------
    TableError
        At most one problem per care type, keyed ``utilization.<care>.ibnr.triangle`` or
        ``.origins``, naming the file and, where they apply, its line, origin and lag.
    """
    # Imported here: the reserving package loads Numba, which validating tables does not need.
    from jkn_risk.reserving.triangle import TriangleError, read_triangle

    out, problems = {}, []
    for care in cfg.care_types:
        spec = getattr(cfg.utilization, care).ibnr
        if isinstance(spec, (int, float)):
            continue
        key = f"utilization.{care}.ibnr"
        try:
            tri = read_triangle(spec.triangle)
        except TriangleError as exc:
            problems.append((f"{key}.triangle", str(exc), _NOVALUE))
            continue
        name, span = Path(spec.triangle).name, f"{tri.origin[0]} to {tri.origin[-1]}"
        if spec.origins:
            unknown = [o for o in spec.origins if str(o) not in tri.origin]
            if unknown:
                problems.append((f"{key}.origins", f"not origins of {name} ({span})", unknown))
                continue
        elif not any(o.startswith(str(cfg.base_year)) for o in tri.origin):
            problems.append((f"{key}.triangle", f"{name}: no origin in the base year "
                             f"{cfg.base_year} ({span}); list them in {key}.origins", _NOVALUE))
            continue
        out[care] = tri
    if problems:
        raise TableError(problems)
    return out
