"""Hunt the intermittent wrong values seen in CI (issue 5's closing note, "Blocker").

    python scripts/hunt_nondeterminism.py [SECONDS]

Repeats, in one process: build the parameters of ``tests/data/small.yaml`` (ODP bootstrap of
the outpatient triangle), run them serially into a fresh Zarr store (block sizes 2-4), read
it back, and build the baseline's parameters; prints a line whenever a digest differs from the
first iteration's (bootstrap samples, stored claims, the baseline's rates). Every digest must
stay the same. On 2026-11-26 (2-vCPU VM) it printed 4 mismatches of the bootstrap samples in
232 iterations (5 minutes).

Found: the VM's host CPU divides wrongly, in bursts (``scripts/check_machine.py``). An
instrumented copy showed the kernel's outputs equal for equal inputs; the inputs differed
because the chain-ladder factor 16259973 / 13068507 came out 148,599 ulps low, the same wrong
quotient that a plain numpy loop and a C loop of AVX2 ``vdivpd`` (no jkn_risk, no Numba) gave,
in the same seconds, in separate processes. On other hardware (16-core Intel Xeon, numpy 2.5.2, numba 0.68.0)
13 copies of this loop ran 3,396 iterations in 5 minutes without a mismatch.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jkn_risk import orchestrate, results
from jkn_risk.config import load_config
from jkn_risk.parameters import build_parameters

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"
BASE = ROOT / "configs" / "jkn2014.yaml"


def _digest(a) -> str:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:12]


def main(seconds: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="jkn-hunt-"))
    first, t0, i, bad = None, time.time(), 0, 0
    while time.time() - t0 < seconds:
        params = build_parameters(load_config(SMALL, [f"simulation.block_size={2 + i % 3}"]))
        store = orchestrate.run(params, workdir / f"r{i}.zarr", progress=False, workers=0)
        claims = results.open_results(store).load()["claims"].values
        base = build_parameters(load_config(BASE))
        samples = np.concatenate([s for s in params.ibnr_samples if s is not None])
        now = (_digest(samples), _digest(claims), _digest(base.rate))
        if first is None:
            first = now
            print("first", now, flush=True)
        elif now != first:
            bad += 1
            print(time.strftime("%H:%M:%S"), "MISMATCH at iteration", i, now, flush=True)
        i += 1
    print(f"{i} iterations, {bad} mismatches", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 300.0))
