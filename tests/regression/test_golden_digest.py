"""The golden digests: simulate_block's output on tiny.yaml is what was reviewed last.

A failure here means the random streams or the model changed. If that was deliberate,
regenerate with ``python scripts/update_golden_digests.py`` and commit the JSON with the change;
if not, it is a bug.
"""
import json
from pathlib import Path

import pytest

STORED = json.loads((Path(__file__).parent / "golden_digests.json").read_text())


@pytest.fixture(scope="module")
def golden(load_script):
    return load_script("update_golden_digests")


@pytest.mark.parametrize("case", sorted(STORED))
def test_simulate_block_matches_its_golden_digest(golden, case):
    assert golden.case_digest(golden.CASES[case]) == STORED[case]


def test_zero_sigmas_are_the_deterministic_engine():
    """Every sigma zero: the same bits as no uncertainty block at all."""
    assert STORED["uncertainty_zero_sigma"] == STORED["collective"]


def test_every_case_is_stored(golden):
    assert set(golden.CASES) == set(STORED)
