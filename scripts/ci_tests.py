"""The test suite as CI runs it: ``python scripts/ci_tests.py`` (after ``jkn-risk warmup``).

1. ``pytest -m "not slow and not cluster"``: every test once, no reruns.
2. Only if tests failed: ``scripts/check_machine.py`` runs at that moment, beside the failure.
   If it shows this machine computing wrongly, the failed tests (and only they) run once more
   and this script says so and what the check found; on a machine that checks sound, the
   failure stands and CI fails.
3. The SLURM end-to-end tests (marker ``cluster``) when ``scripts/slurm_local.sh`` can start a
   single-node SLURM here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_SECONDS = 90


def _pytest(*args: str) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


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


def main() -> int:
    return unit_tests()


if __name__ == "__main__":
    sys.exit(main())
