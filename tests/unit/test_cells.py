"""Cell keys: a 64-bit keyed hash of the labels, distinct for every cell of every shipped config,
and the project command's parameters without the IBNR bootstrap."""
from pathlib import Path

import numpy as np
import pytest

from jkn_risk.cells import cell_key, cell_keys
from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters
from jkn_risk.scenarios import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASES = sorted(ROOT.glob("configs/*.yaml")) + sorted(ROOT.glob("configs/backtest/*.yaml"))
SCENARIOS = ([(p, ROOT / "configs" / "jkn2018_segments.yaml")
              for p in sorted(ROOT.glob("configs/stress/*.yaml"))]
             + [(p, ROOT / "configs" / "jkn2024.yaml")
                for p in sorted(ROOT.glob("configs/stress/2024/*.yaml"))])


def _configs():
    for p in BASES:
        if p.name == "origins.yaml":
            continue
        yield p.relative_to(ROOT).as_posix(), lambda p=p: load_config(p)
    for p, base in SCENARIOS:
        yield p.relative_to(ROOT).as_posix(), lambda p=p, base=base: load_scenario(p, base)


@pytest.mark.parametrize("name, load", list(_configs()), ids=[n for n, _ in _configs()])
def test_every_cell_key_of_a_shipped_config_is_distinct(name, load):
    cfg = load()
    params = build_parameters(cfg, ibnr_bootstrap=False)
    keys = cell_keys(params)
    assert keys.size == np.prod(params.shape)
    assert np.unique(keys).size == keys.size, f"{name}: two cells share a key"


def test_cell_key_depends_on_every_label_and_not_on_position():
    base = cell_key(2014, "R1", "PBPU", "inpatient")
    assert base == cell_key(2014, "R1", "PBPU", "inpatient")
    others = {cell_key(2015, "R1", "PBPU", "inpatient"), cell_key(2014, "R2", "PBPU", "inpatient"),
              cell_key(2014, "R1", "PPU", "inpatient"), cell_key(2014, "R1", "PBPU", "outpatient"),
              cell_key(2014, "R1P", "BPU", "inpatient")}  # the separator keeps labels apart
    assert base not in others and len(others) == 5
    assert -(2**63) <= base < 2**63


def test_project_builds_no_bootstrap(monkeypatch):
    """The deterministic projection needs the chain-ladder factor only (issue 13 item 6)."""
    from jkn_risk.projection import project
    from jkn_risk.reserving import bootstrap

    def refuse(*a, **k):
        raise AssertionError("project ran the ODP bootstrap")

    monkeypatch.setattr(bootstrap.BootstrapODP, "fit", refuse)
    cfg = load_config(ROOT / "configs" / "jkn2014.yaml")
    ds = project(cfg)
    monkeypatch.undo()  # the point factor is the one the bootstrap run reports
    full = build_parameters(cfg)
    np.testing.assert_array_equal(ds["ibnr_factor"].values, full.ibnr_factor)
