"""Reproducibility of `jkn-risk run`: the same config and seed give bit-identical stores

* serially (``--workers 0``), on 1 and 2 real LocalCluster worker processes, and on a real
  ``dask scheduler`` + two ``dask worker --nthreads 1`` processes on 127.0.0.1;
* with two block sizes (the last block of one run is a single simulation, so every batch
  shape of the finance code is exercised);
* after the CLI run is killed with SIGKILL halfway and resumed;

and the store is never damaged: an existing store is not replaced without ``--overwrite``, a
failed overwrite leaves the old store readable, and ``--resume`` refuses a different run.

Small config (tests/data/small.yaml: collective claims, 7 simulations): ~1 s of simulation
per run; the Dask tests mostly pay for process start-up.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from jkn_risk import orchestrate, results
from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters

SMALL = Path(__file__).parents[1] / "data" / "small.yaml"
VOLATILE = ("created", "block_size")  # the only attributes allowed to differ between runs


def _params(*overrides: str):
    return build_parameters(load_config(SMALL, list(overrides)))


def _canonical(path) -> xr.Dataset:
    ds = results.open_results(path).load()
    for key in VOLATILE:
        ds.attrs.pop(key)
    return ds


def _assert_same_bits(actual: xr.Dataset, expected: xr.Dataset) -> None:
    """``xr.testing.assert_identical``; on failure, also how far each differing variable is
    off and the IBNR bootstrap samples' digest (the CI failures of this kind came from a faulty
    host divider: ``ibnr_factor`` off by ~1e-12, see scripts/check_machine.py)."""
    try:
        xr.testing.assert_identical(actual, expected)
    except AssertionError as err:
        lines = []
        for name in expected.data_vars:
            a, b = np.asarray(actual[name].values), np.asarray(expected[name].values)
            if a.shape == b.shape and a.dtype.kind in "fiu" and not np.array_equal(a, b):
                bad = np.flatnonzero(a.ravel() != b.ravel())
                diff = np.abs(a.ravel()[bad].astype(float) - b.ravel()[bad].astype(float))
                lines.append(f"{name}: {bad.size} of {a.size} differ, max |diff| {diff.max():.3g},"
                             f" first at flat index {bad[0]}")
        params = _params()
        samples = np.concatenate([x for x in params.ibnr_samples if x is not None])
        lines.append("ibnr bootstrap samples now: sha1 "
                     + hashlib.sha1(samples.tobytes()).hexdigest()[:12])
        lines.append("a failure here is a bug until the machine is shown faulty: python "
                     "scripts/check_machine.py 120")
        raise AssertionError(f"{err}\n" + "\n".join(lines)) from None


def _run(tmp_path, name, block_size, **kw):
    params = _params(f"simulation.block_size={block_size}")
    return orchestrate.run(params, tmp_path / name, progress=False, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Serial run, block size 2 (blocks [0,2) [2,4) [4,6) [6,7)); a rerun rebuilds it
    (tests/conftest.py)."""
    return _canonical(_run(tmp_path_factory.mktemp("ref"), "ref.zarr", 2, workers=0))


def test_reference_is_complete(reference):
    assert reference.sizes["sim"] == 7
    assert reference.attrs["n_sims"] == 7 and reference.attrs["seed"] == 424242
    assert int(reference["events"].sum()) > 0


def test_serial_other_block_size(tmp_path, reference):
    _assert_same_bits(_canonical(_run(tmp_path, "s4.zarr", 4, workers=0)), reference)


@pytest.mark.dask
@pytest.mark.parametrize("workers, block_size", [(1, 4), (2, 2)])
def test_local_cluster_same_bits(tmp_path, reference, workers, block_size):
    store = _run(tmp_path, f"w{workers}b{block_size}.zarr", block_size, workers=workers)
    _assert_same_bits(_canonical(store), reference)


