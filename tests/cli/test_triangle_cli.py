"""``jkn-risk reserve`` in a real process on the four bad triangles first reported by a new user:
one line on stderr naming the file (and line and origin), exit status 2, no traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

WIDE = "origin,1,2,3\n2014-01,10,15,16\n2014-02,12,18,\n2014-03,11,,\n"


@pytest.mark.parametrize("content, needles", [
    (WIDE.replace("2014-01,10,15,16", "2014-01,10,15,16,17,18"), ["line 2", "origin 2014-01"]),
    (WIDE + "2014-02,13,19,\n", ["line 5", "origin 2014-02", "line 3"]),
    ("origin,1,2,3\n", ["line 1", "header only"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x10", ["binary"]),
], ids=["ragged row", "duplicated origin", "header only", "binary"])
def test_reserve_bad_triangle_one_line_exit_2(tmp_path, content, needles):
    path = tmp_path / "claims.csv"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    res = subprocess.run([sys.executable, "-m", "jkn_risk.cli", "reserve", str(path)],
                         capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("claims.csv"), res.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert res.stdout == ""
