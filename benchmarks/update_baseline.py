"""Rewrite benchmarks/baseline.json: the guard's ratios, the median of several runs.

    python benchmarks/update_baseline.py [--runs 5] [--tolerance 1.30]

Run it on purpose only: after a deliberate change of speed (a faster kernel, a new case), on
the machine CI runs on, and commit the file with the change so that review sees it. Each run is
a fresh ``benchmarks/guard.py`` process (the spread between processes is what the tolerance has
to cover); the file keeps every run's ratios, their spread, the machine, the commit and the
load averages beside the medians the guard compares with.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from guard import BASELINE, TOLERANCE, machine  # noqa: E402


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--out", default=str(BASELINE))
    a = ap.parse_args(argv)
    runs, loads = [], []
    for k in range(a.runs):
        res = subprocess.run([sys.executable, str(HERE / "guard.py"), "--json", "--baseline",
                              os.devnull], capture_output=True, text=True, check=True)
        d = json.loads(res.stdout.strip().splitlines()[-1])
        runs.append({r["case"]: r["ratio"] for r in d["rows"]})
        loads.append(round(d["load_average_1min"], 1))
        print(f"run {k + 1}/{a.runs}: {d['seconds']:.0f} s, load {loads[-1]}", flush=True)
    cases = list(runs[0])
    med = {c: float(np.median([r[c] for r in runs])) for c in cases}
    spread = {c: [round(min(r[c] for r in runs) / med[c], 3),
                  round(max(r[c] for r in runs) / med[c], 3)] for c in cases}
    out = {
        "about": "benchmarks/guard.py: each case's best CPU time in millions of RNG-floor draws "
                 "(the reference timed interleaved); a case fails above ratio x tolerance. "
                 "Written by benchmarks/update_baseline.py (median of the runs).",
        "tolerance": a.tolerance, "ratios": med, "spread_min_max_over_median": spread,
        "runs": runs, "load_averages": loads, "machine": machine(), "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}")
    for c in cases:
        print(f"  {c:46s} {med[c]:8.3f}  runs within {spread[c][0]:.3f}..{spread[c][1]:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
