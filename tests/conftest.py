"""Shared fixtures: paths, a writable copy of the baseline config, a loader for scripts/."""
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
