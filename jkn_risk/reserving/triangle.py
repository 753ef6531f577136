"""Claim triangles: reading, validating and the :class:`Triangle` container.

A triangle file is a UTF-8 CSV in one of two forms:

* **long**: columns ``origin, development, value`` (one row per observed cell, in any order).
  Columns before ``origin`` are index columns (chainladder's ``to_frame(keepdims=True)``) and
  must hold one value throughout: a file holds one triangle. Any other column is an error.
* **wide**: the first column holds the origins, oldest first, the other column headers are
  development lags in increasing order. Every row has one cell per lag; an empty cell is an
  unobserved (future) one.

Lines starting with ``#`` are comments (synthetic-data notices), wherever they are. A comment
``# cumulative: true`` or ``# cumulative: false`` states the kind of values; ``read_triangle``'s
``cumulative`` argument overrides it, and without either the values are taken as cumulative
(chainladder-python's convention for its sample triangles).

Origins are labelled ``YYYY`` (years), ``YYYYQn`` / ``YYYY-Qn`` (quarters) or ``YYYY-MM`` (months)
and must be consecutive, each period once. Development lags are whole numbers with a constant
step. Lags with step 1 count periods of the origin grain (``1, 2, ...`` or ``0, 1, ...``); lags with
a larger step are ages in months (chainladder's ``12, 24, ...`` or ``3, 6, ...``), so annual origins
may develop quarterly. Values are finite numbers (no NaN or infinity).

The observed cells must form the upper triangle (or trapezoid) implied by the latest valuation:
origin ``i`` is observed at the first ``k_i = min(n_dev, k_0 - r * i)`` lags, where ``r`` is the
number of development steps per origin period. Anything else is an error.

Negative *incremental* values are allowed (recoveries, corrections), so cumulative values may
decrease: they are kept as they are and the estimators handle them as the literature does (see
:mod:`jkn_risk.reserving.bootstrap`). A negative *cumulative* count is an error.

Every problem is one :class:`TriangleError` line naming the file and, where they apply, the line,
origin and lag: ``"ip.csv line 7: origin 2014-02, lag 2: not a number (got '12x45')"``.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn

import numpy as np

__all__ = ["Triangle", "TriangleError", "read_triangle", "triangle_from_array"]

_MONTHS = {"Y": 12, "Q": 3, "M": 1}
_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# Plain decimal numbers only: Python's float() also takes '1_000', 'nan' and 'infinity'.
_RE_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_RE_NON_FINITE = re.compile(r"^[+-]?(?:nan|inf|infinity)$", re.IGNORECASE)
_MAX_LAG = 9999  # keeps lags inside int64 arithmetic; a century of monthly ages is 1200
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars", " ": "spaces"}
_VALUE_COLUMNS = ("value", "values")


class TriangleError(ValueError):
    """A triangle that cannot be used: one line naming the file and, where they apply, the line,
    origin and lag (``"<file> line <n>: origin <o>, lag <l>: <problem>"``)."""


def _short(text: str, width: int = 40) -> str:
    r = repr(text)
    return r if len(r) <= width else r[:width - 4] + "...'"


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


def _fail(name: str, problem: str, *, line: int | None = None, origin=None, lag=None) -> NoReturn:
    where = name if line is None else f"{name} line {line}"
    cell = []
    if origin is not None:
        o = str(origin)
        cell.append(f"origin {o if o.strip() and o.isprintable() and len(o) <= 20 else _short(o)}")
    if lag is not None:
        cell.append(f"lag {lag}")
    if cell:
        where += ": " + ", ".join(cell)
    raise TriangleError(f"{where}: {problem}")


@dataclass(frozen=True)
class Triangle:
    """A single cumulative claim triangle.

    Attributes
    ----------
    values : ndarray(float64, (n_origin, n_dev))
        Cumulative values; NaN in the unobserved (future) lower triangle.
    origin : tuple of str, length n_origin
        Origin period labels, oldest first (``"2014-01"``, ``"1981"``, ``"2014Q1"``).
    development : ndarray(int64, (n_dev,))
        Development lags as given in the file.
    grain : str
        chainladder-style grain, ``"O{Y|Q|M}D{Y|Q|M}"``.
    source : str
        File name the triangle was read from (``""`` when built in memory).
    """

    values: np.ndarray
    origin: tuple
    development: np.ndarray
    grain: str = "OYDY"
    source: str = ""
    n_observed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        v = np.array(self.values, dtype=np.float64)
        v.setflags(write=False)
        d = np.array(self.development, dtype=np.int64)
        d.setflags(write=False)
        obs = np.isfinite(v).sum(axis=1).astype(np.int64)
        obs.setflags(write=False)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "development", d)
        object.__setattr__(self, "origin", tuple(str(o) for o in self.origin))
        object.__setattr__(self, "n_observed", obs)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def observed(self) -> np.ndarray:
        """ndarray(bool, (n_origin, n_dev)): True where the cell is observed."""
        return np.isfinite(self.values)

    @property
    def latest_diagonal(self) -> np.ndarray:
        """ndarray(float64, (n_origin,)): the latest cumulative value of each origin."""
        return self.values[np.arange(self.shape[0]), self.n_observed - 1]

    @property
    def incremental(self) -> np.ndarray:
        """ndarray(float64, (n_origin, n_dev)): incremental values, NaN in the future."""
        inc = np.diff(self.values, axis=1, prepend=0.0)
        return inc

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return (f"Triangle(source={self.source!r}, grain={self.grain!r}, "
                f"origin={self.origin[0]}..{self.origin[-1]}, n_dev={self.shape[1]})")


def triangle_from_array(values, origin=None, development=None, *, grain="OYDY", source="",
                        cumulative=True) -> Triangle:
    """Build and validate a :class:`Triangle` from an array (NaN in the future cells).

    Parameters
    ----------
    values : array_like(float64, (n_origin, n_dev))
        Cumulative (or, with ``cumulative=False``, incremental) values, NaN where unobserved.
    origin, development : sequences, optional
        Labels; default ``0..n-1`` and ``1..n_dev``.
    """
    v = np.array(values, dtype=np.float64)
    n_o, n_d = v.shape
    origin = tuple(str(o) for o in (origin if origin is not None else range(n_o)))
    development = np.asarray(development if development is not None else np.arange(1, n_d + 1))
    obs = np.isfinite(v)
    lengths = obs.sum(axis=1)
    name = source or "<array>"
    for i in range(n_o):
        k = lengths[i]
        if k == 0 or not obs[i, :k].all():
            j = int(np.argmin(obs[i])) if k else 0
            _fail(name, "missing value inside the observed triangle", origin=origin[i],
                  lag=development[j])
    return _finish(v, obs, lengths, origin, development, grain, name, source, cumulative)


def _finish(v, obs, expected, origin, development, grain, name, source, cumulative,
            lines=None) -> Triangle:
    """Checks shared by files and arrays; ``lines`` maps (i, j) to the cell's line in the file."""
    lines = lines or {}
    n_o, n_d = v.shape
    if n_o < 3:
        _fail(name, f"{_n(n_o, 'origin')} ({', '.join(origin)}): "
                    "at least 3 are needed to fit a triangle")
    if n_d < 2:
        _fail(name, f"one development lag ({development[0]}): at least 2 are needed to fit a "
                    "triangle")
    if not cumulative:
        v = np.where(obs, np.nancumsum(np.where(obs, v, 0.0), axis=1), np.nan)
    for i in range(n_o):
        for j in range(expected[i]):
            if v[i, j] < 0:
                what = "negative cumulative count" if not cumulative else "negative count"
                _fail(name, f"{what} (got {v[i, j]:g})", line=lines.get((i, j)),
                      origin=origin[i], lag=development[j])
    # A development column whose cumulative values are all zero leaves its factor undefined.
    for j in range(n_d - 1):
        rows = obs[:, j + 1]
        if rows.any() and np.all(v[rows, j] == 0):
            _fail(name, "development column of zeros (factor undefined)",
                  origin=origin[int(np.argmax(rows))], lag=development[j])
    col_any = obs.any(axis=0)
    if not col_any.all():
        _fail(name, "development column with no observed value",
              lag=development[int(np.argmin(col_any))])
    return Triangle(values=v, origin=origin, development=development, grain=grain, source=source)


