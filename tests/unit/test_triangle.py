"""Triangle reading and validation: exact answers on small files, one test per error kind."""
from pathlib import Path

import numpy as np
import pytest

from jkn_risk.reserving.chainladder import Chainladder
from jkn_risk.reserving.triangle import (Triangle, TriangleError, read_triangle,
                                         triangle_from_array, write_triangle)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "triangles"
JKN = ROOT / "configs" / "data" / "triangles"

LONG = """# synthetic test triangle
# cumulative: true
origin,development,value
2014-01,1,10
2014-01,2,15
2014-01,3,16
2014-02,1,12
2014-02,2,18
2014-03,1,11
"""
EXPECTED = np.array([[10, 15, 16], [12, 18, np.nan], [11, np.nan, np.nan]], dtype=float)


def _write(tmp_path, text, name="ip.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_long_form_with_comments(tmp_path):
    tri = read_triangle(_write(tmp_path, LONG))
    np.testing.assert_array_equal(tri.values, EXPECTED)
    assert tri.origin == ("2014-01", "2014-02", "2014-03")
    assert list(tri.development) == [1, 2, 3]
    assert tri.grain == "OMDM"
    assert tri.source == "ip.csv"
    np.testing.assert_array_equal(tri.latest_diagonal, [16, 18, 11])
    assert isinstance(tri, Triangle)
    with pytest.raises(Exception):
        tri.values[0, 0] = 1.0  # read-only


def test_wide_form_equals_long_form(tmp_path):
    wide = "# wide\norigin,1,2,3\n2014-01,10,15,16\n2014-02,12,18,\n2014-03,11,,\n"
    a = read_triangle(_write(tmp_path, wide, "w.csv"))
    b = read_triangle(_write(tmp_path, LONG))
    np.testing.assert_array_equal(a.values, b.values)
    assert a.origin == b.origin


def test_incremental_input(tmp_path):
    inc = LONG.replace("cumulative: true", "cumulative: false")
    inc = inc.replace("2014-01,2,15", "2014-01,2,5").replace("2014-01,3,16", "2014-01,3,1")
    inc = inc.replace("2014-02,2,18", "2014-02,2,6")
    tri = read_triangle(_write(tmp_path, inc))
    np.testing.assert_array_equal(tri.values, EXPECTED)
    # the argument overrides the comment
    tri2 = read_triangle(_write(tmp_path, LONG), cumulative=False)
    assert tri2.values[0, 2] == 10 + 15 + 16


def test_quarterly_development_of_annual_origins():
    tri = read_triangle(DATA / "quarterly_paid.csv")
    assert tri.grain == "OYDQ"
    assert tri.shape == (12, 45)
    assert list(tri.n_observed[:3]) == [45, 41, 37]


def test_roundtrip(tmp_path):
    tri = read_triangle(DATA / "raa.csv")
    write_triangle(tri, tmp_path / "r.csv", header="round trip", cumulative=False)
    back = read_triangle(tmp_path / "r.csv")
    np.testing.assert_array_equal(back.values, tri.values)


def test_negative_incrementals_are_kept():
    """RAA has a negative incremental (1982 ... 103 down): read as is, never dropped."""
    tri = read_triangle(DATA / "raa.csv")
    inc = tri.incremental
    assert np.nanmin(inc) == -103.0
    assert np.isfinite(inc).sum() == 55


def test_error_zero_column(tmp_path):
    """Every cumulative value of lag 1 is zero where lag 2 is observed: no factor to estimate."""
    text = LONG
    for a, b in [("2014-01,1,10", "2014-01,1,0"), ("2014-02,1,12", "2014-02,1,0")]:
        text = text.replace(a, b)
    with pytest.raises(TriangleError, match=r"^ip\.csv: origin 2014-01, lag 1: development column "
                                            r"of zeros"):
        read_triangle(_write(tmp_path, text))


def test_long_rows_in_any_order(tmp_path):
    """A long file is a set of records: its row order does not matter."""
    head, rows = LONG.split("origin,development,value\n")
    shuffled = head + "origin,development,value\n" + "".join(reversed(rows.splitlines(True)))
    a = read_triangle(_write(tmp_path, shuffled, "s.csv"))
    np.testing.assert_array_equal(a.values, EXPECTED)
    assert a.origin == ("2014-01", "2014-02", "2014-03")


def test_byte_order_mark_crlf_and_whole_number_lags(tmp_path):
    """Spreadsheet exports: a UTF-8 BOM, CRLF line ends, lags written as 1.0 and blank lines."""
    wide = "origin,1.0,2.0,3.0\r\n2014-01,10,15,16\r\n\r\n2014-02,12,18,\r\n2014-03,11,,\r\n"
    p = tmp_path / "w.csv"
    p.write_bytes(b"\xef\xbb\xbf" + wide.encode())
    tri = read_triangle(p)
    np.testing.assert_array_equal(tri.values, EXPECTED)
    assert list(tri.development) == [1, 2, 3]


def test_decreasing_cumulative_values_are_kept(tmp_path):
    """A negative incremental (a recovery) lowers the cumulative value: allowed while >= 0."""
    tri = read_triangle(_write(tmp_path, LONG.replace("2014-01,3,16", "2014-01,3,14")))
    assert tri.values[0, 2] == 14 and tri.incremental[0, 2] == -1


def test_comments_and_blank_lines_anywhere_count_as_lines(tmp_path):
    """Comments and blank lines inside the data are skipped, and the line numbers in messages
    still match the file as an editor shows it."""
    text = LONG.replace("2014-02,1,12\n", "2014-02,1,12\n\n# checked 2015-07\n")
    np.testing.assert_array_equal(read_triangle(_write(tmp_path, text)).values, EXPECTED)
    bad = text.replace("2014-02,2,18", "2014-02,2,1.8.0")
    lineno = bad.splitlines().index("2014-02,2,1.8.0") + 1
    with pytest.raises(TriangleError, match=rf"^ip\.csv line {lineno}: origin 2014-02, lag 2: "):
        read_triangle(_write(tmp_path, bad))


def test_contradictory_cumulative_comments(tmp_path):
    text = LONG + "# cumulative: false\n"
    with pytest.raises(TriangleError, match=r"^ip\.csv line 10: .*contradicts line 2"):
        read_triangle(_write(tmp_path, text))


def test_triangle_from_array_checks_holes():
    v = EXPECTED.copy()
    v[0, 1] = np.nan
    with pytest.raises(TriangleError, match="origin 0, lag 2: missing value"):
        triangle_from_array(v)


@pytest.mark.parametrize("care", ["ip", "op"])
def test_jkn_triangles(care):
    path = JKN / f"{care}_claims_2014.csv"
    head = path.read_text().splitlines()[0]
    assert head.startswith("#") and "SYNTHETIC" in head
    tri = read_triangle(path)
    assert tri.shape == (12, 18)
    assert tri.origin[0] == "2014-01" and tri.origin[-1] == "2014-12"
    assert list(tri.n_observed) == list(range(18, 6, -1))
    cl = Chainladder().fit(tri)
    cf = cl.ultimate_.sum() / cl.latest_diagonal_.sum()
    assert cf == pytest.approx(1.069, abs=1e-3)


def test_chainladder_to_frame_exports(tmp_path):
    """Both of chainladder's CSV exports read: wide (dates as origins) and keepdims long form."""
    wide = (",12,24,36\n1981-01-01,10.0,15.0,16.0\n1982-01-01,12.0,18.0,\n"
            "1983-01-01,11.0,,\n")
    keep = ("Total,origin,development,values\nTotal,1981-01-01,12,10.0\nTotal,1981-01-01,24,15.0\n"
            "Total,1981-01-01,36,16.0\nTotal,1982-01-01,12,12.0\nTotal,1982-01-01,24,18.0\n"
            "Total,1983-01-01,12,11.0\n")
    for text in (wide, keep):
        tri = read_triangle(_write(tmp_path, text, "x.csv"))
        np.testing.assert_array_equal(tri.values, EXPECTED)
        assert tri.grain == "OYDY"
