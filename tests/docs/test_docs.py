"""The documentation's examples run: docs/tutorial.md and the README's API section (doctest).

The same as ``python -m pytest --doctest-glob="*.md" docs/tutorial.md README.md``, from the
repository root (the examples use paths relative to it).
"""
from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", ["docs/tutorial.md", "README.md"])
def test_examples_run(name, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / name), module_relative=False, optionflags=FLAGS, encoding="utf-8")
    report = capsys.readouterr().out
    assert result.attempted > 5, f"{name}: no examples found"
    assert result.failed == 0, report