def _parse_origin(label: str):
    s = label.strip()
    m = _RE_MONTH.match(s)
    if m and 1 <= int(m.group(2)) <= 12:
        return "M", int(m.group(1)) * 12 + int(m.group(2)) - 1
    m = _RE_QUARTER.match(s)
    if m:
        return "Q", int(m.group(1)) * 4 + int(m.group(2)) - 1
    m = _RE_YEAR.match(s)
    if m:
        return "Y", int(m.group(1))
    s10 = s[:10]
    if re.match(r"^\d{4}-\d{2}-\d{2}$", s10):  # a date: the month (or year if all Jan)
        return "D", int(s10[:4]) * 12 + int(s10[5:7]) - 1
    return None, None


# --------------------------------------------------------------------------- reading
def _text(path: Path, name: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(str(path), "file not found")
    except OSError as exc:
        _fail(name, f"cannot read ({exc.strerror or exc})")

    def line_at(pos: int) -> int:  # counted as _records counts them
        return len(re.split(rb"\r\n|\r|\n", data[:pos]))

    nul = data.find(b"\x00")
    if nul >= 0:
        _fail(name, "binary file, not CSV text (NUL byte)", line=line_at(nul))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(name, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
                    "save it as UTF-8 CSV", line=line_at(exc.start))


def _records(text: str, name: str):
    """The ``(line number, comment)`` lines, and ``(line number, stripped cells)`` of every other
    non-blank line."""
    comments, records = [], []
    for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            comments.append((n, line))
            continue
        try:
            cells = [c.strip() for c in next(csv.reader([line]))]
        except csv.Error as exc:
            _fail(name, f"not CSV ({exc})", line=n)
        if any(cells):
            records.append((n, cells))
    return comments, records


def _cumulative_from_comments(comments, name) -> bool | None:
    said = None
    for n, c in comments:
        m = re.match(r"^\s*#\s*cumulative\s*[:=]\s*(\w+)", c, re.IGNORECASE)
        if m:
            this = m.group(1).lower() in ("true", "yes", "1")
            if said is not None and this != said[1]:
                _fail(name, f"'# cumulative: {m.group(1)}' contradicts line {said[0]}", line=n)
            said = said or (n, this)
    return None if said is None else said[1]


def _delimiter_hint(cells) -> str:
    d = next((d for d in _DELIMITERS if len(cells) == 1 and d in cells[0]), None)
    return f"; the line seems separated by {_DELIMITERS[d]}, triangle files use commas" if d else ""


def _lag(name, line, raw, *, origin=None, column=False) -> int:
    x = float(raw) if _RE_NUMBER.match(raw) else math.nan
    if not (0 <= x <= _MAX_LAG and x == int(x)):
        if column:
            _fail(name, f"column {_short(raw)} is not a development lag (a wide header is the "
                        "origin column then whole-number lags; a long one is "
                        "origin,development,value)", line=line)
        _fail(name, f"lag is not a whole number from 0 to {_MAX_LAG} (got {_short(raw)})",
              line=line, origin=origin)
    return int(x)


def _value(name, line, origin, lag, raw) -> float:
    if raw == "":
        _fail(name, "empty value", line=line, origin=origin, lag=lag)
    if _RE_NON_FINITE.match(raw) or (_RE_NUMBER.match(raw) and not math.isfinite(float(raw))):
        _fail(name, f"not a finite number (got {_short(raw)})", line=line, origin=origin, lag=lag)
    if not _RE_NUMBER.match(raw):
        _fail(name, f"not a number (got {_short(raw)})", line=line, origin=origin, lag=lag)
    return float(raw)


def _read_long(name, hline, head, rows):
    low = [h.lower() for h in head]
    val = next((k for k, h in enumerate(low) if h in _VALUE_COLUMNS), None)
    missing = [c for c, ok in (("origin", "origin" in low), ("development", "development" in low),
                               ("value", val is not None)) if not ok]
    if missing:
        _fail(name, f"missing column {', '.join(missing)} (long form needs origin,development,"
                    f"value; got {_short(','.join(head), 60)})", line=hline)
    io_, id_ = low.index("origin"), low.index("development")
    unknown = [h for k, h in enumerate(head) if k > io_ and k not in (id_, val)]
    index = [k for k in range(io_) if k not in (id_, val)]
    if unknown:
        _fail(name, f"unknown column {_short(unknown[0])} (long form needs origin,development,"
                    "value)", line=hline)
    cells, cell_line, origin_line = {}, {}, {}
    for n, r in rows:
        o = r[io_] if len(r) > max(io_, 1) else None  # one field: a line, not an origin
        if len(r) != len(head):
            _fail(name, f"{_n(len(r), 'field')}, the header has {len(head)}{_delimiter_hint(r)}",
                  line=n, origin=o)
        for k in index:  # one value per file
            if r[k] != rows[0][1][k]:
                _fail(name, f"column {_short(head[k])} changes from {_short(rows[0][1][k])} "
                            f"(line {rows[0][0]}) to {_short(r[k])}: one triangle per file", line=n)
        lag = _lag(name, n, r[id_], origin=o)
        if (o, lag) in cells:
            _fail(name, f"duplicate cell (first on line {cell_line[(o, lag)]})", line=n, origin=o,
                  lag=lag)
        cells[(o, lag)] = _value(name, n, o, lag, r[val])
        cell_line[(o, lag)] = n
        origin_line.setdefault(o, n)
    lag_line = {}
    for (_, lag), n in cell_line.items():
        lag_line.setdefault(lag, n)  # rows in file order: the lag's first line
    return cells, cell_line, origin_line, lag_line, False


def _read_wide(name, hline, head, rows):
    if _parse_origin(head[0])[0] is not None:
        _fail(name, f"no header row: the first row starts with the origin {_short(head[0])} (a "
                    "wide header is the origin column then the lags)", line=hline)
    lags = []
    for h in head[1:]:
        lag = _lag(name, hline, h, column=True)
        if lags and lag <= lags[-1]:
            _fail(name, f"lag columns must increase ({lags[-1]} then {lag})", line=hline, lag=lag)
        lags.append(lag)
    cells, cell_line, origin_line = {}, {}, {}
    for n, r in rows:
        o = r[0]
        if len(r) != len(head):
            _fail(name, f"{_n(len(r) - 1, 'value')} for {_n(len(lags), 'lag')} (an empty cell "
                        f"for each unobserved lag){_delimiter_hint(r)}", line=n,
                  origin=o if len(r) > 1 else None)
        if o in origin_line:
            _fail(name, f"origin repeated (first on line {origin_line[o]})", line=n, origin=o)
        origin_line[o] = n
        for lag, raw in zip(lags, r[1:]):
            if raw != "":
                cells[(o, lag)] = _value(name, n, o, lag, raw)
                cell_line[(o, lag)] = n
    return cells, cell_line, origin_line, dict.fromkeys(lags, hline), True


def read_triangle(path, *, cumulative: bool | None = None,
                  form: Literal["auto", "long", "wide"] = "auto") -> Triangle:
    """Read and validate a claim triangle from CSV.

    Parameters
    ----------
    path : str or Path
        CSV file, long (``origin,development,value``) or wide form; ``#`` lines are comments.
    cumulative : bool or None
        Whether the values are cumulative. None: the file's ``# cumulative:`` comment, else True.
    form : {"auto", "long", "wide"}
        "auto" picks long form when the header names a ``development`` or ``value`` column.

    Returns
    -------
    Triangle

    Raises
    ------
    TriangleError
        One line, ``"<file> line <n>: origin <o>, lag <l>: <problem>"`` (the parts that apply).
    """
    path = Path(path)
    name = path.name
    comments, records = _records(_text(path, name), name)
    if cumulative is None:
        cumulative = _cumulative_from_comments(comments, name)
        if cumulative is None:
            cumulative = True
    if not records:
        _fail(name, "no header and no data (only comments)" if comments else "empty file")
    (hline, head), rows = records[0], records[1:]
    if len(head) == 1:
        _fail(name, f"one column only in the header (got {_short(head[0])})"
                    f"{_delimiter_hint(head)}", line=hline)
    low = [h.lower() for h in head if h]
    dup = next((h for h in low if low.count(h) > 1), None)
    if dup is not None:
        _fail(name, f"column {_short(dup)} appears twice in the header", line=hline)
    if not rows:
        _fail(name, "header only, no data rows", line=hline)
    if form == "auto":
        form = "long" if any(h in ("development", *_VALUE_COLUMNS) for h in low) else "wide"
    reader = _read_long if form == "long" else _read_wide
    return _build(*reader(name, hline, head, rows), name, cumulative)


# --------------------------------------------------------------------------- shape
def _origins(name, origin_line, wide: bool):
    """The origin labels oldest first and their grain (Y, Q or M); ``wide``: rows must already
    be oldest first."""
    parsed = {}
    for o, n in origin_line.items():
        g, p = _parse_origin(o)
        if g is None:
            _fail(name, "cannot read the origin period (expected YYYY, YYYYQn or YYYY-MM)",
                  line=n, origin=o)
        parsed[o] = (g, p)
    first = next(iter(parsed))
    seen, prev = {}, None
    for o, (g, p) in parsed.items():
        n = origin_line[o]
        if g != parsed[first][0]:
            _fail(name, f"not the same kind of period as origin {first} (line "
                        f"{origin_line[first]})", line=n, origin=o)
        if p in seen:
            _fail(name, f"the same period as origin {seen[p]} (line {origin_line[seen[p]]})",
                  line=n, origin=o)
        if wide and prev is not None and p < parsed[prev][1]:
            _fail(name, f"origins out of order: after origin {prev} (line {origin_line[prev]}); "
                        "rows go oldest first", line=n, origin=o)
        seen[p], prev = o, o
    origins = sorted(parsed, key=lambda o: parsed[o][1])
    og = parsed[first][0]
    idx = np.array([parsed[o][1] for o in origins])
    if og == "D":  # dates (chainladder's to_frame): yearly, quarterly or monthly spacing
        gap = int(np.min(np.diff(idx))) if len(idx) > 1 else 1
        og = {12: "Y", 3: "Q"}.get(gap, "M")
        idx = idx // _MONTHS[og]
    gaps = np.diff(idx)
    if np.any(gaps != 1):
        k = int(np.argmax(gaps != 1))
        o = origins[k + 1]
        _fail(name, f"origins are not consecutive (the one before is {origins[k]})",
              line=origin_line[o], origin=o)
    return origins, og


def _lags(name, lag_line, og):
    """The lags as an array, r (development steps per origin period) and the development grain.
    ``lag_line`` maps each lag to the line that introduces it."""
    lags = np.array(sorted(lag_line), dtype=np.int64)
    step = 1
    if len(lags) > 1:
        steps = np.diff(lags)
        if np.any(steps != steps[0]):
            k = int(np.argmax(steps != steps[0]))
            _fail(name, f"development lags are not evenly spaced ({lags[k]} to {lags[k + 1]} "
                        f"after steps of {steps[0]})", line=lag_line.get(int(lags[k + 1])),
                  lag=lags[k + 1])
        step = int(steps[0])
    if step == 1:
        return lags, 1, og
    months_o = _MONTHS[og]
    if months_o % step:
        _fail(name, f"lag step {step} months does not divide the origin period ({months_o} "
                    "months)", line=lag_line.get(int(lags[1])), lag=lags[1])
    return lags, months_o // step, {1: "M", 3: "Q", 12: "Y"}.get(step, "M")


def _build(cells, cell_line, origin_line, lag_line, wide, name, cumulative) -> Triangle:
    """The triangle from the cells of a file: ``{(origin, lag): value}``, with the line of each
    cell, origin and lag; ``wide``: the origins are the rows, in file order."""
    origins, og = _origins(name, origin_line, wide)
    lags, r, dg = _lags(name, lag_line, og)
    n_o, n_d = len(origins), len(lags)
    oi = {o: i for i, o in enumerate(origins)}
    li = {int(lag): j for j, lag in enumerate(lags)}
    v = np.full((n_o, n_d), np.nan)
    present = np.zeros((n_o, n_d), dtype=bool)
    lines = {}
    for (o, lag), x in cells.items():
        i, j = oi[o], li[lag]
        v[i, j], present[i, j], lines[(i, j)] = x, True, cell_line[(o, lag)]
    # The valuation diagonal: the most common latest diagonal among origins still developing
    # (a stray future value moves one origin's latest diagonal, not the mode).
    last = [max((j for j in range(n_d) if present[i, j]), default=-1) for i in range(n_o)]
    open_diags = [r * i + last[i] for i in range(n_o) if 0 <= last[i] < n_d - 1]
    if open_diags:
        counts = np.bincount(np.array(open_diags) - min(open_diags))
        diag = int(np.argmax(counts)) + min(open_diags)
    else:
        diag = max(r * i + last[i] for i in range(n_o))
    expected = np.array([max(0, min(n_d, diag - r * i + 1)) for i in range(n_o)])
    for i in range(n_o):
        for j in range(expected[i], n_d):
            if present[i, j]:
                _fail(name, "value in the future lower triangle (beyond the valuation date)",
                      line=lines[(i, j)], origin=origins[i], lag=lags[j])
    for i in range(n_o):
        for j in range(expected[i]):
            if not present[i, j]:
                _fail(name, "missing value inside the observed triangle",
                      line=origin_line[origins[i]] if wide else None, origin=origins[i],
                      lag=lags[j])
    for i in range(n_o):
        if expected[i] == 0:
            _fail(name, "origin has no observed development at the valuation date",
                  line=origin_line[origins[i]] if wide else None, origin=origins[i], lag=lags[0])
    return _finish(v, present, expected, tuple(origins), lags, f"O{og}D{dg}", name, name,
                   cumulative, lines)


def write_triangle(tri: Triangle, path, *, header: str = "", cumulative: bool = True) -> None:
    """Write a triangle in long form (``origin,development,value``), observed cells only."""
    lines = [f"# {h}" if not h.startswith("#") else h for h in header.splitlines() if h]
    lines.append(f"# cumulative: {'true' if cumulative else 'false'}")
    lines.append("origin,development,value")
    vals = tri.values if cumulative else tri.incremental
    for i, o in enumerate(tri.origin):
        for j in range(tri.n_observed[i]):
            x = vals[i, j]
            s = repr(float(x)) if x != int(x) else str(int(x))
            lines.append(f"{o},{tri.development[j]},{s}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