# --------------------------------------------------------------------------- real dask processes
def _kill_group(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


@contextmanager
def dask_processes(folder: Path, n_workers: int = 2, timeout: float = 60.0):
    """A `dask scheduler` on 127.0.0.1 (free port) and `dask worker --nthreads 1` processes,
    each in its own process group; torn down on exit whatever happens."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen] = []
    logs = []

    def start(args, name):
        log = open(folder / f"{name}.log", "w")
        logs.append(log)
        procs.append(subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))

    try:
        start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
               "--no-dashboard", "--scheduler-file", str(scheduler_file)], "scheduler")
        deadline = time.monotonic() + timeout
        while not scheduler_file.exists():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError("dask scheduler did not start:\n"
                                   + (folder / "scheduler.log").read_text())
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but be safe
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(n_workers):
            start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                   "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60"], f"worker{i}")
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(n_workers, timeout=timeout)
        yield address
    finally:
        for p in reversed(procs):
            _kill_group(p, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(p, signal.SIGKILL)
                p.wait(timeout=15)
        for log in logs:
            log.close()


@pytest.mark.dask
def test_real_scheduler_and_workers_same_bits(tmp_path, reference):
    with dask_processes(tmp_path) as address:
        store = _run(tmp_path, "remote.zarr", 3, scheduler=address)
    _assert_same_bits(_canonical(store), reference)


# --------------------------------------------------------------------------- kill and resume
def test_sigkill_halfway_then_resume_same_bits(tmp_path):
    """`jkn-risk run` (20 sims, blocks of 2, serial) killed with SIGKILL once some but not all
    blocks are done; resuming completes it with the same bits as an uninterrupted run."""
    store = tmp_path / "killed.zarr"
    cmd = [sys.executable, "-c", "from jkn_risk.cli import main; main()", "run", str(SMALL),
           "--out", str(store), "--sims", "20", "--block-size", "2", "--workers", "0",
           "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    n_blocks, done = 10, set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (store / "zarr.json").exists():
                try:
                    done = results.completed_blocks(store)
                except Exception:  # the template is being renamed into place
                    done = set()
                if done:
                    break
            time.sleep(0.01)
    finally:
        _kill_group(proc, signal.SIGKILL)
        out = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == -signal.SIGKILL, f"run ended before it was killed:\n{out}"
    done = results.completed_blocks(store)
    assert 0 < len(done) < n_blocks, f"killed with blocks {sorted(done)} done"
    with pytest.raises(results.IncompleteResultsError):
        results.open_results(store)

    params = _params("simulation.n_sims=20", "simulation.block_size=2")
    orchestrate.run(params, store, workers=0, resume=True, progress=False)
    assert results.completed_blocks(store) == set(range(n_blocks))
    fresh = orchestrate.run(_params("simulation.n_sims=20", "simulation.block_size=5"),
                            tmp_path / "fresh.zarr", workers=0, progress=False)
    _assert_same_bits(_canonical(store), _canonical(fresh))


# --------------------------------------------------------------------------- store safety
@pytest.fixture()
def finished(tmp_path):
    return _run(tmp_path, "done.zarr", 4, workers=0)


def test_existing_store_is_not_overwritten(finished):
    before = _canonical(finished)
    with pytest.raises(results.ResultsExistError, match="--overwrite"):
        _run(finished.parent, finished.name, 4, workers=0)
    _assert_same_bits(_canonical(finished), before)


def test_cli_refuses_existing_store(finished):
    cmd = [sys.executable, "-c", "from jkn_risk.cli import main; main()", "run", str(SMALL),
           "--out", str(finished), "--workers", "0", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "Traceback" not in proc.stderr


def test_failed_overwrite_leaves_old_store(finished, monkeypatch):
    before = _canonical(finished)

    def broken(self, *args, **kwargs):
        raise OSError("disk full while writing the template")

    monkeypatch.setattr(xr.Dataset, "to_zarr", broken)
    with pytest.raises(OSError, match="disk full"):
        _run(finished.parent, finished.name, 2, workers=0, overwrite=True)
    monkeypatch.undo()
    _assert_same_bits(_canonical(finished), before)
    assert [p.name for p in finished.parent.iterdir()] == [finished.name]


def test_resume_with_another_seed_refuses(finished):
    before = _canonical(finished)
    params = _params("simulation.block_size=4", "simulation.seed=1")
    with pytest.raises(results.ResumeMismatchError, match="seed 424242 .store. vs 1"):
        orchestrate.run(params, finished, workers=0, resume=True, progress=False)
    _assert_same_bits(_canonical(finished), before)
