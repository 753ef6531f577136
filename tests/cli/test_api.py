"""The notebook API gives, in memory, exactly what the command line stores."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import jkn_risk
from jkn_risk.results import open_results

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
UTIL = ROOT / "configs" / "stress" / "util_plus10.yaml"


def cli(*args):
    res = subprocess.run([sys.executable, "-m", "jkn_risk.cli", *map(str, args)], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res


def without_created(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy(deep=False)
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


@pytest.fixture(scope="module")
def in_memory() -> xr.Dataset:
    return jkn_risk.run(TINY, sims=8, workers=0)


def test_run_is_identical_to_open_results_of_a_stored_run(tmp_path, in_memory):
    store = tmp_path / "tiny.zarr"
    cli("run", TINY, "--out", store, "--sims", "8", "--workers", "0", "--no-progress")
    stored = open_results(store)
    xr.testing.assert_identical(without_created(in_memory), without_created(stored))
    assert in_memory["region"].dtype == np.dtypes.StringDType()
    assert in_memory.attrs["n_sims"] == 8 and in_memory.attrs["Conventions"] == "CF-1.12"


def test_run_takes_a_config_or_parameters(in_memory):
    cfg = jkn_risk.load_config(TINY)
    a = jkn_risk.run(cfg, sims=8)
    xr.testing.assert_identical(without_created(a), without_created(in_memory))
    params = jkn_risk.build_parameters(jkn_risk.load_config(TINY, ["simulation.n_sims=3"]))
    b = jkn_risk.run(params)
    xr.testing.assert_identical(without_created(b), without_created(in_memory.isel(sim=slice(0, 3))).assign_attrs(
        n_sims=3, block_size=b.attrs["block_size"], config_yaml=b.attrs["config_yaml"]))
    with pytest.raises(ValueError, match="not built Parameters"):
        jkn_risk.run(params, sims=4)


def test_report_functions_take_the_dataset(in_memory, tmp_path):
    m = jkn_risk.risk_measures(in_memory, n_boot=20)
    assert float(m["p_deficit"].sel(year=2015, compartment="national")) == 1.0
    paths = jkn_risk.render_report(in_memory, tmp_path / "report", n_boot=20, dpi=40)
    assert (tmp_path / "report" / "report.html") in paths
    rows = jkn_risk.table6(TINY)  # a config, not only its projection
    assert [r["year"] for r in rows] == [2014, 2015]
    assert rows == jkn_risk.table6(jkn_risk.project(jkn_risk.load_config(TINY)))


def test_stress_is_identical_to_the_stored_stress_dataset(tmp_path):
    cli("stress", TINY, UTIL, "--sims", "4", "--workers", "0", "--out", tmp_path / "stress", "--json")
    stored = xr.open_dataset(tmp_path / "stress" / "stress.zarr", engine="zarr", consolidated=False)
    ds = jkn_risk.stress(TINY, [UTIL], sims=4)
    assert list(ds["scenario"].values) == ["base", "util_plus10"]
    xr.testing.assert_identical(without_created(ds), without_created(stored))
    cmp = jkn_risk.compare_scenarios(ds)
    assert (cmp[(cmp["scenario"] == "util_plus10") & (cmp["compartment"] == "national")]["mean_surplus_diff"] < 0).all()
