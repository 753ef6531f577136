"""End-to-end tests on a real SLURM (marker ``cluster``): skipped when none is reachable.

Start one with ``scripts/slurm_local.sh`` (``scripts/ci_tests.py`` does, after the unit tests)::

    scripts/slurm_local.sh run -- python -m pytest -m cluster tests/cluster

``sinfo`` must answer (``SLURM_CONF`` names the configuration) and show an idle node. With
``JKN_REQUIRE_SLURM=1`` (set by scripts/ci_tests.py once it has started SLURM) a missing SLURM
is an error instead of a skip, so CI cannot pass by skipping.

Every test compares a run with the ``--workers 0`` reference of the same config, number of
simulations and block size, made by the CLI in this session: never stored values. The store is
on tmp_path, which every process on this single node sees (on a real cluster: a shared
filesystem).
"""
from __future__ import annotations

import importlib.util
import os

import pytest
import xarray as xr

from tests.cluster.helpers import canonical, cli, run_args, slurm_problem


@pytest.fixture(scope="session", autouse=True)
def slurm():
    problem = slurm_problem()
    if problem is None and importlib.util.find_spec("dask_jobqueue") is None:
        problem = "dask_jobqueue is not installed"
    if problem:
        if os.environ.get("JKN_REQUIRE_SLURM") == "1":
            pytest.fail(f"JKN_REQUIRE_SLURM=1 but no SLURM here: {problem}", pytrace=False)
        pytest.skip(f"no SLURM reachable ({problem}): run under scripts/slurm_local.sh")
    return os.environ.get("SLURM_CONF")


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> xr.Dataset:
    """``jkn-risk run tests/data/tiny.yaml --workers 0`` (serial), same sims and block size."""
    store = tmp_path_factory.mktemp("reference") / "serial.zarr"
    cli(*run_args(store, "--workers", "0"))
    return canonical(store)
