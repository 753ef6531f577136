"""Every kind of bad triangle file: one line naming the file and, where they apply, the line,
origin, lag and the bad value; through ``jkn-risk reserve`` the same line alone and exit 2."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from jkn_risk.cli import app
from jkn_risk.reserving.triangle import TriangleError, read_triangle

NAME = "ip.csv"
LONG = """# cumulative: true
origin,development,value
2014-01,1,10
2014-01,2,15
2014-01,3,16
2014-02,1,12
2014-02,2,18
2014-03,1,11
"""
WIDE = "origin,1,2,3\n2014-01,10,15,16\n2014-02,12,18,\n2014-03,11,,\n"
INCREMENTAL = LONG.replace("cumulative: true", "cumulative: false")


@dataclass
class Case:
    id: str
    text: str | bytes
    says: str  # the problem, in words
    at: str | None = None  # the offending line's text (its last occurrence); None: no line
    origin: str | None = None
    lag: int | None = None
    got: str | None = None  # the bad value as the message must show it

    def line(self) -> int | None:
        if self.at is None:
            return None
        text = self.text.decode("latin-1") if isinstance(self.text, bytes) else self.text
        lines = text.split("\n")
        hits = [k for k, ln in enumerate(lines, 1) if ln == self.at]
        assert hits, f"{self.at!r} is not a line of the case's file"
        return hits[-1]

    def prefix(self) -> str:
        where = NAME if self.line() is None else f"{NAME} line {self.line()}"
        cell = [f"origin {self.origin}"] if self.origin is not None else []
        cell += [f"lag {self.lag}"] if self.lag is not None else []
        return where + (": " + ", ".join(cell) if cell else "") + ": "


def _swap(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


CASES = [
    # ---- not a CSV text at all
    Case("empty file", "", "empty file"),
    Case("comments only", "# cumulative: true\n\n# nothing else\n", "no header"),
    Case("header only, wide", "# a note\norigin,1,2,3\n", "header only", at="origin,1,2,3"),
    Case("header only, long", "origin,development,value\n\n", "header only",
         at="origin,development,value"),
    Case("binary (NUL bytes)", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file",
         at="\x00\x00\x00\rIHDR"),
    Case("undecodable bytes", "# caf\xe9 notes\n".encode("latin-1") + LONG.encode(), "not UTF-8",
         at="# caf\xe9 notes", got="0xe9"),
    Case("semicolon delimiter", LONG.replace(",", ";"), "semicolons", at="origin;development;value"),
    Case("tab delimiter", WIDE.replace(",", "\t"), "tabs", at="origin\t1\t2\t3"),
    Case("rows with another delimiter", _swap(WIDE, "2014-02,12,18,", "2014-02;12;18;"),
         "semicolons", at="2014-02;12;18;"),
    # ---- the header
    Case("long form without a value column", "origin,development,amount\n2014-01,1,10\n",
         "missing column value", at="origin,development,amount"),
    Case("long form without a development column", "origin,lag,value\n2014-01,1,10\n",
         "missing column development", at="origin,lag,value"),
    Case("unknown column in long form", _swap(LONG, "origin,development,value",
                                              "origin,development,value,note"),
         "unknown column 'note'", at="origin,development,value,note"),
    Case("unknown column names in wide form", "origin,dev,val\n2014-01,1,10\n",
         "not a development lag", at="origin,dev,val", got="'dev'"),
    Case("column named twice", _swap(LONG, "origin,development,value", "origin,development,value,value"),
         "appears twice", at="origin,development,value,value", got="'value'"),
    Case("no header row", "2014-01,10,15,16\n2014-02,12,18,\n", "no header row",
         at="2014-01,10,15,16"),
    Case("index column changing", "Total,origin,development,value\nA,1981,12,1\nB,1981,24,2\n",
         "one triangle per file", at="B,1981,24,2", got="'B'"),
    # ---- ragged rows
    Case("wide row with two extra values", _swap(WIDE, "2014-01,10,15,16", "2014-01,10,15,16,17,18"),
         "5 values for 3 lags", at="2014-01,10,15,16,17,18", origin="2014-01"),
    Case("wide row with a value missing", _swap(WIDE, "2014-02,12,18,", "2014-02,12,18"),
         "2 values for 3 lags", at="2014-02,12,18", origin="2014-02"),
    Case("long row with an extra value", _swap(LONG, "2014-02,2,18", "2014-02,2,18,5"),
         "4 fields, the header has 3", at="2014-02,2,18,5", origin="2014-02"),
    Case("long row with a value missing", _swap(LONG, "2014-02,2,18", "2014-02,2"),
         "2 fields, the header has 3", at="2014-02,2", origin="2014-02"),
    # ---- duplicates
    Case("duplicated origin, wide", WIDE + "2014-02,13,19,\n", "origin repeated (first on line 3)",
         at="2014-02,13,19,", origin="2014-02"),
    Case("duplicated origin, long", LONG + "2014-02,1,12\n2014-02,2,18\n",
         "duplicate cell (first on line 6)", at="2014-02,1,12", origin="2014-02", lag=1),
    Case("duplicated (origin, lag), long", LONG + "2014-01,3,17\n",
         "duplicate cell (first on line 5)", at="2014-01,3,17", origin="2014-01", lag=3),
    Case("one period under two labels", _swap(LONG, "2014-03,1,11", "2014-3,1,11") + "2014-03,1,11\n",
         "same period as origin 2014-3", at="2014-03,1,11", origin="2014-03"),
    # ---- values
    Case("non-numeric value, long", _swap(LONG, "2014-02,2,18", "2014-02,2,12x45"), "not a number",
         at="2014-02,2,12x45", origin="2014-02", lag=2, got="'12x45'"),
    Case("non-numeric value, wide", _swap(WIDE, "2014-02,12,18,", "2014-02,12,12x45,"),
         "not a number", at="2014-02,12,12x45,", origin="2014-02", lag=2, got="'12x45'"),
    Case("underscored number", _swap(LONG, "2014-01,3,16", "2014-01,3,1_6"), "not a number",
         at="2014-01,3,1_6", origin="2014-01", lag=3, got="'1_6'"),
    Case("empty value, long", _swap(LONG, "2014-02,2,18", "2014-02,2,"), "empty value",
         at="2014-02,2,", origin="2014-02", lag=2),
    Case("NaN", _swap(LONG, "2014-02,2,18", "2014-02,2,NaN"), "not a finite number",
         at="2014-02,2,NaN", origin="2014-02", lag=2, got="'NaN'"),
    Case("inf", _swap(WIDE, "2014-02,12,18,", "2014-02,12,inf,"), "not a finite number",
         at="2014-02,12,inf,", origin="2014-02", lag=2, got="'inf'"),
    Case("-infinity", _swap(LONG, "2014-03,1,11", "2014-03,1,-Infinity"), "not a finite number",
         at="2014-03,1,-Infinity", origin="2014-03", lag=1, got="'-Infinity'"),
    Case("overflow to inf", _swap(LONG, "2014-03,1,11", "2014-03,1,1e999"), "not a finite number",
         at="2014-03,1,1e999", origin="2014-03", lag=1, got="'1e999'"),
    Case("negative cumulative value", _swap(LONG, "2014-03,1,11", "2014-03,1,-11"), "negative count",
         at="2014-03,1,-11", origin="2014-03", lag=1, got="-11"),
    Case("incrementals summing below zero", _swap(INCREMENTAL, "2014-02,2,18", "2014-02,2,-20"),
         "negative cumulative count", at="2014-02,2,-20", origin="2014-02", lag=2, got="-8"),
    # ---- lags
    Case("fractional lag", _swap(LONG, "2014-02,2,18", "2014-02,1.5,18"), "not a whole number",
         at="2014-02,1.5,18", origin="2014-02", got="'1.5'"),
    Case("non-numeric lag", _swap(LONG, "2014-02,2,18", "2014-02,two,18"), "not a whole number",
         at="2014-02,two,18", origin="2014-02", got="'two'"),
    Case("negative lag", _swap(LONG, "2014-03,1,11", "2014-03,-1,11"), "not a whole number",
         at="2014-03,-1,11", origin="2014-03", got="'-1'"),
    Case("lags not contiguous, long", LONG.replace(",3,", ",4,"), "not evenly spaced",
         at="2014-01,4,16", lag=4),
    Case("lags not contiguous, wide", _swap(WIDE, "origin,1,2,3", "origin,1,2,4"),
         "not evenly spaced", at="origin,1,2,4", lag=4),
    Case("lag columns out of order", _swap(WIDE, "origin,1,2,3", "origin,1,3,2"),
         "lag columns must increase", at="origin,1,3,2", lag=2),
    Case("one development lag", "origin,1\n2014-01,1\n2014-02,2\n2014-03,3\n",
         "one development lag"),
    # ---- origins
    Case("origins out of order, wide",
         "origin,1,2,3\n2014-02,10,15,16\n2014-01,12,18,\n2014-03,11,,\n", "out of order",
         at="2014-01,12,18,", origin="2014-01"),
    Case("origins not consecutive", LONG.replace("2014-03", "2014-05"), "not consecutive",
         at="2014-05,1,11", origin="2014-05"),
    Case("unreadable origin", _swap(LONG, "2014-03,1,11", "March,1,11"),
         "cannot read the origin period", at="March,1,11", origin="March"),
    Case("mixed origin grains", _swap(LONG, "2014-03,1,11", "2014Q3,1,11"),
         "not the same kind of period", at="2014Q3,1,11", origin="2014Q3"),
    Case("one origin", "origin,development,value\n2014-01,1,10\n2014-01,2,12\n", "1 origin",
         got="2014-01"),
    Case("two origins", "origin,1,2\n2014-01,10,12\n2014-02,9,\n", "2 origins"),
    # ---- shape
    Case("value below the diagonal, long", LONG + "2014-03,2,12\n", "future lower triangle",
         at="2014-03,2,12", origin="2014-03", lag=2),
    Case("value below the diagonal, wide", _swap(WIDE, "2014-03,11,,", "2014-03,11,,13"),
         "future lower triangle", at="2014-03,11,,13", origin="2014-03", lag=3),
    Case("hole inside the triangle, long", _swap(LONG, "2014-01,2,15\n", ""), "missing value",
         origin="2014-01", lag=2),
    Case("hole inside the triangle, wide", _swap(WIDE, "2014-01,10,15,16", "2014-01,10,,16"),
         "missing value", at="2014-01,10,,16", origin="2014-01", lag=2),
]


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request, tmp_path):
    c = request.param
    path = tmp_path / NAME
    (path.write_bytes if isinstance(c.text, bytes) else path.write_text)(c.text)
    return c, path


def test_message_names_file_line_origin_lag_and_value(case):
    c, path = case
    with pytest.raises(TriangleError) as info:
        read_triangle(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(c.prefix()), msg
    rest = msg[len(c.prefix()):]
    assert c.says in rest, msg
    if c.got is not None:
        assert c.got in rest, msg


def test_reserve_prints_that_line_alone_and_exits_2(case):
    c, path = case
    with pytest.raises(TriangleError) as info:
        read_triangle(path)
    res = CliRunner().invoke(app, ["reserve", str(path)])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [str(info.value)]
    assert res.stdout == ""


@pytest.mark.parametrize("make, says", [
    (lambda tmp: tmp / "nowhere" / NAME, "file not found"),
    (lambda tmp: tmp, "cannot read"),
], ids=["missing file", "a directory"])
def test_unreadable_path(tmp_path, make, says):
    path = make(tmp_path)
    with pytest.raises(TriangleError, match=says) as info:
        read_triangle(path)
    assert str(info.value).startswith(str(path) if says == "file not found" else path.name)
    res = CliRunner().invoke(app, ["reserve", str(path)])
    assert res.exit_code == 2 and res.stderr.splitlines() == [str(info.value)]
