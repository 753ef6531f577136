"""scripts/check_machine.py: it must report a planted arithmetic fault (and stay quiet on a
round with none). Whether the CI machine itself is sound is what the script is run for."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def mod(load_script):
    return load_script("check_machine")


def test_known_operands_are_the_triangles_factors(mod):
    from jkn_risk.reserving.chainladder import volume_ldf
    from jkn_risk.reserving.triangle import read_triangle

    tri = read_triangle(Path(__file__).parents[2] / "configs/data/triangles/op_claims_2014.csv")
    np.testing.assert_array_equal(mod.KNOWN_NUM / mod.KNOWN_DEN,
                                  volume_ldf(tri.values, tri.n_observed))


def test_planted_fault_is_reported(mod):
    calls = {"n": 0}

    def faulty(a, b):
        q = np.divide(a, b)
        calls["n"] += 1
        if calls["n"] % 3 == 0 and q.size == 17:  # every third call of the known quotients
            q[2] = np.nextafter(q[2], 0.0)
        return q

    lines = []
    faults = mod.scan(0.0, divide=faulty, report=lines.append)
    faults += mod.scan(0.0, divide=faulty, report=lines.append)
    assert faults == 1
    assert len(lines) == 1 and "known quotients (vector): 1 wrong value(s), first at 2" in lines[0]


def test_clean_round_reports_nothing(mod):
    lines = []
    assert mod.scan(0.0, report=lines.append) == 0 and lines == []
