"""Helpers of the SLURM end-to-end tests: is SLURM usable, CLI runs, store comparisons, jobs."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import xarray as xr

from jkn_risk import results

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
#: one run shape for every test: 40 blocks of 4 simulations (~6 s of work on 2 workers here),
#: long enough to be interrupted in the middle, short enough for CI
SIMS, BLOCK = 160, 4
N_BLOCKS = -(-SIMS // BLOCK)
VOLATILE = ("created",)  # the only attribute allowed to differ between two runs


# --------------------------------------------------------------------------- SLURM present?
def slurm_problem() -> str | None:
    """Why no SLURM is usable here (None: sinfo answers and shows an idle node)."""
    if shutil.which("sinfo") is None:
        return "sinfo is not installed"
    try:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True,
                             text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 15 s"
    if out.returncode != 0:
        last = ((out.stderr or out.stdout).strip().splitlines() or ["no output"])[-1]
        return f"sinfo failed: {last[:200]}"
    states = out.stdout.split()[1::2]
    if not any(s.rstrip("*~#") in ("idle", "mixed", "allocated") for s in states):
        return f"no usable node (sinfo: {out.stdout.strip() or 'nothing'})"
    return None


# --------------------------------------------------------------------------- runs and stores
def cli(*args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """``jkn-risk ARGS`` in a fresh interpreter; raises with its output on a non-zero exit."""
    cmd = [sys.executable, "-c", "from jkn_risk.cli import main; main()", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env)
    if proc.returncode != 0:
        raise AssertionError(f"jkn-risk {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def run_args(out: Path, *more: str) -> list[str]:
    return ["run", str(TINY), "--out", str(out), "--sims", str(SIMS), "--block-size",
            str(BLOCK), "--no-progress", *more]


def canonical(path: Path) -> xr.Dataset:
    ds = results.open_results(path).load()
    for key in VOLATILE:
        ds.attrs.pop(key, None)
    return ds


def assert_same_bits(store: Path, reference: xr.Dataset) -> None:
    assert results.completed_blocks(store) == set(range(N_BLOCKS))
    xr.testing.assert_identical(canonical(store), reference)


def blocks_done(store: Path) -> set[int]:
    """Completed blocks of a store being written (empty while its template is not in place)."""
    if not (store / "zarr.json").exists():
        return set()
    try:
        return results.completed_blocks(store)
    except Exception:  # the template is being renamed into place
        return set()


# --------------------------------------------------------------------------- SLURM helpers
def slurm_cmd(*args: str, timeout: float = 30, env: dict | None = None) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def job_info(job: str) -> dict[str, str]:
    """``scontrol show job`` as a dict (JobState, ExitCode, ...; jobs stay listed MinJobAge)."""
    out = slurm_cmd("scontrol", "show", "job", "-o", job)
    return dict(f.split("=", 1) for f in out.split() if "=" in f)


def wait_for_job(job: str, timeout: float) -> dict[str, str]:
    """Wait until a job has ended; return its ``scontrol`` record."""
    deadline = time.monotonic() + timeout
    while True:
        info = job_info(job)
        if info.get("JobState") not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING",
                                        "SUSPENDED"):
            return info
        if time.monotonic() > deadline:
            subprocess.run(["scancel", job], capture_output=True)
            raise AssertionError(f"job {job} still {info.get('JobState')} after {timeout} s")
        time.sleep(0.2)


def wait_for_idle_node(timeout: float = 60) -> None:
    """Earlier tests' jobs have left the node (a 2-CPU node runs one 2-CPU job at a time)."""
    deadline = time.monotonic() + timeout
    while slurm_cmd("squeue", "-h", "-o", "%i"):
        if time.monotonic() > deadline:
            raise AssertionError("jobs of earlier tests still queued:\n" + slurm_cmd("squeue"))
        time.sleep(0.2)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
