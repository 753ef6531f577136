"""The test suite as CI runs it: ``python scripts/ci_tests.py`` (after ``jkn-risk warmup``).

1. ``pytest -m "not slow and not cluster"``: every test once, no reruns.
2. Only if tests failed: ``scripts/check_machine.py`` runs at that moment, beside the failure.
   If it shows this machine computing wrongly, the failed tests (and only they) run once more
   and this script says so and what the check found; on a machine that checks sound, the
   failure stands and CI fails.
3. Only if the unit tests passed: the SLURM end-to-end tests (marker ``cluster``,
   tests/cluster/) on a single-node SLURM that ``scripts/slurm_local.sh`` starts here and
   always stops afterwards. If it cannot start SLURM because of THIS MACHINE (exit 3: the
   packages cannot be installed, or the daemons refuse to run here) the stage is skipped
   without failing CI, and the daemons' evidence is printed; any other failure to start it
   (exit 1: a slurm.conf the daemons reject, a bug of the script) fails CI. A failure of the
   cluster tests is treated like one of the unit tests (step 2).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_SECONDS = 90


def _pytest(*args: str, env: dict | None = None) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def unit_tests() -> int:
    rc = _pytest("-m", "not slow and not cluster")
    if rc in (0, 5):  # 5: nothing collected is not a failure of the code
        return rc
    print(f"\ntests failed (pytest exit {rc}); checking this machine for {CHECK_SECONDS} s "
          "(scripts/check_machine.py)", flush=True)
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_machine.py"),
                            str(CHECK_SECONDS)], cwd=ROOT, capture_output=True, text=True)
    found = (check.stdout + check.stderr).strip()
    print(found, flush=True)
    if check.returncode == 0:
        print("this machine checks sound: the failure stands (no rerun)", flush=True)
        return rc
    print("this machine computed wrongly during the check: rerunning the failed tests once",
          flush=True)
    return _pytest("-m", "not slow and not cluster", "--last-failed", "--last-failed-no-failures",
                   "none")


def benchmark_guard() -> int:
    """The performance regression guard, ``benchmarks/guard.py`` (about 15-60 s): each hot
    loop's CPU time as a ratio to the RNG floor timed beside it, against the ratios committed in
    ``benchmarks/baseline.json``; fails when a case is more than 1.3x slower."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "guard.py")]
    print("\n$", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


SLURM_LOCAL = ROOT / "scripts" / "slurm_local.sh"
SLURM_MACHINE = 3  # slurm_local.sh start: this machine cannot run SLURM
SLURM_START_S = 300  # apt-get install included


def _slurm_local(action: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM_LOCAL), action, str(state)], cwd=ROOT,
                          capture_output=True, text=True, timeout=SLURM_START_S)


def _tail(proc: subprocess.CompletedProcess, n: int) -> str:
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return "\n".join(lines[-n:])


def cluster_tests() -> int:
    """The SLURM end-to-end tests on a single-node SLURM started here (see the docstring)."""
    state = Path(tempfile.mkdtemp(prefix="jkn-slurm-"))
    t0 = time.monotonic()
    print(f"\n$ scripts/slurm_local.sh start {state}", flush=True)
    try:
        start = _slurm_local("start", state)
    except subprocess.TimeoutExpired:
        start = subprocess.CompletedProcess([], 1, "", f"no answer in {SLURM_START_S} s")
    print(_tail(start, 4 if start.returncode == 0 else 24), flush=True)
    try:
        if start.returncode == SLURM_MACHINE:
            print("cluster tests SKIPPED: this machine cannot run SLURM (the cause is the "
                  "machine, not the code: evidence above); CI goes on without them", flush=True)
            return 0
        if start.returncode != 0:
            print(f"cluster tests FAILED: SLURM did not start (scripts/slurm_local.sh exit "
                  f"{start.returncode}) and the cause is not the machine: a bug of the script "
                  "or of the slurm.conf it writes", flush=True)
            return 1
        env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf"), "JKN_REQUIRE_SLURM": "1"}
        args = ("-m", "cluster", "tests/cluster")
        rc = _pytest(*args, env=env)
        if rc != 0:
            print(f"\ncluster tests failed (pytest exit {rc}); checking this machine for "
                  f"{CHECK_SECONDS} s (scripts/check_machine.py)", flush=True)
            check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_machine.py"),
                                    str(CHECK_SECONDS)], cwd=ROOT, capture_output=True, text=True)
            print((check.stdout + check.stderr).strip(), flush=True)
            if check.returncode == 0:
                print("this machine checks sound: the failure stands (no rerun)", flush=True)
                return rc
            print("this machine computed wrongly during the check: rerunning the failed "
                  "cluster tests once", flush=True)
            rc = _pytest(*args, "--last-failed", "--last-failed-no-failures", "none", env=env)
        return rc
    finally:
        stop = _slurm_local("stop", state)
        print(f"$ scripts/slurm_local.sh stop {state}\n{_tail(stop, 6)}", flush=True)
        if stop.returncode == 0:
            shutil.rmtree(state, ignore_errors=True)
        print(f"cluster stage: {time.monotonic() - t0:.0f} s", flush=True)


def main() -> int:
    rc = unit_tests()
    if rc not in (0, 5):
        return rc
    rc = benchmark_guard() or rc
    return cluster_tests() or rc


if __name__ == "__main__":
    sys.exit(main())
