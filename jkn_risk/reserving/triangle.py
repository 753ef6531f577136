"""Claim triangles: reading, validating and the :class:`Triangle` container.

A triangle file is a CSV in one of two forms:

* **long**: columns ``origin, development, value`` (one row per observed cell);
* **wide**: the first column holds the origins, the other column headers are development lags.

Lines starting with ``#`` before the header are comments (synthetic-data notices). A comment
``# cumulative: true`` or ``# cumulative: false`` states the kind of values; ``read_triangle``'s
``cumulative`` argument overrides it, and without either the values are taken as cumulative
(chainladder-python's convention for its sample triangles).

Origins are labelled ``YYYY`` (years), ``YYYYQn`` / ``YYYY-Qn`` (quarters) or ``YYYY-MM`` (months)
and must be consecutive. Development lags are integers with a constant step. Lags with step 1 count
periods of the origin grain (``1, 2, ...`` or ``0, 1, ...``); lags with a larger step are ages in
months (chainladder's ``12, 24, ...`` or ``3, 6, ...``), so annual origins may develop quarterly.

The observed cells must form the upper triangle (or trapezoid) implied by the latest valuation:
origin ``i`` is observed at the first ``k_i = min(n_dev, k_0 - r * i)`` lags, where ``r`` is the
number of development steps per origin period. Anything else is an error naming the file, origin
and lag.

Negative *incremental* values are allowed (recoveries, corrections): they are kept as they are and
the estimators handle them as the literature does (see :mod:`jkn_risk.reserving.bootstrap`). A
negative *cumulative* count is an error.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["Triangle", "TriangleError", "read_triangle", "triangle_from_array"]

_MONTHS = {"Y": 12, "Q": 3, "M": 1}
_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class TriangleError(ValueError):
    """A triangle file that cannot be used; the message names file, origin and lag."""


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
            raise TriangleError(f"{name}: origin {origin[i]}, lag {development[j]}: "
                                "missing value inside the observed triangle")
    return _finish(v, obs, lengths, origin, development, grain, name, source, cumulative)


def _finish(v, obs, expected, origin, development, grain, name, source, cumulative) -> Triangle:
    n_o, n_d = v.shape
    if n_o < 3:
        raise TriangleError(f"{name}: origin {origin[0] if origin else '?'}, lag "
                            f"{development[0] if len(development) else '?'}: "
                            f"triangle too small to fit ({n_o} origins, at least 3 needed)")
    if n_d < 2:
        raise TriangleError(f"{name}: origin {origin[0]}, lag {development[0]}: "
                            "triangle too small to fit (one development lag)")
    if not cumulative:
        v = np.where(obs, np.nancumsum(np.where(obs, v, 0.0), axis=1), np.nan)
    for i in range(n_o):
        for j in range(expected[i]):
            if v[i, j] < 0:
                what = "negative cumulative count" if not cumulative else "negative count"
                raise TriangleError(f"{name}: origin {origin[i]}, lag {development[j]}: "
                                    f"{what} {v[i, j]!r}")
    # A development column whose cumulative values are all zero leaves its factor undefined.
    for j in range(n_d - 1):
        rows = obs[:, j + 1]
        if rows.any() and np.all(v[rows, j] == 0):
            i = int(np.argmax(rows))
            raise TriangleError(f"{name}: origin {origin[i]}, lag {development[j]}: "
                                "development column of zeros (factor undefined)")
    col_any = obs.any(axis=0)
    if not col_any.all():
        j = int(np.argmin(col_any))
        raise TriangleError(f"{name}: origin {origin[0]}, lag {development[j]}: "
                            "development column with no observed value")
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


def _read_lines(path: Path):
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    comments, body = [], []
    for k, line in enumerate(lines):
        if not body and (line.lstrip().startswith("#") or not line.strip()):
            comments.append(line)
        else:
            body.append(line)
    return comments, body


def _cumulative_from_comments(comments) -> bool | None:
    for c in comments:
        m = re.match(r"^\s*#\s*cumulative\s*[:=]\s*(\w+)", c, re.IGNORECASE)
        if m:
            return m.group(1).lower() in ("true", "yes", "1")
    return None


def read_triangle(path, *, cumulative: bool | None = None,
                  form: Literal["auto", "long", "wide"] = "auto") -> Triangle:
    """Read and validate a claim triangle from CSV.

    Parameters
    ----------
    path : str or Path
        CSV file, long (``origin,development,value``) or wide form; leading ``#`` lines skipped.
    cumulative : bool or None
        Whether the values are cumulative. None: the file's ``# cumulative:`` comment, else True.
    form : {"auto", "long", "wide"}
        "auto" picks long form when the header is exactly origin, development, value.

    Returns
    -------
    Triangle

    Raises
    ------
    TriangleError
        With a message ``"<file>: origin <o>, lag <l>: <problem>"``.
    """
    path = Path(path)
    name = path.name
    try:
        comments, body = _read_lines(path)
    except OSError as exc:
        raise TriangleError(f"{name}: cannot read: {exc}") from exc
    if cumulative is None:
        cumulative = _cumulative_from_comments(comments)
        if cumulative is None:
            cumulative = True
    rows = [r for r in csv.reader(io.StringIO("\n".join(body))) if any(c.strip() for c in r)]
    if not rows:
        raise TriangleError(f"{name}: origin ?, lag ?: empty file")
    header = [h.strip().lower() for h in rows[0]]
    val_col = next((k for k, h in enumerate(header) if h in ("value", "values")), None)
    is_long = "origin" in header and "development" in header and val_col is not None
    if form == "auto":
        form = "long" if is_long else "wide"
    cells: dict[tuple[str, int], str] = {}
    if form == "long":
        if not is_long:
            raise TriangleError(f"{name}: origin ?, lag ?: long form needs the columns "
                                f"origin,development,value (got {','.join(rows[0])})")
        io_, id_ = header.index("origin"), header.index("development")
        for r in rows[1:]:
            if len(r) <= max(io_, id_, val_col):
                raise TriangleError(f"{name}: origin {r[0] if r else '?'}, lag ?: short row {r}")
            o, lag_s, val = r[io_].strip(), r[id_].strip(), r[val_col].strip()
            try:
                lag = int(float(lag_s))
            except ValueError:
                raise TriangleError(f"{name}: origin {o}, lag {lag_s}: non-numeric lag") from None
            if (o, lag) in cells:
                raise TriangleError(f"{name}: origin {o}, lag {lag}: duplicate cell")
            cells[(o, lag)] = val
    else:
        lags = []
        for h in rows[0][1:]:
            try:
                lags.append(int(float(h)))
            except ValueError:
                raise TriangleError(f"{name}: origin ?, lag {h.strip()}: non-numeric lag "
                                    "in the header") from None
        for r in rows[1:]:
            o = r[0].strip()
            for lag, val in zip(lags, r[1:]):
                if val.strip() != "":
                    cells[(o, lag)] = val.strip()
    return _build(cells, name, cumulative)


def _build(cells, name, cumulative) -> Triangle:
    origins = sorted({o for o, _ in cells}, key=lambda s: _parse_origin(s)[1] or 0)
    parsed = [_parse_origin(o) for o in origins]
    for o, (g, _) in zip(origins, parsed):
        if g is None:
            raise TriangleError(f"{name}: origin {o}, lag ?: cannot read the origin period "
                                "(expected YYYY, YYYYQn or YYYY-MM)")
    grains = {g for g, _ in parsed}
    if len(grains) != 1:
        raise TriangleError(f"{name}: origin {origins[0]}, lag ?: mixed origin grains {grains}")
    og = grains.pop()
    idx = np.array([p for _, p in parsed])
    if og == "D":  # dates (chainladder's to_frame): yearly, quarterly or monthly spacing
        gap = int(np.min(np.diff(idx))) if len(idx) > 1 else 1
        og = {12: "Y", 3: "Q"}.get(gap, "M")
        idx = idx // _MONTHS[og]
    step_o = 1
    if len(idx) > 1 and np.any(np.diff(idx) != step_o):
        k = int(np.argmax(np.diff(idx) != step_o))
        raise TriangleError(f"{name}: origin {origins[k + 1]}, lag ?: origins are not "
                            f"consecutive (after {origins[k]})")
    lags = np.array(sorted({lag for _, lag in cells}), dtype=np.int64)
    if len(lags) > 1:
        steps = np.diff(lags)
        if np.any(steps != steps[0]):
            k = int(np.argmax(steps != steps[0]))
            raise TriangleError(f"{name}: origin {origins[0]}, lag {lags[k + 1]}: "
                                "development lags are not evenly spaced")
        step = int(steps[0])
    else:
        step = 1
    if step == 1:
        r, dg = 1, og
    else:
        months_o = _MONTHS[og]
        if months_o % step:
            raise TriangleError(f"{name}: origin {origins[0]}, lag {lags[1]}: lag step {step} "
                                f"months does not divide the origin period ({months_o} months)")
        r = months_o // step
        dg = {1: "M", 3: "Q", 12: "Y"}.get(step, "M")
    n_o, n_d = len(origins), len(lags)
    oi = {o: i for i, o in enumerate(origins)}
    li = {lag: j for j, lag in enumerate(lags)}
    v = np.full((n_o, n_d), np.nan)
    present = np.zeros((n_o, n_d), dtype=bool)
    for (o, lag), s in cells.items():
        i, j = oi[o], li[lag]
        try:
            x = float(s)
        except ValueError:
            raise TriangleError(f"{name}: origin {o}, lag {lag}: non-numeric value {s!r}") from None
        if not np.isfinite(x):
            raise TriangleError(f"{name}: origin {o}, lag {lag}: non-numeric value {s!r}")
        v[i, j] = x
        present[i, j] = True
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
                raise TriangleError(f"{name}: origin {origins[i]}, lag {lags[j]}: value in the "
                                    "future lower triangle (beyond the valuation date)")
    for i in range(n_o):
        for j in range(n_d):
            if j < expected[i] and not present[i, j]:
                raise TriangleError(f"{name}: origin {origins[i]}, lag {lags[j]}: missing value "
                                    "inside the observed triangle")
    for i in range(n_o):
        if expected[i] == 0:
            raise TriangleError(f"{name}: origin {origins[i]}, lag {lags[0]}: origin has no "
                                "observed development at the valuation date")
    return _finish(v, present, expected, tuple(origins), lags, f"O{og}D{dg}", name, name,
                   cumulative)


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
