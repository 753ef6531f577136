"""Shared fixtures (paths, a writable copy of the baseline config, a loader for scripts/) and
the report of reruns at the end of the pytest output."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
BASELINE = CONFIGS / "jkn2014.yaml"


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)`` imports ``scripts/<name>.py`` (not part of the package)."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def config_copy(tmp_path):
    """A copy of configs/ in tmp_path; returns (folder, load/save helpers)."""
    dst = tmp_path / "configs"
    shutil.copytree(CONFIGS, dst, ignore=shutil.ignore_patterns("*.zarr", "stress", "cluster"))

    class Copy:
        folder = dst
        path = dst / "jkn2014.yaml"

        @staticmethod
        def read(name="jkn2014.yaml") -> dict:
            return yaml.safe_load((dst / name).read_text())

        @staticmethod
        def write(data: dict, name="jkn2014.yaml") -> Path:
            (dst / name).write_text(yaml.safe_dump(data, sort_keys=False))
            return dst / name

        @staticmethod
        def edit_csv(name: str, old: str, new: str) -> Path:
            p = dst / "data" / name
            text = p.read_text()
            assert old in text, f"{old!r} not in {name}"
            p.write_text(text.replace(old, new, 1))
            return p

    return Copy


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """On a rerun (``--reruns``), recompute the item's module- and session-scoped fixtures too.

    pytest-rerunfailures keeps higher-scoped fixture values between attempts; a value computed
    while the machine computed wrongly would then fail every attempt. Dropping the cached value
    (as the plugin itself does for fixtures that raised) makes the next request build it again.
    Memoised helpers in test modules are module-scoped fixtures for the same reason, and the
    kernel wrapper's table memos are emptied."""
    if getattr(item, "execution_count", 1) <= 1:
        return
    for defs in getattr(item._fixtureinfo, "name2fixturedefs", {}).values():
        for fixture_def in defs:
            if fixture_def.scope != "function" and fixture_def.cached_result is not None:
                fixture_def.cached_result = None
    from jkn_risk.kernels.claims import clear_table_memos

    clear_table_memos()  # the alias / lognormal tables memoised per case mix and per sigma


def pytest_terminal_summary(terminalreporter):
    """List every failed assertion that was rerun (``--reruns`` in pyproject.toml).

    Every test here is seeded, so a failure that a rerun does not repeat was not caused by the
    code under test at its inputs: either the machine computed wrongly (the development VM's
    host divided wrongly in bursts on 2026-11-26; ``scripts/check_machine.py``) or jkn_risk has
    a non-determinism the reproducibility tests exist to find. Say so loudly either way."""
    reruns = terminalreporter.stats.get("rerun", [])
    if not reruns:
        return
    terminalreporter.section("failed assertions rerun (the summary gives the final outcome)",
                             sep="!", red=True, bold=True)
    for report in reruns:
        terminalreporter.line(f"{report.nodeid}: {report.longrepr.reprcrash.message[:300]}"
                              if hasattr(report.longrepr, "reprcrash") else report.nodeid)
    terminalreporter.line("A seeded test that fails once and not again: check this machine with "
                          "`python scripts/check_machine.py 120`, and if it is sound, hunt with "
                          "`python scripts/hunt_nondeterminism.py 600`.")
